"""The release actions, which alone write package data (users' commands leave it as installed:
tests/commands/test_package_untouched.py)."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import onnx
import pytest
import torch
from omegaconf import DictConfig, OmegaConf

from face2sketch.core.errors import ConfigError
from face2sketch.core.run_folder import RunFolder
from face2sketch.export import ExportCheckError, write_checked
from face2sketch.inference import shipped as shipped_models
from face2sketch.inference.checkpoints import inference_network, load_trained_model
from face2sketch.inference.files import SMALLEST_HALF_INITIALIZER, OnnxTranslator, file_sha256, write_onnx
from face2sketch.inference.shipped import PRETRAINED_DIR
from face2sketch.inference.spec import ModelSpec, pick_device, random_batch
from face2sketch.inference.torch_files import WeightsTranslator
from face2sketch.metrics.image_sets import HIGHER_IS_BETTER
from face2sketch.pictures import alignment
from face2sketch.release import __main__ as release_command
from face2sketch.release import actions as release_actions
from face2sketch.release.actions import scores, ship
from face2sketch.release.models_index import entry_of_run
from tests.helpers.inference import make_run, save_picture

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
    """Guards against the refusal's message changed or cut (each is asserted whole: it tells the user what to do)."""
    monkeypatch.setattr(release_command, "FROM_CHECKOUT", False)
    refusal = "release writes the package's own files and runs from a source checkout only: clone the repository and pip install -e ."
    with pytest.raises(ConfigError, match=f"^{re.escape(refusal)}$"):
        release_command.release(OmegaConf.create({"action": "ship", "ckpt": "anything"}))
    with pytest.raises(ConfigError, match=r"^unknown action 'publish': use one of ship, onnx, scores, eyes$"):
        release_command.release(OmegaConf.create({"action": "publish"}))


