"""One interface over every way a model runs (ONNX Runtime, PyTorch, TorchScript, a weights file): numpy arrays in
and out, so that a model run by ONNX Runtime needs no torch at all."""

from __future__ import annotations

from abc import ABC, abstractmethod

import numpy as np

from face2sketch.inference.spec import ModelSpec
from face2sketch.pictures.images import fit_to_model, model_input, resize_planes, to_source_kind, to_uint8, unit_range_array


class Translator(ABC):
    """A loaded model: prepares decoded images for it and turns a batch of inputs into [0, 1] predictions."""

    spec: ModelSpec
    origin: str

    def prepare(self, image: np.ndarray) -> np.ndarray:
        """A uint8 RGB picture -> the model's input (CxSxS float32 in its value range), as training prepared CUHK's."""
        spec = self.spec
        fitted = fit_to_model(to_source_kind(image, spec.source_kind), spec.source_kind, spec.image_size, spec.interpolation, spec.sketch_channels)
        return model_input(fitted, spec.value_range)

    @abstractmethod
    def raw(self, inputs: np.ndarray) -> np.ndarray:
        """The network's float32 output for a batch of prepared inputs (NxCxSxS), in its own value range (unclamped)."""

    def translate(self, inputs: np.ndarray) -> np.ndarray:
        """Predictions for a batch of prepared inputs: NxCxSxS float32 in [0, 1]."""
        return unit_range_array(self.raw(inputs), self.spec.value_range)

    def translate_pictures(self, pictures: list[np.ndarray]) -> list[np.ndarray]:
        """uint8 RGB pictures (whole images or aligned crops) -> uint8 predictions, each at its picture's size."""
        predictions = self.translate(np.stack([self.prepare(picture) for picture in pictures]))
        return [to_uint8(resize_planes(prediction, picture.shape[:2])) for prediction, picture in zip(predictions, pictures, strict=True)]
