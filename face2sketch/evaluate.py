"""Evaluate trained runs on the test split of their protocol with every metric of face2sketch.metrics.

    python -m face2sketch.evaluate runs=[outputs/train/runs/<run>]
    python -m face2sketch.evaluate runs=[outputs/train/multiruns/<time>] resolution=model
    python -m face2sketch.evaluate runs=[pretrained/f2sk,pretrained/sk2f] data_root=/path/to/cuhk   # the shipped models
    python -m face2sketch.evaluate runs=[pretrained/f2sk] data_root=/path/to/cuhk conditions=real   # and under real-world conditions

Each run gets ``<run>/evaluation/`` (``evaluation_<checkpoint>/`` for a named checkpoint), a shipped model
``<output>/pretrained_<direction>/``, with metrics.json (mean and standard deviation per metric, ``ssim_study``
beside ``ssim``), per_image.csv and predictions/<name>.png; with ``conditions=<set>`` also robustness.json, .csv and
.md (each condition's means and ratio to clean) and conditions/<condition>/ (sample inputs and predictions).
"""

from __future__ import annotations

import csv
import io
import logging
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

import hydra
import numpy as np
import torch
from hydra.utils import instantiate
from omegaconf import DictConfig, ListConfig, OmegaConf, open_dict
from PIL import Image

from face2sketch.config import CONFIG_DIR, model_label
from face2sketch.data.protocols import Item
from face2sketch.errors import ConfigError, one_line_user_errors
from face2sketch.inference.checkpoints import TorchTranslator, load_trained_model, spec_of_run
from face2sketch.inference.shipped import load_pretrained, pretrained_entry
from face2sketch.inference.spec import pick_device
from face2sketch.inference.translator import Translator
from face2sketch.io import write_json_atomic
from face2sketch.pictures.images import DIRECTIONS
from face2sketch.pictures.tensors import resize_prediction, save_image, to_tensor, unit_range
from face2sketch.realworld.conditions import Condition, apply_condition, condition_set
from face2sketch.realworld.photographed import Affine, carry_into, compose, photographed_scene, scale_to
from face2sketch.run_folder import EvaluationFolder, RunFolder, locate_run, runs_under, with_current_targets

if TYPE_CHECKING:
    # Lightning and torchmetrics are imported once a model is evaluated: a refusal (no such run) comes in a second
    from face2sketch.data.datamodule import PairedDataModule
    from face2sketch.metrics import ImageSetEvaluator

log = logging.getLogger(__name__)
RESOLUTIONS = ("original", "model")
# split=val scores the validation identities instead, so that settings are chosen without looking at the test split
SPLITS = ("test", "val")
# runs=[pretrained/f2sk]: the model shipped in the package for that direction
PRETRAINED_PREFIX = "pretrained/"


@dataclass(frozen=True)
class RunToEvaluate:
    run: RunFolder
    checkpoint: Path

    @property
    def output_dir(self) -> Path:
        return self.run.evaluation_dir(self.checkpoint)

    @property
    def weights(self) -> str:
        """Which weights are scored, in words for metrics.json and the report."""
        return self.run.weights_label(self.checkpoint)


def discover_runs(paths: list[str]) -> list[RunToEvaluate]:
    """Expand run folders, multirun folders and checkpoint files into (run, checkpoint) pairs."""
    found: list[RunToEvaluate] = []
    for raw in paths:
        path = Path(raw).expanduser()
        located = locate_run(path)
        if located is not None:
            found.append(RunToEvaluate(*located))
        elif path.is_dir() and (inner := runs_under(path)):
            found += [RunToEvaluate(run, run.checkpoint_to_score()) for run in inner]
        else:
            raise ConfigError(f"'{raw}' is not a run folder, a multirun folder or a .ckpt file: pass runs=[outputs/train/runs/<run>] or a checkpoint")
    return found


@dataclass
class Subject:
    """What one evaluation scores: a loaded model, the data module it is scored on, where the folder goes, and the
    facts ``metrics.json`` records about it."""

    translator: Translator
    datamodule: PairedDataModule
    output_dir: Path
    facts: dict[str, Any]


