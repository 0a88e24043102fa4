"""A web page to try a trained model: upload a photo or take one with the webcam (or draw a sketch for an sk2f
model), see the aligned face beside the result; or stream the webcam through the sketch filter (the live tab).

    python -m face2sketch.demo                                   # both shipped models: a photo tab and a sketch tab
    python -m face2sketch.demo ckpt=<run folder | checkpoint.ckpt | model.onnx> [server_port=7860]

Needs the ``demo`` extra (pip install -e '.[demo]'). The page binds to 127.0.0.1 unless
``server_name`` says otherwise. Its translation is also the API endpoint ``/translate`` (an image
file in, the translated image out; ``/translate_f2sk`` and ``/translate_sk2f`` name each model)::

    from gradio_client import Client, handle_file
    Client("http://127.0.0.1:7860/").predict(handle_file("me.jpg"), api_name="/translate")
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

import hydra
import numpy as np
from omegaconf import DictConfig
from PIL import Image

from face2sketch.core.config import CONFIG_DIR
from face2sketch.core.errors import ConfigError, DataError, one_line_user_errors
from face2sketch.inference.api import Model, Picture, load
from face2sketch.inference.streams import FrameTranslator
from face2sketch.inference.videos import translate_video
from face2sketch.pictures.alignment import AlignmentFailed
from face2sketch.pictures.following import NO_FACE
from face2sketch.pictures.images import normalise_image
from face2sketch.pictures.video import BROWSER_SUFFIX
from face2sketch.training.validation import validate_demo_settings

KIND_LABELS = {"photo": "face photo", "sketch": "sketch"}
NO_WEBCAM_PICTURE = "Take a picture with the webcam first."
ALIGN_LABEL = "Find and align the face"
# the live tab asks the browser for a frame this often (25 a second), for at most LIVE_MINUTES a session
LIVE_FRAME_SECONDS, LIVE_MINUTES = 0.04, 10


class DemoTranslation:
    """The page's and the API's one translation, ``face2sketch.load``'s: read, align, translate; failures become one
    readable message."""

    def __init__(self, model: Model) -> None:
        self.model = model

    def translate_picture(self, picture: Picture, align: bool | None = None) -> tuple[np.ndarray, np.ndarray, str]:
        """(the region translated, the result, a status line) for a picture; ``align`` overrides the model's setting.

        A picture without a usable face raises the DataError that says why (no face, too small)."""
        model = self.model if align is None or align == self.model.align else self.model.with_options(align=align, batch_size=1)
        (translation,) = model.translate(picture)
        record = translation.record()
        if not model.align:
            status = "translated the whole picture"
        else:
            (left_x, left_y), (right_x, right_y) = record["eyes"]
            eyes = f"eyes at ({left_x:.0f}, {left_y:.0f}) and ({right_x:.0f}, {right_y:.0f})"
            status = f"face found (score {record['score']:.2f}), {eyes}: translated it upright, {record['size'][0]}x{record['size'][1]} px"
            if record["faces_found"] > 1:
                status += f"; {record['faces_found']} faces found, the largest translated"
        return np.asarray(translation.aligned), np.asarray(translation.image), status

    def translate_file(self, path: str | None) -> np.ndarray:
        """The /translate endpoint: an image file in, the translated image out."""
        import gradio as gr

        if not path:
            raise gr.Error("no image was sent")
        try:
            return self.translate_picture(path)[1]
        except DataError as err:
            raise gr.Error(f"cannot use this upload: {err}") from None

    def translate_upload(self, path: str | None, align: bool | None = None) -> tuple[Any, Any, str]:
        """The page's upload button: shows the translated region, the result and a status line, or the reason it failed."""
        if not path:
            return None, None, "Upload a picture first."
        return self.answer(path, f"Cannot use this upload ({Path(path).name})", align)

    def translate_webcam(self, frame: np.ndarray | None, align: bool | None = None) -> tuple[Any, Any, str]:
        """The page's webcam button: the same for the picture the webcam took."""
        if frame is None:
            return None, None, NO_WEBCAM_PICTURE
        return self.answer(frame, "Cannot use this webcam picture", align)

    def answer(self, picture: Picture, failure: str, align: bool | None) -> tuple[Any, Any, str]:
        try:
            return self.translate_picture(picture, align)
        except AlignmentFailed as err:
            return None, None, f"{failure}: {err.cause}; untick '{ALIGN_LABEL}' to translate the whole picture"
        except DataError as err:
            return None, None, f"{failure}: {err}"

    def translate_drawing(self, drawing: dict | None) -> tuple[Any, Any, str]:
        """The page's drawing canvas (sk2f): the composite of the layers, on white."""
        composite = (drawing or {}).get("composite")
        if composite is None or not np.asarray(composite).any():
            return None, None, "Draw a sketch first."
        return self.translate_picture(normalise_image(Image.fromarray(np.asarray(composite))))


