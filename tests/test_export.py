"""export: every model type to ONNX and TorchScript with its metadata, checked against PyTorch; ONNX through predict
(the command: tests/commands/test_export.py)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import pytest
import torch
from omegaconf import OmegaConf
from onnx import numpy_helper
from PIL import Image
from torch import nn

import face2sketch.export as export_module
from face2sketch.core.errors import ConfigError
from face2sketch.core.run_folder import locate_run
from face2sketch.export import ExportCheckError, export
from face2sketch.inference.checkpoints import inference_network, load_trained_model
from face2sketch.inference.files import SMALLEST_HALF_INITIALIZER
from face2sketch.inference.loading import load_translator
from face2sketch.inference.spec import ModelSpec, random_batch
from face2sketch.inference.torch_files import WeightsTranslator
from face2sketch.predict import predict
from tests.helpers.inference import faceless_picture, make_run, save_picture

MODELS = {
    "sparse_ae": ("model=sparse_ae",),
    "conv_ae": ("model=conv_ae",),
    "pix2pix": ("model=pix2pix",),
    "pix2pix_picture_statistics": ("model=pix2pix", "model.norm_statistics=picture"),
    "vgg_ae": ("model=vgg_ae",),
    "vgg_ae_gray_sketch_to_photo": ("model=vgg_ae", "direction=sk2f", "direction.sketch_channels=1"),
}


def export_config(ckpt: Path, output: Path, export_format: str = "onnx", **overrides: object) -> OmegaConf:
    return OmegaConf.create({"ckpt": str(ckpt), "format": export_format, "output": str(output), "opset": None, "eval_mode": False, **overrides})


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("runs")
    return {name: make_run(folder / name, "data=synthetic", "data.image_size=32", *overrides) for name, overrides in MODELS.items()}


@pytest.mark.parametrize(
    ("name", "export_format"),
    [(name, "onnx") for name in MODELS] + [(name, "torchscript") for name in ("sparse_ae", "conv_ae", "pix2pix", "pix2pix_picture_statistics")],
)
def test_every_model_exports_with_its_metadata_and_matches_pytorch(runs: dict[str, Path], tmp_path: Path, name: str, export_format: str) -> None:
    output = tmp_path / f"model.{'onnx' if export_format == 'onnx' else 'pt'}"
    result = export(export_config(runs[name], output, export_format))
    assert output.is_file() and result["max_abs_difference"] <= 1e-4
    spec: ModelSpec = result["spec"]
    exported = load_translator(output, device="cpu")
    reference = load_translator(runs[name], device="cpu")
    assert exported.spec == reference.spec == spec
    if export_format == "onnx":
        metadata = {p.key: p.value for p in onnx.load(str(output), load_external_data=False).metadata_props}
        assert ModelSpec.from_metadata(metadata, output) == spec
    # a batch size the export never saw: the batch axis is dynamic
    inputs = random_batch(spec, 5, seed=7).numpy()
    np.testing.assert_allclose(exported.raw(inputs), reference.raw(inputs), atol=1e-4, rtol=0)


def test_onnx_predictions_through_predict_match_pytorch_within_2_of_255(runs: dict[str, Path], tmp_path: Path) -> None:
    (tmp_path / "in").mkdir()
    for index, size in enumerate([(120, 150), (64, 64), (200, 90)]):
        save_picture(tmp_path / "in" / f"p{index}.png", faceless_picture(*size, seed=index))
    for name in ("pix2pix", "conv_ae"):
        onnx_file = tmp_path / f"{name}.onnx"
        export(export_config(runs[name], onnx_file))
        settings = {"input": str(tmp_path / "in"), "align": False, "side_by_side": False, "batch_size": 2, "device": "cpu"}
        predict(OmegaConf.create({**settings, "ckpt": str(runs[name]), "output": str(tmp_path / name / "torch")}))
        predict(OmegaConf.create({**settings, "ckpt": str(onnx_file), "output": str(tmp_path / name / "onnx")}))
        for index in range(3):
            by_torch = np.asarray(Image.open(tmp_path / name / "torch" / f"p{index}.png"), dtype=np.int16)
            by_onnx = np.asarray(Image.open(tmp_path / name / "onnx" / f"p{index}.png"), dtype=np.int16)
            assert by_torch.shape == by_onnx.shape and np.abs(by_torch - by_onnx).max() <= 2, (name, index)


def test_train_mode_pix2pix_is_refused_unless_eval_mode_is_asked_for(tmp_path: Path) -> None:
    run = make_run(tmp_path / "p2p", "data=synthetic", "data.image_size=32", "model=pix2pix", "model.train_mode_inference=true")
    with pytest.raises(ConfigError, match="pass eval_mode=true"):
        export(export_config(run, tmp_path / "m.onnx"))
    assert not list(tmp_path.glob("*.onnx")) and not list(tmp_path.glob(".m.onnx*"))
    result = export(export_config(run, tmp_path / "m.onnx", eval_mode=True))
    assert result["max_abs_difference"] <= 1e-4


class Shifted(nn.Module):
    """A network whose outputs are 0.01 off the model's: what a faulty export would hold."""

    def __init__(self, network: nn.Module) -> None:
        super().__init__()
        self.network = network

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.network(x) + 0.01


