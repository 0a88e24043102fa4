"""What a caller must know to feed a model and read its output, and where it runs. Imports no torch: a model run
by ONNX Runtime on the CPU never needs it."""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from face2sketch.core.directions import DIRECTIONS
from face2sketch.core.errors import ConfigError

if TYPE_CHECKING:
    import torch

# device nodes and driver files that exist wherever a GPU driver torch could use is loaded: NVIDIA (also inside
# containers), NVIDIA Jetson boards, WSL 2's GPU bridge, AMD ROCm
GPU_DRIVER_FILES = ("/proc/driver/nvidia/version", "/dev/nvidiactl", "/dev/nvhost-ctrl-gpu", "/etc/nv_tegra_release", "/dev/dxg", "/dev/kfd")


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


def gpu_driver_present() -> bool:
    """False where no GPU driver is loaded, so that no GPU can be used; True where torch must be asked."""
    if sys.platform == "darwin":
        return False  # no CUDA builds of torch for macOS
    if sys.platform.startswith("linux"):
        return any(Path(name).exists() for name in GPU_DRIVER_FILES)
    return True


def device_name(name: str = "auto") -> str:
    """The device a model runs on: 'auto' is "cuda" when torch sees a GPU, else "cpu". Where no GPU driver is loaded
    the answer is "cpu" without importing torch (a second of an app's start-up on a CPU-only machine); where torch is
    imported already, asking it costs nothing."""
    if name != "auto":
        return name
    if "torch" not in sys.modules and not gpu_driver_present():
        return "cpu"
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def pick_device(name: str = "auto") -> torch.device:
    """``device_name`` as a torch device, or a one-line ConfigError for a name torch does not know."""
    import torch

    try:
        return torch.device(device_name(name))
    except RuntimeError as err:
        raise ConfigError(f"unknown device '{name}': use auto, cpu or cuda") from err


def random_batch(spec: ModelSpec, batch: int, seed: int = 0) -> torch.Tensor:
    """A random input batch in the model's value range."""
    import torch

    low, high = spec.value_range
    generator = torch.Generator().manual_seed(seed)
    return torch.rand(batch, spec.in_channels, spec.image_size, spec.image_size, generator=generator) * (high - low) + low
