"""The image helpers that work on torch tensors: training batches, evaluation and saved samples. They wrap the array
functions of ``images`` (which imports no torch, so that the Python API can run without it) where one exists."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from PIL import Image

from face2sketch.pictures.images import model_input, resize_planes, to_uint8, to_unit_range


def to_tensor(image: np.ndarray, value_range: tuple[float, float]) -> torch.Tensor:
    """HxWxC uint8 -> CxHxW float scaled to ``value_range`` (``images.model_input``)."""
    return torch.from_numpy(model_input(image, value_range))


def unit_range(images: torch.Tensor, value_range: tuple[float, float]) -> torch.Tensor:
    """Images (or raw network outputs) mapped from ``value_range`` to [0, 1] and clamped, as contiguous float NCHW.

    Every prediction that is shown, saved or scored passes through ``images.to_unit_range``, here or through
    ``images.unit_range_array`` for arrays.
    """
    return to_unit_range(images.float(), value_range).contiguous()


def resize_prediction(prediction: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """A CxHxW [0, 1] prediction resized (bicubic) to ``size`` = (height, width) and clamped (``images.resize_planes``)."""
    if tuple(prediction.shape[-2:]) == tuple(size):
        return prediction
    return torch.from_numpy(resize_planes(prediction.detach().float().cpu().numpy(), size))


def tensor_to_uint8(image: torch.Tensor) -> np.ndarray:
    """A CxHxW [0, 1] tensor as an 8-bit HxW (1 channel) or HxWx3 array (``images.to_uint8``)."""
    return to_uint8(image.detach().float().cpu().numpy())


def save_image(path: Path, image: torch.Tensor) -> None:
    """A CxHxW [0, 1] tensor as an 8-bit PNG (L for 1 channel, RGB for 3)."""
    Image.fromarray(tensor_to_uint8(image)).save(path)
