"""What a caller must know to feed a model and read its output, and where it runs."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path

import torch

from face2sketch.data.images import DIRECTIONS
from face2sketch.errors import ConfigError


@dataclass(frozen=True)
class ModelSpec:
    """What a caller must know to feed a model and read its output; stored with every exported file."""

    model: str
    direction: str
    image_size: int
    interpolation: str
    in_channels: int
    out_channels: int
    sketch_channels: int
    value_range: tuple[float, float]

    @property
    def source_kind(self) -> str:
        return DIRECTIONS[self.direction][0]

    @property
    def target_kind(self) -> str:
        return DIRECTIONS[self.direction][1]

    def to_metadata(self) -> dict[str, str]:
        """String key/value pairs (ONNX metadata_props), each value JSON."""
        return {key: json.dumps(value) for key, value in asdict(self).items()}

    @classmethod
    def from_metadata(cls, metadata: Mapping[str, str], origin: str | Path) -> ModelSpec:
        missing = [name for name in cls.__dataclass_fields__ if name not in metadata]
        if missing:
            raise ConfigError(f"'{origin}' has no face2sketch metadata ({', '.join(missing)} missing): export it with python -m face2sketch.export")
        values = {name: json.loads(metadata[name]) for name in cls.__dataclass_fields__}
        values["value_range"] = tuple(float(v) for v in values["value_range"])
        return cls(**values)


def pick_device(name: str = "auto") -> torch.device:
    """'auto': the GPU when there is one, else the CPU."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        return torch.device(name)
    except RuntimeError as err:
        raise ConfigError(f"unknown device '{name}': use auto, cpu or cuda") from err


def random_batch(spec: ModelSpec, batch: int, seed: int = 0) -> torch.Tensor:
    """A random input batch in the model's value range."""
    low, high = spec.value_range
    generator = torch.Generator().manual_seed(seed)
    return torch.rand(batch, spec.in_channels, spec.image_size, spec.image_size, generator=generator) * (high - low) + low
