"""The study's convolutional autoencoder (Table I): three stride-2 convolutions down, three up, no pooling."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
from torch import nn

from face2sketch.models.base import AutoencoderModule, OptimizerFactory, SizeRule
from face2sketch.models.networks.layers import Conv2dSame, ConvTranspose2dSame, init_keras_default

# Table I's encoder widths: three stride-2 convolutions
DEFAULT_WIDTHS = (16, 32, 64)


class ConvAutoencoder(nn.Module):
    """Conv 16/32/64 (5x5, stride 2) -> ConvT 64/32/16 (5x5, stride 2) -> Conv out (5x5), all Keras 'same'.

    LeakyReLU(0.1) after every hidden layer, as in the study; the last layer is linear (Keras' default activation).
    """

    def __init__(
        self, in_channels: int = 3, out_channels: int = 3, widths: tuple[int, ...] = DEFAULT_WIDTHS, kernel_size: int = 5, negative_slope: float = 0.1
    ) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        channels = in_channels
        for width in widths:
            layers += [Conv2dSame(channels, width, kernel_size, stride=2), nn.LeakyReLU(negative_slope)]
            channels = width
        for width in reversed(widths):
            layers += [ConvTranspose2dSame(channels, width, kernel_size, stride=2), nn.LeakyReLU(negative_slope)]
            channels = width
        layers.append(Conv2dSame(channels, out_channels, kernel_size))
        self.layers = nn.Sequential(*layers)
        self.layers.apply(init_keras_default)
        self.downsampling = 2 ** len(widths)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.layers(x)


class ConvAE(AutoencoderModule):
    """Convolutional autoencoder on [0, 1] images: linear head and MSE as in the study (or a sigmoid head with BCE)."""

    def __init__(
        self,
        in_channels: int = 3,
        out_channels: int = 3,
        image_size: int = 256,
        widths: tuple[int, ...] = DEFAULT_WIDTHS,
        kernel_size: int = 5,
        loss: str = "mse",
        head: str = "linear",
        optimizer: OptimizerFactory | None = None,
        num_preview_images: int = 4,
        memory_format: str = "auto",
    ) -> None:
        super().__init__(loss=loss, head=head, optimizer=optimizer, num_preview_images=num_preview_images, memory_format=memory_format)
        self.save_hyperparameters(ignore=["optimizer"])
        self.net = ConvAutoencoder(in_channels, out_channels, tuple(widths), kernel_size)

    @classmethod
    def image_size_rule(cls, settings: Mapping[str, Any]) -> SizeRule:
        widths = len(settings.get("widths", DEFAULT_WIDTHS))
        return SizeRule(2**widths, 2**widths, f"conv_ae halves the image {widths} times, once per model.widths entry")

    def raw_output(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)
