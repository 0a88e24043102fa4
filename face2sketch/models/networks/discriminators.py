"""pix2pix's discriminators: the Keras tutorial's (the study's source) and the pix2pix paper's 70x70 PatchGAN."""

from __future__ import annotations

import torch
from torch import nn

from face2sketch.models.networks.layers import Conv2dSame, keras_batch_norm


def tutorial_discriminator(in_channels: int, ndf: int = 64) -> nn.Sequential:
    """The study's source (the Keras pix2pix tutorial): C64 (no norm) - C128 - C256 - C512, all stride 2, then a
    stride-1 C512 and a stride-1 1-channel output, Keras 'same' padding: one logit per 16x16 output cell at 256 px."""
    layers: list[nn.Module] = [Conv2dSame(in_channels, ndf, 4, 2), nn.LeakyReLU(0.2)]
    for width_in, width, stride in ((ndf, ndf * 2, 2), (ndf * 2, ndf * 4, 2), (ndf * 4, ndf * 8, 2), (ndf * 8, ndf * 8, 1)):
        layers += [Conv2dSame(width_in, width, 4, stride), keras_batch_norm(width), nn.LeakyReLU(0.2)]
    layers.append(Conv2dSame(ndf * 8, 1, 4, 1))
    return nn.Sequential(*layers)


def patchgan70_discriminator(in_channels: int, ndf: int = 64) -> nn.Sequential:
    """The pix2pix paper's 70x70 PatchGAN: C64 (no norm) - C128 - C256 (stride 2) - C512 (stride 1) - 1 logit per patch (30x30 at 256 px)."""
    return nn.Sequential(
        nn.Conv2d(in_channels, ndf, 4, 2, 1),
        nn.LeakyReLU(0.2),
        nn.Conv2d(ndf, ndf * 2, 4, 2, 1, bias=False),
        nn.BatchNorm2d(ndf * 2),
        nn.LeakyReLU(0.2),
        nn.Conv2d(ndf * 2, ndf * 4, 4, 2, 1, bias=False),
        nn.BatchNorm2d(ndf * 4),
        nn.LeakyReLU(0.2),
        nn.Conv2d(ndf * 4, ndf * 8, 4, 1, 1, bias=False),
        nn.BatchNorm2d(ndf * 8),
        nn.LeakyReLU(0.2),
        nn.Conv2d(ndf * 8, 1, 4, 1, 1),
    )


DISCRIMINATORS = {"tutorial": tutorial_discriminator, "patchgan70": patchgan70_discriminator}
# the tutorial discriminator halves the image four times; Keras' 'same' geometry holds for sizes that divide by 16
TUTORIAL_DISCRIMINATOR_STRIDE = 16


class PatchDiscriminator(nn.Module):
    """Scores (input, output) pairs patch by patch: one logit per output cell."""

    def __init__(self, in_channels: int, ndf: int = 64, architecture: str = "tutorial") -> None:
        super().__init__()
        self.net = DISCRIMINATORS[architecture](in_channels, ndf)

    def forward(self, source: torch.Tensor, image: torch.Tensor) -> torch.Tensor:
        return self.net(torch.cat([source, image], dim=1))
