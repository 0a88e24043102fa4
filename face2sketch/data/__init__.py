"""Paired photo/sketch data: discovery by identity key, protocols, and the LightningDataModule."""

from face2sketch.data.datamodule import (
    DIRECTIONS,
    FolderPairsDataModule,
    PairedDataModule,
    PairedImageDataset,
    SyntheticPairsDataModule,
)
from face2sketch.data.pairing import Pair, SkippedFile, find_pairs, list_pairs, photo_key, sketch_key
from face2sketch.data.protocols import Splits, make_splits
from face2sketch.data.sources import FolderSource, SyntheticSource

__all__ = [
    "DIRECTIONS", "FolderPairsDataModule", "FolderSource", "SyntheticPairsDataModule", "Pair", "PairedDataModule", "PairedImageDataset", "Splits",
    "SkippedFile", "SyntheticSource", "find_pairs", "list_pairs", "make_splits", "photo_key", "sketch_key",
]
