"""Evaluate trained runs on the test split of their protocol with every metric of face2sketch.metrics.

    python -m face2sketch.evaluate runs=[outputs/train/runs/<run>]
    python -m face2sketch.evaluate runs=[outputs/train/multiruns/<time>] resolution=model

Each run gets ``<run>/evaluation/`` (``evaluation_<checkpoint>/`` for a named checkpoint) with
metrics.json (mean and standard deviation per metric), per_image.csv and predictions/<name>.png.
"""

from __future__ import annotations

import csv
import io
import logging
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import hydra
import lightning as L
import torch
from hydra.utils import instantiate
from omegaconf import DictConfig, ListConfig, open_dict

from face2sketch.config import CONFIG_DIR
from face2sketch.data.datamodule import DIRECTIONS, PairedDataModule, to_tensor
from face2sketch.errors import ConfigError, exit_on_user_error
from face2sketch.inference import TorchTranslator, best_checkpoint, load_trained_model, locate_checkpoint, pick_device, resize_prediction, save_image, spec_of_run
from face2sketch.io import write_json_atomic
from face2sketch.metrics import HIGHER_IS_BETTER, ImageSetEvaluator
from face2sketch.models.base import ImageTranslationModule

log = logging.getLogger(__name__)
RESOLUTIONS = ("original", "model")


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
            return "best by validation SSIM"
        return "final weights" if self.checkpoint.name == "last.ckpt" else f"checkpoint {self.checkpoint.name}"


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


def rebuild(run: RunToEvaluate, data_root: str | None, batch_size: int) -> tuple[DictConfig, ImageTranslationModule, PairedDataModule]:
    """The run's model with the checkpoint's weights, and its data module, from the run's saved config."""
    cfg, model = load_trained_model(run.run_dir, run.checkpoint)
    with open_dict(cfg):
        if data_root is not None and "root" in cfg.data:
            cfg.data.root = data_root
        cfg.data.eval_batch_size = batch_size
    datamodule: PairedDataModule = instantiate(cfg.data, value_range=model.value_range)
    datamodule.prepare_data()
    datamodule.setup("test")
    return cfg, model, datamodule


def evaluate_run(run: RunToEvaluate, cfg_eval: DictConfig) -> dict[str, Any]:
    """Predict the run's test split and score it; writes the evaluation folder whole or not at all."""
    cfg, model, datamodule = rebuild(run, cfg_eval.data_root, cfg_eval.batch_size)
    direction = cfg.direction.name
    expected = cfg_eval.expect_direction
    if expected and expected != direction:
        raise ConfigError(f"checkpoint '{run.checkpoint}' was trained for {direction}, not expect_direction={expected}: pass expect_direction={direction} or pick a {expected} run")
    if cfg_eval.resolution not in RESOLUTIONS:
        raise ConfigError(f"unknown resolution '{cfg_eval.resolution}': use one of {', '.join(RESOLUTIONS)}")
    L.seed_everything(cfg.seed, verbose=False)  # pix2pix in train-mode inference draws dropout masks
    translator = TorchTranslator(model, spec_of_run(cfg, model), pick_device(cfg_eval.device), origin=str(run.checkpoint))

    target_kind = DIRECTIONS[direction][1]
    dataset = datamodule.dataset("test")
    evaluator = ImageSetEvaluator(target_kind)
    rows: list[dict[str, Any]] = []
    staging = Path(tempfile.mkdtemp(prefix=".evaluation.", dir=run.run_dir))
    try:
        (staging / "predictions").mkdir()
        (staging / "samples").mkdir()
        sample_names = set(sorted(item.name for item in dataset.items)[: cfg_eval.num_samples])
        for start in range(0, len(dataset), cfg_eval.batch_size):
            items = dataset.items[start : start + cfg_eval.batch_size]
            batch = [dataset[start + k] for k in range(len(items))]
            predictions = translator.translate(torch.stack([b["source"] for b in batch]))
            for item, sample, prediction in zip(items, batch, predictions):
                if cfg_eval.resolution == "original":
                    full = item.full_resolution(target_kind)
                    target = to_tensor(datamodule.sketch_layout(full) if target_kind == "sketch" else full, (0.0, 1.0))
                    prediction = resize_prediction(prediction, tuple(target.shape[-2:]))
                else:
                    target = model.to_unit_range(sample["target"])
                scores = evaluator.update(prediction[None], target[None])[0]
                rows.append({"name": item.name, "identity": item.key, "variant": item.variant, **scores})
                if cfg_eval.save_predictions:
                    save_image(staging / "predictions" / f"{item.name}.png", prediction)
                if item.name in sample_names:
                    save_image(staging / "samples" / f"{item.name}_input.png", model.to_unit_range(sample["source"]))
                    save_image(staging / "samples" / f"{item.name}_target.png", target)
        results = evaluator.compute()
        summary = {
            "run": str(run.run_dir),
            "checkpoint": str(run.checkpoint),
            "scored_weights": run.weights,
            "model": cfg.get("model_name") or type(model).__name__,
            "model_class": type(model).__name__,
            "direction": direction,
            "seed": cfg.seed,
            "protocol": datamodule.protocol,
            "leaky": datamodule.splits.leaky,
            "resolution": cfg_eval.resolution,
            "model_image_size": datamodule.image_size,
            "encoder_weights": cfg.trained_encoder_weights,
            "num_images": len(rows),
            "metrics": {
                name: {"mean": r.mean, "std": r.std, "status": r.status, "higher_is_better": HIGHER_IS_BETTER[name]}
                for name, r in results.items()
            },
        }
        write_json_atomic(staging / "metrics.json", summary)
        columns = ["name", "identity", "variant", *[n for n in results if rows and n in rows[0]]]
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=columns, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
        (staging / "per_image.csv").write_text(buffer.getvalue())
        if run.output_dir.exists():
            shutil.rmtree(run.output_dir)
        staging.rename(run.output_dir)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    log.info("%s %s (%s protocol, %s resolution): %s", summary["model"], direction, summary["protocol"], cfg_eval.resolution,
             {k: round(v["mean"], 4) for k, v in summary["metrics"].items() if v["mean"] is not None})
    return summary


def evaluate(cfg_eval: DictConfig) -> list[dict[str, Any]]:
    runs = cfg_eval.runs
    paths = [str(runs)] if isinstance(runs, str) else [str(p) for p in (runs if isinstance(runs, (list, ListConfig)) else [runs])]
    return [evaluate_run(run, cfg_eval) for run in discover_runs(paths)]


@hydra.main(version_base="1.3", config_path=str(CONFIG_DIR), config_name="evaluate")
def main(cfg: DictConfig) -> None:
    try:
        evaluate(cfg)
    except Exception as err:
        exit_on_user_error(err)
        raise


if __name__ == "__main__":
    main()
