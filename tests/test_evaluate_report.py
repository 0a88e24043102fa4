"""evaluate and report: deterministic numbers, files written, user errors, the report after a multirun."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from omegaconf import OmegaConf
from PIL import Image

from face2sketch.metrics import HIGHER_IS_BETTER
from face2sketch.report import METRIC_LABEL, ReportCallback, write_report
from face2sketch.train import train
from tests.conftest import compose_train, run_cli

TINY = (
    "data=synthetic",
    "data.image_size=32",
    "data.num_train=8",
    "data.num_test=4",
    "data.batch_size=4",
    "trainer=cpu",
    "debug=limit",
    "encoder_weights=none",
)


@pytest.fixture(scope="module")
def trained_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    run = tmp_path_factory.mktemp("runs") / "conv_ae_f2sk"
    train(compose_train(run, *TINY, "model=pix2pix", "model.train_mode_inference=true"))
    return run


def _evaluate(*args: str) -> object:
    return run_cli("face2sketch.evaluate", *args)


def test_evaluating_twice_gives_identical_numbers_and_named_files(trained_run: Path, tmp_path: Path) -> None:
    first = _evaluate(f"runs=[{trained_run}]", f"paths.output_root={tmp_path}")
    assert first.returncode == 0, first.stderr[-2000:]
    metrics_1 = json.loads((trained_run / "evaluation" / "metrics.json").read_text())
    rows_1 = (trained_run / "evaluation" / "per_image.csv").read_text()
    second = _evaluate(f"runs=[{trained_run}]", f"paths.output_root={tmp_path}")
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
    result = _evaluate(f"runs=[{trained_run}]", "resolution=model", f"paths.output_root={tmp_path}")
    assert result.returncode == 0, result.stderr[-2000:]
    summary = json.loads((trained_run / "evaluation" / "metrics.json").read_text())
    assert summary["resolution"] == "model" and summary["metrics"]["ms_ssim"]["status"].startswith("n/a")
    assert Image.open(next((trained_run / "evaluation" / "predictions").glob("*.png"))).size == (32, 32)


def test_conditions_score_the_test_split_under_each_condition_against_the_clean_targets(trained_run: Path, tmp_path: Path) -> None:
    from face2sketch.data.conditions import CONDITION_SETS

    result = _evaluate(f"runs=[{trained_run}]", "conditions=real", f"paths.output_root={tmp_path}")
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
    again = _evaluate(f"runs=[{trained_run}]", "conditions=real", f"paths.output_root={tmp_path}")
    assert again.returncode == 0 and json.loads((folder / "robustness.json").read_text()) == report, "seeded: the same pictures every run"


def _test_names(folder: Path) -> set[str]:
    return {r["name"] for r in csv.DictReader((folder / "per_image.csv").read_text().splitlines())}


def test_an_unknown_condition_set_is_one_line_and_writes_nothing(trained_run: Path, tmp_path: Path) -> None:
    before = {p.name for p in trained_run.iterdir()}
    result = _evaluate(f"runs=[{trained_run}]", "conditions=moonlight", f"paths.output_root={tmp_path}")
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert result.returncode != 0 and len(lines) == 1 and "unknown condition set 'moonlight'" in lines[0], result.stderr
    assert {p.name for p in trained_run.iterdir()} == before, "no staging folder is left behind"


def test_the_report_evaluates_again_a_run_evaluated_before_a_metric_was_added(trained_run: Path, tmp_path: Path) -> None:
    result = _evaluate(f"runs=[{trained_run}]", f"paths.output_root={tmp_path}")
    assert result.returncode == 0, result.stderr[-2000:]
    metrics_file = trained_run / "evaluation" / "metrics.json"
    current = json.loads(metrics_file.read_text())
    older = {**current, "metrics": {k: v for k, v in current["metrics"].items() if k != "ssim_study"}}
    metrics_file.write_text(json.dumps(older))
    write_report([trained_run.parent], tmp_path / "report")
    assert json.loads(metrics_file.read_text())["metrics"] == current["metrics"]
    with open(tmp_path / "report" / "results.csv") as handle:
        (row,) = [r for r in csv.DictReader(handle) if r["metric"] == "ssim_study"]
    assert float(row["mean"]) == pytest.approx(current["metrics"]["ssim_study"]["mean"], abs=1e-12)


def test_wrong_direction_is_one_line_and_non_zero(trained_run: Path, tmp_path: Path) -> None:
    result = _evaluate(f"runs=[{trained_run / 'checkpoints' / 'last.ckpt'}]", "expect_direction=sk2f", f"paths.output_root={tmp_path}")
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert result.returncode != 0 and len(lines) == 1, result.stderr
    assert "trained for f2sk, not expect_direction=sk2f" in lines[0]
    assert not (trained_run / "evaluation_last").exists(), "no half-written evaluation folder"


def test_missing_folder_is_one_line_and_non_zero(tmp_path: Path) -> None:
    result = _evaluate(f"runs=[{tmp_path / 'nope'}]", f"paths.output_root={tmp_path}")
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert result.returncode != 0 and len(lines) == 1 and "is not a run folder" in lines[0], result.stderr


@pytest.mark.slow  # quick twin: test_report_tables_hold_each_runs_numbers_the_best_in_bold_and_paper_minus_standard
def test_multirun_then_report_with_both_protocols(tmp_path: Path) -> None:
    sweep = run_cli(
        "face2sketch.train",
        "-m",
        "data.split=paper,standard",
        "model=conv_ae,sparse_ae",
        *TINY,
        "direction=f2sk",
        f"paths.output_root={tmp_path}",
        "+hydra.callbacks.report._target_=face2sketch.report.ReportCallback",
    )
    assert sweep.returncode == 0, sweep.stderr[-3000:]
    (folder,) = list((tmp_path / "train" / "multiruns").iterdir())
    assert len(list(folder.glob("*/evaluation/metrics.json"))) == 4
    report = (folder / "report" / "report.md").read_text()
    assert "## Protocol: standard" in report and "## Protocol: paper (LEAKY" in report
    assert "The study's leak: paper minus standard" in report
    assert "| SSIM |" in report and "study: conv_ae" in report and "0.768" in report and "**" in report
    assert "skipped: weights not available" in report
    summaries = [json.loads(p.read_text()) for p in folder.glob("*/evaluation/metrics.json")]
    check_report_tables(report, summaries)
    with open(folder / "report" / "results.csv") as handle:
        rows = list(csv.DictReader(handle))
    assert {(r["protocol"], r["model"]) for r in rows} == {(p, m) for p in ("paper", "standard") for m in ("conv_ae", "sparse_ae")}
    for figure in ("samples_f2sk.png", "samples_f2sk_paper.png", "curves_f2sk.png", "curves_f2sk_paper.png"):
        assert Image.open(folder / "report" / figure).size[0] > 300

    again = run_cli("face2sketch.report", f"folders=[{folder}]", f"out={tmp_path / 'again'}", f"paths.output_root={tmp_path}")
    assert again.returncode == 0, again.stderr[-2000:]
    assert (tmp_path / "again" / "report.md").read_text() == report  # same evaluations, same tables


def test_report_of_an_empty_folder_is_one_line(tmp_path: Path) -> None:
    result = run_cli("face2sketch.report", f"folders=[{tmp_path}]", f"paths.output_root={tmp_path / 'outputs'}")
    lines = [line for line in result.stderr.splitlines() if line.strip() and "INFO" not in line]
    assert result.returncode != 0 and len(lines) == 1 and "face2sketch: error" in lines[0], result.stderr


# -- the report's tables, cell by cell ------------------------------------------------------------------------------
LABELS, HIGHER = METRIC_LABEL, HIGHER_IS_BETTER  # each metric's row label in the report, and which way is better


def parse_tables(markdown: str) -> dict[str, list[dict[str, str]]]:
    """Every markdown table of a report under the heading above it: one dict per row, keyed by the header's cells."""
    tables: dict[str, list[dict[str, str]]] = {}
    heading, lines = "", markdown.splitlines()
    for i, line in enumerate(lines):
        if line.startswith("#"):
            heading = line.lstrip("#").strip()
        elif line.startswith("|") and i + 1 < len(lines) and lines[i + 1].startswith("|---"):
            header = [c.strip() for c in line.strip("|").split("|")]
            rows = []
            for row in lines[i + 2 :]:
                if not row.startswith("|"):
                    break
                rows.append(dict(zip(header, (c.strip() for c in row.strip("|").split("|")), strict=False)))
            tables[heading] = rows
    return tables


