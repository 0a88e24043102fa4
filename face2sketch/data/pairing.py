"""Find photo/sketch pairs on disk by identity key, in the folder layouts the data is published in.

Pairing is always by key, never by sort order: the CUHK release names a training sketch
``F2-005-01-sz1.jpg`` for the photo ``f-005-01.jpg``.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from face2sketch.core.errors import DataError

log = logging.getLogger(__name__)

IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp"})
CUHK_URL = "http://mmlab.ie.cuhk.edu.hk/archive/facesketch.html"

# (split, photo folder, sketch folder) per layout; split None means the layout has no split.
LAYOUTS: dict[str, list[tuple[str | None, str, str]]] = {
    "cuhk_release": [
        ("train", "Training photo", "Training sketch"),
        ("test", "Testing photo", "Testing sketch"),
    ],
    "split_subfolders": [
        ("train", "train/photo", "train/sketch"),
        ("test", "test/photo", "test/sketch"),
    ],
    "flat": [(None, "photos", "sketches")],
}
LAYOUT_HELP = (
    "'Training photo/' + 'Training sketch/' + 'Testing photo/' + 'Testing sketch/' (CUHK release), "
    "'train/{photo,sketch}/' + 'test/{photo,sketch}/', or flat 'photos/' + 'sketches/'"
)

_SKETCH_SUFFIX = re.compile(r"-sz\d+$")
_SKETCH_PREFIX = re.compile(r"^([fm])2-")


@dataclass(frozen=True)
class SkippedFile:
    """A file left out of training, and why: ``problem`` is a short category, ``detail`` the specifics."""

    path: Path
    problem: str
    detail: str

    def describe(self) -> str:
        return f"{self.problem}: {self.detail}"


@dataclass(frozen=True)
class Pair:
    """One identity: its photo and sketch files and the release split it came from (None if unknown)."""

    key: str
    photo: Path
    sketch: Path
    split: str | None


def photo_key(path: Path) -> str:
    """Identity key of a photo: its lower-cased stem (``f1-001-01``)."""
    return path.stem.lower()


def sketch_key(path: Path) -> str:
    """Identity key of a sketch: lower-cased stem without ``-sz1``, with ``f2-``/``m2-`` mapped to ``f-``/``m-``."""
    stem = _SKETCH_SUFFIX.sub("", path.stem.lower())
    return _SKETCH_PREFIX.sub(r"\1-", stem)


def image_files(folder: Path) -> list[Path]:
    """The image files directly in ``folder``, by name; none when it is not a folder."""
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)


def _find_dir(root: Path, relative: str) -> Path | None:
    """Resolve a layout folder case-insensitively, one path component at a time."""
    current = root
    for part in Path(relative).parts:
        if not current.is_dir():
            return None
        matches = [c for c in current.iterdir() if c.is_dir() and c.name.lower() == part.lower()]
        if not matches:
            return None
        current = matches[0]
    return current


def detect_layout(root: Path) -> str:
    """Name of the first layout whose folders all exist under ``root``."""
    if not root.is_dir():
        raise DataError(
            f"data root '{root}' does not exist: expected {LAYOUT_HELP}; the CUHK student set (CUFS) is "
            f"published at {CUHK_URL} (place it there or pass data.root=PATH), or run with data=synthetic, "
            "which needs no download"
        )
    for name, folders in LAYOUTS.items():
        if all(_find_dir(root, p) and _find_dir(root, s) for _, p, s in folders):
            return name
    raise DataError(
        f"no known data layout under '{root}': expected {LAYOUT_HELP}; the CUHK student set (CUFS) is "
        f"published at {CUHK_URL}, or run with data=synthetic, which needs no download"
    )


def _index_by_key(files: list[Path], key_of: Callable[[Path], str], kind: str) -> tuple[dict[str, Path], list[SkippedFile]]:
    """Files by identity key; every file of a key that two files share is skipped, as the pair would be a guess."""
    by_key: dict[str, list[Path]] = {}
    for path in files:
        by_key.setdefault(key_of(path), []).append(path)
    index = {key: paths[0] for key, paths in by_key.items() if len(paths) == 1}
    skipped = [
        SkippedFile(path, "duplicate identity key", f"{kind}s {', '.join(repr(p.name) for p in paths)} all have key '{key}'")
        for key, paths in by_key.items()
        if len(paths) > 1
        for path in paths
    ]
    return index, skipped


def pair_folder(photo_dir: Path, sketch_dir: Path, split: str | None) -> tuple[list[Pair], list[SkippedFile]]:
    """Pair the images of two folders by identity key; returns the pairs and the files that could not be paired."""
    photos, skipped = _index_by_key(image_files(photo_dir), photo_key, "photo")
    sketches, sketch_duplicates = _index_by_key(image_files(sketch_dir), sketch_key, "sketch")
    skipped += sketch_duplicates
    pairs = [Pair(key, photos[key], sketches[key], split) for key in sorted(photos.keys() & sketches.keys())]
    skipped += [
        SkippedFile(photos[k], "unpaired", f"no sketch with identity key '{k}' in '{sketch_dir.name}'") for k in sorted(photos.keys() - sketches.keys())
    ]
    skipped += [
        SkippedFile(sketches[k], "unpaired", f"no photo with identity key '{k}' in '{photo_dir.name}'") for k in sorted(sketches.keys() - photos.keys())
    ]
    return pairs, skipped


def _drop_keys_in_two_splits(pairs: list[Pair]) -> tuple[list[Pair], list[SkippedFile]]:
    """One identity in both the train and the test folders would leak: all its pairs are skipped."""
    splits_of: dict[str, set[str | None]] = {}
    for pair in pairs:
        splits_of.setdefault(pair.key, set()).add(pair.split)
    leaking = {key for key, splits in splits_of.items() if len(splits) > 1}
    skipped = [
        SkippedFile(path, "duplicate identity key", f"identity key '{pair.key}' is in both the train and the test folders")
        for pair in pairs
        if pair.key in leaking
        for path in (pair.photo, pair.sketch)
    ]
    return [p for p in pairs if p.key not in leaking], skipped


def list_pairs(root: str | Path) -> tuple[list[Pair], list[SkippedFile]]:
    """All photo/sketch pairs under ``root`` in any supported layout, and every file that could not be paired.

    Finding no pair at all is an error.
    """
    root = Path(root).expanduser()
    layout = detect_layout(root)
    pairs: list[Pair] = []
    skipped: list[SkippedFile] = []
    for split, photo_rel, sketch_rel in LAYOUTS[layout]:
        found, left = pair_folder(_find_dir(root, photo_rel), _find_dir(root, sketch_rel), split)  # type: ignore[arg-type]
        pairs += found
        skipped += left
    pairs, leaking = _drop_keys_in_two_splits(pairs)
    skipped += leaking
    if not pairs:
        raise DataError(
            f"no photo/sketch pairs found under '{root}' (layout '{layout}'): photos and sketches are paired by "
            "identity key (photo 'f-005-01.jpg' <-> sketch 'F2-005-01-sz1.jpg' or 'f-005-01.jpg'); check the file names"
        )
    log.info("found %d pairs under %s (layout '%s')", len(pairs), root, layout)
    return pairs, skipped


def find_pairs(root: str | Path) -> list[Pair]:
    """The pairs of :func:`list_pairs`; the files that could not be paired are logged by name."""
    pairs, skipped = list_pairs(root)
    for file in skipped:
        log.warning("skipped %s: %s", file.path, file.describe())
    return pairs
