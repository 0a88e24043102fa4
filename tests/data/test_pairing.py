"""Pairs are found by identity key in every supported layout, and problems are named."""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from face2sketch.core.errors import DataError
from face2sketch.data import find_pairs, photo_key, sketch_key
from face2sketch.data.synthetic import write_synthetic_dataset


@pytest.mark.parametrize(
    ("name", "key"),
    [
        ("F2-005-01-sz1.jpg", "f-005-01"),
        ("M2-063-01-sz1.jpg", "m-063-01"),
        ("f-039-01-sz1.jpg", "f-039-01"),
        ("f1-001-01-sz1.jpg", "f1-001-01"),
        ("m1-041-01-sz1.jpg", "m1-041-01"),
        ("f-005-01.jpg", "f-005-01"),
    ],
)
def test_sketch_keys_follow_cuhk_naming(name: str, key: str) -> None:
    assert sketch_key(Path(name)) == key


def test_photo_keys_are_lower_cased_stems() -> None:
    assert photo_key(Path("F1-001-01.JPG")) == "f1-001-01"


@pytest.mark.parametrize("layout", ["cuhk_release", "split_subfolders", "flat"])
def test_every_layout_pairs_by_key(tmp_path: Path, layout: str) -> None:
    write_synthetic_dataset(tmp_path, num_train=5, num_test=3, layout=layout, seed=1)
    pairs = find_pairs(tmp_path)
    assert len(pairs) == 8
    for pair in pairs:
        assert photo_key(pair.photo) == sketch_key(pair.sketch) == pair.key
    splits = {p.split for p in pairs}
    assert splits == ({None} if layout == "flat" else {"train", "test"})
    if layout != "flat":
        assert sum(p.split == "train" for p in pairs) == 5


def test_pairing_ignores_sort_order_and_names_unpaired_files(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    write_synthetic_dataset(tmp_path, num_train=3, num_test=0, layout="flat", seed=2)
    # an extra photo that sorts first and an extra sketch that sorts last would shift a sort-order pairing
    Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(tmp_path / "photos" / "a-000-01.jpg")
    Image.fromarray(np.zeros((8, 8), np.uint8)).save(tmp_path / "sketches" / "z-999-01-sz1.jpg")
    with caplog.at_level(logging.WARNING):
        pairs = find_pairs(tmp_path)
    assert [p.key for p in pairs] == ["f-001-01", "f-003-01", "m-002-01"]
    assert all(photo_key(p.photo) == sketch_key(p.sketch) for p in pairs)
    assert "a-000-01.jpg" in caplog.text and "z-999-01-sz1.jpg" in caplog.text


def test_zero_pairs_is_an_error(tmp_path: Path) -> None:
    write_synthetic_dataset(tmp_path, num_train=2, num_test=0, layout="flat", seed=3)
    for sketch in (tmp_path / "sketches").iterdir():
        sketch.rename(sketch.with_name("x" + sketch.name))
    with pytest.raises(DataError, match="no photo/sketch pairs"):
        find_pairs(tmp_path)


def test_missing_root_names_folder_layouts_source_and_synthetic(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere"
    with pytest.raises(DataError) as err:
        find_pairs(missing)
    message = str(err.value)
    assert str(missing) in message and "Training photo" in message and "photos/" in message
    assert "cuhk.edu.hk" in message and "data=synthetic" in message and "\n" not in message


def test_unknown_layout_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "images").mkdir()
    with pytest.raises(DataError, match="no known data layout"):
        find_pairs(tmp_path)


def test_real_cuhk_names_pair_completely(cuhk_root: Path, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING):
        pairs = find_pairs(cuhk_root)
    assert len(pairs) == 188
    assert sum(p.split == "train" for p in pairs) == 88 and sum(p.split == "test" for p in pairs) == 100
    assert "no partner" not in caplog.text
    train_sketch = next(p for p in pairs if p.key == "f-005-01").sketch
    assert train_sketch.name == "F2-005-01-sz1.jpg"


def test_lower_cased_copy_of_real_data_pairs_the_same(cuhk_root: Path, tmp_path: Path) -> None:
    for folder in ("Training photo", "Training sketch", "Testing photo", "Testing sketch"):
        target = tmp_path / folder.lower()
        target.mkdir()
        for file in sorted((cuhk_root / folder).iterdir())[:5]:
            shutil.copy(file, target / file.name.lower())
    pairs = find_pairs(tmp_path)
    assert len(pairs) == 10
    assert all(photo_key(p.photo) == sketch_key(p.sketch) for p in pairs)


def test_an_unreadable_image_is_skipped_by_name_with_its_partner(tmp_path: Path) -> None:
    from face2sketch.data import FolderSource

    write_synthetic_dataset(tmp_path, num_train=2, num_test=0, layout="flat", seed=4)
    broken = tmp_path / "photos" / "f-001-01.jpg"
    broken.write_bytes(b"not a jpeg")
    pairs, skipped = FolderSource(tmp_path).load()
    assert [p.key for p in pairs] == ["m-002-01"]
    assert [(f.path.name, f.problem) for f in skipped] == [("f-001-01.jpg", "not an image"), ("f-001-01-sz1.jpg", "partner unusable")]