def subject_of_run(run: RunToEvaluate, cfg_eval: DictConfig) -> Subject:
    """A trained run's model with the checkpoint's weights, and its data module, from the run's saved config."""
    cfg, model = load_trained_model(run.run, run.checkpoint)
    direction = cfg.direction.name
    expected = cfg_eval.expect_direction
    if expected and expected != direction:
        raise ConfigError(
            f"checkpoint '{run.checkpoint}' was trained for {direction}, not expect_direction={expected}: "
            f"pass expect_direction={direction} or pick a {expected} run"
        )
    with open_dict(cfg):
        if cfg_eval.data_root is not None and "root" in cfg.data:
            cfg.data.root = cfg_eval.data_root
        cfg.data.eval_batch_size = cfg_eval.batch_size
    datamodule: PairedDataModule = instantiate(cfg.data, value_range=model.value_range)
    datamodule.prepare_data()
    datamodule.setup("test")
    from lightning.pytorch import seed_everything

    seed_everything(cfg.seed, verbose=False)  # pix2pix in train-mode inference draws dropout masks
    translator = TorchTranslator(model, spec_of_run(cfg, model), pick_device(cfg_eval.device), origin=str(run.checkpoint))
    facts = {
        "run": str(run.run.path),
        "checkpoint": str(run.checkpoint),
        "scored_weights": run.weights,
        "model": model_label(cfg),
        "model_class": type(model).__name__,
        "direction": direction,
        "seed": cfg.seed,
        "encoder_weights": cfg.trained_encoder_weights,
    }
    return Subject(translator, datamodule, run.output_dir, facts)


def subject_of_pretrained(direction: str, cfg_eval: DictConfig) -> Subject:
    """A shipped model and the data module it was trained with (models.json), on the CUHK copy at ``data_root``."""
    entry = pretrained_entry(direction)
    expected = cfg_eval.get("expect_direction")
    if expected and expected != direction:
        raise ConfigError(f"pretrained/{direction} translates {direction}, not expect_direction={expected}: pass pretrained/{expected}")
    if cfg_eval.data_root is None:
        raise ConfigError(f"evaluating the shipped {direction} model needs the CUHK data: pass data_root=/path/to/cuhk")
    translator = load_pretrained(direction, cfg_eval.device)
    data = OmegaConf.create(with_current_targets(entry["data"]))
    data.root, data.eval_batch_size = str(cfg_eval.data_root), cfg_eval.batch_size
    datamodule: PairedDataModule = instantiate(data, value_range=translator.spec.value_range)
    datamodule.prepare_data()
    datamodule.setup("test")
    facts = {
        "run": None,
        "checkpoint": translator.origin,
        "scored_weights": f"shipped model ({entry['selection']})",
        "model": translator.spec.model,
        "model_class": "Pix2Pix",
        "direction": direction,
        "seed": entry["seed"],
        "encoder_weights": None,
    }
    return Subject(translator, datamodule, Path(str(cfg_eval.output)) / f"{PRETRAINED_PREFIX.rstrip('/')}_{direction}", facts)


def discover_subjects(cfg_eval: DictConfig) -> list[Callable[[], Subject]]:
    """Every run, checkpoint or shipped model (``pretrained/f2sk``) named by ``runs=``, each as a function that loads
    it: every name is checked first, and one model at a time is in memory."""
    runs = cfg_eval.runs
    paths = [str(runs)] if isinstance(runs, str) else [str(p) for p in (runs if isinstance(runs, (list, ListConfig)) else [runs])]
    makers: list[Callable[[], Subject]] = []
    for path in paths:
        if path.startswith(PRETRAINED_PREFIX):
            direction = path.removeprefix(PRETRAINED_PREFIX)
            pretrained_entry(direction)  # an unknown direction is named before anything is evaluated
            makers.append(partial(subject_of_pretrained, direction, cfg_eval))
        else:
            makers += [partial(subject_of_run, run, cfg_eval) for run in discover_runs([path])]
    return makers


@dataclass(frozen=True)
class ConditionedInputs:
    """The test inputs under one condition of a named set (``face2sketch.realworld.conditions``): each stored input is
    changed as a user's picture would be, then fitted to the model as any picture is. Targets stay as they are."""

    condition: str
    conditions: dict[str, Condition]
    seed: int

    def source(self, datamodule: PairedDataModule, value_range: tuple[float, float], index: int, item: Item) -> ChangedInput | None:
        kind = DIRECTIONS[datamodule.direction][0]
        mask = item.full_resolution_mask() if kind == "photo" else None
        changed = apply_condition(self.condition, self.conditions, item.full_resolution(kind), mask, self.seed, index)
        return ChangedInput(changed, to_tensor(datamodule.fit(changed, kind), value_range))


