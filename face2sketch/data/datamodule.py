"""LightningDataModule for paired photo/sketch translation in either direction."""

from __future__ import annotations

import logging
from collections.abc import Sequence

import albumentations as A
import cv2
import lightning as L
import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset, get_worker_info

from face2sketch.data.protocols import Item, Splits, make_splits
from face2sketch.data.sources import DecodedPair, FolderSource, PairSource, SyntheticSource
from face2sketch.errors import ConfigError

log = logging.getLogger(__name__)

DIRECTIONS = {"f2sk": ("photo", "sketch"), "sk2f": ("sketch", "photo")}

# data.interpolation -> OpenCV flag. 'bilinear' is the study's: its data preparation (the Kaggle notebook it names)
# called cv2.resize with OpenCV's default, INTER_LINEAR, which does not antialias when shrinking.
INTERPOLATIONS = {"bilinear": cv2.INTER_LINEAR, "bicubic": cv2.INTER_CUBIC, "area": cv2.INTER_AREA, "lanczos": cv2.INTER_LANCZOS4}


def interpolation_flag(name: str) -> int:
    """The OpenCV flag for a data.interpolation name, or a one-line ConfigError."""
    if name not in INTERPOLATIONS:
        raise ConfigError(f"unknown data.interpolation '{name}': use one of {', '.join(INTERPOLATIONS)}")
    return INTERPOLATIONS[name]


def resize_image(image: np.ndarray, size: int, interpolation: str = "bilinear") -> np.ndarray:
    """A uint8 HxW or HxWxC image resized to size x size with OpenCV, keeping its channel layout."""
    resized = cv2.resize(image, (size, size), interpolation=interpolation_flag(interpolation))
    return resized[..., None] if image.ndim == 3 and resized.ndim == 2 else resized


def sketch_layout(sketch: np.ndarray, channels: int) -> np.ndarray:
    """HxW or HxWx1 grayscale sketch -> HxWxC with ``channels`` (3 identical ones, as the study fed them, or 1)."""
    sketch = sketch[..., None] if sketch.ndim == 2 else sketch
    return np.repeat(sketch, 3, axis=2) if channels == 3 else sketch


def fit_to_model(image: np.ndarray, kind: str, image_size: int, interpolation: str, sketch_channels: int) -> np.ndarray:
    """A decoded photo (HxWx3) or sketch (HxW) at the model's square size and channel layout.

    Training, evaluate and predict all prepare images here, so a model sees users' pictures as it saw CUHK's.
    """
    resized = resize_image(image, image_size, interpolation)
    return sketch_layout(resized, sketch_channels) if kind == "sketch" else resized


def to_tensor(image: np.ndarray, value_range: tuple[float, float]) -> torch.Tensor:
    """HxWxC uint8 -> CxHxW float scaled to ``value_range``."""
    low, high = value_range
    tensor = torch.from_numpy(np.ascontiguousarray(image)).permute(2, 0, 1).float().div_(255.0)
    return tensor.mul_(high - low).add_(low)


class PairedImageDataset(Dataset):
    """Items of one split as (source, target) tensors, with paired augmentation applied identically to both."""

    def __init__(
        self,
        items: Sequence[Item],
        direction: str,
        value_range: tuple[float, float],
        paired_transform: A.Compose | None = None,
        input_transform: A.Compose | None = None,
    ) -> None:
        self.items = list(items)
        self.source_kind, self.target_kind = DIRECTIONS[direction]
        self.value_range = value_range
        self.paired_transform = paired_transform
        self.input_transform = input_transform

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, index: int) -> dict:
        item = self.items[index]
        source, target = getattr(item, self.source_kind), getattr(item, self.target_kind)
        if self.paired_transform is not None:
            out = self.paired_transform(image=source, target_image=target)
            source, target = out["image"], out["target_image"]
        if self.input_transform is not None:
            source = self.input_transform(image=source)["image"]
        return {"source": to_tensor(source, self.value_range), "target": to_tensor(target, self.value_range), "name": item.name}

    def reseed(self, seed: int) -> None:
        """Give this copy of the augmentation pipelines its own random stream (one per DataLoader worker)."""
        for transform in (self.paired_transform, self.input_transform):
            if transform is not None:
                transform.set_random_seed(seed)


def _reseed_worker(worker_id: int) -> None:
    info = get_worker_info()
    info.dataset.reseed(info.seed % 2**32)