@pytest.mark.parametrize(("export_format", "writer", "suffix"), [("onnx", "write_onnx", ".onnx"), ("torchscript", "write_torchscript", ".pt")])
def test_an_export_that_fails_the_parity_check_writes_nothing(
    runs: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, export_format: str, writer: str, suffix: str
) -> None:
    original = getattr(export_module, writer)
    monkeypatch.setattr(export_module, writer, lambda network, spec, path, *args: original(Shifted(network), spec, path, *args))
    out = tmp_path / "out"
    out.mkdir()
    with pytest.raises(ExportCheckError, match=rf"export check failed: max \|{export_format} - pytorch\| = 0\.01 > 0\.0001 .*nothing written"):
        export(export_config(runs["conv_ae"], out / f"model{suffix}", export_format))
    assert list(out.iterdir()) == []  # neither the file nor its staged copy


def test_the_parity_limits_are_1e_4_for_float32_files_and_two_grey_levels_for_half_precision_weights() -> None:
    pix2pix = ModelSpec("pix2pix", "f2sk", 32, "bilinear", 3, 3, 3, (-1.0, 1.0))
    assert export_module.allowed_difference("onnx", pix2pix) == export_module.allowed_difference("torchscript", pix2pix) == 1e-4
    assert export_module.allowed_difference("weights", pix2pix) == pytest.approx(2 / 255 * 2)  # 2/255 of [0, 1] is 4/255 of [-1, 1]


def test_a_weights_file_keeps_the_generators_norm_statistics(runs: dict[str, Path], tmp_path: Path) -> None:
    """A picture-statistics generator rebuilt from its weights file still normalizes each picture by itself: it
    matches the checkpoint, and a picture comes out the same alone as in a batch."""
    output = tmp_path / "generator.pth"
    export(export_config(runs["pix2pix_picture_statistics"], output, "weights"))
    weights = WeightsTranslator(output, torch.device("cpu"))
    assert weights.network.args["norm_statistics"] == "picture"
    inputs = random_batch(weights.spec, 4, seed=3).numpy()
    reference = load_translator(runs["pix2pix_picture_statistics"], device="cpu").raw(inputs)
    assert np.abs(weights.raw(inputs) - reference).max() <= 4 / 255
    np.testing.assert_allclose(weights.raw(inputs[1:2]), weights.raw(inputs)[1:2], atol=1e-5, rtol=0)


