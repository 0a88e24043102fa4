"""pix2pix's U-Net generator in plain PyTorch: the network a trained pix2pix predicts with.

Kept apart from the LightningModule so that loading a shipped or exported generator imports neither Lightning nor
torchmetrics (``face2sketch.inference``).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

import torch
import torch.nn.functional as F
from torch import nn

from face2sketch.models.choices import NORM_STATISTICS
from face2sketch.models.networks.layers import PictureBatchNorm2d, keras_batch_norm

MAX_DOWNSAMPLINGS = 8


def unet_depth(image_size: int) -> int:
    """Downsamplings for a size: 8 at 256 px (a 1x1 bottleneck), fewer for smaller or odd sizes."""
    depth = 0
    while depth < MAX_DOWNSAMPLINGS and image_size % 2 ** (depth + 1) == 0:
        depth += 1
    return depth


# standardized inputs are scaled to this standard deviation, about that of a photo's channels in [-1, 1]
STANDARDIZED_STD = 0.5
# below this standard deviation (in [-1, 1] units) a channel counts as flat, so a blank input is not blown up
FLAT_STD = 0.02


def standardize_channels(x: torch.Tensor) -> torch.Tensor:
    """Each image's channels shifted to mean 0 and scaled to the same spread (N x C x H x W, per image and channel).

    Any change of a channel by a positive gain and an offset disappears: exposure, contrast, a colour cast or white
    balance (per channel), toned paper and a fainter or heavier pencil (a sketch's darkness scaled by one factor).
    Being part of the network, it travels with every exported file.
    """
    mean = x.mean(dim=(2, 3), keepdim=True)
    std = (x - mean).pow(2).mean(dim=(2, 3), keepdim=True).sqrt()
    return (x - mean) / (std + FLAT_STD) * STANDARDIZED_STD


def batch_norm_layer(keras_layers: bool, norm_statistics: str) -> Callable[[int], nn.BatchNorm2d]:
    """The U-Net's BatchNorm for a number of channels: Keras' or PyTorch's defaults, normalizing at inference by the
    running averages or by each picture's own statistics."""
    if norm_statistics not in NORM_STATISTICS:  # validation.validate_settings refuses it first (model.norm_statistics)
        raise ValueError(f"norm_statistics must be one of {', '.join(NORM_STATISTICS)}, got '{norm_statistics}'")
    norm_class = PictureBatchNorm2d if norm_statistics == "picture" else nn.BatchNorm2d
    return partial(keras_batch_norm, norm_class=norm_class) if keras_layers else norm_class


class UNetGenerator(nn.Module):
    """Encoder C64 (no norm) - C128 - C256 - C512..., a ReLU bottleneck, and a mirrored decoder.

    Encoder blocks are Conv(4x4, stride 2) -> BatchNorm -> LeakyReLU(0.2); decoder blocks are ConvT -> BatchNorm ->
    Dropout(0.5) (first three blocks only) -> concat skip -> ReLU, so block i is joined to block n-i; the output
    is tanh in [-1, 1]. ``keras_layers``: every convolution has a bias and BatchNorm has Keras' momentum and
    epsilon (the tutorial the study followed); otherwise the pix2pix paper's code (no bias before BatchNorm).
    ``normalize_input``: inputs pass through :func:`standardize_channels` first, so global tone changes of the input
    (exposure, contrast, colour casts, paper tone, pencil weight) do not reach the network.
    ``norm_statistics``: how BatchNorm normalizes outside training: "running" (PyTorch's eval mode: the averages
    gathered in training) or "picture" (each picture by its own statistics, as training at batch 1 did;
    :class:`~face2sketch.models.networks.layers.PictureBatchNorm2d`).
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        num_downs: int,
        ngf: int = 64,
        dropout: float = 0.5,
        keras_layers: bool = True,
        normalize_input: bool = False,
        norm_statistics: str = "running",
    ) -> None:
        super().__init__()
        # what rebuilds this network from a weights file (face2sketch.inference.files); files written before
        # normalize_input or norm_statistics existed lack them and rebuild with their defaults
        self.args = {
            "in_channels": in_channels,
            "out_channels": out_channels,
            "num_downs": num_downs,
            "ngf": ngf,
            "dropout": dropout,
            "keras_layers": keras_layers,
            "normalize_input": normalize_input,
            "norm_statistics": norm_statistics,
        }
        self.normalize_input = normalize_input
        if num_downs < 2:  # validation.validate_settings refuses such sizes for pix2pix (Pix2Pix.image_size_rule)
            raise ValueError(f"a U-Net needs 2 downsamplings at least, got {num_downs}")
        norm = batch_norm_layer(keras_layers, norm_statistics)
        widths = [min(ngf * 2**i, ngf * 8) for i in range(num_downs - 1)]
        self.encoder = nn.ModuleList()
        channels = in_channels
        for i, width in enumerate(widths):
            block: list[nn.Module] = [nn.Conv2d(channels, width, 4, 2, 1, bias=keras_layers or i == 0)]
            if i > 0:
                block.append(norm(width))
            block.append(nn.LeakyReLU(0.2))
            self.encoder.append(nn.Sequential(*block))
            channels = width
        self.bottleneck = nn.Sequential(nn.Conv2d(channels, ngf * 8, 4, 2, 1), nn.ReLU())
        self.decoder = nn.ModuleList()
        channels = ngf * 8
        for j, width in enumerate(reversed(widths)):
            block = [nn.ConvTranspose2d(channels, width, 4, 2, 1, bias=keras_layers), norm(width)]
            if j < 3 and dropout > 0:
                block.append(nn.Dropout(dropout))
            self.decoder.append(nn.Sequential(*block))
            channels = width * 2
        self.head = nn.Sequential(nn.ConvTranspose2d(channels, out_channels, 4, 2, 1), nn.Tanh())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.normalize_input:
            x = standardize_channels(x)
        skips = []
        for block in self.encoder:
            x = block(x)
            skips.append(x)
        x = self.bottleneck(x)
        for block, skip in zip(self.decoder, reversed(skips), strict=False):
            x = F.relu(torch.cat([block(x), skip], dim=1))
        return self.head(x)
