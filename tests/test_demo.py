"""The demo: its /translate endpoint through gradio_client and its page handlers (the page in Chromium: tests/commands/test_demo.py)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from gradio_client import Client, handle_file
from gradio_client.exceptions import AppError
from omegaconf import OmegaConf
from PIL import Image

from face2sketch.demo import NO_WEBCAM_PICTURE, DemoTranslation, launch
from face2sketch.inference.api import load
from face2sketch.perf.load import free_port
from tests.conftest import CUHK_ROOT
from tests.helpers.inference import faceless_picture, make_run, save_picture


@pytest.fixture(scope="module")
def f2sk_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_run(tmp_path_factory.mktemp("runs") / "conv_ae", "data=synthetic", "data.image_size=32", "model=conv_ae")


@pytest.fixture(scope="module")
def served(f2sk_run: Path) -> Iterator[tuple[str, object]]:
    port = free_port()
    settings = {"ckpt": str(f2sk_run), "server_name": "127.0.0.1", "server_port": port, "max_upload_mb": 1, "align": "auto", "device": "cpu"}
    demo = launch(OmegaConf.create(settings), block=False)
    try:
        yield f"http://127.0.0.1:{port}/", demo
    finally:
        demo.close()


def pasted_face(folder: Path, cuhk_root: Path = CUHK_ROOT) -> tuple[Path, tuple[int, int]]:
    """A CUHK test photo pasted off-centre in a larger canvas when the data is here, else a face-free picture."""
    photos = sorted((cuhk_root / "Testing photo").glob("*.jpg"))
    if not photos:
        return save_picture(folder / "picture.png", faceless_picture(150, 120)), (150, 120)
    canvas = np.full((520, 640, 3), (70, 110, 140), np.uint8)
    canvas[120:495, 300:600] = np.asarray(Image.open(photos[0]).convert("RGB").resize((300, 375)))
    return save_picture(folder / "face.png", canvas), (640, 520)


def test_translate_endpoint_answers_gradio_client_with_an_image_and_a_message_for_bad_uploads(served: tuple[str, object], tmp_path: Path) -> None:
    url, demo = served
    assert url.startswith("http://127.0.0.1:")
    client = Client(url, verbose=False)
    flat = save_picture(tmp_path / "flat.png", faceless_picture(90, 70))
    with pytest.raises(AppError, match="cannot use this upload: no face found: pass align=false to translate the whole picture"):
        client.predict(handle_file(str(flat)), api_name="/translate")
    (tmp_path / "notes.jpg").write_text("not a picture")
    with pytest.raises(AppError, match="cannot use this upload: not an image"):
        client.predict(handle_file(str(tmp_path / "notes.jpg")), api_name="/translate")


def test_an_upload_over_the_limit_is_refused_with_the_limit(served: tuple[str, object], tmp_path: Path) -> None:
    import httpx

    url, _ = served
    noise = np.random.default_rng(0).integers(0, 256, (800, 700, 3), dtype=np.uint8)  # about 1.7 MB as PNG, over max_upload_mb=1
    big = save_picture(tmp_path / "big.png", noise)
    assert big.stat().st_size > 1024 * 1024
    with pytest.raises(ValueError, match="exceeds the maximum file size of 1048576 bytes"):
        Client(url, verbose=False).predict(handle_file(str(big)), api_name="/translate")
    # the server refuses it too, whatever the client checks: the upload route answers 413 with the limit
    with open(big, "rb") as handle:
        answer = httpx.post(f"{url}gradio_api/upload", files={"files": ("big.png", handle, "image/png")}, timeout=60)
    assert answer.status_code == 413 and "1048576 bytes" in answer.text
    small = save_picture(tmp_path / "small.png", noise[:100, :100])
    with open(small, "rb") as handle:
        assert httpx.post(f"{url}gradio_api/upload", files={"files": ("small.png", handle, "image/png")}, timeout=60).status_code == 200


def test_translate_endpoint_frames_a_real_cuhk_face_as_a_cuhk_photo(served: tuple[str, object], cuhk_root: Path, tmp_path: Path) -> None:
    url, _ = served
    photo, _ = pasted_face(tmp_path, cuhk_root)
    with Image.open(Client(url, verbose=False).predict(handle_file(str(photo)), api_name="/translate")) as result:
        width, height = result.size  # the CUHK photo pasted at 1.5 times its size: its face framed at about 300x375
        assert abs(width / 300 - 1) < 0.1 and abs(height / width - 1.25) < 0.01


def test_without_ckpt_the_demo_serves_both_shipped_models(tmp_path: Path) -> None:
    import matplotlib.cbook

    port = free_port()
    settings = {"ckpt": None, "server_name": "127.0.0.1", "server_port": port, "max_upload_mb": 2, "align": "auto", "device": "cpu"}
    demo = launch(OmegaConf.create(settings), block=False)
    try:
        client = Client(f"http://127.0.0.1:{port}/", verbose=False)
        photo = matplotlib.cbook.get_sample_data("grace_hopper.jpg", asfileobj=False)
        with Image.open(client.predict(handle_file(str(photo)), api_name="/translate_f2sk")) as sketch:
            rgb = np.asarray(sketch.convert("RGB")).astype(int)
            assert sketch.size[0] < 512 and (rgb[..., 0] == rgb[..., 2]).all() and rgb.std() > 10  # the face crop, drawn in grey
        drawn = save_picture(tmp_path / "drawn.png", np.asarray(Image.open(photo).convert("L").convert("RGB")))
        with Image.open(client.predict(handle_file(str(drawn)), api_name="/translate_sk2f")) as face:
            pixels = np.asarray(face.convert("RGB")).astype(int)
            assert face.size == (512, 600) and np.abs(pixels[..., 0] - pixels[..., 2]).mean() > 2  # a colour photo of the whole sketch
    finally:
        demo.close()


def test_page_handlers_show_the_region_the_result_and_readable_messages(f2sk_run: Path, tmp_path: Path) -> None:
    page = DemoTranslation(load(f2sk_run, align=True, device="cpu"))
    flat = save_picture(tmp_path / "flat.png", np.full((80, 60, 3), 200, np.uint8))
    no_face = "no face found; untick 'Find and align the face' to translate the whole picture"
    assert page.translate_upload(str(flat)) == (None, None, f"Cannot use this upload (flat.png): {no_face}")
    region, result, status = page.translate_upload(str(flat), align=False)
    assert region.shape == result.shape == (80, 60, 3) and status == "translated the whole picture"
    (tmp_path / "empty.png").write_bytes(b"")
    assert page.translate_upload(str(tmp_path / "empty.png")) == (None, None, "Cannot use this upload (empty.png): empty file (0 bytes)")
    assert page.translate_upload(None)[2] == "Upload a picture first."


def test_a_webcam_picture_is_translated_like_an_upload(f2sk_run: Path) -> None:
    page = DemoTranslation(load(f2sk_run, align=True, device="cpu"))
    frame = faceless_picture(64, 48)  # what Gradio's webcam source hands over: an HxWx3 uint8 array
    assert page.translate_webcam(frame) == (
        None,
        None,
        "Cannot use this webcam picture: no face found; untick 'Find and align the face' to translate the whole picture",
    )
    region, result, status = page.translate_webcam(frame, align=False)
    assert np.array_equal(region, frame) and result.shape == (48, 64, 3) and status == "translated the whole picture"
    assert page.translate_webcam(None) == (None, None, NO_WEBCAM_PICTURE)


def test_a_drawn_sketch_is_composited_on_white_and_translated_to_a_photo(tmp_path: Path) -> None:
    run = make_run(tmp_path / "sk2f", "data=synthetic", "data.image_size=32", "model=conv_ae", "direction=sk2f")
    page = DemoTranslation(load(run, align=False, device="cpu"))
    drawing = np.zeros((50, 40, 4), np.uint8)
    drawing[10:40, 20, 3] = 255  # one black stroke on a transparent canvas
    region, result, _ = page.translate_drawing({"background": None, "layers": [], "composite": drawing})
    assert region.shape == (50, 40, 3) and (region[0, 0] == 255).all() and (region[20, 20] == 0).all()
    assert result.shape == (50, 40, 3)
    assert page.translate_drawing({"composite": np.zeros((5, 5, 4), np.uint8)})[2] == "Draw a sketch first."


def test_the_live_tab_follows_the_face_from_frame_to_frame_within_a_session_and_starts_afresh_in_another() -> None:
    """Each browser session gets its own frame translator: its frames come back as ``Model.stream`` shows them (the
    face followed, not found afresh), a new session starts from a detection, and a frame the model cannot use comes
    back as it was sent."""
    from face2sketch.demo import LiveTranslation
    from tests.inference.test_streams import clip

    model = load("f2sk", device="cpu")
    live, frames = LiveTranslation(model, 0.04), clip("still").frames[:4]
    shown, session = [], None
    for frame in frames:
        image, session = live.translate(np.dstack([frame, np.full(frame.shape[:2], 255, np.uint8)]), session)  # RGBA, as a browser sends
        shown.append(image)
    expected = list(model.stream(frames, fps=25.0))
    assert all(np.array_equal(a, b.image) for a, b in zip(shown, expected, strict=True))
    assert session is not None and session.follower is not None and session.follower.since_detection == 4, "followed since the first frame"
    _, other = live.translate(frames[0], None)
    assert other is not session and other is not None and other.follower is not None and other.follower.since_detection == 1
    odd = np.zeros((4, 4, 3), np.float32)
    assert live.translate(None, session) == (None, session) and live.translate(odd, session)[0] is odd


def video_codec(path: Path) -> str:
    """The four-character code of the video stream in ``path``, as FFmpeg reads it."""
    import cv2

    capture = cv2.VideoCapture(str(path))
    try:
        code = int(capture.get(cv2.CAP_PROP_FOURCC))
    finally:
        capture.release()
    return code.to_bytes(4, "little").decode(errors="replace")


def test_a_video_upload_comes_back_as_a_video_the_page_plays_with_a_status_line_and_a_bad_one_says_why(tmp_path: Path) -> None:
    from face2sketch.demo import VideoUpload
    from face2sketch.pictures.video import VideoReader, video_writer
    from tests.inference.test_streams import clip

    frames = clip("still").frames[:6]
    with video_writer(tmp_path / "me.mp4", 12.0, (frames[0].shape[1], frames[0].shape[0])) as sink:
        for frame in frames:
            sink.write(frame)
    (tmp_path / "broken.mp4").write_text("no frames")
    upload = VideoUpload(load("f2sk", device="cpu"), tmp_path)
    output, status = upload.translate(str(tmp_path / "me.mp4"))
    assert output is not None and Path(output).name == "me_sketch.webm" and len(list(VideoReader(output))) == 6
    assert video_codec(Path(output)) == "VP80", "a codec browsers play inline"
    assert status == "translated 6 frames at 12 frames a second, the face in 6 of them"
    assert upload.translate(str(tmp_path / "broken.mp4")) == (
        None,
        "Cannot use this video: video 'broken.mp4' has no frame that can be read (not a video, truncated or an unsupported codec)",
    )
    assert upload.translate(None) == (None, "Upload a video first.")
