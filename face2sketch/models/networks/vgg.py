"""The VGG-16 ``features`` encoder with the weights a user chooses (never random by accident), and the ConvTranspose
decoder the study put on it."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlparse

import torch
from torch import nn
from torchvision.models import VGG16_Weights, vgg16

from face2sketch.core.errors import ConfigError
from face2sketch.core.io import torch_hub_file
from face2sketch.models.networks.layers import ConvTranspose2dSame, init_keras_default

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
