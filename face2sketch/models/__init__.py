"""One file per architecture; each is a LightningModule on the shared ImageTranslationModule base."""

from face2sketch.models.base import ImageTranslationModule
from face2sketch.models.conv_ae import ConvAE
from face2sketch.models.pix2pix import Pix2Pix
from face2sketch.models.sparse_ae import SparseAE
from face2sketch.models.vgg_ae import VGGAE

__all__ = ["VGGAE", "ConvAE", "ImageTranslationModule", "Pix2Pix", "SparseAE"]
