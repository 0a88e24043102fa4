"""LightningDataModule for paired photo/sketch translation in either direction."""

from __future__ import annotations

import logging
from collections.abc import Sequence

import albumentations as A
import lightning as L
import numpy as np
import torch
from torch.utils.data import DataLoader

from face2sketch.core.errors import DataError
from face2sketch.data.datasets import ConditionedPairs, PairedImageDataset
from face2sketch.data.in_memory import BatchKeys, InMemoryPairs, is_dihedral_only
from face2sketch.data.pairing import SkippedFile
from face2sketch.data.protocols import Item, Splits, make_splits
from face2sketch.data.sampling import EpochShuffleSampler
from face2sketch.data.sources import DEFAULT_MAX_IMAGE_PIXELS, DecodedPair, FolderSource, PairSource, SyntheticSource
from face2sketch.pictures.images import dihedral, fit_to_model, interpolation_flag, resize_image, sketch_layout
from face2sketch.realworld.augmentation import RealWorldAugmentation
from face2sketch.realworld.foreground import foreground_mask

log = logging.getLogger(__name__)


def describe_skipped(skipped: Sequence[SkippedFile], names_per_problem: int = 3) -> str:
    """'2 corrupt image (a.jpg, b.jpg), 1 unpaired (c.jpg)': the skipped files by problem, in one line."""
    by_problem: dict[str, list[str]] = {}
    for file in skipped:
        by_problem.setdefault(file.problem, []).append(file.path.name)
    parts = []
    for problem, names in by_problem.items():
        shown = ", ".join(names[:names_per_problem]) + (f" and {len(names) - names_per_problem} more" if len(names) > names_per_problem else "")
        parts.append(f"{len(names)} {problem} ({shown})")
    return ", ".join(parts)


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
        pin_memory: bool | None = None,
        seed: int = 0,
        min_pairs: int = 1,
        batched_augmentation: bool = True,
        augmentation: RealWorldAugmentation | None = None,
        validation_conditions: str | None = None,
    ) -> None:
        super().__init__()
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
        self.min_pairs = min_pairs
        self.augmentation, self.validation_conditions = augmentation, validation_conditions
        self.batched_augmentation = batched_augmentation and augmentation is None and is_dihedral_only(self.paired_transforms, self.input_transforms)
        if batched_augmentation and not self.batched_augmentation:
            log.info("augmentation other than D4 alone: training samples are augmented one by one")
        self.splits: Splits | None = None
        self.skipped: list[SkippedFile] = []
        self._in_memory: InMemoryPairs | None = None
        self._resident: torch.Tensor | None = None
        self._conditioned_validation: ConditionedPairs | None = None

    # -- preparing -------------------------------------------------------------------------
    def prepare_data(self) -> None:
        self.source.check()

    @property
    def needs_masks(self) -> bool:
        """Whether the photos' foreground masks are used: by real-world augmentation or real-conditions validation."""
        return self.augmentation is not None or self.validation_conditions is not None

    def fit(self, image: np.ndarray, kind: str) -> np.ndarray:
        """A stored photo (HxWx3) or sketch (HxW) at the model's size and channel layout."""
        return fit_to_model(image, kind, self.image_size, self.interpolation, self.sketch_channels)

    def _resize(self, pair: DecodedPair) -> Item:
        photo, sketch = self.fit(pair.photo, "photo"), self.fit(pair.sketch, "sketch")
        if not self.needs_masks:
            return Item(pair.key, photo, sketch, original=(pair.photo, pair.sketch))
        mask = foreground_mask(pair.photo)
        return Item(
            pair.key, photo, sketch, original=(pair.photo, pair.sketch), mask=resize_image(mask, self.image_size, self.interpolation), original_mask=mask
        )

    def sketch_layout(self, sketch: np.ndarray) -> np.ndarray:
        """HxW or HxWx1 grayscale sketch -> HxWxC with this module's ``sketch_channels``."""
        return sketch_layout(sketch, self.sketch_channels)

    def setup(self, stage: str | None = None) -> None:
        if self.splits is not None:
            return
        decoded, self.skipped = self.source.load()
        for file in self.skipped:
            log.warning("skipped %s: %s", file.path, file.describe())
        if len(decoded) < self.min_pairs:
            raise DataError(
                f"only {len(decoded)} usable pairs in {self.source!r}, fewer than data.min_pairs={self.min_pairs}; "
                f"skipped {len(self.skipped)} files: {describe_skipped(self.skipped)}; fix or remove them, or lower data.min_pairs"
            )
        if self.skipped:
            log.warning("training goes on with %d usable pairs; %d files skipped: %s", len(decoded), len(self.skipped), describe_skipped(self.skipped))
        items = [self._resize(p) for p in decoded]
        release = {p.key: p.split for p in decoded}
        self.splits = make_splits(items, release, self.protocol, self.val_fraction, self.test_fraction, self.seed)
        if self.augmentation is not None:
            self.augmentation.bind([item.photo for item in self.splits.train])
        log.info(
            "%s protocol%s: %d train / %d val / %d test examples at %dpx, direction %s",
            self.protocol,
            " (LEAKY)" if self.splits.leaky else "",
            len(self.splits.train),
            len(self.splits.val),
            len(self.splits.test),
            self.image_size,
            self.direction,
        )

    # -- datasets and loaders ---------------------------------------------------------------
    def dataset(self, stage: str) -> PairedImageDataset:
        """The dataset of one split ('train', 'val' or 'test'); only 'train' is augmented."""
        self.setup()
        assert self.splits is not None
        augment = stage == "train"
        paired = A.Compose(self.paired_transforms, additional_targets={"target_image": "image"}, seed=self.seed) if augment and self.paired_transforms else None
        inputs = A.Compose(self.input_transforms, seed=self.seed + 1) if augment and self.input_transforms else None
        augmentation = self.augmentation if augment else None
        return PairedImageDataset(getattr(self.splits, stage), self.direction, self.value_range, paired, inputs, augmentation)

    def conditioned_validation(self) -> ConditionedPairs:
        """The validation identities under every condition of ``validation_conditions`` (made once, on first use)."""
        assert self.splits is not None and self.validation_conditions is not None
        if self._conditioned_validation is None:
            self._conditioned_validation = ConditionedPairs(self.splits.val, self.direction, self.value_range, self.validation_conditions, self.fit, self.seed)
        return self._conditioned_validation

    def _pin_memory(self) -> bool:
        """data.pin_memory, or (null) whether batches go to a CUDA device: page-locked copies transfer faster."""
        if self.pin_memory is not None:
            return self.pin_memory
        trainer = self.trainer
        return trainer is not None and trainer.strategy.root_device.type == "cuda"

    def _loader(self, stage: str) -> DataLoader:
        train = stage == "train"
        if train and self.batched_augmentation:
            return self._in_memory_loader()
        dataset = self.dataset(stage)
        return DataLoader(
            dataset,
            batch_size=self.batch_size if train else self.eval_batch_size,
            sampler=EpochShuffleSampler(len(dataset), self.seed) if train else None,
            drop_last=False,
            num_workers=self.num_workers,
            pin_memory=self._pin_memory(),
            persistent_workers=self.num_workers > 0,
            # the loader's own generator seeds its workers, so creating an iterator does not draw from torch's global
            # random state (which dropout uses and a checkpoint restores)
            generator=torch.Generator().manual_seed(self.seed),
        )

    def _in_memory_loader(self) -> DataLoader:
        """Whole training batches sliced from uint8 tensors in memory; D4 and scaling run on the device afterwards.

        No workers: slicing a batch takes microseconds, less than handing it over from a worker process.
        """
        self.setup()
        assert self.splits is not None
        self._in_memory = InMemoryPairs(self.splits.train, self.direction, augment=bool(self.paired_transforms))
        self._resident = None
        sampler = EpochShuffleSampler(len(self._in_memory), self.seed, batch_size=self.batch_size)
        return DataLoader(self._in_memory, batch_size=None, sampler=sampler, num_workers=0)

    def _resident_pairs(self, device: torch.device) -> torch.Tensor:
        """The in-memory training split on ``device``, copied there at its first batch."""
        assert self._in_memory is not None, "the training loader is made first"
        if self._resident is None or self._resident.device != device:
            self._resident = self._in_memory.pairs.to(device)
        return self._resident

    def on_after_batch_transfer(self, batch: dict, dataloader_idx: int) -> dict:
        """Make an in-memory training batch where its indices now are (the GPU when training there): gather the pairs,
        turn each run of samples by its D4 element (input and target alike), scale uint8 to the model's value range."""
        keys = batch.get("keys")
        if not isinstance(keys, BatchKeys):
            return batch
        low, high = self.value_range
        pairs = self._resident_pairs(batch["index"].device)[batch["index"]]
        pairs = torch.cat([dihedral(pairs[start:end], element % 4, element >= 4) for element, start, end in keys.runs])
        pairs = pairs.float().div_(255.0).mul_(high - low).add_(low)  # as to_tensor scales
        assert self._in_memory is not None
        split = self._in_memory.source_channels
        return {"source": pairs[:, :split], "target": pairs[:, split:], "name": keys.names}

    def train_dataloader(self) -> DataLoader:
        return self._loader("train")

    @property
    def has_validation(self) -> bool:
        """Whether a validation split exists (``val_fraction=0``: none, every training example trains)."""
        self.setup()
        assert self.splits is not None
        return bool(self.splits.val)

    def val_dataloader(self) -> DataLoader | list:
        """The clean validation pairs; with ``validation_conditions`` also the same identities under real-world
        conditions, as a second loader (``dataloader_idx`` 1)."""
        # an empty list tells Lightning there is nothing to validate: no sanity check, no validation loop
        if not self.has_validation:
            return []
        if self.validation_conditions is None:
            return self._loader("val")
        conditioned = DataLoader(self.conditioned_validation(), batch_size=self.eval_batch_size, num_workers=self.num_workers, pin_memory=self._pin_memory())
        return [self._loader("val"), conditioned]

    def test_dataloader(self) -> DataLoader:
        return self._loader("test")

    def example_names(self) -> dict[str, list[str]]:
        """The examples of each split by name (identity key, and symmetry for paper-protocol copies): a run's
        ``examples.json``, so anyone can check which identities trained, selected the checkpoint and were tested."""
        assert self.splits is not None
        return {side: [item.name for item in getattr(self.splits, side)] for side in ("train", "val", "test")}

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
            "num_skipped_files": len(self.skipped),
            "augmentation": type(self.augmentation).__name__ if self.augmentation is not None else None,
            "validation_conditions": self.validation_conditions,
        }


class FolderPairsDataModule(PairedDataModule):
    """Pairs read from a folder in any supported layout (``data=cuhk``)."""

    def __init__(self, root: str, max_image_pixels: int = DEFAULT_MAX_IMAGE_PIXELS, **kwargs) -> None:
        super().__init__(source=FolderSource(root, max_image_pixels), **kwargs)


class SyntheticPairsDataModule(PairedDataModule):
    """Procedural pairs that need no download (``data=synthetic``)."""

    def __init__(self, num_train: int = 48, num_test: int = 16, **kwargs) -> None:
        super().__init__(source=SyntheticSource(num_train, num_test, seed=kwargs.get("seed", 0)), **kwargs)
