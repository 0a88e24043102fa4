"""One file per architecture; each is a LightningModule on the shared ImageTranslationModule base."""

from face2sketch.models.base import ImageTranslationModule
from face2sketch.models.conv_ae import ConvAE

__all__ = ["ConvAE", "ImageTranslationModule"]
