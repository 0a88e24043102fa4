"""predict on users' files: every format users have, skipped files named, outputs sized like their inputs, one-line errors
(the command, its imports and the shipped models: tests/commands/test_predict.py)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from omegaconf import DictConfig, OmegaConf
from PIL import Image

from face2sketch.core.config import compose_config
from face2sketch.core.errors import ConfigError, DataError
from face2sketch.data.pairing import photo_key, sketch_key
from face2sketch.pictures.images import read_image
from face2sketch.pictures.tensors import save_image, tensor_to_uint8
from face2sketch.predict import predict
from tests.helpers.inference import assert_predict_reproduces_evaluate, faceless_picture, make_run, save_picture, stub_detector

ORIENTATION = 0x0112


@pytest.fixture(scope="module")
def conv_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_run(tmp_path_factory.mktemp("runs") / "conv_ae", "data=synthetic", "data.image_size=32", "model=conv_ae")


def predict_config(ckpt: Path, input_: Path | str, output: Path, **overrides: object) -> OmegaConf:
    return OmegaConf.create(
        {"ckpt": str(ckpt), "input": str(input_), "output": str(output), "align": False, "side_by_side": False, "batch_size": 4, "device": "cpu", **overrides}
    )


def user_folder(folder: Path) -> dict[str, tuple[int, int] | None]:
    """Files as users have them; the upright (width, height) each output must have, None for the unreadable ones."""
    folder.mkdir()
    picture = faceless_picture(90, 70)
    save_picture(folder / "rgb.jpg", picture, quality=90)
    rgba = np.dstack([faceless_picture(60, 80, 1), np.full((80, 60), 255, np.uint8)])
    rgba[:, :30, 3] = 0
    save_picture(folder / "rgba.png", rgba)
    save_picture(folder / "gray.png", faceless_picture(50, 40, 2)[..., 0])
    Image.fromarray(faceless_picture(64, 48, 3)).convert("P", palette=Image.Palette.ADAPTIVE).save(folder / "palette.png")
    Image.fromarray(faceless_picture(70, 50, 4)[..., 0].astype(np.uint16) * 257).save(folder / "deep.png")
    exif = Image.Exif()
    exif[ORIENTATION] = 6  # shown rotated 90 degrees clockwise: stored 80x40, seen 40x80
    save_picture(folder / "rotated.jpg", faceless_picture(80, 40, 5), exif=exif)
    save_picture(folder / "picture.webp", faceless_picture(52, 52, 6))
    save_picture(folder / "picture.bmp", faceless_picture(44, 36, 7))
    (folder / "notes.jpg").write_text("not a picture\n")
    (folder / "empty.png").write_bytes(b"")
    return {
        "rgb.jpg": (90, 70),
        "rgba.png": (60, 80),
        "gray.png": (50, 40),
        "palette.png": (64, 48),
        "deep.png": (70, 50),
        "rotated.jpg": (40, 80),
        "picture.webp": (52, 52),
        "picture.bmp": (44, 36),
        "notes.jpg": None,
        "empty.png": None,
    }


def test_a_folder_of_every_format_gives_one_sized_output_per_readable_file_and_names_the_bad_ones(
    conv_run: Path, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    expected = user_folder(tmp_path / "in")
    output = tmp_path / "out"
    predict(predict_config(conv_run, tmp_path / "in", output, side_by_side=True))
    summary = capsys.readouterr().out
    assert "predict: 8 of 10 images translated" in summary and "2 skipped: empty.png (empty file (0 bytes)), notes.jpg (not an image" in summary

    items = {Path(item["input"]).name: item for item in json.loads((output / "predictions.json").read_text())["items"]}
    assert set(items) == set(expected)
    for name, size in expected.items():
        item = items[name]
        if size is None:
            assert item["status"] == "skipped" and item["output"] is None and item["reason"], item
            continue
        assert item["status"] == "ok" and item["reason"] is None and item["face_found"] is False and item["eyes"] is None
        assert item["transform"] == [[1, 0, 0], [0, 1, 0]] and item["size"] == list(size)  # align=false: the whole picture
        with Image.open(item["output"]) as written:
            assert written.size == size and written.mode == "RGB", name
        with Image.open(output / "side_by_side" / Path(item["output"]).name) as pair:
            assert pair.size == (2 * size[0], size[1])
    # two inputs share the stem 'picture': both kept, named by their extension
    assert {Path(items[n]["output"]).name for n in ("picture.webp", "picture.bmp")} == {"picture_webp.png", "picture_bmp.png"}
    assert sorted(p.name for p in output.iterdir()) == sorted(
        [*(Path(i["output"]).name for i in items.values() if i["output"]), "predictions.json", "side_by_side"]
    )
    assert not list(tmp_path.glob(".out.predict.*")), "the staging folder is gone"


def test_reading_composites_alpha_on_white_scales_16_bit_and_turns_exif_upright(tmp_path: Path) -> None:
    rgba = np.zeros((4, 6, 4), np.uint8)
    rgba[..., 0] = 200
    rgba[:, 3:, 3] = 255  # left half transparent, right half opaque red-ish
    assert (read_image(save_picture(tmp_path / "a.png", rgba))[:, :3] == 255).all()
    assert (read_image(tmp_path / "a.png")[:, 3:] == (200, 0, 0)).all()

    deep = np.array([[0, 32768, 65535]], np.uint16)
    Image.fromarray(deep).save(tmp_path / "deep.png")
    assert Image.open(tmp_path / "deep.png").mode.startswith("I")
    assert read_image(tmp_path / "deep.png")[0, :, 0].tolist() == [0, 128, 255]

    stored = np.zeros((20, 30, 3), np.uint8)
    stored[:5, :5] = (255, 0, 0)  # the stored top-left corner is red
    exif = Image.Exif()
    exif[ORIENTATION] = 6
    upright = read_image(save_picture(tmp_path / "r.png", stored, exif=exif))
    assert upright.shape == (30, 20, 3)
    assert (upright[:5, -5:] == (255, 0, 0)).all() and (upright[:5, :5] == 0).all()  # seen rotated clockwise: top right

    palette = Image.new("P", (3, 2))
    palette.putpalette([0, 0, 255] + [0] * 765)
    palette.info["transparency"] = 1
    palette.putpixel((0, 0), 1)
    palette.save(tmp_path / "p.png")
    decoded = read_image(tmp_path / "p.png")
    assert decoded[0, 0].tolist() == [255, 255, 255] and decoded[1, 1].tolist() == [0, 0, 255]

    (tmp_path / "e.png").write_bytes(b"")
    with pytest.raises(DataError, match="empty file"):
        read_image(tmp_path / "e.png")


def test_align_auto_skips_a_picture_without_a_face_by_name_and_says_how_to_translate_it_whole(
    conv_run: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    save_picture(tmp_path / "wall.png", np.full((120, 90, 3), 128, np.uint8))
    with pytest.raises(DataError, match="nothing written: .*wall.png: no face found: pass align=false to translate the whole picture"):
        predict(predict_config(conv_run, tmp_path / "wall.png", tmp_path / "out", align="auto"))
    assert "wall.png: no face found" in caplog.text and not (tmp_path / "out").exists()
    result = predict(predict_config(conv_run, tmp_path / "wall.png", tmp_path / "out", align=False))
    assert result["align"] is False and result["items"][0]["face_found"] is False
    assert Image.open(tmp_path / "out" / "wall.png").size == (90, 120)


def test_faces_all_writes_every_face_and_records_each_transform(conv_run: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from face2sketch.pictures.alignment import cuhk_eyes
    from face2sketch.pictures.face_detection import Face

    eye_gap = cuhk_eyes().distance
    large = Face(np.array([[100.0, 100.0], [100.0 + 2 * eye_gap, 100.0]]), (60.0, 50.0, 200.0, 220.0), 0.99)
    small = Face(np.array([[400.0, 300.0], [400.0 + eye_gap, 300.0]]), (380.0, 270.0, 100.0, 110.0), 0.95)
    stub_detector(monkeypatch, {(640, 480): [large, small]})
    save_picture(tmp_path / "two.png", faceless_picture(640, 480))
    result = predict(predict_config(conv_run, tmp_path / "two.png", tmp_path / "out", align=True, faces="all"))
    first, second = result["items"]
    assert (first["face"], second["face"]) == (1, 2) and first["faces_found"] == second["faces_found"] == 2
    assert Image.open(tmp_path / "out" / "two_face1.png").size == (400, 500) and Image.open(tmp_path / "out" / "two_face2.png").size == (200, 250)
    assert first["eyes"] == np.round(large.eyes, 2).tolist() and second["score"] == 0.95
    only = predict(predict_config(conv_run, tmp_path / "two.png", tmp_path / "largest", align=True))
    assert len(only["items"]) == 1 and only["items"][0]["eyes"] == np.round(large.eyes, 2).tolist() and (tmp_path / "largest" / "two.png").is_file()


def test_a_picture_whose_largest_face_is_too_small_is_skipped_with_the_reason_not_translated_from_a_smaller_face(
    conv_run: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Bug: too-small faces filtered out before the largest is chosen, so predict (faces=largest) wrote a smaller face's
    sketch for a picture whose largest face it cannot use."""
    from face2sketch.pictures.alignment import cuhk_eyes, min_eye_distance
    from face2sketch.pictures.face_detection import Face

    smallest = min_eye_distance()
    largest = Face(np.array([[100.0, 100.0], [100.0 + smallest - 3, 100.0]]), (60.0, 50.0, 240.0, 260.0), 0.99)  # the largest box
    usable = Face(np.array([[400.0, 300.0], [400.0 + cuhk_eyes().distance, 300.0]]), (370.0, 260.0, 110.0, 120.0), 0.95)
    stub_detector(monkeypatch, {(640, 480): [largest, usable], (480, 640): [usable]})
    (tmp_path / "in").mkdir()
    save_picture(tmp_path / "in" / "a_crowd.png", faceless_picture(640, 480))
    save_picture(tmp_path / "in" / "b_portrait.png", faceless_picture(480, 640))
    result = predict(predict_config(conv_run, tmp_path / "in", tmp_path / "out", align=True))
    crowd, portrait = result["items"]
    assert crowd["status"] == "skipped" and crowd["output"] is None and crowd["eyes"] is None
    assert crowd["reason"] == (
        f"the face is too small to use (its eyes are {smallest - 3:.0f} px apart, at least {smallest:.0f} are needed): "
        "use a closer or larger picture, or align=false to translate the whole picture"
    )
    assert portrait["status"] == "ok" and portrait["eyes"] == np.round(usable.eyes, 2).tolist()
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["b_portrait.png", "predictions.json"]


