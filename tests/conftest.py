"""Shared fixtures: composed configs pointed at temporary folders, the real CUHK copy when present."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import lightning as L
import pytest
from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig, open_dict

from face2sketch.config import CONFIG_DIR, PROJECT_ROOT

os.environ.setdefault("NO_ALBUMENTATIONS_UPDATE", "1")

# the real-data tests' CUHK copy: $FACE2SKETCH_CUHK, else the project's shared copy beside the checkout
CUHK_ROOT = Path(os.environ.get("FACE2SKETCH_CUHK", PROJECT_ROOT.parent / "shared" / "data" / "cuhk"))


@pytest.fixture
def cuhk_root() -> Path:
    if not (CUHK_ROOT / "Training photo").is_dir():
        pytest.skip(f"real CUHK data not found at {CUHK_ROOT}")
    return CUHK_ROOT


def compose_train(output_dir: Path, *overrides: str) -> DictConfig:
    """The training config as the CLI would compose it, writing into ``output_dir``."""
    GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=str(CONFIG_DIR), version_base="1.3"):
        cfg = compose("train", overrides=list(overrides), return_hydra_config=True)
    HydraConfig.instance().set_config(cfg)
    with open_dict(cfg):
        cfg.paths.output_dir = str(output_dir)
        cfg.paths.output_root = str(output_dir.parent)
        del cfg.hydra
    return cfg


def run_cli(module: str, *args: str, cwd: Path | None = None, timeout: int = 600) -> subprocess.CompletedProcess:
    """Run ``python -m module args`` as a user would; output is captured as text."""
    env = {**os.environ, "NO_ALBUMENTATIONS_UPDATE": "1", "PYTHONWARNINGS": "ignore"}
    return subprocess.run([sys.executable, "-m", module, *args], capture_output=True, text=True, cwd=cwd or PROJECT_ROOT, env=env, timeout=timeout)


def one_batch_trainer() -> L.Trainer:
    """A quiet CPU trainer that fits one training batch and nothing else (no validation, logger or checkpoints)."""
    import lightning as L

    settings = {"limit_train_batches": 1, "limit_val_batches": 0, "num_sanity_val_steps": 0, "logger": False}
    quiet = {"enable_checkpointing": False, "enable_progress_bar": False, "enable_model_summary": False}
    return L.Trainer(accelerator="cpu", max_steps=-1, max_epochs=1, **settings, **quiet)