class PairedDataModule(L.LightningDataModule):
    """Decodes a source's pairs once, builds the protocol's splits and serves them at ``image_size``.

    Sketches are fed as ``sketch_channels`` (3 as in the study, or 1); photos are RGB. Values are
    scaled to the model's declared ``value_range``. Augmentation runs on training batches only.
    """

    def __init__(
        self,
        source: PairSource,
        direction: str = "f2sk",
        value_range: Sequence[float] = (0.0, 1.0),
        split: str = "standard",
        image_size: int = 256,
        interpolation: str = "bilinear",
        sketch_channels: int = 3,
        val_fraction: float = 0.1,
        test_fraction: float = 0.2,
        paired_transforms: Sequence[A.BasicTransform] | None = None,
        input_transforms: Sequence[A.BasicTransform] | None = None,
        batch_size: int = 32,
        eval_batch_size: int | None = None,
        num_workers: int = 0,
        pin_memory: bool = False,
        seed: int = 0,
    ) -> None:
        super().__init__()
        if direction not in DIRECTIONS:
            raise ConfigError(f"unknown direction '{direction}': use one of {', '.join(DIRECTIONS)}")
        if sketch_channels not in (1, 3):
            raise ConfigError(f"sketch_channels must be 1 or 3, got {sketch_channels}")
        if image_size < 8:
            raise ConfigError(f"data.image_size must be at least 8, got {image_size}")
        self.source = source
        self.direction = direction
        self.value_range = (float(value_range[0]), float(value_range[1]))
        self.protocol = split
        self.image_size = image_size
        interpolation_flag(interpolation)
        self.interpolation = interpolation
        self.sketch_channels = sketch_channels
        self.val_fraction, self.test_fraction = val_fraction, test_fraction
        self.paired_transforms = list(paired_transforms or [])
        self.input_transforms = list(input_transforms or [])
        self.batch_size = batch_size
        self.eval_batch_size = eval_batch_size or batch_size
        self.num_workers, self.pin_memory, self.seed = num_workers, pin_memory, seed
        self.splits: Splits | None = None

    # -- preparing -------------------------------------------------------------------------
    def prepare_data(self) -> None:
        self.source.check()

    def _resize(self, pair: DecodedPair) -> Item:
        photo, sketch = (fit_to_model(image, kind, self.image_size, self.interpolation, self.sketch_channels) for image, kind in ((pair.photo, "photo"), (pair.sketch, "sketch")))
        return Item(pair.key, photo, sketch, original=(pair.photo, pair.sketch))

    def sketch_layout(self, sketch: np.ndarray) -> np.ndarray:
        """HxW or HxWx1 grayscale sketch -> HxWxC with this module's ``sketch_channels``."""
        return sketch_layout(sketch, self.sketch_channels)

    def setup(self, stage: str | None = None) -> None:
        if self.splits is not None:
            return
        decoded = self.source.load()
        items = [self._resize(p) for p in decoded]
        release = {p.key: p.split for p in decoded}
        self.splits = make_splits(items, release, self.protocol, self.val_fraction, self.test_fraction, self.seed)
        log.info(
            "%s protocol%s: %d train / %d val / %d test examples at %dpx, direction %s",
            self.protocol, " (LEAKY)" if self.splits.leaky else "", len(self.splits.train),
            len(self.splits.val), len(self.splits.test), self.image_size, self.direction,
        )

    # -- datasets and loaders ---------------------------------------------------------------
    def dataset(self, stage: str) -> PairedImageDataset:
        """The dataset of one split ('train', 'val' or 'test'); only 'train' is augmented."""
        self.setup()
        assert self.splits is not None
        augment = stage == "train"
        paired = A.Compose(self.paired_transforms, additional_targets={"target_image": "image"}, seed=self.seed) if augment and self.paired_transforms else None
        inputs = A.Compose(self.input_transforms, seed=self.seed + 1) if augment and self.input_transforms else None
        return PairedImageDataset(getattr(self.splits, stage), self.direction, self.value_range, paired, inputs)

    def _loader(self, stage: str) -> DataLoader:
        train = stage == "train"
        return DataLoader(
            self.dataset(stage),
            batch_size=self.batch_size if train else self.eval_batch_size,
            shuffle=train,
            drop_last=False,
            num_workers=self.num_workers,
            pin_memory=self.pin_memory,
            persistent_workers=self.num_workers > 0,
            worker_init_fn=_reseed_worker if self.num_workers > 0 else None,
        )

    def train_dataloader(self) -> DataLoader:
        return self._loader("train")

    def val_dataloader(self) -> DataLoader:
        return self._loader("val")

    def test_dataloader(self) -> DataLoader:
        return self._loader("test")

    def describe(self) -> dict:
        """Facts about the data that belong in a run's metrics.json."""
        assert self.splits is not None
        return {
            "source": repr(self.source),
            "protocol": self.protocol,
            "leaky": self.splits.leaky,
            "image_size": self.image_size,
            "interpolation": self.interpolation,
            "sketch_channels": self.sketch_channels,
            "num_train": len(self.splits.train),
            "num_val": len(self.splits.val),
            "num_test": len(self.splits.test),
        }


class FolderPairsDataModule(PairedDataModule):
    """Pairs read from a folder in any supported layout (``data=cuhk``)."""

    def __init__(self, root: str, **kwargs) -> None:
        super().__init__(source=FolderSource(root), **kwargs)


class SyntheticPairsDataModule(PairedDataModule):
    """Procedural pairs that need no download (``data=synthetic``)."""

    def __init__(self, num_train: int = 48, num_test: int = 16, **kwargs) -> None:
        super().__init__(source=SyntheticSource(num_train, num_test, seed=kwargs.get("seed", 0)), **kwargs)
