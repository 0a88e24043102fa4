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

PACKAGE_DIR = Path(__file__).resolve().parent.parent
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
    from hydra.utils import instantiate  # here, so that the Python API (face2sketch.inference) does not import Hydra

    made = [instantiate(entry) for entry in (group or {}).values() if entry is not None]
    return [item for item in made if item is not None]


def model_label(cfg: DictConfig) -> str:
    """The model's name in logs, records and reports: its config's name (conv_ae, pix2pix_paper, ...) when Hydra
    recorded it (``model_name``), else its class."""
    name = OmegaConf.select(cfg, "model_name", default=None, throw_on_resolution_failure=False)
    return str(name or str(cfg.model.get("_target_", "the model")).rsplit(".", 1)[-1])


def compose_config(name: str, overrides: list[str]) -> DictConfig:
    """Another command's config (``conf/<name>.yaml`` with ``overrides``), as its command line would compose it, from
    inside a Hydra command or from plain Python. Pass every path the config would take from Hydra's run folder."""
    from hydra import compose, initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra

    if GlobalHydra.instance().is_initialized():
        return compose(config_name=name, overrides=overrides)
    with initialize_config_dir(config_dir=str(CONFIG_DIR), version_base="1.3"):
        return compose(config_name=name, overrides=overrides)
