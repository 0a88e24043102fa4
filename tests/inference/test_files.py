"""The exported file formats as ``face2sketch.inference.files`` reads them: ONNX files stored with their weights
beside them, the device names an ONNX model accepts, and files that cannot be read."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import pytest

from face2sketch.core.errors import ConfigError
from face2sketch.inference.files import onnx_providers
from face2sketch.inference.loading import load_translator
from face2sketch.inference.shipped import PRETRAINED_DIR
from face2sketch.inference.spec import random_batch

SHIPPED_ONNX = PRETRAINED_DIR / "f2sk.onnx"


def test_an_onnx_file_whose_weights_are_stored_beside_it_loads_and_predicts_the_same(tmp_path: Path) -> None:
    model = onnx.load(str(SHIPPED_ONNX))
    onnx.save(model, str(tmp_path / "external.onnx"), save_as_external_data=True, all_tensors_to_one_file=True, location="external.data")
    assert (tmp_path / "external.data").stat().st_size > (tmp_path / "external.onnx").stat().st_size
    external, shipped = load_translator(tmp_path / "external.onnx", "cpu"), load_translator(SHIPPED_ONNX, "cpu")
    inputs = random_batch(shipped.spec, 2, seed=3).numpy()
    assert external.spec == shipped.spec
    np.testing.assert_array_equal(external.raw(inputs), shipped.raw(inputs))


@pytest.mark.parametrize(
    ("device", "available", "providers"),
    [
        ("cpu", ["CUDAExecutionProvider", "CPUExecutionProvider"], ["CPUExecutionProvider"]),
        ("cpu:0", ["CPUExecutionProvider"], ["CPUExecutionProvider"]),
        ("cuda", ["CPUExecutionProvider"], ["CPUExecutionProvider"]),
        ("cuda", ["CUDAExecutionProvider", "CPUExecutionProvider"], [("CUDAExecutionProvider", {"device_id": 0}), "CPUExecutionProvider"]),
        ("cuda:1", ["CUDAExecutionProvider", "CPUExecutionProvider"], [("CUDAExecutionProvider", {"device_id": 1}), "CPUExecutionProvider"]),
    ],
)
def test_an_onnx_model_runs_on_the_device_named(device: str, available: list[str], providers: list) -> None:
    assert onnx_providers(device, available) == providers


@pytest.mark.parametrize("device", ["gpu", "CPU", "mps", "", "cuda:x"])
def test_a_device_name_onnx_runtime_cannot_use_is_refused_in_one_line(device: str) -> None:
    with pytest.raises(ConfigError, match=f"unknown device '{device}' for an ONNX model: use auto, cpu, cuda or cuda:N"):
        load_translator(SHIPPED_ONNX, device)


def test_a_folder_named_like_a_weights_file_is_refused_in_one_line(tmp_path: Path) -> None:
    (tmp_path / "model.pth").mkdir()
    with pytest.raises(ConfigError, match=r"cannot read model file '.*model\.pth'"):
        load_translator(tmp_path / "model.pth", "cpu")
