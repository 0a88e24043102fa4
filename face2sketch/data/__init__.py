"""Paired photo/sketch data: discovery by identity key, protocols, and the LightningDataModule.

The names below load on first use (``face2sketch.data.FolderPairsDataModule``), so that image code such as
``face2sketch.pictures.images`` imports neither Lightning nor albumentations.
"""

from __future__ import annotations

from face2sketch.core.lazy import lazy_attributes

_NAMES = {
    "DIRECTIONS": "face2sketch.core.directions",
    "FolderPairsDataModule": "face2sketch.data.datamodule",
    "PairedDataModule": "face2sketch.data.datamodule",
    "PairedImageDataset": "face2sketch.data.datasets",
    "SyntheticPairsDataModule": "face2sketch.data.datamodule",
    "Pair": "face2sketch.data.pairing",
    "SkippedFile": "face2sketch.data.pairing",
    "find_pairs": "face2sketch.data.pairing",
    "list_pairs": "face2sketch.data.pairing",
    "photo_key": "face2sketch.data.pairing",
    "sketch_key": "face2sketch.data.pairing",
    "Splits": "face2sketch.data.protocols",
    "make_splits": "face2sketch.data.protocols",
    "FolderSource": "face2sketch.data.sources",
    "SyntheticSource": "face2sketch.data.sources",
}

__all__ = list(_NAMES)

__getattr__ = lazy_attributes(__name__, _NAMES)