# a pencil, not a marker: strokes a few pixels wide on the 400x500 canvas, in black or greys
PENCIL = {"default_size": 3, "colors": ["#000000", "#404040", "#808080"], "default_color": "#000000", "color_mode": "fixed"}
CAMERA_GONE = "The camera stopped sending pictures (unplugged, switched off or taken by another program): reconnect it and reload the page."
# the canvas opens with its brush selected (Gradio opens it with no tool: "select the draw tool to start"); and a
# camera that goes away mid-stream is said in one line beside the live tab (Gradio goes on sending black frames)
PAGE_JS = """
() => {
  const picked = new WeakSet();
  const pick = () => document.querySelectorAll('[id^="canvas-"] button[aria-label="Brush"]').forEach((button) => {
    if (!picked.has(button)) { picked.add(button); button.click(); }
  });
  pick();
  // a tab's canvas enters the page when the tab is first shown
  new MutationObserver(pick).observe(document.body, { childList: true, subtree: true });
  let silentSince = null;
  setInterval(() => {
    const status = document.querySelector('#live-camera-status');
    if (!status) return;
    const video = document.querySelector('#live-camera video');
    const tracks = video && video.srcObject ? video.srcObject.getVideoTracks() : [];
    // ended: unplugged or stopped; muted: switched off or taken by another program (for a second, not a hiccup)
    const silent = tracks.length > 0 && tracks.every((track) => track.readyState === 'ended' || track.muted);
    silentSince = silent ? (silentSince ?? Date.now()) : null;
    const text = silentSince !== null && Date.now() - silentSince >= 1000 ? CAMERA_GONE : '';
    if (status.textContent !== text) status.textContent = text;
  }, 500);
}
""".replace("CAMERA_GONE", json.dumps(CAMERA_GONE))


def model_tab(model: Model, api_names: list[str]) -> None:
    """One model's controls: upload (photos: also the webcam; sketches: also a drawing canvas), the region translated
    (the aligned face) beside the result."""
    import gradio as gr

    spec = model.spec
    source, target, key = KIND_LABELS[spec.source_kind], KIND_LABELS[spec.target_kind], spec.direction
    translation = DemoTranslation(model)
    gr.Markdown(
        f"Model `{spec.model}` ({spec.direction}, {spec.image_size} px) from `{Path(model.origin).name}`. "
        + ("The face is found, turned upright and framed as in the CUHK photos the model learnt from." if model.align else "The whole picture is translated.")
    )
    with gr.Row():
        with gr.Column():
            upload = gr.File(label=f"Your {source} (JPEG, PNG, WebP, BMP)", file_types=["image"], type="filepath", elem_id=f"upload-{key}")
            translate_button = gr.Button("Translate", variant="primary", elem_id=f"translate-{key}")
            if spec.source_kind == "photo":
                webcam = gr.Image(label="...or take one with your webcam", sources=["webcam"], type="numpy", elem_id=f"webcam-{key}")
                webcam_button = gr.Button("Translate the webcam picture", elem_id=f"translate-webcam-{key}")
                align = gr.Checkbox(value=model.align, label=ALIGN_LABEL, elem_id=f"align-{key}")
            else:
                canvas = gr.Sketchpad(
                    label="...or draw a sketch", type="numpy", image_mode="RGBA", canvas_size=(400, 500), brush=gr.Brush(**PENCIL), elem_id=f"canvas-{key}"
                )
                draw_button = gr.Button("Translate the drawing", elem_id=f"translate-drawing-{key}")
        aligned = gr.Image(label="Input as translated", type="numpy", interactive=False, elem_id=f"aligned-{key}")
        result = gr.Image(label=f"Result: {target}", type="numpy", format="png", interactive=False, elem_id=f"result-{key}")
    status = gr.Markdown(elem_id=f"status-{key}")
    shown = [aligned, result, status]
    if spec.source_kind == "photo":
        translate_button.click(translation.translate_upload, inputs=[upload, align], outputs=shown, api_name=False)
        webcam_button.click(translation.translate_webcam, inputs=[webcam, align], outputs=shown, api_name=False)
    else:
        translate_button.click(translation.translate_upload, inputs=upload, outputs=shown, api_name=False)
        draw_button.click(translation.translate_drawing, inputs=canvas, outputs=shown, api_name=False)
    # the API endpoints: image file in, image out (hidden from the page)
    for api_name in api_names:
        api_input = gr.File(visible=False, type="filepath")
        api_output = gr.Image(visible=False, type="numpy", format="png")
        gr.Button(visible=False).click(translation.translate_file, inputs=api_input, outputs=api_output, api_name=api_name)


class LiveTranslation:
    """The live tab: each webcam frame through ``Model.frames``, one frame translator per browser session so that its
    face is followed from frame to frame; a frame the model cannot use is shown as it came."""

    def __init__(self, model: Model, frame_seconds: float) -> None:
        self.model, self.frame_seconds = model, frame_seconds

    def translate(self, frame: np.ndarray | None, session: FrameTranslator | None) -> tuple[Any, FrameTranslator | None]:
        if frame is None:
            return None, session
        session = session or self.model.frames(fps=1.0 / self.frame_seconds)
        try:
            return session(np.ascontiguousarray(frame[..., :3])).image, session
        except DataError:
            return frame, session


