"""Any trained model from a path: a run folder, a checkpoint inside one, an exported file, or the shipped model."""

from __future__ import annotations

from pathlib import Path

from face2sketch.errors import ConfigError
from face2sketch.inference.checkpoints import run_translator
from face2sketch.inference.files import ONNX_SUFFIXES, TORCHSCRIPT_SUFFIXES, WEIGHTS_SUFFIXES, OnnxTranslator, TorchScriptTranslator, WeightsTranslator
from face2sketch.inference.shipped import load_pretrained
from face2sketch.inference.spec import pick_device
from face2sketch.inference.translator import Translator
from face2sketch.run_folder import locate_run


def load_translator(path: str | Path | None, device: str = "auto", seed: int | None = None, direction: str | None = None) -> Translator:
    """A model from a run folder, a .ckpt inside one, an .onnx, TorchScript (.pt) or weights (.pth) file, ready to
    translate; ``path=None``: the model shipped for ``direction`` (f2sk when None).

    A checkpoint's model is seeded with its run's seed, so pix2pix's train-mode inference (dropout) repeats.
    """
    if path is None:
        return load_pretrained(direction or "f2sk", device)
    path = Path(str(path)).expanduser()
    if not path.exists():
        raise ConfigError(f"model '{path}' not found: pass ckpt=<run folder | checkpoint.ckpt | model.onnx>, or no ckpt for the shipped model")
    if path.suffix in WEIGHTS_SUFFIXES:
        return WeightsTranslator(path, pick_device(device))
    if path.suffix in ONNX_SUFFIXES:
        return OnnxTranslator(path, pick_device(device))
    if path.suffix in TORCHSCRIPT_SUFFIXES:
        return TorchScriptTranslator(path, pick_device(device))
    located = locate_run(path)
    if located is None:
        raise ConfigError(f"'{path}' is not a run folder, a .ckpt inside one, an .onnx, a TorchScript .pt or a weights .pth file")
    return run_translator(*located, device=device, seed=seed)
