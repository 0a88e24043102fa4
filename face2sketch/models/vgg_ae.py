"""The study's transfer-learning autoencoder: a frozen VGG-16 ``features`` encoder and a ConvTranspose decoder.

Training has two stages in one run: the decoder alone with the encoder frozen, then the last
``finetune_epochs`` with everything unfrozen at ``finetune_lr`` (the study: 10 epochs at 1e-4).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import torch

from face2sketch.models.base import AutoencoderModule, OptimizerFactory, SizeRule
from face2sketch.models.networks.vgg import VGGDecoder, load_vgg16_features

log = logging.getLogger(__name__)


class VGGAE(AutoencoderModule):
    """VGG-16 transfer autoencoder on [0, 1] images (linear head, MSE, Adam), with a frozen stage then fine-tuning."""

    def __init__(
        self,
        in_channels: int = 3,
        out_channels: int = 3,
        image_size: int = 224,
        weights: str = "imagenet",
        download: bool = True,
        decoder_kernel_size: int = 3,
        finetune_epochs: int = 10,
        finetune_lr: float = 1e-4,
        loss: str = "mse",
        head: str = "linear",
        optimizer: OptimizerFactory | None = None,
        num_preview_images: int = 4,
        memory_format: str = "auto",
    ) -> None:
        super().__init__(loss=loss, head=head, optimizer=optimizer, num_preview_images=num_preview_images, memory_format=memory_format)
        self.save_hyperparameters(ignore=["optimizer"])
        self.encoder, mean, std = load_vgg16_features(weights, download)
        self.register_buffer("input_mean", torch.tensor(mean).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("input_std", torch.tensor(std).view(1, 3, 1, 1), persistent=False)
        self.decoder = VGGDecoder(out_channels, decoder_kernel_size)
        self.finetune_epochs, self.finetune_lr = finetune_epochs, finetune_lr
        self.encoder.requires_grad_(False)

    @classmethod
    def image_size_rule(cls, settings: Mapping[str, Any]) -> SizeRule:
        return SizeRule(32, 32, "the VGG-16 encoder pools 5 times")

    @classmethod
    def epoch_budget_problem(cls, settings: Mapping[str, Any], max_epochs: int) -> str | None:
        finetune = settings.get("finetune_epochs")
        if finetune and finetune >= max_epochs:
            return (
                f"model.finetune_epochs={finetune} is not allowed with trainer.max_epochs={max_epochs}: use fewer (0 skips "
                "fine-tuning), so that some epochs train with the encoder frozen, or raise trainer.max_epochs"
            )
        return None

    @property
    def encoder_frozen(self) -> bool:
        return not any(p.requires_grad for p in self.encoder.parameters())

    def raw_output(self, x: torch.Tensor) -> torch.Tensor:
        if x.shape[1] == 1:
            x = x.expand(-1, 3, -1, -1)
        mean, std = self.get_buffer("input_mean"), self.get_buffer("input_std")
        return self.decoder(self.encoder((x - mean) / std))

    # -- the two stages ----------------------------------------------------------------------------
    @property
    def finetune_start_epoch(self) -> int:
        return self.trainer.max_epochs - self.finetune_epochs

    def on_fit_start(self) -> None:
        super().on_fit_start()
        # validation.validate_settings refused a budget without room for the fine-tuning epochs
        assert self.trainer.fast_dev_run or not self.epoch_budget_problem({"finetune_epochs": self.finetune_epochs}, self.trainer.max_epochs)

    def on_train_batch_start(self, batch: Any, batch_idx: int) -> None:
        """Unfreeze at the fine-tuning epoch; derived from the epoch alone and checked every batch, so a run resumed
        at an epoch boundary or mid-epoch lands in the right stage.

        Keras can only change what trains by compiling again, with a new Adam: so the first fine-tuning epoch starts
        from fresh optimiser moments, as the study's did. A resumed run keeps the optimiser state it restored.
        """
        if self.finetune_epochs > 0 and self.current_epoch >= self.finetune_start_epoch and self.encoder_frozen:
            self.encoder.requires_grad_(True)
            for optimizer in self.trainer.optimizers:
                if self.current_epoch == self.finetune_start_epoch and batch_idx == 0:
                    optimizer.state.clear()
                for group in optimizer.param_groups:
                    group["lr"] = self.finetune_lr
            log.info("epoch %d: fine-tuning starts, VGG-16 encoder unfrozen, lr=%g", self.current_epoch, self.finetune_lr)

    def on_train_epoch_end(self) -> None:
        super().on_train_epoch_end()
        # the stage changes only at an epoch's first batch, so its value at the end is the epoch's
        self.log("train/encoder_frozen", float(self.encoder_frozen), on_step=False, on_epoch=True, batch_size=1)