def cell_numbers(cell: str) -> tuple[float, float | None, bool]:
    """(mean, std, bold) of a 'mean ± std' cell, bold when wrapped in **."""
    bold = cell.startswith("**") and cell.endswith("**")
    parts = cell.strip("*").split(" ± ")
    return float(parts[0]), float(parts[1]) if len(parts) > 1 else None, bold


def check_report_tables(report: str, summaries: list[dict]) -> None:
    """Each protocol's table holds every run's metrics.json mean and std, bold on the best run per row (the minimum where
    lower is better), and the leak table holds paper minus standard."""
    tables = parse_tables(report)
    by_protocol: dict[str, dict[str, dict]] = {}
    for summary in summaries:
        by_protocol.setdefault(summary["protocol"], {})[summary["model"]] = summary
    for protocol, runs in by_protocol.items():
        (heading,) = [h for h in tables if f"— {protocol}, N =" in h]
        rows = {row["metric"]: row for row in tables[heading]}
        for metric, label in LABELS.items():
            means = {model: run["metrics"][metric]["mean"] for model, run in runs.items()}
            if all(v is None for v in means.values()):
                assert next(iter(runs.values()))["metrics"][metric]["status"] in rows[label].values()  # the reason, not a number
                continue
            valid = {m: v for m, v in means.items() if v is not None}
            best = (max if HIGHER[metric] else min)(valid.values())
            tolerance = 0.005 if metric in ("psnr", "fid") else 0.0005  # the table rounds to 2 or 3 decimals
            for model, mean in valid.items():
                shown_mean, shown_std, bold = cell_numbers(rows[label][model])
                assert shown_mean == pytest.approx(mean, abs=tolerance), (protocol, metric, model)
                assert shown_std == pytest.approx(runs[model]["metrics"][metric]["std"], abs=tolerance), (protocol, metric, model)
                assert bold == (mean == best and len(valid) > 1), (protocol, metric, model, rows[label])
    if {"paper", "standard"} <= set(by_protocol):
        (heading,) = [h for h in tables if h.startswith("face to sketch") and "—" not in h]
        leak = {row["metric"]: row for row in tables[heading]}
        shared = set(by_protocol["paper"]) & set(by_protocol["standard"])
        assert set(next(iter(leak.values()))) == {"metric", *shared}
        for metric, label in LABELS.items():
            for model in shared:
                paper, standard = (by_protocol[p][model]["metrics"][metric]["mean"] for p in ("paper", "standard"))
                if paper is not None and standard is not None:
                    tolerance = 0.005 if metric in ("psnr", "fid") else 0.0005
                    assert float(leak[label][model]) == pytest.approx(paper - standard, abs=tolerance), (metric, model)


