"""The study's transfer-learning autoencoder: a frozen VGG-16 ``features`` encoder and a ConvTranspose decoder.

Training has two stages in one run: the decoder alone with the encoder frozen, then the last
``finetune_epochs`` with everything unfrozen at ``finetune_lr`` (the study: 10 epochs at 1e-4).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import torch
from torch import nn
from torchvision.models import VGG16_Weights, vgg16

from face2sketch.errors import ConfigError
from face2sketch.io import torch_hub_file
from face2sketch.models.base import AutoencoderModule, OptimizerFactory, SizeRule
from face2sketch.models.networks.layers import ConvTranspose2dSame, init_keras_default

log = logging.getLogger(__name__)

IMAGENET_MEAN, IMAGENET_STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)
# torchvision's IMAGENET1K_FEATURES (the Caffe weights Keras uses): x*255 - mean*255
CAFFE_MEAN, CAFFE_STD = (0.48235, 0.45882, 0.40784), (1 / 255, 1 / 255, 1 / 255)
WEIGHT_CHOICES = {
    "imagenet": (VGG16_Weights.IMAGENET1K_V1, IMAGENET_MEAN, IMAGENET_STD),
    "imagenet_features": (VGG16_Weights.IMAGENET1K_FEATURES, CAFFE_MEAN, CAFFE_STD),
}


def _features_only(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Accept a whole VGG-16 state dict ('features.0.weight', ...) or one of ``features`` alone ('0.weight')."""
    if any(k.startswith("features.") for k in state):
        return {k.removeprefix("features."): v for k, v in state.items() if k.startswith("features.")}
    return state


def load_vgg16_features(weights: str, download: bool = True) -> tuple[nn.Sequential, tuple[float, ...], tuple[float, ...]]:
    """VGG-16 ``features`` with the chosen weights, and the input mean/std those weights expect.

    ``weights``: 'imagenet' (IMAGENET1K_V1), 'imagenet_features' (the Caffe weights), a path to a
    ``.pth`` state dict, or 'none' (random). Named weights go through torchvision's normal loading,
    which reads ``$TORCH_HOME/hub/checkpoints/<file>`` before any download. Never falls back to random.
    """
    features = vgg16(weights=None).features
    if weights == "none":
        return features, IMAGENET_MEAN, IMAGENET_STD
    if weights in WEIGHT_CHOICES:
        enum, mean, std = WEIGHT_CHOICES[weights]
        filename = Path(urlparse(enum.url).path).name
        cached = torch_hub_file(filename)
        fix = (
            f"place '{filename}' in {cached.parent}, pass model.weights=/path/to/{filename}, "
            "or model.weights=none for random weights (++for_model.vgg_ae.weights=none in a sweep over several models)"
        )
        if not cached.is_file() and not download:
            raise ConfigError(f"VGG-16 weights '{filename}' not found in {cached.parent} and downloads are off: {fix}")
        try:
            state = enum.get_state_dict(progress=False)
        except Exception as err:  # urllib, SSL and hash errors all mean the same thing to the user
            raise ConfigError(f"VGG-16 weights '{filename}' are not in {cached.parent} and could not be downloaded ({type(err).__name__}): {fix}") from err
    else:
        path = Path(weights).expanduser()
        state = torch.load(path, map_location="cpu", weights_only=True)
        mean, std = IMAGENET_MEAN, IMAGENET_STD
    try:
        features.load_state_dict(_features_only(state))
    except RuntimeError as err:
        raise ConfigError(f"VGG-16 weights from '{weights}' do not fit torchvision's vgg16().features: {str(err).splitlines()[0]}") from err
    return features, mean, std


class VGGDecoder(nn.Sequential):
    """ConvTranspose 256/128/64/32/16 (stride 2) and a linear ConvTranspose to the output channels (stride 1), Keras 'same', LeakyReLU(0.1)."""

    def __init__(self, out_channels: int, kernel_size: int = 3, widths: tuple[int, ...] = (256, 128, 64, 32, 16)) -> None:
        layers: list[nn.Module] = []
        channels = 512
        for width in widths:
            layers += [ConvTranspose2dSame(channels, width, kernel_size, stride=2), nn.LeakyReLU(0.1)]
            channels = width
        layers.append(ConvTranspose2dSame(channels, out_channels, kernel_size, stride=1))
        super().__init__(*layers)
        self.apply(init_keras_default)


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
