"""A web page to try a trained model: upload a photo (or draw a sketch for an sk2f model), see the result.

    python -m face2sketch.demo ckpt=<run folder | checkpoint.ckpt | model.onnx> [server_port=7860]

Needs the ``demo`` extra (pip install -e '.[demo]'). The page binds to 127.0.0.1 unless
``server_name`` says otherwise. Its translation is also the API endpoint ``/translate`` (an image
file in, the translated image out)::

    from gradio_client import Client, handle_file
    Client("http://127.0.0.1:7860/").predict(handle_file("me.jpg"), api_name="/translate")
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import hydra
import numpy as np
from omegaconf import DictConfig
from PIL import Image

from face2sketch.config import CONFIG_DIR
from face2sketch.data.alignment import align_if, resolve_align
from face2sketch.data.images import normalise_image, read_image
from face2sketch.errors import ConfigError, DataError, exit_on_user_error
from face2sketch.inference import Translator, load_translator, translate_regions

log = logging.getLogger(__name__)
KIND_LABELS = {"photo": "face photo", "sketch": "sketch"}


class DemoTranslation:
    """The page's and the API's one translation: read, align, translate; failures become one readable message."""

    def __init__(self, translator: Translator, align: bool) -> None:
        self.translator, self.align = translator, align

    def translate_picture(self, image: np.ndarray) -> tuple[np.ndarray, np.ndarray, str]:
        """(the region translated, the result, a status line) for a uint8 RGB picture."""
        aligned = align_if(image, self.align)
        (result,) = translate_regions(self.translator, [aligned.image])
        if not self.align:
            status = "translated the whole picture"
        elif aligned.face_found:
            left, top, width, height = aligned.crop
            status = f"face found: translated the crop left={left}, top={top}, {width}x{height} px"
        else:
            status = "no face found: translated the whole picture"
        return aligned.image, result, status

    def translate_file(self, path: str | None) -> np.ndarray:
        """The /translate endpoint: an image file in, the translated image out."""
        import gradio as gr

        if not path:
            raise gr.Error("no image was sent")
        try:
            return self.translate_picture(read_image(path))[1]
        except DataError as err:
            raise gr.Error(f"cannot use this upload: {err}") from None

    def translate_upload(self, path: str | None) -> tuple[Any, Any, str]:
        """The page's upload button: shows the translated region, the result and a status line, or the reason it failed."""
        if not path:
            return None, None, "Upload a picture first."
        try:
            return self.translate_picture(read_image(path))
        except DataError as err:
            return None, None, f"Cannot use this upload ({Path(path).name}): {err}"

    def translate_drawing(self, drawing: dict | None) -> tuple[Any, Any, str]:
        """The page's drawing canvas (sk2f): the composite of the layers, on white."""
        composite = (drawing or {}).get("composite")
        if composite is None or not np.asarray(composite).any():
            return None, None, "Draw a sketch first."
        return self.translate_picture(normalise_image(Image.fromarray(np.asarray(composite))))


def build_demo(translator: Translator, align: bool) -> Any:
    """The Gradio Blocks page for one model."""
    import gradio as gr

    spec = translator.spec
    source, target = KIND_LABELS[spec.source_kind], KIND_LABELS[spec.target_kind]
    translation = DemoTranslation(translator, align)
    with gr.Blocks(title=f"face2sketch: {source} to {target}") as demo:
        gr.Markdown(
            f"## face2sketch: {source} → {target}\n"
            f"Model `{spec.model}` ({spec.direction}, {spec.image_size} px) from `{Path(translator.origin).name}`. "
            + ("Faces are found and cropped as in the CUHK photos the model learnt from." if align else "The whole picture is translated.")
        )
        with gr.Row():
            with gr.Column():
                upload = gr.File(label=f"Your {source} (JPEG, PNG, WebP, BMP)", file_types=["image"], type="filepath", elem_id="upload")
                translate_button = gr.Button("Translate", variant="primary", elem_id="translate")
                if spec.source_kind == "sketch":
                    canvas = gr.Sketchpad(label="...or draw a sketch", type="numpy", image_mode="RGBA", canvas_size=(400, 500), elem_id="canvas")
                    draw_button = gr.Button("Translate the drawing", elem_id="translate-drawing")
            aligned = gr.Image(label="Input as translated", type="numpy", interactive=False, elem_id="aligned")
            result = gr.Image(label=f"Result: {target}", type="numpy", format="png", interactive=False, elem_id="result")
        status = gr.Markdown(elem_id="status")
        translate_button.click(translation.translate_upload, inputs=upload, outputs=[aligned, result, status], api_name=False)
        if spec.source_kind == "sketch":
            draw_button.click(translation.translate_drawing, inputs=canvas, outputs=[aligned, result, status], api_name=False)
        # the API endpoint: image file in, image out (hidden from the page)
        api_input = gr.File(visible=False, type="filepath")
        api_output = gr.Image(visible=False, type="numpy", format="png")
        gr.Button(visible=False).click(translation.translate_file, inputs=api_input, outputs=api_output, api_name="translate")
    return demo


def launch(cfg: DictConfig, block: bool = True) -> Any:
    """Load the model and serve the page; ``block=False`` returns the running Blocks (tests close it)."""
    try:
        import gradio  # noqa: F401
    except ImportError as err:
        raise ConfigError("the demo needs Gradio: pip install -e '.[demo]'") from err
    if cfg.max_upload_mb <= 0:
        raise ConfigError(f"max_upload_mb must be positive, got {cfg.max_upload_mb}")
    translator = load_translator(cfg.ckpt, cfg.device)
    demo = build_demo(translator, resolve_align(cfg.align, translator.spec.source_kind))
    demo.launch(
        server_name=cfg.server_name, server_port=cfg.server_port, max_file_size=f"{cfg.max_upload_mb}mb",
        prevent_thread_lock=not block, show_error=False, quiet=not block,
    )
    return demo


@hydra.main(version_base="1.3", config_path=str(CONFIG_DIR), config_name="demo")
def main(cfg: DictConfig) -> None:
    try:
        launch(cfg)
    except Exception as err:
        exit_on_user_error(err)
        raise


if __name__ == "__main__":
    main()