def test_a_glob_selects_files_and_a_bad_align_value_is_a_config_error(conv_run: Path, tmp_path: Path) -> None:
    for name in ("a.png", "b.png", "c.jpg"):
        save_picture(tmp_path / name, faceless_picture(40, 40))
    result = predict(predict_config(conv_run, f"{tmp_path}/*.png", tmp_path / "out"))
    assert [Path(item["input"]).name for item in result["items"]] == ["a.png", "b.png"]
    with pytest.raises(ConfigError, match="align must be auto, true or false"):
        predict(predict_config(conv_run, tmp_path / "a.png", tmp_path / "out2", align="sometimes"))
    assert not (tmp_path / "out2").exists()


def test_a_missing_model_or_input_is_a_config_error_naming_it(conv_run: Path, tmp_path: Path) -> None:
    save_picture(tmp_path / "a.png", faceless_picture(40, 40))
    with pytest.raises(ConfigError, match="model '.*nope.ckpt' not found"):
        predict(predict_config(tmp_path / "nope.ckpt", tmp_path / "a.png", tmp_path / "out"))
    with pytest.raises(ConfigError, match="input '.*missing' not found"):
        predict(predict_config(conv_run, tmp_path / "missing", tmp_path / "out"))
    assert not (tmp_path / "out").exists()


