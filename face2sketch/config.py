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