@dataclass(frozen=True)
class ChangedInput:
    """One test input under a condition: the picture a user would have, the model's input made from it and, when the
    model sees another frame than the stored photo's, the transform carrying the stored target into that frame."""

    picture: np.ndarray
    source: torch.Tensor
    carry: Affine | None = None


# the name of the end-to-end condition in a robustness report; seeded apart from the named set's conditions
AS_PHOTOGRAPHED = "as_photographed"
AS_PHOTOGRAPHED_SEED_INDEX = 1000


@dataclass(frozen=True)
class PhotographedInputs:
    """The end-to-end condition: each test photo as photographed (``photographed_scene``: tilted, any size and place in
    a larger picture of another background and light, JPEG), found and aligned by the eyes as ``predict`` does, and
    its true target carried into the aligned frame by the recorded transforms. Pictures without a usable face are
    counted and left out of the scores."""

    seed: int
    condition: str = AS_PHOTOGRAPHED

    def source(self, datamodule: PairedDataModule, value_range: tuple[float, float], index: int, item: Item) -> ChangedInput | None:
        from face2sketch.pictures.alignment import AlignmentFailed, align_faces

        photo = item.full_resolution("photo")
        rng = np.random.default_rng([self.seed, AS_PHOTOGRAPHED_SEED_INDEX, index])
        picture, placed = photographed_scene(photo, item.full_resolution_mask(), rng)
        try:
            aligned = align_faces(picture)[0]
        except AlignmentFailed:
            return None
        frame = (aligned.image.shape[1], aligned.image.shape[0])
        carry = compose(scale_to(frame, (photo.shape[1], photo.shape[0])), compose(aligned.transform, placed))
        return ChangedInput(picture, to_tensor(datamodule.fit(aligned.image, "photo"), value_range), carry)


def stored_target(datamodule: PairedDataModule, target: np.ndarray, kind: str, carry: Affine | None) -> np.ndarray:
    """The stored target in the model's channel layout, carried into a changed input's frame (at the stored size) when
    ``carry`` is given; outside the photo's frame a sketch is white paper."""
    laid_out = datamodule.sketch_layout(target) if kind == "sketch" else target
    if carry is None:
        return laid_out
    carried = carry_into(laid_out, carry, (target.shape[1], target.shape[0]), fill=255)
    return carried.reshape(laid_out.shape)  # OpenCV drops a single channel


def score(
    subject: Subject, cfg_eval: DictConfig, staging: Path, inputs: ConditionedInputs | PhotographedInputs | None = None
) -> tuple[list[dict[str, Any]], ImageSetEvaluator]:
    """Predict the test split in batches and score each prediction; predictions and samples go into ``staging``.

    With ``inputs`` the test inputs are changed by that condition first (those it cannot use are left out), and only
    the samples are saved (the changed input and the prediction, in ``conditions/<condition>/``).
    """
    translator, datamodule = subject.translator, subject.datamodule
    value_range = translator.spec.value_range
    target_kind = DIRECTIONS[translator.spec.direction][1]
    dataset = datamodule.dataset(str(cfg_eval.split))
    from face2sketch.metrics import ImageSetEvaluator

    evaluator = ImageSetEvaluator(target_kind)
    rows: list[dict[str, Any]] = []
    sample_names = set(sorted(item.name for item in dataset.items)[: cfg_eval.num_samples])
    for start in range(0, len(dataset), cfg_eval.batch_size):
        items = dataset.items[start : start + cfg_eval.batch_size]
        batch = [dataset[start + k] for k in range(len(items))]
        changed = [inputs.source(datamodule, value_range, start + k, item) for k, item in enumerate(items)] if inputs else [None] * len(items)
        kept = [k for k in range(len(items)) if inputs is None or changed[k] is not None]
        if not kept:
            continue
        sources = [changed[k].source if changed[k] else batch[k]["source"] for k in kept]  # type: ignore[union-attr]
        predictions = torch.from_numpy(translator.translate(torch.stack(sources).numpy()))
        for k, raw in zip(kept, predictions, strict=True):
            item, change = items[k], changed[k]
            target, prediction = scored_pair(datamodule, cfg_eval, item, batch[k], raw, change.carry if change else None)
            rows.append({"name": item.name, "identity": item.key, "variant": item.variant, **evaluator.update(prediction[None], target[None])[0]})
            if item.name in sample_names or (inputs is None and cfg_eval.save_predictions):
                save_outputs(staging, inputs, item, batch[k], change, target, prediction, cfg_eval, item.name in sample_names, value_range)
    return rows, evaluator


