"""One file per architecture; each is a LightningModule on the shared ImageTranslationModule base.

The classes load on first use (``face2sketch.models.Pix2Pix``), so that importing a plain network such as
``face2sketch.models.networks.unet`` does not import Lightning.
"""

from __future__ import annotations

from face2sketch.core.lazy import lazy_attributes

_CLASSES = {
    "ImageTranslationModule": "face2sketch.models.base",
    "ConvAE": "face2sketch.models.conv_ae",
    "Pix2Pix": "face2sketch.models.pix2pix",
    "SparseAE": "face2sketch.models.sparse_ae",
    "VGGAE": "face2sketch.models.vgg_ae",
}

__all__ = list(_CLASSES)

__getattr__ = lazy_attributes(__name__, _CLASSES)
