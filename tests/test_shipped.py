"""The models shipped in the package: used by default, checked on load, reproducible on the CUHK test identities."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import matplotlib.cbook
import numpy as np
import pytest
import torch
from PIL import Image

import face2sketch.inference.api
from face2sketch.errors import ConfigError
from face2sketch.inference import shipped
from face2sketch.inference.files import OnnxTranslator, file_sha256
from face2sketch.inference.loading import load_translator
from face2sketch.inference.shipped import PRETRAINED_DIR, PRETRAINED_INDEX, load_pretrained, load_pretrained_weights, pretrained_index
from face2sketch.inference.spec import random_batch
from face2sketch.inference.torch_files import WeightsTranslator
from tests.conftest import run_cli
from tests.inference_helpers import make_run

DIRECTIONS = ("f2sk", "sk2f")
MAX_WEIGHTS_BYTES = 16_000_000


def portrait() -> Path:
    """A face photo that ships with matplotlib (Grace Hopper), so no CUHK file is needed or committed."""
    return Path(matplotlib.cbook.get_sample_data("grace_hopper.jpg", asfileobj=False))


def test_each_direction_ships_a_weights_file_and_its_onnx_twin_under_16_mb_whose_checksums_match() -> None:
    index = pretrained_index()
    assert sorted(index) == list(DIRECTIONS)
    for direction, entry in index.items():
        for record in (entry, entry["onnx"]):
            path = PRETRAINED_DIR / record["file"]
            assert path.stat().st_size == record["bytes"] <= MAX_WEIGHTS_BYTES
            assert file_sha256(path) == record["sha256"]
        weights = load_pretrained_weights(direction, "cpu")
        assert weights.spec.direction == direction
        assert all(p.dtype == torch.float32 for p in weights.network.parameters())  # stored in half precision, run in float32
        runtime = load_pretrained(direction, "cpu")
        assert isinstance(runtime, OnnxTranslator) and runtime.spec == weights.spec
        # the same network: the ONNX file holds the weights file's float16 values, and both compute in float32
        inputs = random_batch(weights.spec, 2, seed=11).numpy()
        assert np.abs(runtime.raw(inputs) - weights.raw(inputs)).max() <= 1e-4


def test_the_shipped_model_on_the_cpu_translates_through_the_api_without_importing_torch(tmp_path: Path) -> None:
    """An app's cold start: ONNX Runtime runs the shipped model, so neither torch nor Lightning is imported, and the
    sketch equals the weights file's within one grey level."""
    reference = tmp_path / "weights.png"
    face2sketch.inference.api.Model(load_pretrained_weights("f2sk", "cpu"))(portrait()).save(reference)
    script = (
        "import sys, face2sketch\n"
        "from face2sketch.inference.spec import gpu_driver_present\n"
        f"face2sketch.load('f2sk', device='cpu')({str(portrait())!r}).save({str(tmp_path / 'cpu.png')!r})\n"
        "assert 'torch' not in sys.modules and 'lightning' not in sys.modules, 'torch imported'\n"
        f"face2sketch.load('f2sk')({str(portrait())!r}).save({str(tmp_path / 'auto.png')!r})\n"
        "assert gpu_driver_present() or 'torch' not in sys.modules, 'torch imported for device=auto on a machine without a GPU driver'\n"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    expected = np.asarray(Image.open(reference), dtype=int)
    for name in ("cpu.png", "auto.png"):
        sketch = np.asarray(Image.open(tmp_path / name), dtype=int)
        assert sketch.shape == expected.shape and np.abs(sketch - expected).max() <= 1


def test_predict_without_ckpt_sketches_a_face_photo_with_the_shipped_model(tmp_path: Path) -> None:
    result = run_cli("face2sketch.predict", f"input={portrait()}", f"output={tmp_path / 'out'}", "device=cpu", f"paths.output_root={tmp_path / 'logs'}")
    assert result.returncode == 0, result.stderr[-2000:]
    record = json.loads((tmp_path / "out" / "predictions.json").read_text())
    assert Path(record["model"]) == PRETRAINED_DIR / "f2sk.onnx"  # on the CPU the shipped model runs by ONNX Runtime
    assert record["spec"]["direction"] == "f2sk" and record["align"] is True
    (item,) = record["items"]
    assert item["status"] == "ok" and item["face_found"], item
    sketch = np.asarray(Image.open(tmp_path / "out" / "grace_hopper.png"))
    width, height = item["size"]
    assert sketch.shape == (height, width) and abs(height / width - 1.25) < 0.01  # one-channel sketch of the face, framed as CUHK's
    assert 20 < sketch.mean() < 250 and sketch.std() > 10  # drawn lines on paper, not a blank or uniform page


def test_predict_direction_sk2f_turns_a_sketch_into_a_colour_photo(tmp_path: Path) -> None:
    sketch_path = tmp_path / "sketch.png"
    Image.open(portrait()).convert("L").save(sketch_path)
    result = run_cli(
        "face2sketch.predict", f"input={sketch_path}", "direction=sk2f", f"output={tmp_path / 'out'}", "device=cpu", f"paths.output_root={tmp_path / 'logs'}"
    )
    assert result.returncode == 0, result.stderr[-2000:]
    record = json.loads((tmp_path / "out" / "predictions.json").read_text())
    assert record["spec"]["direction"] == "sk2f" and record["align"] is False
    photo = np.asarray(Image.open(tmp_path / "out" / "sketch.png"))
    assert photo.shape == (600, 512, 3)
    assert np.abs(photo[..., 0].astype(int) - photo[..., 2].astype(int)).mean() > 2  # colour, not grey


def test_a_ckpt_that_translates_the_other_way_than_direction_is_refused(tmp_path: Path) -> None:
    result = run_cli(
        "face2sketch.predict",
        f"input={portrait()}",
        f"ckpt={PRETRAINED_DIR / 'f2sk.pth'}",
        "direction=sk2f",
        f"output={tmp_path / 'out'}",
        f"paths.output_root={tmp_path / 'logs'}",
    )
    assert result.returncode != 0
    assert "translates f2sk, not direction=sk2f" in result.stderr.strip().splitlines()[-1]
    assert not (tmp_path / "out").exists()


def test_a_damaged_shipped_file_is_named_in_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    shutil.copy(PRETRAINED_INDEX, tmp_path / PRETRAINED_INDEX.name)
    monkeypatch.setattr(shipped, "PRETRAINED_DIR", tmp_path)
    for name, load in (("f2sk.onnx", load_pretrained), ("f2sk.pth", load_pretrained_weights)):
        damaged_file = bytearray((PRETRAINED_DIR / name).read_bytes())
        damaged_file[len(damaged_file) // 2] ^= 0xFF
        (tmp_path / name).write_bytes(bytes(damaged_file))
        with pytest.raises(ConfigError, match=rf"model file '.*{name}' is damaged .*reinstall face2sketch") as raised:
            load("f2sk", "cpu")
        assert "\n" not in str(raised.value)
    damaged = bytearray((PRETRAINED_DIR / "f2sk.pth").read_bytes())
    (tmp_path / "truncated.pth").write_bytes(bytes(damaged[: len(damaged) // 3]))
    with pytest.raises(ConfigError, match=r"cannot load weights file '.*truncated\.pth'"):
        WeightsTranslator(tmp_path / "truncated.pth", torch.device("cpu"))


def test_a_damaged_weights_file_given_as_ckpt_ends_predict_in_one_line(tmp_path: Path) -> None:
    (tmp_path / "broken.pth").write_bytes((PRETRAINED_DIR / "f2sk.pth").read_bytes()[:100_000])
    result = run_cli(
        "face2sketch.predict", f"input={portrait()}", f"ckpt={tmp_path / 'broken.pth'}", f"output={tmp_path / 'out'}", f"paths.output_root={tmp_path / 'logs'}"
    )
    assert result.returncode == 2
    last = result.stderr.strip().splitlines()[-1]
    assert "cannot load weights file" in last and "broken.pth" in last
    assert not (tmp_path / "out").exists()


def test_export_without_ckpt_exports_the_shipped_model(tmp_path: Path) -> None:
    result = run_cli("face2sketch.export", "direction=sk2f", "format=onnx", f"output={tmp_path / 'sk2f.onnx'}", f"paths.output_root={tmp_path / 'logs'}")
    assert result.returncode == 0, result.stderr[-2000:]
    assert "from " + str(PRETRAINED_DIR / "sk2f.pth") in result.stdout
    exported = load_translator(tmp_path / "sk2f.onnx", "cpu")
    assert exported.spec == load_pretrained("sk2f", "cpu").spec


def test_half_precision_weights_predict_within_two_grey_levels_of_the_trained_model(tmp_path: Path) -> None:
    run = make_run(tmp_path / "run", "model=pix2pix", "data=synthetic", "data.image_size=64", "model.ngf=8", "model.ndf=8", seed=3)
    result = run_cli("face2sketch.export", f"ckpt={run}", "format=weights", f"output={tmp_path / 'g.pth'}", f"paths.output_root={tmp_path / 'logs'}")
    assert result.returncode == 0, result.stderr[-2000:]
    full, half = load_translator(run, "cpu"), load_translator(tmp_path / "g.pth", "cpu")
    float32_bytes = sum(p.numel() * 4 for p in full.network.generator.parameters())
    assert (tmp_path / "g.pth").stat().st_size < 0.6 * float32_bytes  # half precision
    inputs = random_batch(full.spec, 4, seed=5).numpy()
    difference = np.abs(full.translate(inputs) - half.translate(inputs)).max()
    assert 0 < difference <= 2 / 255


def test_no_test_identity_trained_or_chose_a_shipped_model(cuhk_root: Path) -> None:
    test_identities = {p.stem for p in (cuhk_root / "Testing photo").glob("*.jpg")}
    training_identities = {p.stem for p in (cuhk_root / "Training photo").glob("*.jpg")}
    assert len(test_identities) == 100 and len(training_identities) == 88
    for entry in pretrained_index().values():
        train, val = set(entry["identities"]["train"]), set(entry["identities"]["val"])
        assert not (train | val) & test_identities
        assert train | val == training_identities and not train & val and len(val) == 9
        assert entry["data"]["split"] == "standard" and entry["selection"].startswith("best by validation quality")
        assert entry["data"]["validation_conditions"] == "real" and entry["data"]["conditions"]["_target_"].endswith("RealWorldAugmentation")


@pytest.mark.parametrize("direction", DIRECTIONS)
def test_evaluate_reproduces_the_model_card_on_the_cuhk_test_identities(direction: str, cuhk_root: Path, tmp_path: Path) -> None:
    result = run_cli(
        "face2sketch.evaluate",
        f"runs=[pretrained/{direction}]",
        f"data_root={cuhk_root}",
        "device=cpu",
        f"output={tmp_path}",
        f"paths.output_root={tmp_path / 'logs'}",
    )
    assert result.returncode == 0, result.stderr[-2000:]
    summary = json.loads((tmp_path / f"pretrained_{direction}" / "metrics.json").read_text())
    assert summary["num_images"] == 100 and summary["protocol"] == "standard" and summary["resolution"] == "original"
    card = pretrained_index()[direction]["test_scores"]
    for metric, expected in card.items():
        assert summary["metrics"][metric]["mean"] == pytest.approx(expected["mean"], abs=1e-3), metric
        assert summary["metrics"][metric]["std"] == pytest.approx(expected["std"], abs=1e-3), metric


# the acceptance of the shipped models: clean floors, and under every real-world condition this share of the clean score
CLEAN_FLOORS = {"f2sk": {"fsim": 0.75, "scoot": 0.55}, "sk2f": {"fsim": 0.80}}
ROBUST_SHARE = 0.95


@pytest.mark.slow
@pytest.mark.parametrize("direction", DIRECTIONS)
def test_the_shipped_models_keep_their_quality_under_every_real_world_condition(direction: str, cuhk_root: Path, tmp_path: Path) -> None:
    """evaluate conditions=real on the 100 test identities reproduces models.json's robustness record, the clean scores
    hold their floors, and every condition keeps at least 95 % of the clean FSIM (FSIMc) and, for sketches, SCOOT."""
    result = run_cli(
        "face2sketch.evaluate",
        f"runs=[pretrained/{direction}]",
        f"data_root={cuhk_root}",
        "conditions=real",
        "device=cpu",
        f"output={tmp_path}",
        f"paths.output_root={tmp_path / 'logs'}",
        timeout=1800,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    report = json.loads((tmp_path / f"pretrained_{direction}" / "robustness.json").read_text())
    card = pretrained_index()[direction]["robustness"]
    assert list(report["conditions"]) == list(card)
    for condition, entry in report["conditions"].items():
        for metric, expected in card[condition].items():
            assert entry["means"][metric] == pytest.approx(expected["mean"], abs=1e-3), (condition, metric)
        for metric in CLEAN_FLOORS[direction]:
            assert entry["ratios"][metric] >= ROBUST_SHARE, (condition, metric, entry["ratios"][metric])
    clean = report["conditions"]["clean"]["means"]
    assert all(clean[metric] >= floor for metric, floor in CLEAN_FLOORS[direction].items()), clean
