"""The models installed with the package: one weights file per direction, listed with its checksum in models.json.
Read here; only ``face2sketch.release`` (a developer's action in a checkout) writes them."""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Any

from face2sketch.errors import ConfigError
from face2sketch.inference.files import WeightsTranslator
from face2sketch.inference.spec import pick_device

# one weights file per direction, listed with its checksum in models.json
PRETRAINED_DIR = Path(__file__).parent.parent / "pretrained"
PRETRAINED_INDEX = PRETRAINED_DIR / "models.json"


@lru_cache(maxsize=1)
def pretrained_index() -> dict[str, Any]:
    """models.json: per direction, the weights file, its SHA-256, and how the model was trained (docs/models.md)."""
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


def load_pretrained(direction: str, device: str = "auto") -> WeightsTranslator:
    """The model shipped for ``direction``, its file checked against models.json."""
    entry = pretrained_entry(direction)
    path = PRETRAINED_DIR / entry["file"]
    if not path.is_file():
        raise ConfigError(f"shipped model file '{path}' is missing: reinstall face2sketch, e.g. pip install --force-reinstall -e .")
    return WeightsTranslator(path, pick_device(device), sha256=entry["sha256"])
