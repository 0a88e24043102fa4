"""Any trained model from a path: a run folder, a checkpoint inside one, an exported file, or the shipped model.

The PyTorch-backed loaders are imported only when a path needs one, so that an app running ONNX files (and the
shipped models on the CPU) starts without importing torch.
"""

from __future__ import annotations

from pathlib import Path

from face2sketch.core.directions import DIRECTIONS
from face2sketch.core.errors import ConfigError
from face2sketch.core.run_folder import locate_run
from face2sketch.inference.files import ONNX_SUFFIXES, TORCHSCRIPT_SUFFIXES, WEIGHTS_SUFFIXES, OnnxTranslator
from face2sketch.inference.shipped import load_pretrained
from face2sketch.inference.spec import device_name, pick_device
from face2sketch.inference.translator import Translator


def load_translator(path: str | Path | None, device: str = "auto", seed: int | None = None, direction: str | None = None) -> Translator:
    """A model from a run folder, a .ckpt inside one, an .onnx, TorchScript (.pt) or weights (.pth) file, ready to
    translate; "f2sk" or "sk2f": the shipped model; ``path=None``: the model shipped for ``direction`` (f2sk when None).
    The one route to every model, ``face2sketch.load``'s.

    A checkpoint's model is seeded with its run's seed, so pix2pix's train-mode inference (dropout) repeats.
    """
    if path is None or str(path) in DIRECTIONS:
        return load_pretrained((direction or "f2sk") if path is None else str(path), device)
    path = Path(str(path)).expanduser()
    if not path.exists():
        raise ConfigError(f"model '{path}' not found: pass ckpt=<run folder | checkpoint.ckpt | model.onnx>, or no ckpt for the shipped model")
    if path.suffix in ONNX_SUFFIXES:
        return OnnxTranslator(path, device_name(device))
    if path.suffix in WEIGHTS_SUFFIXES + TORCHSCRIPT_SUFFIXES:
        from face2sketch.inference.torch_files import TorchScriptTranslator, WeightsTranslator

        reader = WeightsTranslator if path.suffix in WEIGHTS_SUFFIXES else TorchScriptTranslator
        return reader(path, pick_device(device))
    located = locate_run(path)
    if located is None:
        raise ConfigError(f"'{path}' is not a run folder, a .ckpt inside one, an .onnx, a TorchScript .pt or a weights .pth file")
    from face2sketch.inference.checkpoints import run_translator

    return run_translator(*located, device=device, seed=seed)
