"""models.json, the shipped models' record (``release/models_index.py``): what a ship records of a run, the scores and
robustness the model card quotes per direction, and how an update leaves the rest of the record (the release
actions that call these: tests/release/test_release.py)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from face2sketch.core.errors import ConfigError
from face2sketch.core.run_folder import RunFolder
from face2sketch.inference import shipped
from face2sketch.inference.files import file_sha256
from face2sketch.release.models_index import card_robustness, card_scores, entry_of_run, record

# every metric evaluate reports, each with its own mean and std, so that a value taken from the wrong metric shows
EVALUATED = {"ssim": 0.61, "ssim_study": 0.72, "mse": 0.013, "psnr": 18.9, "ms_ssim": 0.55, "fsim": 0.77, "scoot": 0.58, "lpips": 0.31, "fid": 40.5}
SPREAD = {"ssim": 0.06, "ssim_study": 0.07, "mse": 0.001, "psnr": 1.9, "ms_ssim": 0.05, "fsim": 0.02, "scoot": 0.08, "lpips": 0.03, "fid": 4.0}


def summary_of(direction: str, robustness: dict[str, Any] | None = None) -> dict[str, Any]:
    """An evaluation's metrics.json as evaluate writes it: a photo target has no SCOOT (mean None, status n/a)."""
    metrics = {name: {"mean": mean, "std": SPREAD[name], "status": "ok"} for name, mean in EVALUATED.items()}
    if direction == "sk2f":
        metrics["scoot"] = {"mean": None, "std": None, "status": "n/a: SCOOT is a sketch metric"}
    summary: dict[str, Any] = {"direction": direction, "metrics": metrics}
    if robustness is not None:
        summary["robustness"] = robustness
    return summary


CARD_F2SK = {
    "ssim": {"mean": 0.61, "std": 0.06},
    "ssim_study": {"mean": 0.72, "std": 0.07},
    "mse": {"mean": 0.013, "std": 0.001},
    "fsim": {"mean": 0.77, "std": 0.02},
    "scoot": {"mean": 0.58, "std": 0.08},
}
CARD_SK2F = {name: value for name, value in CARD_F2SK.items() if name != "scoot"}


@pytest.mark.parametrize(("direction", "card"), [("f2sk", CARD_F2SK), ("sk2f", CARD_SK2F)])
def test_the_model_card_quotes_ssim_ssim_study_mse_fsim_and_for_sketches_scoot(direction: str, card: dict) -> None:
    """Guards against SCOOT recorded for sk2f (a photo target has none: its mean is None) and dropped for f2sk, and
    against a metric's mean or std taken from another metric."""
    scores = card_scores(summary_of(direction))
    assert list(scores) == list(card) and scores == card


def robustness_entry(scale: float) -> dict[str, Any]:
    means = {name: mean * scale for name, mean in EVALUATED.items() if name in ("ssim", "ssim_study", "mse", "fsim", "scoot", "psnr")}
    return {"means": means, "ratios": {name: scale for name in means}, "about": "...", "scored": 2, "pictures": 2}


@pytest.mark.parametrize("direction", ["f2sk", "sk2f"])
def test_the_model_cards_robustness_quotes_each_conditions_card_metrics_and_their_ratio_to_clean(direction: str) -> None:
    robustness = {"clean": robustness_entry(1.0), "dark_wall": robustness_entry(0.5)}
    if direction == "sk2f":  # a photo target's conditions have no SCOOT mean at all
        for entry in robustness.values():
            del entry["means"]["scoot"], entry["ratios"]["scoot"]
    quoted = card_robustness(summary_of(direction, robustness))
    names = ["ssim", "ssim_study", "mse", "fsim", "scoot"] if direction == "f2sk" else ["ssim", "ssim_study", "mse", "fsim"]
    assert quoted is not None and list(quoted) == ["clean", "dark_wall"]
    assert quoted["dark_wall"] == {name: {"mean": pytest.approx(EVALUATED[name] * 0.5), "ratio": 0.5} for name in names}
    assert quoted["clean"] == {name: {"mean": pytest.approx(EVALUATED[name]), "ratio": 1.0} for name in names}
    assert card_robustness(summary_of(direction)) is None, "an evaluation without conditions has no robustness to quote"


def shipped_run(folder: Path, overrides: list[str]) -> RunFolder:
    """A run folder with what a ship reads: config, metrics.json, examples.json and the command line's overrides."""
    run = RunFolder(folder)
    (folder / ".hydra").mkdir(parents=True)
    # train writes config.yaml resolved; an interpolation left in one (written by hand or by an older version) must
    # still be recorded as its value, which evaluate rebuilds the split from
    run.config_file.write_text("seed: 3\nstudy:\n  image_size: 256\ndata:\n  root: /data/cuhk\n  image_size: ${study.image_size}\n  split: standard\n")
    run.overrides_file.write_text("".join(f"- {o}\n" for o in overrides))
    run.metrics_file.write_text(
        json.dumps(
            {
                "best_checkpoint": "/old/place/checkpoints/best-epoch144.ckpt",
                "tested_weights": "best by validation quality",
                "epochs": 150,
                "wall_seconds": 3600.5,
            }
        )
    )
    run.examples_file.write_text(json.dumps({"train": ["f-1_r90f", "f-1", "m-2_r180"], "val": ["m-3"], "test": ["f-9"]}))
    return run


