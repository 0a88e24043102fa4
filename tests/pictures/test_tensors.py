"""The torch twins of the array picture helpers: they must give what the array functions give, so that a training
sample, a saved sample and a prediction are finished the same way."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from face2sketch.pictures.images import model_input, resize_planes, unit_range_array
from face2sketch.pictures.tensors import resize_prediction, save_image, tensor_to_uint8, to_tensor, unit_range


def test_a_tensor_prediction_is_saved_as_a_grey_or_an_rgb_png_of_its_rounded_grey_levels(tmp_path: Path) -> None:
    """Guards ``tensor_to_uint8`` and ``save_image``: the same rounding as ``to_uint8``, 'L' for one plane, 'RGB' for three."""
    planes = torch.tensor([[[0.0, 1.0]], [[0.5, 0.25]], [[1.0, 0.0]]], dtype=torch.float64)
    assert tensor_to_uint8(planes).tolist() == [[[0, 128, 255], [255, 64, 0]]]
    save_image(tmp_path / "rgb.png", planes)
    save_image(tmp_path / "grey.png", planes[1:2])
    with Image.open(tmp_path / "rgb.png") as rgb, Image.open(tmp_path / "grey.png") as grey:
        assert (rgb.mode, np.asarray(rgb).tolist()) == ("RGB", [[[0, 128, 255], [255, 64, 0]]])
        assert (grey.mode, np.asarray(grey).tolist()) == ("L", [[128, 64]])


def test_unit_range_maps_the_value_range_to_0_1_and_clamps_in_float() -> None:
    """Guards the tensor twin of ``unit_range_array`` (offset, scale, clamp), on a half-precision input too."""
    raw = torch.tensor([[[-3.0, -1.0, 0.0, 0.5, 1.0, 7.0]]], dtype=torch.float16)
    mapped = unit_range(raw, (-1.0, 1.0))
    assert mapped.dtype == torch.float32 and mapped.tolist() == [[[0.0, 0.0, 0.5, 0.75, 1.0, 1.0]]]
    assert unit_range(torch.tensor([0.2, 0.6]), (0.0, 0.5)).tolist() == pytest.approx([0.4, 1.0])
    assert np.array_equal(unit_range(raw, (-1.0, 1.0)).numpy(), unit_range_array(raw.numpy(), (-1.0, 1.0)))


def test_unit_range_leaves_its_input_alone_and_returns_a_contiguous_tensor() -> None:
    """Guards the in-place clamp working on a copy (``float()`` of a float32 tensor is the tensor itself)."""
    raw = torch.tensor([[[-3.0, 0.0], [0.5, 7.0]]]).transpose(1, 2)
    before = raw.clone()
    mapped = unit_range(raw, (-1.0, 1.0))
    assert torch.equal(raw, before) and mapped.is_contiguous()
    assert mapped.tolist() == [[[0.0, 0.75], [0.5, 1.0]]]


@pytest.mark.parametrize("value_range", [(0.0, 1.0), (-1.0, 1.0)])
def test_to_tensor_is_the_array_model_input_as_a_tensor(value_range: tuple[float, float]) -> None:
    picture = np.random.default_rng(4).integers(0, 256, (5, 7, 3), dtype=np.uint8)
    tensor = to_tensor(picture, value_range)
    assert tensor.shape == (3, 5, 7) and tensor.dtype == torch.float32
    assert np.array_equal(tensor.numpy(), model_input(picture, value_range))


def test_a_prediction_is_resized_as_the_array_twin_resizes_it_and_kept_when_at_size() -> None:
    """Guards ``resize_prediction``: the same bicubic resize and clamp as ``resize_planes``; a prediction already at
    the size is returned as it is (no copy through numpy)."""
    prediction = torch.rand(3, 16, 12, generator=torch.Generator().manual_seed(5), dtype=torch.float64)
    resized = resize_prediction(prediction, (20, 9))
    assert resized.dtype == torch.float32 and resized.shape == (3, 20, 9)
    assert np.array_equal(resized.numpy(), resize_planes(prediction.float().numpy(), (20, 9)))
    assert resize_prediction(prediction, (16, 12)) is prediction
