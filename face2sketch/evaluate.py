"""Evaluate trained runs on the test split of their protocol with every metric of face2sketch.metrics.

    python -m face2sketch.evaluate runs=[outputs/train/runs/<run>]
    python -m face2sketch.evaluate runs=[outputs/train/multiruns/<time>] resolution=model
    python -m face2sketch.evaluate runs=[pretrained/f2sk,pretrained/sk2f] data_root=/path/to/cuhk   # the shipped models

Each run gets ``<run>/evaluation/`` (``evaluation_<checkpoint>/`` for a named checkpoint), a shipped model
``<output>/pretrained_<direction>/``, with metrics.json (mean and standard deviation per metric, ``ssim_study``
beside ``ssim``), per_image.csv and predictions/<name>.png.
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
from typing import Any

import hydra
import lightning as L
import torch
from hydra.utils import instantiate
from omegaconf import DictConfig, ListConfig, OmegaConf, open_dict

from face2sketch.config import CONFIG_DIR, best_weights_label, model_label
from face2sketch.data.datamodule import PairedDataModule
from face2sketch.data.images import DIRECTIONS, to_tensor
from face2sketch.errors import ConfigError, one_line_user_errors
from face2sketch.inference import (
    TorchTranslator,
    Translator,
    best_checkpoint,
    load_pretrained,
    load_trained_model,
    locate_checkpoint,
    pick_device,
    pretrained_entry,
    record_pretrained,
    resize_prediction,
    save_image,
    spec_of_run,
    unit_range,
)
from face2sketch.io import write_json_atomic
from face2sketch.metrics import HIGHER_IS_BETTER, ImageSetEvaluator

log = logging.getLogger(__name__)
RESOLUTIONS = ("original", "model")
# runs=[pretrained/f2sk]: the model shipped in the package for that direction
PRETRAINED_PREFIX = "pretrained/"


@dataclass(frozen=True)
class RunToEvaluate:
    run_dir: Path
    checkpoint: Path

    @property
    def output_dir(self) -> Path:
        """``evaluation/`` for the checkpoint the run itself scores (its best, or its final weights when it has no
        best), ``evaluation_<name>/`` for any other checkpoint named on the command line."""
        folder, name = self.checkpoint.parent, self.checkpoint.name
        own = folder.name != "checkpoints" or name.startswith("best-") or (name == "last.ckpt" and not any(folder.glob("best-*.ckpt")))
        return self.run_dir / ("evaluation" if own else f"evaluation_{self.checkpoint.stem}")

    @property
    def weights(self) -> str:
        """Which weights are scored, in words for metrics.json and the report."""
        if self.checkpoint.name.startswith("best-"):
            return best_weights_label(selection_monitor(self.run_dir))
        return "final weights" if self.checkpoint.name == "last.ckpt" else f"checkpoint {self.checkpoint.name}"


def selection_monitor(run_dir: Path) -> str | None:
    """The validation metric a run chose its best checkpoint by (``callbacks.model_checkpoint.monitor``)."""
    config = OmegaConf.load(run_dir / "config.yaml") if (run_dir / "config.yaml").is_file() else OmegaConf.create()
    return OmegaConf.select(config, "callbacks.model_checkpoint.monitor", default=None)


def discover_runs(paths: list[str]) -> list[RunToEvaluate]:
    """Expand run folders, multirun folders and checkpoint files into (run, checkpoint) pairs."""
    found: list[RunToEvaluate] = []
    for raw in paths:
        path = Path(raw).expanduser()
        located = locate_checkpoint(path)
        if located is not None:
            found.append(RunToEvaluate(*located))
        elif path.is_dir() and (inner := sorted(p.parent for p in path.glob("*/config.yaml"))):
            found += [RunToEvaluate(run, best_checkpoint(run)) for run in inner]
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
    cfg, model = load_trained_model(run.run_dir, run.checkpoint)
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
    L.seed_everything(cfg.seed, verbose=False)  # pix2pix in train-mode inference draws dropout masks
    translator = TorchTranslator(model, spec_of_run(cfg, model), pick_device(cfg_eval.device), origin=str(run.checkpoint))
    facts = {
        "run": str(run.run_dir),
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
    data = OmegaConf.create(entry["data"])
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


def score(subject: Subject, cfg_eval: DictConfig, staging: Path) -> tuple[list[dict[str, Any]], ImageSetEvaluator]:
    """Predict the test split in batches and score each prediction; predictions and samples go into ``staging``."""
    translator, datamodule = subject.translator, subject.datamodule
    value_range = translator.spec.value_range
    target_kind = DIRECTIONS[translator.spec.direction][1]
    dataset = datamodule.dataset("test")
    evaluator = ImageSetEvaluator(target_kind)
    rows: list[dict[str, Any]] = []
    sample_names = set(sorted(item.name for item in dataset.items)[: cfg_eval.num_samples])
    for start in range(0, len(dataset), cfg_eval.batch_size):
        items = dataset.items[start : start + cfg_eval.batch_size]
        batch = [dataset[start + k] for k in range(len(items))]
        predictions = translator.translate(torch.stack([b["source"] for b in batch]))
        for item, sample, prediction in zip(items, batch, predictions, strict=False):
            if cfg_eval.resolution == "original":
                full = item.full_resolution(target_kind)
                target = to_tensor(datamodule.sketch_layout(full) if target_kind == "sketch" else full, (0.0, 1.0))
                prediction = resize_prediction(prediction, (target.shape[-2], target.shape[-1]))
            else:
                target = unit_range(sample["target"], value_range)
            scores = evaluator.update(prediction[None], target[None])[0]
            rows.append({"name": item.name, "identity": item.key, "variant": item.variant, **scores})
            if cfg_eval.save_predictions:
                save_image(staging / "predictions" / f"{item.name}.png", prediction)
            if item.name in sample_names:
                save_image(staging / "samples" / f"{item.name}_input.png", unit_range(sample["source"], value_range))
                save_image(staging / "samples" / f"{item.name}_target.png", target)
    return rows, evaluator


def write_scores(staging: Path, summary: dict[str, Any], rows: list[dict[str, Any]]) -> None:
    write_json_atomic(staging / "metrics.json", summary)
    columns = ["name", "identity", "variant", *[n for n in summary["metrics"] if rows and n in rows[0]]]
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns, extrasaction="ignore")
    writer.writeheader()
    writer.writerows(rows)
    (staging / "per_image.csv").write_text(buffer.getvalue())


def evaluate_subject(subject: Subject, cfg_eval: DictConfig) -> dict[str, Any]:
    """Score one model on its test split; writes the evaluation folder whole or not at all."""
    if cfg_eval.resolution not in RESOLUTIONS:
        raise ConfigError(f"unknown resolution '{cfg_eval.resolution}': use one of {', '.join(RESOLUTIONS)}")
    subject.output_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".evaluation.", dir=subject.output_dir.parent))
    try:
        (staging / "predictions").mkdir()
        (staging / "samples").mkdir()
        rows, evaluator = score(subject, cfg_eval, staging)
        datamodule = subject.datamodule
        assert datamodule.splits is not None
        summary = {
            **subject.facts,
            "protocol": datamodule.protocol,
            "leaky": datamodule.splits.leaky,
            "resolution": cfg_eval.resolution,
            "model_image_size": datamodule.image_size,
            "num_images": len(rows),
            "metrics": {
                name: {"mean": r.mean, "std": r.std, "status": r.status, "higher_is_better": HIGHER_IS_BETTER[name]} for name, r in evaluator.compute().items()
            },
        }
        write_scores(staging, summary, rows)
        publish(staging, subject.output_dir)
        if cfg_eval.get("record_scores") and summary["run"] is None:
            record_pretrained(summary["direction"], test_scores=card_scores(summary))
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


def card_scores(summary: dict[str, Any]) -> dict[str, dict[str, float]]:
    """The scores docs/models.md quotes for a shipped model: SSIM, SSIM as the study computed it, MSE, FSIM (FSIMc for
    photos), SCOOT for sketches."""
    names = ("ssim", "ssim_study", "mse", "fsim", "scoot") if summary["direction"] == "f2sk" else ("ssim", "ssim_study", "mse", "fsim")
    return {name: {"mean": summary["metrics"][name]["mean"], "std": summary["metrics"][name]["std"]} for name in names}


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
