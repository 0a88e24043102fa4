"""evaluate: deterministic numbers, files written, the real-world conditions and as-photographed inputs, user errors."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from PIL import Image

from tests.conftest import run_cli, run_evaluate


def test_evaluating_twice_gives_identical_numbers_and_named_files(trained_run: Path, tmp_path: Path) -> None:
    first = run_evaluate(f"runs=[{trained_run}]", f"paths.output_root={tmp_path}")
    assert first.returncode == 0, first.stderr[-2000:]
    metrics_1 = json.loads((trained_run / "evaluation" / "metrics.json").read_text())
    rows_1 = (trained_run / "evaluation" / "per_image.csv").read_text()
    second = run_evaluate(f"runs=[{trained_run}]", f"paths.output_root={tmp_path}")
    assert second.returncode == 0
    assert json.loads((trained_run / "evaluation" / "metrics.json").read_text())["metrics"] == metrics_1["metrics"]
    assert (trained_run / "evaluation" / "per_image.csv").read_text() == rows_1  # dropout at inference is seeded

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
    from face2sketch.data.conditions import CONDITION_SETS

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
    assert Image.open(folder / "robustness.png").size[1] > Image.open(folder / "robustness.png").size[0], "a row per condition"
    again = run_evaluate(f"runs=[{trained_run}]", "conditions=real", f"paths.output_root={tmp_path}")
    assert again.returncode == 0 and json.loads((folder / "robustness.json").read_text()) == report, "seeded: the same pictures every run"


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


def _folder(path: Path, text: str) -> Path:
    path.mkdir(parents=True)
    (path / "metrics.json").write_text(text)
    return path


def test_publishing_an_evaluation_never_leaves_the_run_without_a_whole_one(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from face2sketch.evaluate import publish

    output = _folder(tmp_path / "evaluation", "old")
    staging = _folder(tmp_path / ".evaluation.new", "new")
    rename = Path.rename

    def killed_while_moving_the_new_one_in(self: Path, target: Path) -> Path:
        if self == staging:
            raise KeyboardInterrupt
        return rename(self, target)

    monkeypatch.setattr(Path, "rename", killed_while_moving_the_new_one_in)
    with pytest.raises(KeyboardInterrupt):
        publish(staging, output)
    assert (output / "metrics.json").read_text() == "old"  # the earlier evaluation is back in place
    monkeypatch.setattr(Path, "rename", rename)
    # a hard kill after the earlier folder was set aside: the next publish restores it before anything else
    output.rename(tmp_path / ".evaluation.old")
    publish(staging, output)
    assert (output / "metrics.json").read_text() == "new"
    assert not (tmp_path / ".evaluation.old").exists() and not staging.exists()


def test_as_photographed_aligns_the_picture_and_carries_the_true_sketch_into_the_aligned_frame(monkeypatch: pytest.MonkeyPatch) -> None:
    """With a detector that finds the photo's eyes where the scene put them, the aligned frame is the stored photo's
    own: the carry is the identity and the carried sketch is the stored one. A wrong order of the transforms, a missing
    scale back to the stored size or the sketch carried on one side only would each move it."""
    from types import SimpleNamespace

    import numpy as np

    from face2sketch.data.alignment import cuhk_eyes
    from face2sketch.data.photographed import apply_affine, photographed_scene
    from face2sketch.evaluate import AS_PHOTOGRAPHED_SEED_INDEX, PhotographedInputs, stored_target
    from tests.inference_helpers import stub_detector
    from tests.studio import studio_pair
    from tests.test_alignment import face_at

    photo, sketch, person = studio_pair(250, 200)
    mask = person.astype(np.uint8) * 255
    picture, placed = photographed_scene(photo, mask, np.random.default_rng([5, AS_PHOTOGRAPHED_SEED_INDEX, 3]))
    eyes = apply_affine(placed, [cuhk_eyes().left, cuhk_eyes().right])
    stub_detector(monkeypatch, {(picture.shape[1], picture.shape[0]): [face_at(eyes.tolist())]})
    item = SimpleNamespace(full_resolution=lambda kind: photo, full_resolution_mask=lambda: mask)
    datamodule = SimpleNamespace(fit=lambda image, kind: image, sketch_layout=lambda image: image[..., None])
    changed = PhotographedInputs(seed=5).source(datamodule, (0.0, 1.0), 3, item)  # type: ignore[arg-type]
    assert changed is not None and np.array_equal(changed.picture, picture)
    # the identity up to the aligned frame's whole-pixel size (round(200 s) x round(250 s) for the face's scale s)
    np.testing.assert_allclose(changed.carry, [[1, 0, 0], [0, 1, 0]], atol=2e-3)
    channels, height, width = changed.source.shape  # the aligned face, in CUHK's frame at the picture's scale
    assert channels == 3 and height / width == pytest.approx(250 / 200, abs=0.01)
    carried = stored_target(datamodule, sketch, "sketch", changed.carry)  # type: ignore[arg-type]
    difference = np.abs(carried[..., 0].astype(int) - sketch)
    assert carried.shape == (250, 200, 1) and difference.mean() < 1.0 and np.median(difference) == 0


def test_as_photographed_leaves_out_a_picture_without_a_usable_face(monkeypatch: pytest.MonkeyPatch) -> None:
    from types import SimpleNamespace

    import numpy as np

    from face2sketch.evaluate import PhotographedInputs
    from tests.inference_helpers import stub_detector
    from tests.studio import studio_pair

    photo, _, person = studio_pair(250, 200)
    stub_detector(monkeypatch, {})
    item = SimpleNamespace(full_resolution=lambda kind: photo, full_resolution_mask=lambda: person.astype(np.uint8) * 255)
    datamodule = SimpleNamespace(fit=lambda image, kind: image)
    assert PhotographedInputs(seed=0).source(datamodule, (0.0, 1.0), 0, item) is None  # type: ignore[arg-type]


@pytest.mark.parametrize("command", ["face2sketch.report", "face2sketch.evaluate"])
def test_a_command_without_its_required_setting_says_which_in_one_line(command: str, tmp_path: Path) -> None:
    result = run_cli(command, f"paths.output_root={tmp_path}")
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    key = "folders" if command.endswith("report") else "runs"
    assert result.returncode == 2 and lines == [f"face2sketch: error: {key} has no value: pass {key}=... on the command line"], result.stderr
