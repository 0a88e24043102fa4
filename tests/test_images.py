"""The array image helpers (``data/images.py``) that the Python API, predict and evaluate share, against the torch
operations they stand in for, so that a picture is finished the same way with or without torch."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from face2sketch.data.images import model_input, resize_planes, to_uint8, unit_range_array
from face2sketch.data.tensors import resize_prediction, to_tensor, unit_range


@pytest.mark.parametrize("size", [(250, 200), (410, 328), (90, 70), (256, 256)])
def test_predictions_are_resized_as_torchs_bicubic_resize_would(size: tuple[int, int]) -> None:
    prediction = np.random.default_rng(0).uniform(0, 1, (3, 256, 256)).astype(np.float32)
    expected = F.interpolate(torch.from_numpy(prediction)[None], size=size, mode="bicubic", align_corners=False)[0].clamp(0, 1).numpy()
    resized = resize_planes(prediction, size)
    assert resized.shape == (3, *size) and resized.min() >= 0.0 and resized.max() <= 1.0
    assert np.abs(resized - expected).max() < 1e-4
    assert torch.equal(resize_prediction(torch.from_numpy(prediction), size), torch.from_numpy(resized))


def test_a_one_channel_prediction_keeps_its_channel_axis_when_resized() -> None:
    sketch = np.full((1, 64, 64), 0.5, dtype=np.float32)
    assert resize_planes(sketch, (80, 60)).shape == (1, 80, 60)


@pytest.mark.parametrize("value_range", [(0.0, 1.0), (-1.0, 1.0)])
def test_a_picture_fed_to_a_model_and_read_back_is_the_same_picture(value_range: tuple[float, float]) -> None:
    picture = np.random.default_rng(1).integers(0, 256, (32, 24, 3), dtype=np.uint8)
    planes = model_input(picture, value_range)
    assert planes.dtype == np.float32 and planes.shape == (3, 32, 24)
    assert planes.min() >= value_range[0] and planes.max() <= value_range[1]
    assert np.array_equal(planes, to_tensor(picture, value_range).numpy())
    back = unit_range_array(planes, value_range)
    assert np.array_equal(back, unit_range(torch.from_numpy(planes), value_range).numpy())
    assert np.array_equal(to_uint8(back), picture)


def test_outputs_beyond_the_value_range_are_clamped_and_grey_levels_rounded() -> None:
    raw = np.array([[[-3.0, -1.0, 0.0, 1.0, 7.0]]], dtype=np.float32)
    assert unit_range_array(raw, (-1.0, 1.0)).tolist() == [[[0.0, 0.0, 0.5, 1.0, 1.0]]]
    assert to_uint8(np.array([[[0.5 / 255, 1.49 / 255, 1.51 / 255]]], dtype=np.float32)).tolist() == [[1, 1, 2]]
