"""Where the configs live and the one resolver they use."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf

PROJECT_ROOT = Path(__file__).resolve().parent.parent
CONFIG_DIR = PROJECT_ROOT / "conf"

OmegaConf.register_new_resolver("project_root", lambda: str(PROJECT_ROOT), replace=True)


def instantiate_all(group: DictConfig | None) -> list[Any]:
    """Instantiate every entry of a dict-shaped config group (callbacks, loggers); entries that make None are left out."""
    made = [instantiate(entry) for entry in (group or {}).values() if entry is not None]
    return [item for item in made if item is not None]


def model_label(cfg: DictConfig) -> str:
    """The model's name in logs, records and reports: its config's name (conv_ae, pix2pix_paper, ...) when Hydra
    recorded it (``model_name``), else its class."""
    name = OmegaConf.select(cfg, "model_name", default=None, throw_on_resolution_failure=False)
    return str(name or str(cfg.model.get("_target_", "the model")).rsplit(".", 1)[-1])


# validation metrics whose names are acronyms, written in capitals where records name them
ACRONYM_METRICS = ("ssim", "mse", "fsim", "scoot")


def best_weights_label(monitor: str | None) -> str:
    """How records name a best-by-validation checkpoint: "best by validation SSIM" for monitor val/ssim, "best by
    validation quality" for val/quality."""
    name = str(monitor or "val/ssim").removeprefix("val/")
    return f"best by validation {name.upper() if name in ACRONYM_METRICS else name.replace('_', ' ')}"