class VideoUpload:
    """The live tab's video upload: the clip through ``translate_video`` into a folder of the page's own, written as
    WebM (VP8) so that the page plays it, with a status line or the reason it failed."""

    def __init__(self, model: Model, folder: Path) -> None:
        self.model, self.folder = model, folder

    def translate(self, path: str | None) -> tuple[str | None, str]:
        if not path:
            return None, "Upload a video first."
        output = Path(tempfile.mkdtemp(dir=self.folder)) / f"{Path(path).stem}_sketch{BROWSER_SUFFIX}"
        try:
            done = translate_video(Path(path), output, lambda fps: self.model.frames(fps))
        except DataError as err:
            return None, f"Cannot use this video: {err}"
        faces = sum(frame["status"] != NO_FACE for frame in done.frames)
        return str(done.output), f"translated {len(done.frames)} frames at {done.fps:g} frames a second, the face in {faces} of them"


def live_tab(model: Model) -> None:
    """A streaming webcam input, and the stream as the filter shows it: the sketch over the face."""
    import gradio as gr

    gr.Markdown("Start the webcam: each frame comes back with the sketch over your face, the face followed from frame to frame.")
    live = LiveTranslation(model, LIVE_FRAME_SECONDS)
    with gr.Row():
        camera = gr.Image(label="Webcam", sources=["webcam"], streaming=True, type="numpy", elem_id="live-camera")
        shown = gr.Image(label="Sketch filter", type="numpy", interactive=False, streaming=True, elem_id="live-result")
    gr.HTML(elem_id="live-camera-status")
    session = gr.State(None)
    camera.stream(live.translate, inputs=[camera, session], outputs=[shown, session], stream_every=LIVE_FRAME_SECONDS, time_limit=LIVE_MINUTES * 60)
    gr.Markdown("...or upload a video (mp4, webm, avi, mov, animated gif): it comes back as a WebM video to play here or download.")
    upload = VideoUpload(model, Path(tempfile.mkdtemp(prefix="face2sketch-demo-videos-")))
    with gr.Row():
        video = gr.File(label="Your video", file_types=["video", ".gif"], type="filepath", elem_id="video-upload")
        result = gr.Video(label="Sketch video", interactive=False, elem_id="video-result")
    status = gr.Markdown(elem_id="video-status")
    gr.Button("Translate the video", elem_id="translate-video").click(upload.translate, inputs=video, outputs=[result, status])


def build_demo(models: list[Model]) -> Any:
    """The Gradio Blocks page: one tab per model (the shipped models: a photo tab and a sketch tab), and a live tab
    for the first photo model.

    Each model answers at ``/translate_<direction>``; the first also at ``/translate``.
    """
    import gradio as gr

    with gr.Blocks(title="face2sketch") as demo:
        gr.Markdown("## face2sketch: face photo ↔ pencil sketch")
        with gr.Tabs():
            for index, model in enumerate(models):
                spec = model.spec
                label = f"{KIND_LABELS[spec.source_kind].capitalize()} → {KIND_LABELS[spec.target_kind]}"
                with gr.Tab(label, id=spec.direction, elem_id=f"tab-{spec.direction}"):
                    model_tab(model, [f"translate_{spec.direction}", *(["translate"] if index == 0 else [])])
            live = next((model for model in models if model.spec.source_kind == "photo"), None)
            if live is not None:
                with gr.Tab("Live camera", id="live", elem_id="tab-live"):
                    live_tab(live)
    return demo


def launch(cfg: DictConfig, block: bool = True) -> Any:
    """Load the model (no ckpt: both shipped models) and serve the page; ``block=False`` returns the running Blocks
    (tests close it)."""
    validate_demo_settings(cfg)
    try:
        import gradio  # noqa: F401
    except ImportError as err:
        raise ConfigError("the demo needs Gradio: pip install -e '.[demo]'") from err
    names = ["f2sk", "sk2f"] if cfg.get("ckpt") is None else [cfg.ckpt]
    models = [load(name, align=cfg.align, device=cfg.device, batch_size=1) for name in names]
    demo = build_demo(models)
    demo.launch(
        server_name=cfg.server_name,
        server_port=cfg.server_port,
        max_file_size=f"{cfg.max_upload_mb}mb",
        prevent_thread_lock=not block,
        show_error=False,
        quiet=not block,
        js=PAGE_JS,
    )
    return demo


@hydra.main(version_base="1.3", config_path=str(CONFIG_DIR), config_name="demo")
@one_line_user_errors()
def main(cfg: DictConfig) -> None:
    launch(cfg)


if __name__ == "__main__":
    main()
