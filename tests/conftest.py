"""Shared fixtures: composed configs pointed at temporary folders, the real CUHK copy when present."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import lightning as L
import pytest
import torch
from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig, open_dict

from face2sketch.core.config import CONFIG_DIR, PROJECT_ROOT, cpu_threads_per_job

os.environ.setdefault("NO_ALBUMENTATIONS_UPDATE", "1")

# pytest -n N (pytest-xdist) runs N workers at once: each worker, and every command it starts, gets its share of the
# cores, so that N workers do not run N times the cores' threads against each other
if "PYTEST_XDIST_WORKER_COUNT" in os.environ:
    _threads = cpu_threads_per_job(int(os.environ["PYTEST_XDIST_WORKER_COUNT"]))
    os.environ["OMP_NUM_THREADS"] = str(_threads)
    torch.set_num_threads(_threads)

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


class SeenTestBatches(L.Callback):
    """Every test batch's source and target, as the test step received them (in the model's value range)."""

    def __init__(self) -> None:
        self.batches: list[tuple[torch.Tensor, torch.Tensor]] = []

    def on_test_batch_end(self, trainer: L.Trainer, pl_module: L.LightningModule, outputs, batch, batch_idx: int, dataloader_idx: int = 0) -> None:
        self.batches.append((batch["source"].detach().clone(), batch["target"].detach().clone()))

    @property
    def targets(self) -> torch.Tensor:
        return torch.cat([target for _, target in self.batches])


def rescored(module: L.LightningModule, batches: list[tuple[torch.Tensor, torch.Tensor]], autocast: torch.dtype | None = None) -> dict[str, float]:
    """SSIM, the study's SSIM and MSE of ``module``'s predictions for ``batches``, with predictions and targets mapped from the module's
    value range to [0, 1] and clamped here rather than by the module, averaged over images: what the test step must log.
    With ``autocast`` the network runs under CPU autocast to that dtype, the metrics in float32 (as the test step does)."""
    from face2sketch.metrics.per_image import mse, ssim, ssim_study

    low, high = module.value_range

    def unit(images: torch.Tensor) -> torch.Tensor:
        return ((images.float() - low) / (high - low)).clamp(0, 1)

    module.enter_prediction_mode()
    with torch.no_grad(), torch.autocast("cpu", dtype=autocast or torch.bfloat16, enabled=autocast is not None):
        predictions = torch.cat([unit(module(source)) for source, _ in batches])
    targets = torch.cat([unit(target) for _, target in batches])
    return {
        "ssim": float(ssim(predictions, targets).mean()),
        "ssim_study": float(ssim_study(predictions, targets).mean()),
        "mse": float(mse(predictions, targets).mean()),
    }


# a tiny synthetic training run that evaluate and report score (tests/commands/: test_evaluate, test_report, test_sweeps)
EVALUATE_TINY = (
    "data=synthetic",
    "data.image_size=32",
    "data.num_train=8",
    "data.num_test=4",
    "data.batch_size=4",
    "trainer=cpu",
    "debug=limit",
    "++for_model.vgg_ae.weights=none",
)


@pytest.fixture(scope="module")
def trained_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A pix2pix run predicting in train mode, trained once per test file."""
    from face2sketch.train import train

    run = tmp_path_factory.mktemp("runs") / "conv_ae_f2sk"
    train(compose_train(run, *EVALUATE_TINY, "model=pix2pix", "model.train_mode_inference=true"))
    return run


def run_evaluate(*args: str) -> subprocess.CompletedProcess:
    return run_cli("face2sketch.evaluate", *args)
