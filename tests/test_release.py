"""The release actions, which alone write package data (users' commands leave it as installed:
tests/commands/test_package_untouched.py)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from omegaconf import OmegaConf

from face2sketch.errors import ConfigError
from face2sketch.export import ExportCheckError
from face2sketch.inference import shipped as shipped_models
from face2sketch.inference.files import OnnxTranslator, file_sha256
from face2sketch.inference.shipped import PRETRAINED_DIR
from face2sketch.inference.spec import pick_device, random_batch
from face2sketch.inference.torch_files import WeightsTranslator
from face2sketch.release import __main__ as release_command
from face2sketch.release.actions import ship
from face2sketch.run_folder import RunFolder
from tests.inference_helpers import make_run

TINY_PIX2PIX = ("model=pix2pix", "data=synthetic", "data.image_size=64", "model.ngf=8", "model.ndf=8", "direction.sketch_channels=1")


@pytest.fixture
def shipped_copy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A copy of the shipped models' folder that the release actions write into instead of the package's."""
    shipped = tmp_path / "pretrained"
    shipped.mkdir()
    for name in ("f2sk.pth", "models.json"):
        (shipped / name).write_bytes((PRETRAINED_DIR / name).read_bytes())
    monkeypatch.setattr(shipped_models, "PRETRAINED_DIR", shipped)
    monkeypatch.setattr(shipped_models, "PRETRAINED_INDEX", shipped / "models.json")
    shipped_models.pretrained_index.cache_clear()
    yield shipped
    shipped_models.pretrained_index.cache_clear()


def test_shipping_a_run_without_its_records_changes_no_shipped_file(shipped_copy: Path, tmp_path: Path) -> None:
    """A run is shipped only once its record (metrics.json, examples.json) is in hand."""
    before = {p.name: p.read_bytes() for p in shipped_copy.iterdir()}
    run = make_run(tmp_path / "run", *TINY_PIX2PIX)
    with pytest.raises(ConfigError, match="has no metrics.json, examples.json"):
        ship(OmegaConf.create({"ckpt": str(run)}))
    assert {p.name: p.read_bytes() for p in shipped_copy.iterdir()} == before


def test_shipping_a_run_writes_its_generator_and_a_record_that_rebuilds_its_split(shipped_copy: Path, tmp_path: Path) -> None:
    run = RunFolder(make_run(tmp_path / "run", *TINY_PIX2PIX))
    run.metrics_file.write_text(json.dumps({"best_checkpoint": None, "tested_weights": "final weights", "epochs": 3, "wall_seconds": 9.5}))
    run.examples_file.write_text(json.dumps({"train": ["a_r90f", "a", "b"], "val": ["c"], "test": ["d"]}))
    ship(OmegaConf.create({"ckpt": str(run.path)}))
    entry = json.loads((shipped_copy / "models.json").read_text())["f2sk"]
    assert entry["sha256"] == file_sha256(shipped_copy / "f2sk.pth") and entry["bytes"] == (shipped_copy / "f2sk.pth").stat().st_size
    assert entry["identities"] == {"train": ["a", "b"], "val": ["c"]}, "the paper protocol's copies count as their identity"
    assert entry["selection"] == "checkpoint last.ckpt" and entry["epochs"] == 3 and entry["data"]["image_size"] == 64
    assert "test_scores" not in entry, "a new model has no scores until action=scores measures them"
    shipped = WeightsTranslator(shipped_copy / "f2sk.pth", pick_device("cpu"), sha256=entry["sha256"])
    assert shipped.spec.image_size == 64 and shipped.spec.direction == "f2sk"
    # its ONNX twin: recorded with its checksum, the same spec, the same outputs
    assert entry["onnx"] == {"file": "f2sk.onnx", "sha256": file_sha256(shipped_copy / "f2sk.onnx"), "bytes": (shipped_copy / "f2sk.onnx").stat().st_size}
    runtime = shipped_models.load_pretrained("f2sk", "cpu")
    assert isinstance(runtime, OnnxTranslator) and runtime.spec == shipped.spec
    inputs = random_batch(shipped.spec, 2, seed=4).numpy()
    assert np.abs(runtime.raw(inputs) - shipped.raw(inputs)).max() <= 1e-4


def test_a_ship_whose_onnx_twin_fails_its_check_changes_no_shipped_file(shipped_copy: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The weights file and its ONNX twin are shipped together or not at all: models.json never lists a weights file
    without the ONNX file that the CPU runs."""
    (shipped_copy / "f2sk.onnx").write_bytes((PRETRAINED_DIR / "f2sk.onnx").read_bytes())
    before = {p.name: p.read_bytes() for p in shipped_copy.iterdir()}
    run = RunFolder(make_run(tmp_path / "run", *TINY_PIX2PIX))
    run.metrics_file.write_text(json.dumps({"best_checkpoint": None, "tested_weights": "final weights", "epochs": 3, "wall_seconds": 9.5}))
    run.examples_file.write_text(json.dumps({"train": ["a"], "val": ["c"], "test": ["d"]}))
    original = OnnxTranslator.raw
    monkeypatch.setattr(OnnxTranslator, "raw", lambda self, inputs: original(self, inputs) + 0.5)
    with pytest.raises(ExportCheckError, match=r"max \|onnx - pytorch\|"):
        ship(OmegaConf.create({"ckpt": str(run.path)}))
    assert {p.name: p.read_bytes() for p in shipped_copy.iterdir()} == before


def test_release_refuses_to_write_into_an_installed_package(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(release_command, "FROM_CHECKOUT", False)
    with pytest.raises(ConfigError, match="runs from a source checkout only"):
        release_command.release(OmegaConf.create({"action": "ship", "ckpt": "anything"}))
    with pytest.raises(ConfigError, match="unknown action 'publish': use one of ship, onnx, scores, eyes"):
        release_command.release(OmegaConf.create({"action": "publish"}))