def test_release_hands_its_own_settings_to_the_action_it_names(monkeypatch: pytest.MonkeyPatch) -> None:
    """Guards against the action called without the command's settings (``ACTIONS[action](None)``): every action reads
    its ckpt, data_root or directions from them."""
    monkeypatch.setattr(release_command, "FROM_CHECKOUT", True)
    handed: list[DictConfig] = []
    monkeypatch.setitem(release_command.ACTIONS, "eyes", handed.append)
    cfg = OmegaConf.create({"action": "eyes", "data_root": "/data/cuhk"})
    release_command.release(cfg)
    assert len(handed) == 1 and handed[0] is cfg


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
    shipped_copy: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Guards against SCOOT recorded for sk2f (which has none) and dropped for f2sk, and against the scores of one
    direction recorded under the other: each direction's evaluation is asked for by name, and its card is exactly the
    card metrics' means and stds; and against a direction's status line dropped."""
    (shipped_copy / "models.json").write_text(json.dumps({"f2sk": {"file": "f2sk.pth"}, "sk2f": {"file": "sk2f.pth"}}))
    asked: list[tuple] = []

    def evaluate(cfg_eval: DictConfig) -> list[dict]:
        # the settings the action gives, read one by one: resolving the whole config needs a Hydra run (paths.output_dir)
        asked.append((list(cfg_eval.runs), cfg_eval.data_root, cfg_eval.output, cfg_eval.split, cfg_eval.conditions, cfg_eval.device))
        return [shipped_summary(str(cfg_eval.runs[0]).removeprefix("pretrained/"))]

    monkeypatch.setattr(release_actions, "evaluate", evaluate)
    scores(
        OmegaConf.create(
            {"directions": ["f2sk", "sk2f"], "data_root": "/data/cuhk", "conditions": "real", "device": "cpu", "paths": {"output_dir": str(tmp_path)}}
        )
    )
    assert asked == [
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
    assert capsys.readouterr().out.splitlines() == [f"scores: {direction} recorded in {shipped_copy / 'models.json'}" for direction in ("f2sk", "sk2f")]


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


def test_writing_the_onnx_files_again_from_the_weights_files_gives_the_twin_the_ship_wrote(
    shipped_copy: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """action=onnx (after a change to the export) writes each direction's twin from its weights file and records its
    checksum and size; from unchanged weights it is the same file, byte for byte. Guards against the weights file
    loaded on the default device (``auto``): on a machine with a GPU the export and its check would meet a CUDA
    network and CPU inputs, so torch is made to report a GPU here; and against a status line dropped."""
    ship(OmegaConf.create({"ckpt": str(shippable_run(tmp_path / "run").path)}))
    shipped_twin = (shipped_copy / "f2sk.onnx").read_bytes()
    (shipped_copy / "f2sk.onnx").unlink()
    index = json.loads((shipped_copy / "models.json").read_text())
    index["f2sk"]["onnx"] = {"file": "f2sk.onnx", "sha256": "stale", "bytes": 0}
    (shipped_copy / "models.json").write_text(json.dumps(index))
    shipped_models.pretrained_index.cache_clear()
    checks = recorded_export_checks(monkeypatch)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    capsys.readouterr()
    release_actions.onnx(OmegaConf.create({"directions": ["f2sk"]}))
    assert (shipped_copy / "f2sk.onnx").read_bytes() == shipped_twin
    entry = json.loads((shipped_copy / "models.json").read_text())["f2sk"]
    assert entry["onnx"] == {"file": "f2sk.onnx", "sha256": file_sha256(shipped_copy / "f2sk.onnx"), "bytes": len(shipped_twin)}
    ((kind, difference),) = checks
    assert kind == "onnx"
    assert capsys.readouterr().out.splitlines() == [
        f"onnx: {shipped_copy / 'f2sk.onnx'} ({len(shipped_twin) / 1e6:.1f} MB, max |onnx - weights file| = {difference:.2e})",
        f"onnx: f2sk recorded in {shipped_copy / 'models.json'}",
    ]


def recorded_export_checks(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, float]]:
    """Each export check the release actions run, in the order they finish: (format, largest difference)."""
    checks: list[tuple[str, float]] = []

    def recording(network: torch.nn.Module, spec: ModelSpec, export_format: str, output: Path, **options: object) -> float:
        difference = write_checked(network, spec, export_format, output, **options)  # type: ignore[arg-type]
        checks.append((export_format, difference))
        return difference

    monkeypatch.setattr(release_actions, "write_checked", recording)
    return checks


def test_a_ship_reports_its_size_in_megabytes_its_checksum_prefix_and_both_export_checks(
    shipped_copy: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Guards against the status lines' sizes multiplied by 1e6 or divided by anything but 1e6, a checksum prefix of
    another length, and a line dropped. The record's size is set to 1,050,000 bytes: 1.05 MB prints as 1.1 only when
    divided by exactly 1e6 (1,050,000 / 1,000,001 prints 1.0)."""
    checks = recorded_export_checks(monkeypatch)
    monkeypatch.setattr(release_actions, "entry_of_run", lambda *args: {**entry_of_run(*args), "bytes": 1_050_000})
    ship(OmegaConf.create({"ckpt": str(shippable_run(tmp_path / "run").path)}))
    entry = json.loads((shipped_copy / "models.json").read_text())["f2sk"]
    assert entry["bytes"] == 1_050_000 and len(entry["sha256"]) == 64
    (onnx_kind, onnx_difference), (weights_kind, weights_difference) = checks  # the twin is checked before the weights file is in place
    assert (onnx_kind, weights_kind) == ("onnx", "weights")
    onnx_megabytes = (shipped_copy / "f2sk.onnx").stat().st_size / 1e6
    assert capsys.readouterr().out.splitlines() == [
        f"onnx: {shipped_copy / 'f2sk.onnx'} ({onnx_megabytes:.1f} MB, max |onnx - weights file| = {onnx_difference:.2e})",
        f"ship: {shipped_copy / 'f2sk.pth'} (1.1 MB, sha256 {entry['sha256'][:12]}..., export check {weights_difference:.2e}) "
        f"and its ONNX twin recorded in {shipped_copy / 'models.json'}",
    ]


