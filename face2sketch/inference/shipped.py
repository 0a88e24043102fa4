"""The models installed with the package, listed with their checksums in models.json. Each direction has a weights
file (PyTorch, half precision: what was trained; the model card's scores were measured through it) and the same
network as ONNX with the same half-precision weights, which ONNX Runtime runs on the CPU without torch (evaluate
included: its scores agree with the weights file's to five decimals, docs/models.md). Read here; only
``face2sketch.release`` (a developer's action in a checkout) writes them."""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from face2sketch.core.errors import ConfigError
from face2sketch.inference.files import REINSTALL, OnnxTranslator
from face2sketch.inference.spec import device_name, pick_device
from face2sketch.inference.translator import Translator

if TYPE_CHECKING:
    from face2sketch.inference.torch_files import WeightsTranslator

PRETRAINED_DIR = Path(__file__).parent.parent / "pretrained"
PRETRAINED_INDEX = PRETRAINED_DIR / "models.json"


@lru_cache(maxsize=1)
def pretrained_index() -> dict[str, Any]:
    """models.json: per direction, the weights file and its SHA-256, its ONNX twin ("onnx": file, sha256, bytes), and
    how the model was trained (docs/models.md)."""
    if not PRETRAINED_INDEX.is_file():
        raise ConfigError(
            f"no shipped models in this installation ({PRETRAINED_INDEX} is missing): pass ckpt=<run folder | model file>, or reinstall face2sketch"
        )
    return json.loads(PRETRAINED_INDEX.read_text())


def pretrained_entry(direction: str) -> dict[str, Any]:
    index = pretrained_index()
    if direction not in index:
        raise ConfigError(f"no shipped model for direction '{direction}': use one of {', '.join(sorted(index))}")
    return index[direction]


def shipped_file(direction: str, record: dict[str, Any]) -> Path:
    path = PRETRAINED_DIR / record["file"]
    if not path.is_file():
        raise ConfigError(f"shipped model file '{path}' is missing: {REINSTALL}")
    return path


def load_pretrained(direction: str, device: str = "auto") -> Translator:
    """The model shipped for ``direction``, its file checked against models.json: the ONNX file run by ONNX Runtime on
    the CPU (no torch is imported), the weights file on a GPU."""
    if device_name(device).partition(":")[0] == "cpu":  # cpu or cpu:N
        record = pretrained_entry(direction).get("onnx")
        if record is None:
            raise ConfigError(
                f"models.json lists no ONNX file for the shipped {direction} model: in a source checkout run "
                f"python -m face2sketch.release action=onnx, otherwise {REINSTALL}"
            )
        return OnnxTranslator(shipped_file(direction, record), "cpu", sha256=record["sha256"])
    return load_pretrained_weights(direction, device)


def load_pretrained_weights(direction: str, device: str = "auto") -> WeightsTranslator:
    """The shipped model's weights file as a PyTorch generator (what export and release start from)."""
    from face2sketch.inference.torch_files import WeightsTranslator

    entry = pretrained_entry(direction)
    return WeightsTranslator(shipped_file(direction, entry), pick_device(device), sha256=entry["sha256"])
