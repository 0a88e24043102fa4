"""A web page to try a trained model: upload a photo (or draw a sketch for an sk2f model), see the result.

    python -m face2sketch.demo                                   # both shipped models: a photo tab and a sketch tab
    python -m face2sketch.demo ckpt=<run folder | checkpoint.ckpt | model.onnx> [server_port=7860]

Needs the ``demo`` extra (pip install -e '.[demo]'). The page binds to 127.0.0.1 unless
``server_name`` says otherwise. Its translation is also the API endpoint ``/translate`` (an image
file in, the translated image out; ``/translate_f2sk`` and ``/translate_sk2f`` name each model)::

    from gradio_client import Client, handle_file
    Client("http://127.0.0.1:7860/").predict(handle_file("me.jpg"), api_name="/translate")
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import hydra
import numpy as np
from omegaconf import DictConfig
from PIL import Image

from face2sketch.config import CONFIG_DIR
from face2sketch.data.alignment import align_if, resolve_align
from face2sketch.data.images import normalise_image, read_image
from face2sketch.errors import ConfigError, DataError, one_line_user_errors
from face2sketch.inference import Translator, load_translator, translate_regions
from face2sketch.validation import validate_demo_settings

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
        elif aligned.face_found and aligned.crop is not None:
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


# a pencil, not a marker: strokes a few pixels wide on the 400x500 canvas, in black or greys
PENCIL = {"default_size": 3, "colors": ["#000000", "#404040", "#808080"], "default_color": "#000000", "color_mode": "fixed"}
# the canvas opens with its brush selected (Gradio opens it with no tool: "select the draw tool to start")
SELECT_BRUSH_JS = """
() => {
  const picked = new WeakSet();
  const pick = () => document.querySelectorAll('[id^="canvas-"] button[aria-label="Brush"]').forEach((button) => {
    if (!picked.has(button)) { picked.add(button); button.click(); }
  });
  pick();
  // a tab's canvas enters the page when the tab is first shown
  new MutationObserver(pick).observe(document.body, { childList: true, subtree: true });
}
"""


def model_tab(translator: Translator, align: bool, api_names: list[str]) -> None:
    """One model's controls: upload (and, for sketch input, a drawing canvas), the region translated, the result."""
    import gradio as gr

    spec = translator.spec
    source, target, key = KIND_LABELS[spec.source_kind], KIND_LABELS[spec.target_kind], spec.direction
    translation = DemoTranslation(translator, align)
    gr.Markdown(
        f"Model `{spec.model}` ({spec.direction}, {spec.image_size} px) from `{Path(translator.origin).name}`. "
        + ("Faces are found and cropped as in the CUHK photos the model learnt from." if align else "The whole picture is translated.")
    )
    with gr.Row():
        with gr.Column():
            upload = gr.File(label=f"Your {source} (JPEG, PNG, WebP, BMP)", file_types=["image"], type="filepath", elem_id=f"upload-{key}")
            translate_button = gr.Button("Translate", variant="primary", elem_id=f"translate-{key}")
            if spec.source_kind == "sketch":
                canvas = gr.Sketchpad(
                    label="...or draw a sketch", type="numpy", image_mode="RGBA", canvas_size=(400, 500), brush=gr.Brush(**PENCIL), elem_id=f"canvas-{key}"
                )
                draw_button = gr.Button("Translate the drawing", elem_id=f"translate-drawing-{key}")
        aligned = gr.Image(label="Input as translated", type="numpy", interactive=False, elem_id=f"aligned-{key}")
        result = gr.Image(label=f"Result: {target}", type="numpy", format="png", interactive=False, elem_id=f"result-{key}")
    status = gr.Markdown(elem_id=f"status-{key}")
    translate_button.click(translation.translate_upload, inputs=upload, outputs=[aligned, result, status], api_name=False)
    if spec.source_kind == "sketch":
        draw_button.click(translation.translate_drawing, inputs=canvas, outputs=[aligned, result, status], api_name=False)
    # the API endpoints: image file in, image out (hidden from the page)
    for api_name in api_names:
        api_input = gr.File(visible=False, type="filepath")
        api_output = gr.Image(visible=False, type="numpy", format="png")
        gr.Button(visible=False).click(translation.translate_file, inputs=api_input, outputs=api_output, api_name=api_name)


def build_demo(translators: list[Translator], aligns: list[bool]) -> Any:
    """The Gradio Blocks page: one tab per model (the shipped models: a photo tab and a sketch tab).

    Each model answers at ``/translate_<direction>``; the first also at ``/translate``.
    """
    import gradio as gr

    with gr.Blocks(title="face2sketch") as demo:
        gr.Markdown("## face2sketch: face photo ↔ pencil sketch")
        with gr.Tabs():
            for index, (translator, align) in enumerate(zip(translators, aligns, strict=False)):
                spec = translator.spec
                label = f"{KIND_LABELS[spec.source_kind].capitalize()} → {KIND_LABELS[spec.target_kind]}"
                with gr.Tab(label, id=spec.direction, elem_id=f"tab-{spec.direction}"):
                    model_tab(translator, align, [f"translate_{spec.direction}", *(["translate"] if index == 0 else [])])
    return demo


def launch(cfg: DictConfig, block: bool = True) -> Any:
    """Load the model (no ckpt: both shipped models) and serve the page; ``block=False`` returns the running Blocks
    (tests close it)."""
    validate_demo_settings(cfg)
    try:
        import gradio  # noqa: F401
    except ImportError as err:
        raise ConfigError("the demo needs Gradio: pip install -e '.[demo]'") from err
    if cfg.get("ckpt") is None:
        translators = [load_translator(None, cfg.device, direction=direction) for direction in ("f2sk", "sk2f")]
    else:
        translators = [load_translator(cfg.ckpt, cfg.device)]
    demo = build_demo(translators, [resolve_align(cfg.align, t.spec.source_kind) for t in translators])
    demo.launch(
        server_name=cfg.server_name,
        server_port=cfg.server_port,
        max_file_size=f"{cfg.max_upload_mb}mb",
        prevent_thread_lock=not block,
        show_error=False,
        quiet=not block,
        js=SELECT_BRUSH_JS,
    )
    return demo


@hydra.main(version_base="1.3", config_path=str(CONFIG_DIR), config_name="demo")
@one_line_user_errors()
def main(cfg: DictConfig) -> None:
    launch(cfg)


if __name__ == "__main__":
    main()