def fake_evaluated_run(folder: Path, model: str, protocol: str, values: dict[str, tuple[float, float]]) -> dict:
    """A run folder whose evaluation is already written (the report reads it instead of evaluating again)."""
    (folder / "checkpoints").mkdir(parents=True)
    (folder / "tensorboard").mkdir()
    (folder / "evaluation").mkdir()
    (folder / "config.yaml").write_text("{}\n")
    (folder / "checkpoints" / "best-epoch=0.ckpt").write_bytes(b"")
    metrics = {
        metric: {"mean": values[metric][0], "std": values[metric][1], "status": "ok", "higher_is_better": HIGHER[metric]}
        if metric in values
        else {"mean": None, "std": None, "status": "skipped: weights not available", "higher_is_better": HIGHER[metric]}
        for metric in LABELS
    }
    summary = {
        "run": str(folder),
        "checkpoint": str(folder / "checkpoints" / "best-epoch=0.ckpt"),
        "model": model,
        "model_class": model,
        "direction": "f2sk",
        "protocol": protocol,
        "leaky": protocol == "paper",
        "resolution": "original",
        "model_image_size": 32,
        "encoder_weights": None,
        "num_images": 4,
        "metrics": metrics,
    }
    (folder / "evaluation" / "metrics.json").write_text(json.dumps(summary))
    for kind in ("samples", "predictions"):
        (folder / "evaluation" / kind).mkdir()
    for name in ("f-001-01", "m-002-01"):
        for path in (f"samples/{name}_input.png", f"samples/{name}_target.png", f"predictions/{name}.png"):
            Image.new("RGB", (20, 25), (120, 130, 140)).save(folder / "evaluation" / path)
    from torch.utils.tensorboard import SummaryWriter

    with SummaryWriter(str(folder / "tensorboard")) as writer:
        for epoch, value in enumerate((0.4, 0.5)):
            writer.add_scalar("val/ssim", value, epoch)
            writer.add_scalar("train/loss_epoch", 1.0 / (epoch + 1), epoch)
    return summary