def scored_pair(
    datamodule: PairedDataModule, cfg_eval: DictConfig, item: Item, sample: dict, prediction: torch.Tensor, carry: Affine | None
) -> tuple[torch.Tensor, torch.Tensor]:
    """(target, prediction) in [0, 1] as they are scored: at the target's stored resolution (``resolution=original``,
    the prediction resized to it) or the model's; a changed input's target carried into its frame first."""
    target_kind = DIRECTIONS[datamodule.direction][1]
    if cfg_eval.resolution == "original":
        target = to_tensor(stored_target(datamodule, item.full_resolution(target_kind), target_kind, carry), (0.0, 1.0))
        return target, resize_prediction(prediction, (target.shape[-2], target.shape[-1]))
    if carry is not None:
        carried = stored_target(datamodule, item.full_resolution(target_kind), target_kind, carry)
        # fit lays a sketch out in the model's channels itself: give it the carried grey plane, not the laid-out copy
        return to_tensor(datamodule.fit(carried[..., 0] if target_kind == "sketch" else carried, target_kind), (0.0, 1.0)), prediction
    return unit_range(sample["target"], datamodule.value_range), prediction


def save_outputs(
    staging: Path,
    inputs: ConditionedInputs | PhotographedInputs | None,
    item: Item,
    sample: dict,
    change: ChangedInput | None,
    target: torch.Tensor,
    prediction: torch.Tensor,
    cfg_eval: DictConfig,
    is_sample: bool,
    value_range: tuple[float, float],
) -> None:
    """A clean prediction into predictions/ (with ``save_predictions``) and a sample's input and target into samples/;
    under a condition, a sample's changed input, prediction and (for a changed frame) carried target."""
    folder = EvaluationFolder(staging)
    if inputs is not None and change is not None:
        folder.condition_dir(inputs.condition).mkdir(parents=True, exist_ok=True)
        Image.fromarray(change.picture).save(folder.condition_input(inputs.condition, item.name))
        if change.carry is not None:
            save_image(folder.condition_target(inputs.condition, item.name), target)
        save_image(folder.condition_prediction(inputs.condition, item.name), prediction)
        return
    if cfg_eval.save_predictions:
        save_image(folder.prediction(item.name), prediction)
    if is_sample:
        save_image(folder.sample_input(item.name), unit_range(sample["source"], value_range))
        save_image(folder.sample_target(item.name), target)


def means_of(evaluator: ImageSetEvaluator) -> dict[str, float]:
    """Each metric's mean over the images, for the metrics that have one."""
    return {name: r.mean for name, r in evaluator.compute().items() if r.mean is not None}


def robustness(subject: Subject, cfg_eval: DictConfig, staging: Path, clean: dict[str, float]) -> dict[str, Any]:
    """Score the test split under every condition of ``cfg_eval.conditions``; each condition's means and, per metric,
    its ratio to the clean score (``clean``). Writes robustness.json, robustness.csv and robustness.md into ``staging``."""
    source_kind = DIRECTIONS[subject.translator.spec.direction][0]
    conditions = condition_set(str(cfg_eval.conditions), source_kind)
    report: dict[str, Any] = {
        "condition_set": str(cfg_eval.conditions),
        "condition_seed": int(cfg_eval.condition_seed),
        "input_kind": source_kind,
        "what": "each condition changes the stored test inputs (never the targets); ratio = condition mean / clean mean",
        "conditions": {"clean": {"means": clean, "ratios": dict.fromkeys(clean, 1.0), "about": "the inputs as stored"}},
    }
    runs: list[tuple[ConditionedInputs | PhotographedInputs, str]] = [
        (ConditionedInputs(condition, conditions, int(cfg_eval.condition_seed)), (make.__doc__ or "").strip()) for condition, make in conditions.items()
    ]
    if source_kind == "photo" and cfg_eval.as_photographed:
        runs.append((PhotographedInputs(int(cfg_eval.condition_seed)), " ".join((PhotographedInputs.__doc__ or "").split())))
    for inputs, about in runs:
        condition = inputs.condition
        rows, evaluator = score(subject, cfg_eval, staging, inputs)
        means = means_of(evaluator) if rows else {}
        ratios = {name: value / clean[name] for name, value in means.items() if clean.get(name)}
        pictures = len(subject.datamodule.dataset(str(cfg_eval.split)))
        report["conditions"][condition] = {"means": means, "ratios": ratios, "about": about, "pictures": pictures, "scored": len(rows)}
        shown = {name: f"{means[name]:.4f} ({ratios[name]:.3f} of clean)" for name in ratio_metrics(source_kind) if name in ratios}
        log.info("%s (%d of %d scored): %s", condition, len(rows), pictures, shown)
    report["order"] = list(report["conditions"])  # the JSON file sorts its keys; tables and figures keep this order
    write_json_atomic(EvaluationFolder(staging).robustness_file("json"), report)
    write_robustness_tables(staging, report)
    write_robustness_figure(staging, list(report["conditions"]), int(cfg_eval.figure_examples))
    return report


