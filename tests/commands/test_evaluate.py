"""The evaluate command: the same numbers twice and the files it names, model resolution, scores under each
real-world condition, one-line errors; the shipped models' model card on CUHK's test identities, clean and under
every real-world condition."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from PIL import Image

from face2sketch.inference.shipped import pretrained_index
from tests.conftest import run_cli, run_evaluate
from tests.inference.test_shipped import DIRECTIONS


@pytest.mark.parametrize("command", ["face2sketch.report", "face2sketch.evaluate"])
def test_a_command_without_its_required_setting_says_which_in_one_line(command: str, tmp_path: Path) -> None:
    result = run_cli(command, f"paths.output_root={tmp_path}")
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    key = "folders" if command.endswith("report") else "runs"
    assert result.returncode == 2 and lines == [f"face2sketch: error: {key} has no value: pass {key}=... on the command line"], result.stderr


def test_evaluate_reproduces_the_model_card_on_the_cuhk_test_identities(cuhk_root: Path, tmp_path: Path) -> None:
    """Both shipped models in one command (one start-up for the two)."""
    result = run_cli(
        "face2sketch.evaluate",
        f"runs=[{','.join(f'pretrained/{direction}' for direction in DIRECTIONS)}]",
        f"data_root={cuhk_root}",
        "device=cpu",
        f"output={tmp_path}",
        f"paths.output_root={tmp_path / 'logs'}",
    )
    assert result.returncode == 0, result.stderr[-2000:]
    for direction in DIRECTIONS:
        summary = json.loads((tmp_path / f"pretrained_{direction}" / "metrics.json").read_text())
        assert summary["num_images"] == 100 and summary["protocol"] == "standard" and summary["resolution"] == "original"
        card = pretrained_index()[direction]["test_scores"]
        for metric, expected in card.items():
            assert summary["metrics"][metric]["mean"] == pytest.approx(expected["mean"], abs=1e-3), (direction, metric)
            assert summary["metrics"][metric]["std"] == pytest.approx(expected["std"], abs=1e-3), (direction, metric)


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


def test_evaluate_writes_a_row_and_a_prediction_named_after_each_test_picture(trained_run: Path, tmp_path: Path) -> None:
    """(That evaluating twice gives the same numbers is checked by
    test_conditions_score_the_test_split_under_each_condition_against_the_clean_targets, which evaluates twice.)"""
    first = run_evaluate(f"runs=[{trained_run}]", f"paths.output_root={tmp_path}")
    assert first.returncode == 0, first.stderr[-2000:]
    metrics_1 = json.loads((trained_run / "evaluation" / "metrics.json").read_text())
    rows_1 = (trained_run / "evaluation" / "per_image.csv").read_text()

    rows = list(csv.DictReader(rows_1.splitlines()))
    assert len(rows) == metrics_1["num_images"] == 4
    assert list(rows[0])[:5] == ["name", "identity", "variant", "ssim", "ssim_study"]  # SSIM as the study computed it, beside SSIM
    names = {r["name"] for r in rows}
    assert {p.stem for p in (trained_run / "evaluation" / "predictions").glob("*.png")} == names
    assert all(metrics_1["metrics"][m]["status"] == "ok" and metrics_1["metrics"][m]["std"] is not None for m in ("ssim", "ssim_study", "mse", "fsim", "scoot"))
    assert metrics_1["metrics"]["ssim_study"]["mean"] == pytest.approx(sum(float(r["ssim_study"]) for r in rows) / 4, abs=1e-9)
    assert metrics_1["metrics"]["lpips"]["status"].startswith("skipped")
    assert metrics_1["resolution"] == "original"
    assert Image.open(next((trained_run / "evaluation" / "predictions").glob("*.png"))).size == (200, 250)


def test_model_resolution_scores_at_the_model_size(trained_run: Path, tmp_path: Path) -> None:
    result = run_evaluate(f"runs=[{trained_run}]", "resolution=model", f"paths.output_root={tmp_path}")
    assert result.returncode == 0, result.stderr[-2000:]
    summary = json.loads((trained_run / "evaluation" / "metrics.json").read_text())
    assert summary["resolution"] == "model" and summary["metrics"]["ms_ssim"]["status"].startswith("n/a")
    assert Image.open(next((trained_run / "evaluation" / "predictions").glob("*.png"))).size == (32, 32)


def test_conditions_score_the_test_split_under_each_condition_against_the_clean_targets(trained_run: Path, tmp_path: Path) -> None:
    from face2sketch.realworld.conditions import CONDITION_SETS

    result = run_evaluate(f"runs=[{trained_run}]", "conditions=real", f"paths.output_root={tmp_path}")
    assert result.returncode == 0, result.stderr[-2000:]
    folder = trained_run / "evaluation"
    report = json.loads((folder / "robustness.json").read_text())
    summary = json.loads((folder / "metrics.json").read_text())
    names = report["order"]
    assert names == ["clean", *CONDITION_SETS["real"]["photo"], "as_photographed"] and report["input_kind"] == "photo"
    assert set(report["conditions"]) == set(names)
    clean = report["conditions"]["clean"]["means"]
    assert clean["fsim"] == summary["metrics"]["fsim"]["mean"] and clean["scoot"] == summary["metrics"]["scoot"]["mean"]
    # the end-to-end condition counts the pictures alignment could use (synthetic faces are not faces to a detector)
    photographed = report["conditions"]["as_photographed"]
    assert photographed["pictures"] == len(_test_names(folder)) and 0 <= photographed["scored"] <= photographed["pictures"]
    assert all(report["conditions"][name]["scored"] == photographed["pictures"] for name in names[1:-1])
    names = names[:-1]
    for name in names[1:]:
        entry = report["conditions"][name]
        assert set(entry["means"]) >= {"ssim", "mse", "fsim", "scoot"}
        assert all(entry["ratios"][metric] == pytest.approx(value / clean[metric]) for metric, value in entry["means"].items())
        samples = {f"{n}_{kind}.png" for n in _test_names(folder) for kind in ("input", "prediction")}
        assert {p.name for p in (folder / "conditions" / name).iterdir()} == samples
    # synthetic photos have no plain backdrop, so backgrounds leave them as they are; light and camera change them all
    changed = {name for name in names[1:] if report["conditions"][name]["means"]["fsim"] != clean["fsim"]}
    assert changed >= {"warm_light", "cool_light", "side_light", "dim_and_noisy", "overexposed", "black_and_white", "heavy_jpeg", "small_and_soft"}
    rows = list(csv.DictReader((folder / "robustness.csv").read_text().splitlines()))
    assert [r["condition"] for r in rows] == report["order"]
    assert float(rows[3]["fsim_ratio"]) == pytest.approx(report["conditions"][names[3]]["ratios"]["fsim"], abs=1e-6)
    assert len((folder / "robustness.md").read_text().splitlines()) == 2 + len(report["order"])
    # a row per condition (clean and as_photographed among them) and the ground truth, 1.75 inches each; two sample
    # identities, input and output for each, 1.5 inches each; 100 dpi
    assert Image.open(folder / "robustness.png").size == (2 * 2 * 150, (len(report["order"]) + 1) * 175) == (600, 2975)
    rows = (folder / "per_image.csv").read_text()
    again = run_evaluate(f"runs=[{trained_run}]", "conditions=real", f"paths.output_root={tmp_path}")
    assert again.returncode == 0 and json.loads((folder / "robustness.json").read_text()) == report, "seeded: the same pictures every run"
    assert json.loads((folder / "metrics.json").read_text())["metrics"] == summary["metrics"], "dropout at inference is seeded"
    assert (folder / "per_image.csv").read_text() == rows


def _test_names(folder: Path) -> set[str]:
    return {r["name"] for r in csv.DictReader((folder / "per_image.csv").read_text().splitlines())}


def test_an_unknown_condition_set_is_one_line_and_writes_nothing(trained_run: Path, tmp_path: Path) -> None:
    before = {p.name for p in trained_run.iterdir()}
    result = run_evaluate(f"runs=[{trained_run}]", "conditions=moonlight", f"paths.output_root={tmp_path}")
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert result.returncode != 0 and len(lines) == 1 and "unknown condition set 'moonlight'" in lines[0], result.stderr
    assert {p.name for p in trained_run.iterdir()} == before, "no staging folder is left behind"


def test_wrong_direction_is_one_line_and_non_zero(trained_run: Path, tmp_path: Path) -> None:
    result = run_evaluate(f"runs=[{trained_run / 'checkpoints' / 'last.ckpt'}]", "expect_direction=sk2f", f"paths.output_root={tmp_path}")
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert result.returncode != 0 and len(lines) == 1, result.stderr
    assert "trained for f2sk, not expect_direction=sk2f" in lines[0]
    assert not (trained_run / "evaluation_last").exists(), "no half-written evaluation folder"


def test_missing_folder_is_one_line_and_non_zero(tmp_path: Path) -> None:
    result = run_evaluate(f"runs=[{tmp_path / 'nope'}]", f"paths.output_root={tmp_path}")
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert result.returncode != 0 and len(lines) == 1 and "is not a run folder" in lines[0], result.stderr