def test_report_tables_hold_each_runs_numbers_the_best_in_bold_and_paper_minus_standard(tmp_path: Path) -> None:
    # SSIM is best for conv_ae, MSE (lower is better) and PSNR for sparse_ae; pix2pix has the highest MSE, and no paper run
    runs = [
        ("conv_ae", "standard", {"ssim": (0.61, 0.011), "ssim_study": (0.69, 0.012), "mse": (0.031, 0.002), "psnr": (15.52, 0.51), "lpips": (0.3, 0.02)}),
        ("sparse_ae", "standard", {"ssim": (0.52, 0.012), "ssim_study": (0.71, 0.013), "mse": (0.021, 0.003), "psnr": (17.04, 0.52)}),
        ("pix2pix", "standard", {"ssim": (0.55, 0.013), "mse": (0.046, 0.004), "psnr": (13.41, 0.53)}),
        ("conv_ae", "paper", {"ssim": (0.71, 0.014), "mse": (0.025, 0.005), "psnr": (16.03, 0.54)}),
        ("sparse_ae", "paper", {"ssim": (0.56, 0.015), "mse": (0.012, 0.006), "psnr": (19.96, 0.55)}),
    ]
    summaries = [fake_evaluated_run(tmp_path / "sweep" / f"{i}_{m}_{p}", m, p, v) for i, (m, p, v) in enumerate(runs)]
    # the Hydra callback a sweep ends with writes the report into the sweep folder
    ReportCallback().on_multirun_end(OmegaConf.create({"hydra": {"sweep": {"dir": str(tmp_path / "sweep")}}, "data": {"root": None}}))
    report = (tmp_path / "sweep" / "report" / "report.md").read_text()
    for figure in ("samples_f2sk.png", "samples_f2sk_paper.png", "curves_f2sk.png", "curves_f2sk_paper.png"):
        assert Image.open(tmp_path / "sweep" / "report" / figure).size[0] > 300 and f"]({figure})" in report
    assert write_report([tmp_path / "sweep"], tmp_path / "report").read_text() == report  # the command line's report is the same
    check_report_tables(report, summaries)
    tables = parse_tables(report)
    standard = {row["metric"]: row for row in tables[next(h for h in tables if "— standard, N = 4" in h)]}
    assert list(standard["SSIM"])[:4] == ["metric", "sparse_ae", "conv_ae", "pix2pix"]  # the study's model order
    assert standard["MSE"]["sparse_ae"] == "**0.021 ± 0.003**" and standard["MSE"]["pix2pix"] == "0.046 ± 0.004"
    assert standard["SSIM"]["conv_ae"] == "**0.610 ± 0.011**" and standard["PSNR (dB)"]["sparse_ae"] == "**17.04 ± 0.52**"
    assert standard["LPIPS (vgg)"]["conv_ae"] == "0.300 ± 0.020"  # the only value in its row: nothing to be best against
    assert (standard["SSIM"]["study: conv_ae"], standard["MSE"]["study: vgg_ae"]) == ("0.768", "0.028")  # the study's Table III
    # the study's one SSIM stands beside both SSIM rows; a row's best is its own (sparse_ae here, conv_ae by SSIM)
    study_row = standard["SSIM as the study computed it"]
    assert (study_row["study: conv_ae"], study_row["sparse_ae"], study_row["conv_ae"]) == ("0.768", "**0.710 ± 0.013**", "0.690 ± 0.012")
    leak = {row["metric"]: row for row in tables["face to sketch (F2SK)"]}
    assert (leak["SSIM"]["conv_ae"], leak["MSE"]["sparse_ae"], leak["PSNR (dB)"]["sparse_ae"]) == ("+0.100", "-0.009", "+2.92")
    assert "pix2pix" not in leak["SSIM"] and "LPIPS (vgg)" not in leak
    with open(tmp_path / "report" / "results.csv") as handle:
        rows = {(r["protocol"], r["model"], r["metric"]): r for r in csv.DictReader(handle)}
    assert float(rows[("paper", "sparse_ae", "mse")]["mean"]) == 0.012 and rows[("standard", "pix2pix", "lpips")]["status"].startswith("skipped")
    assert float(rows[("standard", "conv_ae", "ssim_study")]["mean"]) == 0.69


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