def write_robustness_figure(staging: Path, conditions: list[str], examples: int) -> None:
    """robustness.png: a row per condition (clean first) and the ground truth last; for the first ``examples`` sample
    identities, the input as the condition left it beside the model's output."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    folder = EvaluationFolder(staging)
    names = folder.sample_names()[:examples]
    if not names:
        return
    Row = tuple[str, list[tuple[Path | None, Path]]]
    rows: list[Row] = [(c, [(folder.sample_input(n), folder.prediction(n)) for n in names]) for c in conditions[:1]]
    rows += [(c, [(folder.condition_input(c, n), folder.condition_prediction(c, n)) for n in names]) for c in conditions[1:]]
    rows.append(("ground truth", [(None, folder.sample_target(n)) for n in names]))
    fig, axes = plt.subplots(len(rows), 2 * len(names), figsize=(1.5 * 2 * len(names), 1.75 * len(rows)), squeeze=False)
    for r, (label, pairs) in enumerate(rows):
        for c, path in enumerate(path for pair in pairs for path in pair):
            ax = axes[r][c]
            ax.set_xticks([]), ax.set_yticks([])
            if path is not None and path.is_file():
                ax.imshow(Image.open(path).convert("RGB"))
            else:
                ax.axis("off")
            if r == 0:
                ax.set_title(("input" if c % 2 == 0 else "output") + f" ({names[c // 2]})", fontsize=7)
        axes[r][0].set_ylabel(label, fontsize=8)
        axes[r][0].axis("on")
        axes[r][0].set_frame_on(r < len(rows) - 1)
    fig.tight_layout()
    fig.savefig(folder.robustness_file("png"), dpi=100)
    plt.close(fig)


def ratio_metrics(source_kind: str) -> tuple[str, ...]:
    """The metrics a robustness table shows for a model taking ``source_kind``: FSIM and SCOOT for sketches made from
    photos, FSIMc for photos made from sketches, with SSIM and MSE."""
    return ("fsim", "scoot", "ssim", "mse") if source_kind == "photo" else ("fsim", "ssim", "mse")


def write_robustness_tables(staging: Path, report: dict[str, Any]) -> None:
    names = ratio_metrics(report["input_kind"])
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["condition", "scored", *[f"{n}{suffix}" for n in names for suffix in ("", "_ratio")]])
    lines = [f"| condition | scored | {' | '.join(f'{n} | {n} / clean' for n in names)} |", "|---|---|" + "---|" * (2 * len(names))]
    for condition, entry in report["conditions"].items():
        values = [(entry["means"].get(n), entry["ratios"].get(n)) for n in names]
        scored = f"{entry['scored']} of {entry['pictures']}" if "scored" in entry else "all"
        writer.writerow([condition, entry.get("scored", ""), *[f"{v:.6f}" if v is not None else "" for pair in values for v in pair]])
        cells = " | ".join(f"{m:.3f} | {r:.3f}" if m is not None and r is not None else "n/a | n/a" for m, r in values)
        lines.append(f"| {condition} | {scored} | {cells} |")
    folder = EvaluationFolder(staging)
    folder.robustness_file("csv").write_text(buffer.getvalue())
    folder.robustness_file("md").write_text("\n".join(lines) + "\n")


def write_scores(staging: Path, summary: dict[str, Any], rows: list[dict[str, Any]]) -> None:
    folder = EvaluationFolder(staging)
    write_json_atomic(folder.metrics_file, summary)
    columns = ["name", "identity", "variant", *[n for n in summary["metrics"] if rows and n in rows[0]]]
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns, extrasaction="ignore")
    writer.writeheader()
    writer.writerows(rows)
    folder.per_image_file.write_text(buffer.getvalue())


def evaluate_subject(subject: Subject, cfg_eval: DictConfig) -> dict[str, Any]:
    """Score one model on its test split; writes the evaluation folder whole or not at all."""
    if cfg_eval.resolution not in RESOLUTIONS:
        raise ConfigError(f"unknown resolution '{cfg_eval.resolution}': use one of {', '.join(RESOLUTIONS)}")
    if cfg_eval.split not in SPLITS:
        raise ConfigError(f"unknown split '{cfg_eval.split}': use test (the reported scores) or val (the validation identities, for choosing settings)")
    if cfg_eval.get("conditions"):
        condition_set(str(cfg_eval.conditions), DIRECTIONS[subject.translator.spec.direction][0])
    output_dir = subject.output_dir if cfg_eval.split == "test" else subject.output_dir.with_name(f"{subject.output_dir.name}_{cfg_eval.split}")
    output_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".evaluation.", dir=output_dir.parent))
    try:
        EvaluationFolder(staging).predictions_dir.mkdir()
        EvaluationFolder(staging).samples_dir.mkdir()
        rows, evaluator = score(subject, cfg_eval, staging)
        from face2sketch.metrics import HIGHER_IS_BETTER

        datamodule = subject.datamodule
        assert datamodule.splits is not None
        summary = {
            **subject.facts,
            "split": cfg_eval.split,
            "protocol": datamodule.protocol,
            "leaky": datamodule.splits.leaky,
            "resolution": cfg_eval.resolution,
            "model_image_size": datamodule.image_size,
            "num_images": len(rows),
            "metrics": {
                name: {"mean": r.mean, "std": r.std, "status": r.status, "higher_is_better": HIGHER_IS_BETTER[name]} for name, r in evaluator.compute().items()
            },
        }
        if cfg_eval.get("conditions"):
            summary["robustness"] = robustness(subject, cfg_eval, staging, means_of(evaluator))["conditions"]
        write_scores(staging, summary, rows)
        publish(staging, output_dir)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    log.info(
        "%s %s (%s protocol, %s resolution): %s",
        summary["model"],
        summary["direction"],
        summary["protocol"],
        cfg_eval.resolution,
        {k: round(v["mean"], 4) for k, v in summary["metrics"].items() if v["mean"] is not None},
    )
    return summary


def publish(staging: Path, output_dir: Path) -> None:
    """Put the finished folder in place of any earlier one without a moment when neither is there whole.

    The earlier folder is renamed aside (``.<name>.old``), the new one renamed into place, and only then is the earlier
    one deleted. A failure in between puts the earlier one back; after a hard kill in between, the next publish
    finds ``.<name>.old`` alone and restores it first.
    """
    set_aside = output_dir.with_name(f".{output_dir.name}.old")
    if set_aside.exists() and not output_dir.exists():
        set_aside.rename(output_dir)
    shutil.rmtree(set_aside, ignore_errors=True)
    if output_dir.exists():
        output_dir.rename(set_aside)
    try:
        staging.rename(output_dir)
    except BaseException:
        if set_aside.exists() and not output_dir.exists():
            set_aside.rename(output_dir)
        raise
    shutil.rmtree(set_aside, ignore_errors=True)


def evaluate_run(run: RunToEvaluate, cfg_eval: DictConfig) -> dict[str, Any]:
    """Score a trained run (its checkpoint) on its test split; the report evaluates runs through here."""
    return evaluate_subject(subject_of_run(run, cfg_eval), cfg_eval)


def evaluate(cfg_eval: DictConfig) -> list[dict[str, Any]]:
    return [evaluate_subject(make_subject(), cfg_eval) for make_subject in discover_subjects(cfg_eval)]


@hydra.main(version_base="1.3", config_path=str(CONFIG_DIR), config_name="evaluate")
@one_line_user_errors()
def main(cfg: DictConfig) -> None:
    evaluate(cfg)


if __name__ == "__main__":
    main()