def cuhk_subset(cuhk_root: Path, folder: Path, per_split: int = 6) -> Path:
    """The first ``per_split`` identities of each CUHK release folder, linked in the release layout (evaluate's metrics are slow on 100)."""
    for split in ("Training", "Testing"):
        photos = sorted((cuhk_root / f"{split} photo").glob("*.jpg"))[:per_split]
        keys = {photo_key(p) for p in photos}
        (folder / f"{split} photo").mkdir(parents=True)
        (folder / f"{split} sketch").mkdir()
        for photo in photos:
            (folder / f"{split} photo" / photo.name).symlink_to(photo)
        for sketch in (cuhk_root / f"{split} sketch").glob("*.jpg"):
            if sketch_key(sketch) in keys:
                (folder / f"{split} sketch" / sketch.name).symlink_to(sketch)
    return folder


def test_predict_without_alignment_reproduces_evaluate_on_cuhk_test_photos(cuhk_root: Path, tmp_path: Path) -> None:
    data = cuhk_subset(cuhk_root, tmp_path / "cuhk")
    run = make_run(tmp_path / "run", f"data.root={data}", "data.image_size=64", "model=conv_ae", "direction=f2sk")
    assert_predict_reproduces_evaluate(run, data / "Testing photo", tmp_path / "out", expected_count=6)


