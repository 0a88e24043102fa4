"""``face2sketch.train`` with a probe in every DDP process, for tests/training/test_scale_out.py.

    python -m tests.helpers.ddp_probe <training overrides> +probe_dir=DIR

Lightning starts the other processes by running this same command again, so each process writes
DIR/rank<global rank>.json: what it trained on, the gradients it stepped with, its final weights and which run files
it wrote itself.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import hydra
import lightning as L
import torch
from omegaconf import DictConfig

import face2sketch.train as train_module
from face2sketch.core.config import CONFIG_DIR
from face2sketch.data.sampling import EpochShuffleSampler


def parameter_sums(tensors: list[torch.Tensor]) -> list[float]:
    """One float64 sum per tensor: equal lists mean equal tensors for any practical purpose here."""
    return [float(t.detach().double().sum()) for t in tensors]


def inner_sampler(trainer: L.Trainer) -> EpochShuffleSampler | None:
    """The EpochShuffleSampler behind the training loader, also when Lightning wrapped it for DDP."""
    sampler = trainer.train_dataloader.sampler
    sampler = getattr(getattr(sampler, "dataset", None), "_sampler", sampler)
    return sampler if isinstance(sampler, EpochShuffleSampler) else None


class DDPProbe(L.Callback):
    """Records, in this process, each batch's example names, local and logged loss, and the gradients stepped with."""

    def __init__(self) -> None:
        self.record: dict[str, Any] = {"batches": [], "gradients": [], "written": []}

    def on_train_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self.record["initial_weights"] = parameter_sums(list(pl_module.parameters()))

    def on_train_batch_start(self, trainer: L.Trainer, pl_module: L.LightningModule, batch: Any, batch_idx: int) -> None:
        sampler = inner_sampler(trainer)
        self.record["batches"].append(
            {
                "epoch": trainer.current_epoch,
                "names": list(batch["name"]),
                "sampler_epoch": sampler.epoch if sampler else None,
            }
        )

    def on_before_optimizer_step(self, trainer: L.Trainer, pl_module: L.LightningModule, optimizer: torch.optim.Optimizer) -> None:
        # DDP has averaged the gradients over the processes by now
        self.record["gradients"].append(parameter_sums([p.grad for p in pl_module.parameters() if p.grad is not None]))

    def on_train_batch_end(self, trainer: L.Trainer, pl_module: L.LightningModule, outputs: Any, batch: Any, batch_idx: int) -> None:
        self.record["batches"][-1]["local_loss"] = float(outputs["loss"])
        self.record["batches"][-1]["logged_loss"] = float(trainer.callback_metrics["train/loss_step"])

    def on_train_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self.record.update(
            rank=trainer.global_rank,
            world_size=trainer.world_size,
            global_step=trainer.global_step,
            weights=parameter_sums(list(pl_module.parameters())),
        )


def recording(write: Callable[[Any, Any], None], written: list[str]) -> Callable[[Any, Any], None]:
    """``write`` that also notes the name of each file it writes."""

    def write_and_note(path: Any, data: Any) -> None:
        written.append(Path(path).name)
        write(path, data)

    return write_and_note


@hydra.main(version_base="1.3", config_path=str(CONFIG_DIR), config_name="train")
def main(cfg: DictConfig) -> None:
    probe = DDPProbe()
    for name in ("write_json_atomic", "write_text_atomic"):
        setattr(train_module, name, recording(getattr(train_module, name), probe.record["written"]))
    train_module.train(cfg, extra_callbacks=[probe])
    folder = Path(cfg.probe_dir)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"rank{probe.record['rank']}.json").write_text(json.dumps(probe.record))


if __name__ == "__main__":
    main()