def test_a_weights_file_off_by_more_than_two_grey_levels_fails_the_check_and_writes_nothing(
    runs: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A file whose outputs are 0.08 off on [-1, 1] (10 grey levels): refused at the limit of 4/255 = 0.0157, which a
    tenfold looser limit would have let through."""
    original = WeightsTranslator.raw
    monkeypatch.setattr(WeightsTranslator, "raw", lambda self, inputs: original(self, inputs) + 0.08)
    out = tmp_path / "out"
    out.mkdir()
    with pytest.raises(ExportCheckError, match=r"export check failed: max \|weights - pytorch\| = 0\.0[78]\d* > 0\.0157 .*nothing written"):
        export(export_config(runs["pix2pix"], out / "generator.pth", "weights"))
    assert list(out.iterdir()) == []
    monkeypatch.setattr(WeightsTranslator, "raw", original)
    result = export(export_config(runs["pix2pix"], out / "generator.pth", "weights"))  # the file as written passes
    assert 0 < result["max_abs_difference"] <= 4 / 255 and (out / "generator.pth").is_file()


def assert_large_initializers_are_the_float32_ones_rounded_to_float16(full: Path, half: Path) -> None:
    """Each initializer of at least SMALLEST_HALF_INITIALIZER values is stored as float16 (the float32 export's values
    rounded), each smaller one as it was."""
    exported = {i.name: numpy_helper.to_array(i) for i in onnx.load(str(full)).graph.initializer}
    seen = set()
    for initializer in onnx.load(str(half)).graph.initializer:
        original_name = initializer.name.removesuffix(".float16")
        original, stored = exported[original_name], numpy_helper.to_array(initializer)
        large = original.dtype == np.float32 and original.size >= SMALLEST_HALF_INITIALIZER
        assert initializer.name.endswith(".float16") == large, (initializer.name, original.size)
        assert stored.dtype == (np.float16 if large else original.dtype) and np.array_equal(stored, original.astype(stored.dtype)), initializer.name
        seen.add(original_name)
    assert seen == set(exported)
    assert any(name.endswith(".float16") for name in {i.name for i in onnx.load(str(half)).graph.initializer})


@pytest.mark.parametrize("name", ["conv_ae", "pix2pix_picture_statistics"])
def test_an_onnx_file_with_half_precision_weights_is_about_half_the_bytes_and_within_the_half_precision_limit(
    runs: dict[str, Path], tmp_path: Path, name: str
) -> None:
    full, half = tmp_path / "full.onnx", tmp_path / "half.onnx"
    export(export_config(runs[name], full))
    result = export(export_config(runs[name], half, half=True))
    assert half.stat().st_size < 0.6 * full.stat().st_size
    assert result["max_abs_difference"] <= export_module.allowed_difference("onnx", result["spec"], half=True)
    assert_large_initializers_are_the_float32_ones_rounded_to_float16(full, half)
    inputs = random_batch(result["spec"], 3, seed=9).numpy()
    reference = load_translator(runs[name], device="cpu").raw(inputs)
    low, high = result["spec"].value_range
    assert 0 < np.abs(load_translator(half, device="cpu").raw(inputs) - reference).max() <= 2 / 255 * (high - low)


def test_a_weights_file_stores_each_trained_float_weight_rounded_to_float16(runs: dict[str, Path], tmp_path: Path) -> None:
    """Guards against weights files stored as bfloat16 or float32: each is within the parity limit, which looks at
    outputs only. Every floating tensor is the generator's own rounded to float16; the rest (counters) as they are."""
    output = tmp_path / "generator.pth"
    export(export_config(runs["pix2pix"], output, "weights"))
    stored = torch.load(output, weights_only=True)["state_dict"]
    located = locate_run(runs["pix2pix"])
    assert located is not None
    trained = inference_network(load_trained_model(*located)[1]).state_dict()
    assert list(stored) == list(trained)
    for name, value in trained.items():
        expected = value.half() if value.is_floating_point() else value
        assert stored[name].dtype == expected.dtype and torch.equal(stored[name], expected), name
    assert {value.dtype for value in stored.values() if value.is_floating_point()} == {torch.float16}


def test_half_precision_is_refused_for_torchscript(runs: dict[str, Path], tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="half=true is for format=onnx"):
        export(export_config(runs["conv_ae"], tmp_path / "model.pt", "torchscript", half=True))
    assert not (tmp_path / "model.pt").exists()
