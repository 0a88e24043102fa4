"""Where the configs live and the resolvers they use.

From a checkout (an editable install, or the repository on ``PYTHONPATH``) the configs are the repository's
``conf/``, and ``outputs/`` and ``data/`` are the checkout's. An installed wheel carries the same files as
``face2sketch/conf`` (pyproject.toml maps ``conf/`` there), and its commands write ``outputs/`` under the
working folder, never into site-packages.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf

PACKAGE_DIR = Path(__file__).resolve().parent
PROJECT_ROOT = PACKAGE_DIR.parent  # the checkout, when the package runs from one
INSTALLED_CONFIG_DIR = PACKAGE_DIR / "conf"
# a wheel's own copy first: the folder beside an installed package is site-packages, where any "conf" may lie
FROM_CHECKOUT = not (INSTALLED_CONFIG_DIR / "train.yaml").is_file() and (PROJECT_ROOT / "conf" / "train.yaml").is_file()
CONFIG_DIR = PROJECT_ROOT / "conf" if FROM_CHECKOUT else INSTALLED_CONFIG_DIR


def workspace_root() -> Path:
    """The folder that holds ``outputs/`` and ``data/``: the checkout, or for an installed package the working folder."""
    return PROJECT_ROOT if FROM_CHECKOUT else Path(os.getcwd())


def cpu_threads_per_job(jobs_at_once: int) -> int:
    """The CPU cores this process may run on, divided by the jobs that run at once (at least 1 each).

    ``jobs_at_once`` counts as joblib's ``n_jobs`` does: -1 is one job per core, -2 one fewer, and so on.
    """
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    jobs = jobs_at_once if jobs_at_once > 0 else cores + 1 + jobs_at_once
    return max(1, cores // max(1, jobs))


OmegaConf.register_new_resolver("project_root", lambda: str(workspace_root()), replace=True)
# experiment=paper_gpu: cpu_threads: ${cpu_threads_per_job:${hydra:launcher.n_jobs}}
OmegaConf.register_new_resolver("cpu_threads_per_job", cpu_threads_per_job, replace=True)


def instantiate_all(group: DictConfig | None) -> list[Any]:
    """Instantiate every entry of a dict-shaped config group (callbacks, loggers); entries that make None are left out."""
    from hydra.utils import instantiate  # here, so that the Python API (inference.py) does not import Hydra

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
