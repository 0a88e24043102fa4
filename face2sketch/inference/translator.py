"""One interface over every way a model runs (PyTorch, ONNX Runtime, TorchScript, a weights file)."""

from __future__ import annotations

from abc import ABC, abstractmethod

import numpy as np
import torch

from face2sketch.data.images import fit_to_model, to_source_kind, to_tensor, unit_range
from face2sketch.inference.spec import ModelSpec


class Translator(ABC):
    """A loaded model: prepares decoded images for it and turns a batch of inputs into [0, 1] predictions."""

    spec: ModelSpec
    origin: str

    def prepare(self, image: np.ndarray) -> torch.Tensor:
        """A uint8 RGB picture -> the model's input (CxSxS in its value range), as training prepared CUHK's."""
        spec = self.spec
        fitted = fit_to_model(to_source_kind(image, spec.source_kind), spec.source_kind, spec.image_size, spec.interpolation, spec.sketch_channels)
        return to_tensor(fitted, spec.value_range)

    @abstractmethod
    def raw(self, inputs: torch.Tensor) -> torch.Tensor:
        """The network's output for a batch of prepared inputs, in its own value range (unclamped)."""

    def translate(self, inputs: torch.Tensor) -> torch.Tensor:
        """Predictions for a batch of prepared inputs: NxCxSxS in [0, 1], on the CPU."""
        return unit_range(self.raw(inputs).cpu(), self.spec.value_range)
