"""Layers and initialisers with the defaults of Keras, which the study ran: 'same' padding, BatchNorm, weight init.

Keras pads a convolution with ``padding='same'`` asymmetrically when the kernel overlaps the stride by an
odd amount (TensorFlow's rule: ``total = max(k - s, 0)`` for an input divisible by the stride, the extra
pixel at the bottom and right), while PyTorch pads both sides equally. A stride-2 5x5 convolution therefore
samples its input one pixel further right and down in Keras; its transposed convolution writes one pixel
further left and up. These layers reproduce Keras' geometry exactly and keep PyTorch's parameter layout
('weight', 'bias'), so parameter counts and state dicts look like those of plain ``nn.Conv2d``.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

# Keras' BatchNormalization: moving = 0.99 * moving + 0.01 * batch (PyTorch's momentum is the other weight), eps 1e-3
KERAS_BATCHNORM = {"momentum": 0.01, "eps": 1e-3}


def same_padding(kernel_size: int, stride: int) -> tuple[int, int]:
    """(before, after) padding of a Keras/TensorFlow 'same' convolution on an input divisible by ``stride``."""
    total = max(kernel_size - stride, 0)
    return total // 2, total - total // 2


class Conv2dSame(nn.Conv2d):
    """``nn.Conv2d`` with Keras' ``padding='same'``: output size = ceil(input / stride), extra padding bottom/right."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, stride: int = 1, bias: bool = True) -> None:
        before, after = same_padding(kernel_size, stride)
        super().__init__(in_channels, out_channels, kernel_size, stride, padding=before if before == after else 0, bias=bias)
        self.asymmetric_padding = (before, after, before, after) if before != after else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.asymmetric_padding is not None:
            x = F.pad(x, self.asymmetric_padding)
        return super().forward(x)


class ConvTranspose2dSame(nn.ConvTranspose2d):
    """``nn.ConvTranspose2d`` with Keras' ``padding='same'``: output size = input * stride, cropped as TensorFlow crops.

    TensorFlow's transposed 'same' convolution is the gradient of the forward one, so it crops the full output by
    the forward padding: ``before`` at the top/left and ``after`` at the bottom/right.
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, stride: int = 1, bias: bool = True) -> None:
        before, after = same_padding(kernel_size, stride)
        if kernel_size < stride:
            raise ValueError(f"ConvTranspose2dSame needs kernel_size >= stride, got {kernel_size} < {stride}")
        super().__init__(in_channels, out_channels, kernel_size, stride, padding=before, bias=bias)
        self.extra_crop = after - before

    def forward(self, input: torch.Tensor, output_size: list[int] | None = None) -> torch.Tensor:
        out = super().forward(input, output_size)
        if self.extra_crop:
            out = out[..., : out.shape[-2] - self.extra_crop, : out.shape[-1] - self.extra_crop]
        return out


def keras_batch_norm(channels: int, norm_class: type[nn.BatchNorm2d] = nn.BatchNorm2d) -> nn.BatchNorm2d:
    """BatchNorm with Keras' defaults (momentum 0.99 in Keras' convention, epsilon 1e-3)."""
    return norm_class(channels, momentum=KERAS_BATCHNORM["momentum"], eps=KERAS_BATCHNORM["eps"])


class PictureBatchNorm2d(nn.BatchNorm2d):
    """BatchNorm that, outside training, normalizes each picture by its own statistics instead of the running averages.

    Trained at batch 1, BatchNorm has only ever normalized a picture by that picture's statistics; its running
    averages then blend pictures of every background and light, and a picture far from their mean (a dark wall
    behind the face) is normalized wrongly at inference. Here inference does what training did, one picture at a
    time, whatever the batch. Training is plain BatchNorm; parameters and buffers are BatchNorm's, so checkpoints of
    either load into the other.
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.training:
            return super().forward(x)
        return F.instance_norm(x, weight=self.weight, bias=self.bias, use_input_stats=True, eps=self.eps)


def init_keras_default(module: nn.Module) -> None:
    """Keras' default initialisers: Glorot-uniform kernels, zero biases; BatchNorm scale 1, offset 0."""
    if isinstance(module, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
        nn.init.xavier_uniform_(module.weight)
        if module.bias is not None:
            nn.init.zeros_(module.bias)
    elif isinstance(module, nn.BatchNorm2d):
        nn.init.ones_(module.weight)
        nn.init.zeros_(module.bias)


def init_normal(module: nn.Module, std: float = 0.02, batchnorm_scale_std: float = 0.0) -> None:
    """N(0, std) kernels and zero biases; BatchNorm scales N(1, batchnorm_scale_std) (0: exactly 1), zero offsets.

    The pix2pix tutorial the study followed: ``RandomNormal(stddev=0.02)`` kernels and Keras' BatchNorm defaults
    (``batchnorm_scale_std=0``); the pix2pix paper's code also draws the BatchNorm scales (``batchnorm_scale_std=0.02``).
    """
    if isinstance(module, (nn.Conv2d, nn.ConvTranspose2d)):
        nn.init.normal_(module.weight, 0.0, std)
        if module.bias is not None:
            nn.init.zeros_(module.bias)
    elif isinstance(module, nn.BatchNorm2d):
        if batchnorm_scale_std:
            nn.init.normal_(module.weight, 1.0, batchnorm_scale_std)
        else:
            nn.init.ones_(module.weight)
        nn.init.zeros_(module.bias)
