"""Train one (model, direction) run, test its best checkpoint, and write metrics.json.

    python -m face2sketch.train model=conv_ae direction=f2sk data.root=/path/to/cuhk
    python -m face2sketch.train -m model=conv_ae,pix2pix direction=f2sk,sk2f
"""

from __future__ import annotations

import logging
import shutil
import time
from pathlib import Path
from typing import Any

import hydra
import lightning as L
import torch
from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf

from face2sketch.config import CONFIG_DIR
from face2sketch.errors import exit_on_user_error
from face2sketch.io import write_json_atomic, write_text_atomic
from face2sketch.models.base import ImageTranslationModule, load_checkpoint_state

log = logging.getLogger(__name__)


def instantiate_all(group: DictConfig | None) -> list[Any]:
    """Instantiate every entry of a dict-shaped config group (callbacks, loggers)."""
    return [instantiate(entry) for entry in (group or {}).values() if entry is not None]


def count_parameters(model: torch.nn.Module) -> dict[str, int]:
    total = sum(p.numel() for p in model.parameters())
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    return {"total": total, "trainable": trainable}


def build_run(cfg: DictConfig) -> tuple[ImageTranslationModule, L.LightningDataModule, L.Trainer]:
    """Seed, then instantiate the model, the data module (in the model's value range) and the trainer.

    Data and checkpoint problems are raised here, before the trainer creates any log folder.
    """
    L.seed_everything(cfg.seed, workers=True, verbose=False)
    log.info("seed %d", cfg.seed)
    model: ImageTranslationModule = instantiate(cfg.model, _convert_="all")
    datamodule = instantiate(cfg.data, value_range=model.value_range)
    datamodule.prepare_data()
    if cfg.ckpt_path:
        load_checkpoint_state(cfg.ckpt_path, model, "resume with <run>/checkpoints/last.ckpt of a run with the same model, direction and sizes")
    trainer: L.Trainer = instantiate(cfg.trainer, callbacks=instantiate_all(cfg.get("callbacks")), logger=instantiate_all(cfg.get("logger")) or False)
    return model, datamodule, trainer


def train(cfg: DictConfig, extra_callbacks: list[L.Callback] | None = None) -> dict[str, Any]:
    """Fit, test and record one run; returns what is written to metrics.json."""
    output_dir = Path(cfg.paths.output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    write_text_atomic(output_dir / "config.yaml", OmegaConf.to_yaml(cfg, resolve=True))
    model, datamodule, trainer = build_run(cfg)
    trainer.callbacks.extend(extra_callbacks or [])
    started = time.perf_counter()
    trainer.fit(model, datamodule=datamodule, ckpt_path=cfg.ckpt_path)
    fit_seconds = time.perf_counter() - started

    best = trainer.checkpoint_callback.best_model_path if trainer.checkpoint_callback else ""
    test_metrics: dict[str, float] = {}
    if cfg.test:
        results = trainer.test(model, datamodule=datamodule, ckpt_path=best or None)
        test_metrics = {k.removeprefix("test/"): float(v) for k, v in results[0].items()}
    summary = {
        "model": cfg.get("model_name") or type(model).__name__,
        "model_class": type(model).__name__,
        "direction": cfg.direction.name,
        **datamodule.describe(),
        "test_metrics": test_metrics,
        "metrics_resolution": "model",
        "start_epoch": model.start_epoch,
        "epochs": trainer.current_epoch,
        "max_epochs": cfg.trainer.get("max_epochs"),
        "global_step": trainer.global_step,
        "fit_seconds": round(fit_seconds, 2),
        "wall_seconds": round(time.perf_counter() - started, 2),
        "best_checkpoint": best or None,
        "parameters": count_parameters(model),
        "seed": cfg.seed,
        "resumed_from": cfg.ckpt_path,
    }
    write_json_atomic(output_dir / "metrics.json", summary)
    log.info("test metrics: %s; run folder: %s", test_metrics, output_dir)
    return summary


def _discard_unfinished_run(cfg: DictConfig) -> None:
    """Remove a run folder that a user error stopped before it held any checkpoint."""
    try:
        output_dir = Path(cfg.paths.output_dir)
    except Exception:
        return
    if output_dir.is_dir() and not (output_dir / "checkpoints").exists():
        logging.shutdown()
        shutil.rmtree(output_dir, ignore_errors=True)


@hydra.main(version_base="1.3", config_path=str(CONFIG_DIR), config_name="train")
def main(cfg: DictConfig) -> float | None:
    try:
        summary = train(cfg)
    except Exception as err:
        exit_on_user_error(err, cleanup=lambda: _discard_unfinished_run(cfg))
        raise
    return summary["test_metrics"].get("ssim")


if __name__ == "__main__":
    main()