def test_a_ship_records_the_file_the_command_without_local_settings_the_selection_and_the_identities(tmp_path: Path) -> None:
    overrides = ["experiment=paper_gpu", "data.root=/data/cuhk", "hydra.run.dir=/x", "ckpt_path=last", "seed=3"]
    run = shipped_run(tmp_path / "run", overrides)
    weights = tmp_path / "staged.pth"
    weights.write_bytes(b"0123456789")
    best = run.checkpoints_dir / "best-epoch144.ckpt"
    entry = entry_of_run(run, best, weights, "f2sk.pth")
    assert entry == {
        "file": "f2sk.pth",
        "sha256": file_sha256(weights),
        "bytes": 10,
        "command": "python -m face2sketch.train experiment=paper_gpu seed=3 data.root=<cuhk>",
        "seed": 3,
        "selection": "best by validation quality",
        "epochs": 150,
        "train_seconds": 3600.5,
        "data": {"image_size": 256, "split": "standard"},
        "identities": {"train": ["f-1", "m-2"], "val": ["m-3"]},
    }
    assert entry_of_run(run, run.last_checkpoint, weights, "f2sk.pth")["selection"] == "checkpoint last.ckpt", "not the best one: named by file"


RECORDS = ("config.yaml", "metrics.json", "examples.json")


@pytest.mark.parametrize("removed", [*((name,) for name in RECORDS), RECORDS], ids=["config", "metrics", "examples", "all"])
def test_a_ship_of_a_run_without_its_records_names_what_is_missing(tmp_path: Path, removed: tuple[str, ...]) -> None:
    """Guards against a record left out of the check (a run without its config.yaml would fail later, elsewhere, with
    no word of what to do) and the message changed (asserted whole)."""
    run = shipped_run(tmp_path / "run", [])
    weights = tmp_path / "staged.pth"
    weights.write_bytes(b"0123456789")
    for name in removed:
        (run.path / name).unlink()
    message = f"run folder '{run.path}' has no {', '.join(removed)}: ship a run trained by this version of face2sketch"
    with pytest.raises(ConfigError, match=f"^{re.escape(message)}$"):
        entry_of_run(run, run.last_checkpoint, weights, "f2sk.pth")


def test_each_update_of_models_json_changes_its_part_alone_and_is_read_back_at_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    index = tmp_path / "models.json"
    monkeypatch.setattr(shipped, "PRETRAINED_INDEX", index)
    shipped.pretrained_index.cache_clear()
    try:
        record("sk2f", entry={"file": "sk2f.pth"})
        record("f2sk", entry={"file": "f2sk.pth", "test_scores": {"ssim": 0.1}})
        assert list(json.loads(index.read_text())) == ["f2sk", "sk2f"], "directions in order"
        assert shipped.pretrained_index()["f2sk"] == {"file": "f2sk.pth", "test_scores": {"ssim": 0.1}}
        record("f2sk", test_scores={"ssim": 0.2}, robustness={"clean": {}})
        assert shipped.pretrained_index()["f2sk"] == {"file": "f2sk.pth", "test_scores": {"ssim": 0.2}, "robustness": {"clean": {}}}, "the cache is cleared"
        record("f2sk", onnx={"file": "f2sk.onnx"})
        record("f2sk")  # nothing given: nothing changes
        assert json.loads(index.read_text()) == {
            "f2sk": {"file": "f2sk.pth", "test_scores": {"ssim": 0.2}, "robustness": {"clean": {}}, "onnx": {"file": "f2sk.onnx"}},
            "sk2f": {"file": "sk2f.pth"},
        }
        record("f2sk", entry={"file": "new.pth"})
        assert shipped.pretrained_index()["f2sk"] == {"file": "new.pth"}, "a new ship replaces the whole entry: no scores until it is scored"
    finally:
        shipped.pretrained_index.cache_clear()


def test_the_shipped_model_card_has_scoot_for_f2sk_alone() -> None:
    """The record in the package as the model card quotes it."""
    index = shipped.pretrained_index()
    assert list(index["f2sk"]["test_scores"]) == ["fsim", "mse", "scoot", "ssim", "ssim_study"]  # the file's sorted keys
    assert list(index["sk2f"]["test_scores"]) == ["fsim", "mse", "ssim", "ssim_study"]
    assert all("scoot" not in entry for entry in index["sk2f"]["robustness"].values())
    assert all(set(entry) == {"fsim", "mse", "scoot", "ssim", "ssim_study"} for entry in index["f2sk"]["robustness"].values())
