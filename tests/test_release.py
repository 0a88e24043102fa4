"""The release actions, which alone write package data (users' commands leave it as installed:
tests/commands/test_package_untouched.py)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import onnx
import pytest
import torch
from omegaconf import DictConfig, OmegaConf

from face2sketch.errors import ConfigError
from face2sketch.export import ExportCheckError
from face2sketch.inference import shipped as shipped_models
from face2sketch.inference.checkpoints import inference_network, load_trained_model
from face2sketch.inference.files import SMALLEST_HALF_INITIALIZER, OnnxTranslator, file_sha256, write_onnx
from face2sketch.inference.shipped import PRETRAINED_DIR
from face2sketch.inference.spec import pick_device, random_batch
from face2sketch.inference.torch_files import WeightsTranslator
from face2sketch.metrics import HIGHER_IS_BETTER
from face2sketch.release import __main__ as release_command
from face2sketch.release import actions as release_actions
from face2sketch.release.actions import scores, ship
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


def shippable_run(folder: Path) -> RunFolder:
    """A tiny pix2pix run with the records a ship reads."""
    run = RunFolder(make_run(folder, *TINY_PIX2PIX))
    run.metrics_file.write_text(json.dumps({"best_checkpoint": None, "tested_weights": "final weights", "epochs": 3, "wall_seconds": 9.5}))
    run.examples_file.write_text(json.dumps({"train": ["a"], "val": ["c"], "test": ["d"]}))
    return run


def test_a_shipped_weights_file_stores_float16_and_its_onnx_twin_float16_initializers_at_about_half_a_float32_export(
    shipped_copy: Path, tmp_path: Path
) -> None:
    """Guards against the twin written with float32 weights (twice the bytes) and the weights file stored as bfloat16
    or float32: both still pass the parity check, which looks at outputs only."""
    run = shippable_run(tmp_path / "run")
    ship(OmegaConf.create({"ckpt": str(run.path)}))
    state = torch.load(shipped_copy / "f2sk.pth", weights_only=True)["state_dict"]
    _, model = load_trained_model(run, run.last_checkpoint)
    trained = inference_network(model).state_dict()
    assert {name for name, value in state.items() if value.is_floating_point()} == {name for name, value in trained.items() if value.is_floating_point()}
    for name, value in trained.items():
        stored = state[name]
        assert stored.dtype == (torch.float16 if value.is_floating_point() else value.dtype), name
        assert torch.equal(stored, value.half() if value.is_floating_point() else value), f"{name}: not the trained weight rounded to float16"
    full = tmp_path / "float32.onnx"
    shipped_network = WeightsTranslator(shipped_copy / "f2sk.pth", torch.device("cpu"))
    write_onnx(shipped_network.network, shipped_network.spec, full, None)
    float32_large = {i.name for i in onnx.load(str(full)).graph.initializer if int(np.prod(i.dims)) >= SMALLEST_HALF_INITIALIZER}
    twin = onnx.load(str(shipped_copy / "f2sk.onnx"))
    large = [i for i in twin.graph.initializer if int(np.prod(i.dims)) >= SMALLEST_HALF_INITIALIZER]
    assert {onnx.TensorProto.DataType.Name(i.data_type) for i in large} == {"FLOAT16"}, "the twin's large initializers are float16"
    assert {i.name for i in large} == {f"{name}.float16" for name in float32_large} and float32_large
    assert sum(len(i.raw_data) for i in large) == 2 * sum(int(np.prod(i.dims)) for i in large)
    assert (shipped_copy / "f2sk.onnx").stat().st_size / full.stat().st_size == pytest.approx(0.5, abs=0.02)  # the graph's own bytes are few


def shipped_summary(direction: str) -> dict:
    """What evaluate returns for a shipped model: every metric, a photo target without SCOOT, and (conditions) robustness."""
    metrics = {name: {"mean": 0.5 + k / 100, "std": k / 1000, "status": "ok"} for k, name in enumerate(HIGHER_IS_BETTER)}
    if direction == "sk2f":
        metrics["scoot"] = {"mean": None, "std": None, "status": "n/a: SCOOT is a sketch metric"}
    means = {name: value["mean"] for name, value in metrics.items() if value["mean"] is not None}
    robustness = {"clean": {"means": means, "ratios": dict.fromkeys(means, 1.0)}, "heavy_jpeg": {"means": means, "ratios": dict.fromkeys(means, 0.9)}}
    return {"direction": direction, "metrics": metrics, "robustness": robustness}


def test_scoring_the_shipped_models_records_the_card_metrics_of_each_direction_exactly(
    shipped_copy: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Guards against SCOOT recorded for sk2f (which has none) and dropped for f2sk, and against the scores of one
    direction recorded under the other: each direction's evaluation is asked for by name, and its card is exactly the
    card metrics' means and stds."""
    (shipped_copy / "models.json").write_text(json.dumps({"f2sk": {"file": "f2sk.pth"}, "sk2f": {"file": "sk2f.pth"}}))
    asked: list[dict] = []

    def evaluate(cfg_eval: DictConfig) -> list[dict]:
        asked.append(OmegaConf.to_container(cfg_eval, resolve=True))  # type: ignore[arg-type]
        return [shipped_summary(str(cfg_eval.runs[0]).removeprefix("pretrained/"))]

    monkeypatch.setattr(release_actions, "evaluate", evaluate)
    scores(
        OmegaConf.create(
            {"directions": ["f2sk", "sk2f"], "data_root": "/data/cuhk", "conditions": "real", "device": "cpu", "paths": {"output_dir": str(tmp_path)}}
        )
    )
    assert [(a["runs"], a["data_root"], a["output"], a["split"], a["conditions"], a["device"]) for a in asked] == [
        (["pretrained/f2sk"], "/data/cuhk", str(tmp_path / "scores"), "test", "real", "cpu"),
        (["pretrained/sk2f"], "/data/cuhk", str(tmp_path / "scores"), "test", "real", "cpu"),
    ]
    index = json.loads((shipped_copy / "models.json").read_text())
    card = {"f2sk": ["ssim", "ssim_study", "mse", "fsim", "scoot"], "sk2f": ["ssim", "ssim_study", "mse", "fsim"]}
    for direction, names in card.items():
        metrics = shipped_summary(direction)["metrics"]
        assert index[direction]["test_scores"] == {n: {"mean": metrics[n]["mean"], "std": metrics[n]["std"]} for n in names}, direction
        assert index[direction]["robustness"]["heavy_jpeg"] == {n: {"mean": metrics[n]["mean"], "ratio": 0.9} for n in names}, direction
        assert index[direction]["file"] == f"{direction}.pth", "the rest of the entry stays"