def test_predictions_become_8_bit_pixels_rounded_half_up_and_clamped(tmp_path: Path) -> None:
    # 0.49 and 0.51 of a grey level round to 0 and 1; 0.5 -> 127.5 rounds up to 128; beyond [0, 1] clamps to 0 and 255
    values = torch.tensor([0.0, 0.49 / 255, 0.51 / 255, 0.5, 1.0, 1.5, -0.2])
    grey = [0, 0, 1, 128, 255, 255, 0]
    assert tensor_to_uint8(values.view(1, 1, 7)).tolist() == [grey]
    colour = torch.stack([values, torch.full_like(values, 0.25), torch.ones_like(values)]).view(3, 1, 7)  # 0.25 -> 63.75 -> 64
    assert tensor_to_uint8(colour)[0].tolist() == [[g, 64, 255] for g in grey]
    save_image(tmp_path / "grey.png", values.view(1, 1, 7))
    with Image.open(tmp_path / "grey.png") as saved:
        assert saved.mode == "L" and np.asarray(saved).tolist() == [grey]


# -- videos ----------------------------------------------------------------------------------------------------------------
def shipped_settings(input_: Path, output: Path, *overrides: str) -> DictConfig:
    """predict's config as its command line composes it, for the shipped f2sk model on the CPU."""
    return compose_config("predict", [f"input={input_}", f"output={output}", "device=cpu", *overrides])


def write_clip(path: Path, frames: list[np.ndarray], fps: float) -> Path:
    from face2sketch.pictures.video import video_writer

    with video_writer(path, fps, (frames[0].shape[1], frames[0].shape[0])) as sink:
        for frame in frames:
            sink.write(frame)
    return path


def test_a_video_is_written_at_its_frame_count_rate_and_size_with_a_record_per_frame(tmp_path: Path) -> None:
    """A folder mixing a picture, a video of a face at 20 frames a second, a video without a face and a file that is
    no video: the face's video comes back with as many frames, at its rate and size, each frame's status recorded
    (detected, then followed); the faceless and broken ones are skipped by name with the reason."""
    from face2sketch.pictures.video import VideoReader
    from tests.inference.test_streams import clip

    folder = tmp_path / "mixed"
    folder.mkdir()
    face = clip("moving").frames[:16]
    write_clip(folder / "face.mp4", face, 20.0)
    write_clip(folder / "wall.avi", [faceless_picture(320, 240, seed=s) for s in range(3)], 10.0)
    (folder / "broken.webm").write_text("no frames here")
    save_picture(folder / "photo.png", face[0])
    result = predict(shipped_settings(folder, tmp_path / "out"))
    items = {Path(item["input"]).name: item for item in result["items"]}
    written = VideoReader(tmp_path / "out" / "face.mp4")
    assert (written.info.fps, written.info.size, len(list(written))) == (20.0, (320, 240), 16)
    video = items["face.mp4"]
    assert (video["status"], video["fps"], video["size"], video["output"]) == ("ok", 20.0, [320, 240], str(tmp_path / "out" / "face.mp4"))
    assert [frame["frame"] for frame in video["frames"]] == list(range(16)) and video["frames"][0]["status"] == "detected"
    assert {frame["status"] for frame in video["frames"][1:]} <= {"followed", "detected"} and len(video["frames"][0]["transform"]) == 2
    assert items["wall.avi"]["status"] == "skipped" and items["wall.avi"]["reason"].startswith("no face in any of the 3 frames of 'wall.avi': pass align=false")
    assert items["broken.webm"]["reason"] == "video 'broken.webm' has no frame that can be read (not a video, truncated or an unsupported codec)"
    assert items["photo.png"]["status"] == "ok"
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["face.mp4", "photo.png", "predictions.json"]


def test_a_run_whose_only_video_has_no_face_writes_nothing_and_says_so_in_one_line(tmp_path: Path) -> None:
    write_clip(tmp_path / "wall.mp4", [faceless_picture(320, 240, seed=s) for s in range(2)], 25.0)
    with pytest.raises(DataError, match=r"^nothing written: none of the 1 inputs could be used \(wall.mp4: no face in any of the 2 frames"):
        predict(shipped_settings(tmp_path / "wall.mp4", tmp_path / "out"))
    assert not (tmp_path / "out").exists() and sorted(p.name for p in tmp_path.iterdir()) == ["wall.mp4"]
    with pytest.raises(ConfigError, match="^show=poster is not allowed"):
        predict(shipped_settings(tmp_path / "wall.mp4", tmp_path / "out", "show=poster"))