def test_an_onnx_twin_is_checked_in_half_precision_and_recorded_with_its_checksum_and_size(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Guards against the twin written in float32 (``half`` dropped), its record's checksum or size of another file,
    and its status line's size off by a factor (1,050,000 bytes prints 1.1 MB only when divided by exactly 1e6)."""
    weights = SimpleNamespace(network=object(), spec=object())
    asked: list[tuple] = []

    def write_checked_stub(network: object, spec: object, export_format: str, output: Path, **options: object) -> float:
        asked.append((network, spec, export_format, output, options))
        output.write_bytes(bytes(range(250)) * 4200)  # 1,050,000 bytes
        return 1.5e-5

    monkeypatch.setattr(release_actions, "write_checked", write_checked_stub)
    output = tmp_path / "f2sk.onnx"
    twin = release_actions.write_onnx_twin(weights, output)  # type: ignore[arg-type]
    assert asked == [(weights.network, weights.spec, "onnx", output, {"half": True})]
    assert twin == {"file": "f2sk.onnx", "sha256": hashlib.sha256(bytes(range(250)) * 4200).hexdigest(), "bytes": 1_050_000}
    assert capsys.readouterr().out == f"onnx: {output} (1.1 MB, max |onnx - weights file| = 1.50e-05)\n"


@pytest.fixture
def eyes_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Where action=eyes writes instead of the package's face2sketch/pictures/cuhk_eyes.json (which must stay as it is)."""
    package_file = alignment.EYES_FILE
    package_eyes = package_file.read_bytes()
    target = tmp_path / "written" / "cuhk_eyes.json"
    target.parent.mkdir()
    monkeypatch.setattr(alignment, "EYES_FILE", target)
    yield target
    assert package_file.read_bytes() == package_eyes, "the package's own eye positions were written"


def cuhk_like_folder(root: Path, greys: dict[str, list[int]]) -> None:
    """Flat photos told apart by their grey level, 200x250 but the last of each folder at twice that (a CUHK copy
    stored larger), under the CUHK release's folder names."""
    for folder, levels in greys.items():
        (root / folder).mkdir(parents=True)
        for k, grey in enumerate(levels):
            width, height = (400, 500) if k == len(levels) - 1 else (200, 250)
            save_picture(root / folder / f"f-{grey:03d}-01.png", np.full((height, width, 3), grey, np.uint8))


def test_eyes_writes_the_median_eye_positions_of_the_training_photos_with_a_face(
    tmp_path: Path, eyes_file: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Guards against the photos looked for anywhere but ``<data_root>/Training photo`` (another name, the testing
    photos, ``~`` left unexpanded), the measurement written anywhere but EYES_FILE or not at all, and the status line's
    counts or median taken from the wrong keys. The detector finds no face in grey 4; the landmark stub puts the eyes
    (at twice CUHK's size, as alignment asks it) at a place its photo's grey gives: halved, left (70 + g, 125.25) and
    right (130 + g, 126 + g), so photos 1, 2 and 6 give the medians left (72, 125.25) and right (132, 128)."""
    cuhk_like_folder(tmp_path / "cuhk", {"Training photo": [1, 2, 4, 6], "Testing photo": [9, 9, 9]})
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setattr(alignment, "detect_faces", lambda photo: [] if photo[0, 0, 0] == 4 else ["a face"])
    boxes_from: list[list[tuple]] = []
    median_box = (44.0, 92.0, 108.0, 108.0)
    monkeypatch.setattr(alignment, "median_landmark_box", lambda photos: boxes_from.append([(p.shape, p[0, 0, 0]) for p in photos]) or median_box)
    asked: list[tuple] = []

    def landmark_stub(region: np.ndarray, box: tuple[float, ...]) -> np.ndarray:
        grey = int(region[0, 0, 0])
        asked.append((region.shape, box, grey))
        return np.array([[140.0 + 2 * grey, 250.5], [260.0 + 2 * grey, 252.0 + 2 * grey]])

    monkeypatch.setattr(alignment, "landmark_eyes", landmark_stub)
    release_actions.eyes(OmegaConf.create({"data_root": "~/cuhk"}))
    assert boxes_from == [[((250, 200, 3), 1), ((250, 200, 3), 2), ((250, 200, 3), 4), ((250, 200, 3), 6)]], "the training photos, at 200x250"
    assert asked == [((500, 400, 3), (88.0, 184.0, 216.0, 216.0), grey) for grey in (1, 2, 6)]
    written = json.loads(eyes_file.read_text())
    median = {"left_eye": [72.0, 125.25], "right_eye": [132.0, 128.0], "landmark_box": [44.0, 92.0, 108.0, 108.0]}
    assert written["median"] == median
    assert written["stdev"] == {"left_eye": [2.16, 0.0], "right_eye": [2.16, 2.16]}  # x: 71, 72, 76 (population std sqrt(14/3))
    assert (written["photos"], written["faces_found"], written["photo_sizes"]) == (4, 3, ["200x250", "400x500"])
    assert written["regenerate"] == "python -m face2sketch.release action=eyes data_root=/path/to/cuhk"
    assert capsys.readouterr().out == f"eyes: 3/4 faces; median eyes {median} -> {eyes_file}\n"


def test_eyes_on_a_folder_without_training_photos_names_the_folder_it_looked_in_and_writes_nothing(tmp_path: Path, eyes_file: Path) -> None:
    """Guards against the refusal's message lost or the refusal skipped (measuring no photos)."""
    (tmp_path / "cuhk" / "Training photo").mkdir(parents=True)
    (tmp_path / "cuhk" / "Training photo" / "notes.txt").write_text("not a photo")  # a file, but no picture
    message = f"no photos in '{tmp_path / 'cuhk' / 'Training photo'}': pass data_root=<the CUHK release folder>"
    with pytest.raises(ConfigError, match=f"^{re.escape(message)}$"):
        release_actions.eyes(OmegaConf.create({"data_root": str(tmp_path / "cuhk")}))
    assert not eyes_file.exists()
