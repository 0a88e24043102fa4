"""evaluate in process: an evaluation is published whole or not at all, and as-photographed inputs are aligned with their
true sketch carried into the aligned frame (the command: tests/commands/test_evaluate.py)."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
from omegaconf import DictConfig, OmegaConf
from PIL import Image

from face2sketch.core.config import compose_config
from face2sketch.core.directions import DIRECTIONS
from face2sketch.core.run_folder import EvaluationFolder
from face2sketch.data import SyntheticPairsDataModule
from face2sketch.evaluation.evaluation import evaluate_subject
from face2sketch.evaluation.subjects import Subject
from face2sketch.inference.spec import ModelSpec
from face2sketch.inference.translator import Translator
from face2sketch.realworld.conditions import apply_condition, condition_set


def _folder(path: Path, text: str) -> Path:
    path.mkdir(parents=True)
    (path / "metrics.json").write_text(text)
    return path


def test_publishing_an_evaluation_never_leaves_the_run_without_a_whole_one(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from face2sketch.core.io import publish_folder

    output = _folder(tmp_path / "evaluation", "old")
    staging = _folder(tmp_path / ".evaluation.new", "new")
    rename = Path.rename

    def killed_while_moving_the_new_one_in(self: Path, target: Path) -> Path:
        if self == staging:
            raise KeyboardInterrupt
        return rename(self, target)

    monkeypatch.setattr(Path, "rename", killed_while_moving_the_new_one_in)
    with pytest.raises(KeyboardInterrupt):
        publish_folder(staging, output)
    assert (output / "metrics.json").read_text() == "old"  # the earlier evaluation is back in place
    monkeypatch.setattr(Path, "rename", rename)
    # a hard kill after the earlier folder was set aside: the next publish restores it before anything else
    output.rename(tmp_path / ".evaluation.old")
    publish_folder(staging, output)
    assert (output / "metrics.json").read_text() == "new"
    assert not (tmp_path / ".evaluation.old").exists() and not staging.exists()


def test_as_photographed_aligns_the_picture_and_carries_the_true_sketch_into_the_aligned_frame(monkeypatch: pytest.MonkeyPatch) -> None:
    """With a detector that finds the photo's eyes where the scene put them, the aligned frame is the stored photo's
    own: the carry is the identity and the carried sketch is the stored one. A wrong order of the transforms, a missing
    scale back to the stored size or the sketch carried on one side only would each move it."""
    from types import SimpleNamespace

    import numpy as np

    from face2sketch.data.synthetic import studio_pair
    from face2sketch.evaluation.inputs import PhotographedInputs, stored_target
    from face2sketch.pictures.alignment import cuhk_eyes
    from face2sketch.realworld.photographed import apply_affine, photographed_scene
    from tests.helpers.inference import stub_detector
    from tests.pictures.test_alignment import face_at

    photo, sketch, person = studio_pair(250, 200)
    mask = person.astype(np.uint8) * 255
    # seeded by (condition_seed, 1000, example): the pictures models.json's robustness record was measured on
    picture, placed = photographed_scene(photo, mask, np.random.default_rng([5, 1000, 3]))
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

    from face2sketch.data.synthetic import studio_pair
    from face2sketch.evaluation.inputs import PhotographedInputs
    from tests.helpers.inference import stub_detector

    photo, _, person = studio_pair(250, 200)
    stub_detector(monkeypatch, {})
    item = SimpleNamespace(full_resolution=lambda kind: photo, full_resolution_mask=lambda: person.astype(np.uint8) * 255)
    datamodule = SimpleNamespace(fit=lambda image, kind: image)
    assert PhotographedInputs(seed=0).source(datamodule, (0.0, 1.0), 0, item) is None  # type: ignore[arg-type]


# -- what is scored under a condition: the model applied to the changed input --------------------------------------------
class IdentityTranslator(Translator):
    """A model whose prediction is its input (f2sk with 3-channel sketches, sk2f): what it scores is what it was fed."""

    def __init__(self, spec: ModelSpec) -> None:
        self.spec, self.origin = spec, "identity"

    def raw(self, inputs: np.ndarray) -> np.ndarray:
        return np.array(inputs, dtype=np.float32)


def identity_subject(folder: Path, direction: str) -> Subject:
    """The identity model on 2 synthetic test pairs at 32 px, in [-1, 1] (the prediction maps back to the input exactly)."""
    datamodule = SyntheticPairsDataModule(num_train=3, num_test=2, image_size=32, direction=direction, sketch_channels=3, value_range=(-1.0, 1.0), seed=0)
    datamodule.setup("test")
    spec = ModelSpec("identity", direction, 32, "bilinear", 3, 3, 3, (-1.0, 1.0))
    return Subject(IdentityTranslator(spec), datamodule, folder, {"model": "identity", "direction": direction})


def conditions_settings(**changes: object) -> DictConfig:
    base = {
        "resolution": "model",
        "split": "test",
        "batch_size": 1,  # the second test example is in the second batch: its condition is seeded by its place in the split
        "save_predictions": True,
        "num_samples": 2,
        "conditions": "real",
        "as_photographed": False,
        "condition_seed": 4,
        "figure_examples": 0,
    }
    return OmegaConf.create({**base, **changes})


def read_png(path: Path) -> np.ndarray:
    return np.asarray(Image.open(path))


def stub_a_face_in_the_second_photographed_picture(monkeypatch: pytest.MonkeyPatch, items: list, seed: int) -> None:
    """The detector finds a face (where the scene put the eyes) in the picture as_photographed makes of the second test
    example alone: one of the two pictures is scored."""
    from face2sketch.pictures.alignment import cuhk_eyes
    from face2sketch.realworld.photographed import apply_affine, photographed_scene
    from tests.helpers.inference import stub_detector
    from tests.pictures.test_alignment import face_at

    def scene(index: int) -> tuple[np.ndarray, np.ndarray]:
        item = items[index]
        return photographed_scene(item.full_resolution("photo"), item.full_resolution_mask(), np.random.default_rng([seed, 1000, index]))

    (first, _), (second, placed) = scene(0), scene(1)
    assert first.shape != second.shape, "the stub tells the pictures apart by their size"
    eyes = apply_affine(placed, [cuhk_eyes().left, cuhk_eyes().right])
    stub_detector(monkeypatch, {(second.shape[1], second.shape[0]): [face_at(eyes.tolist())]})


@pytest.mark.parametrize("direction", ["f2sk", "sk2f"])
def test_under_each_condition_the_model_is_fed_the_changed_input_and_scored_on_its_output(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, direction: str
) -> None:
    """Guards against the clean stored input fed to the model for every condition while the changed picture is saved
    (the robustness report would then score clean inputs under condition names). With the identity model each
    condition's prediction is the changed input fitted to the model, each mean is that input's score against the clean
    target, and the changed input is the condition drawn for that example's place in the split. Photos are also taken
    as photographed, where alignment finds one of the two faces: that condition scores 1 of 2."""
    subject = identity_subject(tmp_path / "evaluation", direction)
    folder, datamodule = EvaluationFolder(tmp_path / "evaluation"), subject.datamodule
    source_kind, target_kind = DIRECTIONS[direction]
    items = datamodule.splits.test  # type: ignore[union-attr]
    photographed = source_kind == "photo"
    if photographed:
        stub_a_face_in_the_second_photographed_picture(monkeypatch, items, seed=4)
    evaluate_subject(subject, conditions_settings(as_photographed=photographed))
    report = json.loads(folder.robustness_file("json").read_text())
    conditions = condition_set("real", source_kind)
    scored = {**dict.fromkeys(conditions, 2), **({"as_photographed": 1} if photographed else {})}
    assert report["order"] == ["clean", *scored]
    changed_somewhere = 0
    for condition in conditions:
        squared_errors = []
        for index, item in enumerate(items):
            picture = read_png(folder.condition_input(condition, item.name))
            mask = item.full_resolution_mask() if source_kind == "photo" else None
            assert np.array_equal(picture, apply_condition(condition, conditions, item.full_resolution(source_kind), mask, 4, index)), (condition, index)
            fed = datamodule.fit(picture, source_kind)
            assert np.array_equal(read_png(folder.condition_prediction(condition, item.name)), fed), (
                f"{condition}: the prediction is not the model's output for the changed input"
            )
            changed_somewhere += not np.array_equal(fed, getattr(item, source_kind))
            squared_errors.append(((fed / 255.0 - getattr(item, target_kind) / 255.0) ** 2).mean())
        assert report["conditions"][condition]["means"]["mse"] == pytest.approx(np.mean(squared_errors), abs=1e-6), condition
    assert changed_somewhere >= 2 * len(items), "the conditions change the synthetic inputs, or this test could not tell"
    clean = report["conditions"]["clean"]["means"]
    clean_errors = [((getattr(i, source_kind) / 255.0 - getattr(i, target_kind) / 255.0) ** 2).mean() for i in items]
    assert clean["mse"] == pytest.approx(np.mean(clean_errors), abs=1e-6)
    assert all(np.array_equal(read_png(folder.prediction(i.name)), getattr(i, source_kind)) for i in items)
    assert_robustness_records(folder, report, source_kind, scored)
    if photographed:
        assert_the_found_face_alone_is_scored_against_its_carried_sketch(folder, report, items[1].name)


def assert_the_found_face_alone_is_scored_against_its_carried_sketch(folder: EvaluationFolder, report: dict, name: str) -> None:
    """The left-out picture leaves no sample behind; at model resolution the carried sketch is laid out in the model's 3
    channels once (it was laid out twice: 9 channels against the prediction's 3, and evaluate stopped) and scored
    against the prediction."""
    kept = sorted(p.name for p in folder.condition_dir("as_photographed").iterdir())
    assert kept == [f"{name}_{kind}.png" for kind in ("input", "prediction", "target")]
    prediction = read_png(folder.condition_prediction("as_photographed", name)) / 255.0
    target = read_png(folder.condition_target("as_photographed", name)) / 255.0
    assert prediction.shape == target.shape == (32, 32, 3)
    assert report["conditions"]["as_photographed"]["means"]["mse"] == pytest.approx(((prediction - target) ** 2).mean(), abs=1e-6)


def assert_robustness_records(folder: EvaluationFolder, report: dict, source_kind: str, scored: dict[str, int]) -> None:
    """Each condition's ratios are its means over the clean ones, and its count of scored pictures out of the 2;
    metrics.json, robustness.csv and .md say the same."""
    from face2sketch.evaluation.robustness import ratio_metrics

    clean = report["conditions"]["clean"]["means"]
    assert (report["condition_set"], report["condition_seed"], report["input_kind"]) == ("real", 4, source_kind)
    for condition in report["order"][1:]:
        entry = report["conditions"][condition]
        assert (entry["scored"], entry["pictures"]) == (scored[condition], 2), condition
        assert entry["ratios"] == {name: pytest.approx(mean / clean[name]) for name, mean in entry["means"].items() if clean.get(name)}
    summary = json.loads(folder.metrics_file.read_text())
    assert summary["robustness"] == report["conditions"] and (summary["num_images"], summary["resolution"], summary["model_image_size"]) == (2, "model", 32)
    shown = ratio_metrics(source_kind)
    assert shown == (("fsim", "scoot", "ssim", "mse") if source_kind == "photo" else ("fsim", "ssim", "mse"))
    rows = list(csv.DictReader(folder.robustness_file("csv").read_text().splitlines()))
    assert list(rows[0]) == ["condition", "scored", *[f"{n}{suffix}" for n in shown for suffix in ("", "_ratio")]]
    assert [(r["condition"], r["scored"]) for r in rows] == [("clean", ""), *[(c, str(n)) for c, n in scored.items()]]
    for row in rows:
        entry = report["conditions"][row["condition"]]
        assert [float(row[n]) for n in shown] == pytest.approx([entry["means"][n] for n in shown], abs=1e-6)
        assert [float(row[f"{n}_ratio"]) for n in shown] == pytest.approx([entry["ratios"][n] for n in shown], abs=1e-6)
    lines = folder.robustness_file("md").read_text().splitlines()
    assert len(lines) == 2 + len(report["order"]) and lines[2].startswith("| clean | all | ")
    assert all(line.startswith(f"| {c} | {n} of 2 | ") for line, (c, n) in zip(lines[3:], scored.items(), strict=True)), lines
    mse = report["conditions"][report["order"][1]]["means"]["mse"]
    assert f" {mse:.3f} | {mse / clean['mse']:.3f} |" in lines[3]


# -- which folder a checkpoint's evaluation goes into ----------------------------------------------------------------
def evaluate_settings(checkpoint: Path) -> DictConfig:
    """evaluate's config as its command line composes it, scoring ``checkpoint`` at the model's resolution on the CPU."""
    return compose_config("evaluate", [f"runs=[{checkpoint}]", "resolution=model", "batch_size=4", "device=cpu", "num_samples=1"])


def folder_bytes(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_evaluating_last_beside_a_best_checkpoint_writes_its_own_folder_and_leaves_the_bests_scores(tmp_path: Path) -> None:
    """Guards against last.ckpt's evaluation written into evaluation/, the folder of the checkpoint the run is scored by
    (its best), overwriting the scores the report reads."""
    from face2sketch.evaluate import evaluate
    from tests.helpers.inference import make_run

    tiny = ("model=conv_ae", "data=synthetic", "data.image_size=32", "data.num_train=3", "data.num_test=2")
    run = make_run(tmp_path / "run", *tiny, seed=0)
    best = run / "checkpoints" / "best-epoch000.ckpt"
    best.write_bytes((make_run(tmp_path / "other", *tiny, seed=1) / "checkpoints" / "last.ckpt").read_bytes())  # other weights, other scores
    (best_summary,) = evaluate(evaluate_settings(run))
    assert (best_summary["checkpoint"], best_summary["scored_weights"]) == (str(best), "best by validation SSIM")
    scored_by_best = folder_bytes(run / "evaluation")
    assert {"metrics.json", "per_image.csv"} <= set(scored_by_best)
    (last_summary,) = evaluate(evaluate_settings(run / "checkpoints" / "last.ckpt"))
    assert (last_summary["checkpoint"], last_summary["scored_weights"]) == (str(run / "checkpoints" / "last.ckpt"), "final weights")
    assert folder_bytes(run / "evaluation") == scored_by_best, "the best checkpoint's evaluation is left byte for byte"
    written = json.loads((run / "evaluation_last" / "metrics.json").read_text())
    assert written["checkpoint"] == str(run / "checkpoints" / "last.ckpt")
    assert written["metrics"]["mse"]["mean"] != best_summary["metrics"]["mse"]["mean"], "two sets of weights, two scores"
    assert sorted(p.name for p in run.iterdir() if p.name.startswith("evaluation")) == ["evaluation", "evaluation_last"]


def test_split_val_scores_the_validation_identities_into_evaluation_val_and_unknown_choices_are_refused(tmp_path: Path) -> None:
    """The validation identities' scores never take the place of the test scores (evaluation/), and a misspelt
    resolution or split is named before anything is written."""
    from face2sketch.core.errors import ConfigError

    subject = identity_subject(tmp_path / "evaluation", "f2sk")
    summary = evaluate_subject(subject, conditions_settings(split="val", conditions=None))
    val_names = [item.name for item in subject.datamodule.splits.val]  # type: ignore[union-attr]
    rows = list(csv.DictReader((tmp_path / "evaluation_val" / "per_image.csv").read_text().splitlines()))
    assert (summary["split"], summary["num_images"], [r["name"] for r in rows]) == ("val", len(val_names), val_names) and val_names
    with pytest.raises(ConfigError, match=r"^unknown resolution 'full': use one of original, model$"):
        evaluate_subject(subject, conditions_settings(resolution="full"))
    with pytest.raises(ConfigError, match=r"^unknown split 'train': use test \(the reported scores\) or val"):
        evaluate_subject(subject, conditions_settings(split="train"))
    assert [p.name for p in tmp_path.iterdir()] == ["evaluation_val"]


def test_runs_name_run_folders_checkpoints_and_multirun_folders_and_anything_else_is_refused(tmp_path: Path) -> None:
    """Each run of a multirun folder is scored by its own checkpoint (best, else last) into evaluation/; a checkpoint
    named on the command line by that checkpoint."""
    from face2sketch.core.errors import ConfigError
    from face2sketch.evaluation.subjects import discover_runs

    for name, checkpoints in (("0_a", ["last.ckpt"]), ("1_b", ["best-epoch001.ckpt", "last.ckpt"])):
        (tmp_path / "sweep" / name / "checkpoints").mkdir(parents=True)
        (tmp_path / "sweep" / name / "config.yaml").write_text("seed: 0\n")
        for checkpoint in checkpoints:
            (tmp_path / "sweep" / name / "checkpoints" / checkpoint).write_bytes(b"")
    found = discover_runs([str(tmp_path / "sweep"), str(tmp_path / "sweep" / "1_b" / "checkpoints" / "last.ckpt"), str(tmp_path / "sweep" / "0_a")])
    assert [(r.run.path.name, r.checkpoint.name, r.output_dir.name, r.weights) for r in found] == [
        ("0_a", "last.ckpt", "evaluation", "final weights"),
        ("1_b", "best-epoch001.ckpt", "evaluation", "best by validation SSIM"),
        ("1_b", "last.ckpt", "evaluation_last", "final weights"),
        ("0_a", "last.ckpt", "evaluation", "final weights"),
    ]
    with pytest.raises(ConfigError, match=r"^'.*nothing' is not a run folder, a multirun folder or a .ckpt file: pass runs=\[outputs/train/runs/<run>\]"):
        discover_runs([str(tmp_path / "nothing")])
