"""data/sources.py as a user meets it: unusable files are skipped by name, a split without usable pairs is named,
convertible images are converted rather than clipped (too few pairs to train: tests/commands/test_train.py)."""

from __future__ import annotations

import json
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from face2sketch.core.errors import DataError
from face2sketch.data.sources import UnusableImage, decode_image
from face2sketch.data.synthetic import write_synthetic_dataset
from face2sketch.train import train
from tests.conftest import compose_train

QUIET = ("trainer=cpu", "logger=csv", "trainer.enable_progress_bar=false", "trainer.enable_model_summary=false")
TINY = ("data=synthetic", "data.image_size=32", "data.num_train=8", "data.num_test=4", "data.batch_size=2", *QUIET)


# -- 1. bad data is skipped by name ---------------------------------------------------------------------------------
def write_png_header_only(path: Path, width: int, height: int) -> None:
    """A valid PNG header claiming width x height pixels, with almost no data: a decompression bomb's shape."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b""))


def _replace(path: Path, image: Image.Image, suffix: str) -> None:
    path.unlink()
    image.save(path.with_suffix(suffix))


def write_faulty_dataset(root: Path) -> dict[str, str]:
    """18 synthetic identities (12 train, 6 test) with one file of each kind of fault and of each convertible kind.

    Returns {file name: the problem skipped.json must give}; 11 pairs stay usable.
    """
    write_synthetic_dataset(root, num_train=12, num_test=6, layout="cuhk_release")
    train_photo, train_sketch = root / "Training photo", root / "Training sketch"
    test_photo, test_sketch = root / "Testing photo", root / "Testing sketch"
    truncated = train_photo / "f-001-01.jpg"
    truncated.write_bytes(truncated.read_bytes()[: truncated.stat().st_size // 2])
    (train_sketch / "M2-002-01-sz1.jpg").write_bytes(b"")
    (train_photo / "f-003-01.jpg").write_text("this is not a photo\n")
    Image.open(train_photo / "m-004-01.jpg").save(train_photo / "m-004-01.png")  # a second photo with key m-004-01
    for folder, name in ((test_photo, "f-005-01.jpg"), (test_sketch, "f-005-01-sz1.jpg")):  # key f-005-01 in train and test
        Image.open((train_photo if folder is test_photo else train_sketch) / ("f-005-01.jpg" if folder is test_photo else "F2-005-01-sz1.jpg")).save(
            folder / name
        )
    Image.new("L", (20, 20), 128).save(train_sketch / "F2-099-01-sz1.jpg")  # a sketch without photo
    png = Image.open(test_photo / "f-013-01.jpg")
    _replace(test_photo / "f-013-01.jpg", png, ".png")
    data = bytearray((test_photo / "f-013-01.png").read_bytes())
    data[len(data) // 2 : len(data) // 2 + 64] = b"\xff" * 64  # damaged compressed data inside a valid PNG
    (test_photo / "f-013-01.png").write_bytes(bytes(data))
    (test_sketch / "m-014-01-sz1.jpg").unlink()
    write_png_header_only(test_sketch / "m-014-01-sz1.png", 6000, 6000)
    # convertible images: must be used
    rgba = Image.open(train_photo / "m-006-01.jpg").convert("RGBA")
    _replace(train_photo / "m-006-01.jpg", rgba, ".png")
    _replace(train_photo / "f-007-01.jpg", Image.open(train_photo / "f-007-01.jpg").convert("P"), ".png")
    wide = (np.asarray(Image.open(train_photo / "m-008-01.jpg").convert("L"), dtype=np.uint16) * 257).astype(np.uint16)
    _replace(train_photo / "m-008-01.jpg", Image.fromarray(wide), ".png")
    _replace(train_photo / "f-009-01.jpg", Image.open(train_photo / "f-009-01.jpg").convert("L"), ".jpg")
    _replace(train_sketch / "M2-010-01-sz1.jpg", Image.open(train_sketch / "M2-010-01-sz1.jpg").convert("RGB").resize((100, 125)), ".jpg")
    _replace(test_sketch / "f-015-01-sz1.jpg", Image.open(test_sketch / "f-015-01-sz1.jpg").convert("LA"), ".png")
    expected = {
        "f-001-01.jpg": "corrupt image",
        "F2-001-01-sz1.jpg": "partner unusable",
        "M2-002-01-sz1.jpg": "empty file",
        "m-002-01.jpg": "partner unusable",
        "f-003-01.jpg": "not an image",
        "F2-003-01-sz1.jpg": "partner unusable",
        "m-004-01.jpg": "duplicate identity key",
        "m-004-01.png": "duplicate identity key",
        "M2-004-01-sz1.jpg": "unpaired",
        "F2-099-01-sz1.jpg": "unpaired",
        "f-013-01.png": "corrupt image",
        "f-013-01-sz1.jpg": "partner unusable",
        "m-014-01-sz1.png": "too large",
        "m-014-01.jpg": "partner unusable",
    }
    expected |= {name: "duplicate identity key" for name in ("f-005-01.jpg", "F2-005-01-sz1.jpg", "f-005-01-sz1.jpg")}
    return expected


@pytest.fixture(scope="module")
def faulty_data(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    root = tmp_path_factory.mktemp("faulty")
    return root, write_faulty_dataset(root)


def test_unusable_files_are_skipped_by_name_and_training_goes_on(
    faulty_data: tuple[Path, dict[str, str]], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    root, expected = faulty_data
    run = tmp_path / "run"
    cfg = compose_train(run, "data=cuhk", f"data.root={root}", "data.image_size=32", "data.batch_size=4", "data.min_pairs=5", *QUIET, "trainer.max_epochs=1")
    summary = train(cfg)
    skipped = json.loads((run / "skipped.json").read_text())
    # f-005-01 leaks across splits: its train photo, train sketch and test photo+sketch are all named (4 entries, 3 names)
    assert {Path(entry["file"]).name: entry["problem"] for entry in skipped} == expected
    assert len(skipped) == len(expected) + 1
    assert all(entry["detail"] for entry in skipped)
    assert summary["status"] == "completed" and summary["num_skipped_files"] == len(skipped)
    assert summary["num_train"] + summary["num_val"] == 7 and summary["num_test"] == 4  # the convertible images are used
    assert "m-014-01-sz1.png: too large: 6000x6000 = 36000000 pixels is over data.max_image_pixels=25000000" in caplog.text
    assert all(name in caplog.text for name in expected)


def test_a_split_left_without_usable_pairs_is_named(tmp_path: Path) -> None:
    from face2sketch.data import FolderPairsDataModule

    write_synthetic_dataset(tmp_path, num_train=4, num_test=2, layout="cuhk_release")
    for photo in (tmp_path / "Testing photo").iterdir():
        photo.write_bytes(b"")
    with pytest.raises(DataError, match="no usable pair is left in the test folders"):
        FolderPairsDataModule(root=str(tmp_path), image_size=16, min_pairs=1).setup()


def test_convertible_images_are_converted_not_clipped(tmp_path: Path) -> None:
    wide = np.array([[0, 32896, 65535]], dtype=np.uint16)
    Image.fromarray(wide).save(tmp_path / "wide.png")
    assert Image.open(tmp_path / "wide.png").mode.startswith("I")
    assert decode_image(tmp_path / "wide.png", "L").tolist() == [[0, 128, 255]]
    transparent = Image.new("RGBA", (2, 1), (0, 0, 0, 0))
    transparent.putpixel((1, 0), (10, 20, 30, 255))
    transparent.save(tmp_path / "alpha.png")
    assert decode_image(tmp_path / "alpha.png", "RGB").tolist() == [[[255, 255, 255], [10, 20, 30]]]
    palette = Image.new("RGB", (1, 1), (200, 40, 40)).convert("P")
    palette.save(tmp_path / "palette.png")
    assert decode_image(tmp_path / "palette.png", "RGB").shape == (1, 1, 3)
    write_png_header_only(tmp_path / "bomb.png", 100_000, 100_000)
    with pytest.raises(UnusableImage, match="too large"):
        decode_image(tmp_path / "bomb.png", "L")