@pytest.mark.parametrize(
    ("action", "settings", "message"),
    [
        (ship, {}, r"^action=ship needs the run to ship: pass ckpt=<pix2pix run folder \| checkpoint.ckpt inside one>$"),
        (ship, {"ckpt": "/nowhere/run"}, r"^ckpt '/nowhere/run' is not a run folder or a .ckpt inside one$"),
        (scores, {"directions": ["f2sk"]}, r"^action=scores scores the shipped models on the CUHK test split: pass data_root=/path/to/cuhk$"),
        (release_actions.eyes, {}, r"^action=eyes measures the CUHK training photos: pass data_root=/path/to/cuhk \(holding 'Training photo'\)$"),
    ],
    ids=["ship_without_ckpt", "ship_of_no_run", "scores_without_data", "eyes_without_data"],
)
def test_a_release_action_without_what_it_needs_says_what_to_pass_and_changes_nothing(shipped_copy: Path, action: object, settings: dict, message: str) -> None:
    before = {p.name: p.read_bytes() for p in shipped_copy.iterdir()}
    with pytest.raises(ConfigError, match=message):
        action(OmegaConf.create(settings))  # type: ignore[operator]
    assert {p.name: p.read_bytes() for p in shipped_copy.iterdir()} == before


def test_writing_the_onnx_files_again_from_the_weights_files_gives_the_twin_the_ship_wrote(shipped_copy: Path, tmp_path: Path) -> None:
    """action=onnx (after a change to the export) writes each direction's twin from its weights file and records its
    checksum and size; from unchanged weights it is the same file, byte for byte."""
    ship(OmegaConf.create({"ckpt": str(shippable_run(tmp_path / "run").path)}))
    shipped_twin = (shipped_copy / "f2sk.onnx").read_bytes()
    (shipped_copy / "f2sk.onnx").unlink()
    index = json.loads((shipped_copy / "models.json").read_text())
    index["f2sk"]["onnx"] = {"file": "f2sk.onnx", "sha256": "stale", "bytes": 0}
    (shipped_copy / "models.json").write_text(json.dumps(index))
    shipped_models.pretrained_index.cache_clear()
    release_actions.onnx(OmegaConf.create({"directions": ["f2sk"]}))
    assert (shipped_copy / "f2sk.onnx").read_bytes() == shipped_twin
    entry = json.loads((shipped_copy / "models.json").read_text())["f2sk"]
    assert entry["onnx"] == {"file": "f2sk.onnx", "sha256": file_sha256(shipped_copy / "f2sk.onnx"), "bytes": len(shipped_twin)}
