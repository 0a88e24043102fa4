"""The array image helpers (``pictures/images.py``) that the Python API, predict and evaluate share, against the torch
operations they stand in for, so that a picture is finished the same way with or without torch."""

from __future__ import annotations

import struct
import warnings
import zlib
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from face2sketch.core.errors import ConfigError
from face2sketch.pictures.images import (
    INTERPOLATIONS,
    UnusableImage,
    decode_image,
    dihedral,
    fit_to_model,
    interpolation_flag,
    model_input,
    normalise_image,
    read_image,
    resize_planes,
    sketch_layout,
    to_8_bit_opaque,
    to_source_kind,
    to_uint8,
    unit_range_array,
)
from face2sketch.pictures.tensors import resize_prediction, to_tensor, unit_range


@pytest.mark.parametrize("size", [(250, 200), (410, 328), (90, 70), (256, 256)])
def test_predictions_are_resized_as_torchs_bicubic_resize_would(size: tuple[int, int]) -> None:
    prediction = np.random.default_rng(0).uniform(0, 1, (3, 256, 256)).astype(np.float32)
    expected = F.interpolate(torch.from_numpy(prediction)[None], size=size, mode="bicubic", align_corners=False)[0].clamp(0, 1).numpy()
    resized = resize_planes(prediction, size)
    assert resized.shape == (3, *size) and resized.min() >= 0.0 and resized.max() <= 1.0
    assert np.abs(resized - expected).max() < 1e-4
    assert torch.equal(resize_prediction(torch.from_numpy(prediction), size), torch.from_numpy(resized))


def test_a_one_channel_prediction_keeps_its_channel_axis_when_resized() -> None:
    """Guards the channel axis OpenCV drops for one plane: the grey prediction is torch's bicubic resize, as 1xHxW."""
    sketch = np.random.default_rng(2).uniform(0, 1, (1, 64, 64)).astype(np.float32)
    expected = F.interpolate(torch.from_numpy(sketch)[None], size=(80, 60), mode="bicubic", align_corners=False)[0].clamp(0, 1).numpy()
    resized = resize_planes(sketch, (80, 60))
    assert resized.shape == (1, 80, 60) and np.abs(resized - expected).max() < 1e-4


@pytest.mark.parametrize("value_range", [(0.0, 1.0), (-1.0, 1.0)])
def test_a_picture_fed_to_a_model_and_read_back_is_the_same_picture(value_range: tuple[float, float]) -> None:
    picture = np.random.default_rng(1).integers(0, 256, (32, 24, 3), dtype=np.uint8)
    planes = model_input(picture, value_range)
    assert planes.dtype == np.float32 and planes.shape == (3, 32, 24)
    low, high = value_range  # each value is its grey level scaled: a wrong factor or offset fails here, not only a range check
    assert np.allclose(planes, picture.transpose(2, 0, 1) / 255.0 * (high - low) + low, atol=1e-6, rtol=0)
    assert np.array_equal(planes, to_tensor(picture, value_range).numpy())
    back = unit_range_array(planes, value_range)
    assert np.array_equal(back, unit_range(torch.from_numpy(planes), value_range).numpy())
    assert np.array_equal(to_uint8(back), picture)


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
def test_outputs_beyond_the_value_range_are_clamped_and_grey_levels_rounded(dtype: type) -> None:
    """Guards the offset, scale and clamp of ``unit_range_array`` and its float32 result whatever the network's dtype
    (``astype(None)`` would make float64 arrays, unlike ``unit_range``)."""
    raw = np.array([[[-3.0, -1.0, 0.0, 0.5, 1.0, 7.0]]], dtype=dtype)
    mapped = unit_range_array(raw, (-1.0, 1.0))
    assert mapped.dtype == np.float32 and mapped.tolist() == [[[0.0, 0.0, 0.5, 0.75, 1.0, 1.0]]]
    assert to_uint8(np.array([[[0.5 / 255, 1.49 / 255, 1.51 / 255]]], dtype=np.float32)).tolist() == [[1, 1, 2]]


# -- the 8 symmetries of the square ----------------------------------------------------------------------------------------
def _quarter_turn(image: np.ndarray) -> np.ndarray:
    """One counter-clockwise quarter turn written out pixel by pixel: row ``i`` of the result is column ``width - 1 - i``
    of the image, read top to bottom (the top row's last pixel ends in the top-left corner)."""
    height, width = image.shape[:2]
    return np.array([[image[row, width - 1 - column] for row in range(height)] for column in range(width)], dtype=image.dtype)


def _mirrored(image: np.ndarray) -> np.ndarray:
    """Left and right swapped, written out pixel by pixel."""
    width = image.shape[1]
    return np.array([[line[width - 1 - column] for column in range(width)] for line in image], dtype=image.dtype)


def _reference_dihedral(image: np.ndarray, rotations: int, flip: bool) -> np.ndarray:
    """The symmetry ``dihedral`` documents, composed from the hand-written steps: the quarter turns first, then the flip."""
    for _ in range(rotations % 4):
        image = _quarter_turn(image)
    return _mirrored(image) if flip else image


def test_a_quarter_turn_is_counter_clockwise_and_the_flip_comes_after_it_on_arrays_and_tensors() -> None:
    """Guards the direction of a turn (``rot90(-rotations)`` on one side) and the order of turn and flip (a flip before the
    turn on one side): the paper protocol's copies (arrays) and the in-memory batches (tensors) must be the same images."""
    picture = np.array([[1, 2, 3], [4, 5, 6]], dtype=np.uint8)
    expected = {
        (1, False): [[3, 6], [2, 5], [1, 4]],
        (0, True): [[3, 2, 1], [6, 5, 4]],
        (1, True): [[6, 3], [5, 2], [4, 1]],
        (2, False): [[6, 5, 4], [3, 2, 1]],
        (3, False): [[4, 1], [5, 2], [6, 3]],
        (3, True): [[1, 4], [2, 5], [3, 6]],
    }
    for (rotations, flip), values in expected.items():
        assert dihedral(picture, rotations, flip).tolist() == values, f"array, {rotations} quarter turns, flip {flip}"
        assert dihedral(torch.from_numpy(picture)[None, None], rotations, flip)[0, 0].tolist() == values, f"tensor, {rotations} turns, flip {flip}"
        # ...xHxW tensors of any rank turn in their last two axes (``dims=(2, -1)`` would fail on HxW and CxHxW)
        assert dihedral(torch.from_numpy(picture), rotations, flip).tolist() == values, f"HxW tensor, {rotations} turns, flip {flip}"
        assert dihedral(torch.from_numpy(picture)[None], rotations, flip)[0].tolist() == values, f"CxHxW tensor, {rotations} turns, flip {flip}"
        assert _reference_dihedral(picture, rotations, flip).tolist() == values, "the test's own reference"


@settings(max_examples=100, deadline=None)
@given(
    rotations=st.integers(0, 7),
    flip=st.booleans(),
    height=st.integers(1, 6),
    width=st.integers(1, 6),
    channels=st.sampled_from([0, 1, 3]),
    seed=st.integers(0, 2**16),
)
def test_arrays_and_tensors_turn_the_same_way_as_the_hand_written_symmetry(
    rotations: int, flip: bool, height: int, width: int, channels: int, seed: int
) -> None:
    """numpy ``dihedral`` on HxW[xC] and torch ``dihedral`` on NxCxHxW give the same pixels, and both are the reference's
    quarter turns then flip: a turn in the opposite direction or a flip before the turn on either side fails here."""
    shape = (2, height, width) + ((channels,) if channels else ())
    arrays = np.random.default_rng(seed).integers(0, 256, shape, dtype=np.uint8)
    batch = torch.from_numpy(arrays if channels else arrays[..., None]).permute(0, 3, 1, 2)
    turned_batch = dihedral(batch, rotations, flip).permute(0, 2, 3, 1).numpy()
    for array, turned in zip(arrays, turned_batch, strict=True):
        expected = _reference_dihedral(array, rotations, flip)
        assert np.array_equal(dihedral(array, rotations, flip), expected), "numpy side"
        assert np.array_equal(turned if channels else turned[..., 0], expected), "torch side"


# -- decoding, model inputs and finishing: exact values --------------------------------------------------------------------
@pytest.mark.parametrize(
    ("mode", "values", "expected"),
    [
        ("I;16", [0, 32768, 65535], [0, 128, 255]),  # 16 bit: scaled from 65535
        ("I", [0, 100, 255], [0, 100, 255]),  # 32-bit integers within 8 bits: kept
        ("I", [0, 256, 65535], [0, 1, 255]),  # 32-bit integers above 255: read as 16 bit
        ("F", [0.0, 0.5, 1.0], [0, 128, 255]),  # floats up to 1: a unit range
        ("F", [0.0, 1.5, 255.0], [0, 2, 255]),  # floats above 1: grey levels
        ("I", [0, 128, 256], [0, 0, 1]),  # the boundary: 256 is beyond 8 bits
        ("I", [0, 128, 255], [0, 128, 255]),  # and 255 within them
        ("F", [0.0, 0.5, 1.05], [0, 1, 1]),  # just above 1: grey levels, not a unit range
        ("F", [0.0, 1.45, 1.55], [0, 1, 2]),  # rounded half up
        ("I;16", [0, 255], [0, 1]),  # 16 bit is scaled from 65535 even when dark (the mode, not only the values, says wide)
        ("I;16", [65406, 65407], [254, 255]),  # white is 65535, not 65536
        ("I", [0, 70000], [0, 255]),  # beyond 16 bits: clipped to white, not wrapped around
        ("F", [-100.0, 0.0, 255.0], [0, 0, 255]),  # below black: clipped, not wrapped around
        ("F", [0.49999997, 2.0], [0, 2]),  # scaled in float64: in float32 0.5 - 2**-25 + 0.5 rounds up to 1
    ],
)
def test_wide_grey_images_are_scaled_to_8_bits_by_their_kind_of_range(mode: str, values: list, expected: list[int]) -> None:
    """Guards each branch of the scaling (65535, 255 or 1 as white) and its boundaries (``> 255``, ``<= 1.0``): a
    16-bit scan clipped to white, or a unit-range float image left black."""
    dtype = {"I;16": np.uint16, "I": np.int32, "F": np.float32}[mode]
    image = Image.fromarray(np.array([values], dtype=dtype), None if mode == "I;16" else mode)
    assert image.mode == mode
    converted = to_8_bit_opaque(image)
    assert converted.mode == "L" and np.asarray(converted).tolist() == [expected]


def test_an_empty_wide_grey_image_becomes_an_empty_8_bit_one() -> None:
    """Guards ``max(initial=0)``: the highest value of a picture without pixels is no error."""
    for mode in ("I;16", "I", "F"):
        converted = to_8_bit_opaque(Image.new(mode, (0, 0)))
        assert (converted.mode, converted.size) == ("L", (0, 0)), mode


def test_a_picture_with_transparency_is_composited_on_white_paper() -> None:
    """Guards the white under transparent pixels (a sketch drawn on a transparent canvas must not turn black)."""
    rgba = np.array([[[10, 20, 30, 255], [10, 20, 30, 0], [200, 100, 0, 128]]], dtype=np.uint8)
    opaque = np.asarray(to_8_bit_opaque(Image.fromarray(rgba, "RGBA")))
    assert opaque.tolist() == [[[10, 20, 30], [255, 255, 255], [227, 177, 127]]]


def test_every_kind_of_transparency_pillow_reads_is_composited_on_white_paper() -> None:
    """Guards the transparency PIL keeps outside an alpha band: a palette with alpha (no ``transparency`` key), a
    1-bit picture with a transparent colour, and premultiplied grey ('La', which PIL cannot convert to RGBA directly)."""
    palette = Image.new("P", (2, 1))
    palette.putpalette([10, 20, 30, 0, 200, 100, 0, 255], rawmode="RGBA")
    palette.putdata([0, 1])
    assert np.asarray(to_8_bit_opaque(palette)).tolist() == [[[255, 255, 255], [200, 100, 0]]]
    bits = Image.frombytes("1", (2, 1), bytes([0b01000000]))
    bits.info["transparency"] = 0
    assert np.asarray(to_8_bit_opaque(bits)).tolist() == [[[255, 255, 255], [255, 255, 255]]]
    grey = Image.fromarray(np.array([[[90, 255], [0, 0]]], dtype=np.uint8), "LA").convert("La")
    assert np.asarray(to_8_bit_opaque(grey)).tolist() == [[[90, 90, 90], [255, 255, 255]]]


@pytest.mark.parametrize("mode", ["LA", "PA", "RGBa", "L", "RGB", "P"])
def test_each_mode_with_transparency_is_composited_on_white_and_an_opaque_one_left_as_it_is(mode: str) -> None:
    """Guards each mode the compositing names: grey with alpha, palette with alpha, premultiplied RGB, and grey, RGB
    or palette pictures with a transparent colour (``transparency`` in their info); each transparent pixel is white."""
    ink, clear = (40, 40, 40), (200, 200, 200)
    rgba = Image.fromarray(np.array([[ink + (255,), clear + (0,)]], dtype=np.uint8), "RGBA")
    if mode == "PA":
        image = Image.new("PA", (2, 1))
        image.putpalette(list(ink + clear))
        image.putdata([(0, 255), (1, 0)])
    elif mode in ("LA", "RGBa"):
        image = rgba.convert(mode)
    else:
        image = rgba.convert("RGB").convert(mode) if mode != "P" else rgba.convert("RGB").quantize(2)
        image.info["transparency"] = image.getpixel((1, 0))
    assert image.mode == mode
    assert np.asarray(to_8_bit_opaque(image).convert("RGB")).tolist() == [[list(ink), [255, 255, 255]]]
    opaque = rgba.convert("RGB").convert(mode if mode in ("L", "RGB", "P") else "RGB")
    assert to_8_bit_opaque(opaque) is opaque


def test_a_sketch_input_is_pils_grey_and_a_photo_input_is_left_as_it_is() -> None:
    """Guards the luma weights of a sketch input (ITU-R 601-2, as the training data's sketches were decoded)."""
    colours = np.array([[[255, 0, 0], [0, 255, 0], [0, 0, 255], [255, 255, 255], [10, 20, 30]]], dtype=np.uint8)
    assert to_source_kind(colours, "sketch").tolist() == [[76, 150, 29, 255, 18]]
    assert to_source_kind(colours, "photo") is colours


def test_each_interpolation_name_is_its_opencv_flag_and_another_name_is_refused_in_one_line() -> None:
    expected = {"bilinear": cv2.INTER_LINEAR, "bicubic": cv2.INTER_CUBIC, "area": cv2.INTER_AREA, "lanczos": cv2.INTER_LANCZOS4}
    assert expected == INTERPOLATIONS and all(interpolation_flag(name) == flag for name, flag in expected.items())
    with pytest.raises(ConfigError, match="^unknown data.interpolation 'nearest': use one of bilinear, bicubic, area, lanczos$"):
        interpolation_flag("nearest")


def test_a_sketch_is_fed_as_three_identical_channels_or_one_and_a_photo_as_resized() -> None:
    """Guards the channel layout of sketches (``channels == 3``) and the size a picture is fitted to."""
    sketch = np.arange(12, dtype=np.uint8).reshape(3, 4)
    assert np.array_equal(sketch_layout(sketch, 3), np.stack([sketch] * 3, axis=2))
    assert np.array_equal(sketch_layout(sketch, 1), sketch[..., None]) and np.array_equal(sketch_layout(sketch[..., None], 1), sketch[..., None])
    rng = np.random.default_rng(4)
    photo, drawing = rng.integers(0, 256, (30, 20, 3), dtype=np.uint8), rng.integers(0, 256, (30, 20), dtype=np.uint8)
    assert np.array_equal(fit_to_model(photo, "photo", 8, "area", 1), cv2.resize(photo, (8, 8), interpolation=cv2.INTER_AREA))
    resized = cv2.resize(drawing, (8, 8), interpolation=cv2.INTER_CUBIC)
    assert np.array_equal(fit_to_model(drawing, "sketch", 8, "bicubic", 3), np.stack([resized] * 3, axis=2))
    assert np.array_equal(fit_to_model(drawing, "sketch", 8, "bicubic", 1), resized[..., None])


def test_a_prediction_becomes_a_grey_or_an_rgb_picture_by_its_channels() -> None:
    """Guards the channel handling of ``to_uint8``: one plane is an HxW picture, three an HxWx3 one."""
    planes = np.array([[[0.0, 1.0]], [[0.5, 0.25]], [[1.0, 0.0]]], dtype=np.float32)
    assert to_uint8(planes).tolist() == [[[0, 128, 255], [255, 64, 0]]]
    assert to_uint8(planes[:1]).tolist() == [[0, 255]]
    assert to_uint8(np.array([[[-0.2, 1.05, 1.3]]], dtype=np.float32)).tolist() == [[0, 255, 255]], "clipped to [0, 1] first"
    assert resize_planes(planes, (1, 2)) is planes, "a prediction already at the size is returned as it is"


def test_decoding_refuses_an_empty_file_and_a_picture_over_the_pixel_limit_at_its_boundary(tmp_path: Path) -> None:
    """Guards the empty-file check, the pixel count (width x height) and its boundary: exactly ``max_pixels`` is decoded."""
    Image.fromarray(np.full((4, 5), 7, np.uint8)).save(tmp_path / "small.png")
    assert decode_image(tmp_path / "small.png", "L", max_pixels=20).tolist() == [[7] * 5] * 4
    with pytest.raises(UnusableImage, match=r"^too large \(5x4 = 20 pixels is over the pixel limit=19\)$"):
        decode_image(tmp_path / "small.png", "L", max_pixels=19, limit_name="the pixel limit")
    (tmp_path / "empty.png").write_bytes(b"")
    with pytest.raises(UnusableImage, match=r"^empty file \(0 bytes\)$"):
        decode_image(tmp_path / "empty.png")
    (tmp_path / "one.png").write_bytes(b"x")
    with pytest.raises(UnusableImage, match="^not an image"):
        decode_image(tmp_path / "one.png")


def png_header_only(width: int, height: int) -> bytes:
    """A PNG file's signature and header with no pixel data: PIL reads its size without decompressing anything."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)) + chunk(b"IEND", b"")


def test_each_unusable_file_is_refused_with_its_problem_and_detail(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Guards the categories skipped.json groups by and the detail that tells the user which file and why."""
    refusals = []
    for path in (tmp_path / "missing.png", tmp_path):
        with pytest.raises(UnusableImage) as refused:
            decode_image(path)
        refusals.append((refused.value.problem, refused.value.detail, str(refused.value)))
    assert refusals == [
        ("not a file", str(tmp_path / "missing.png"), f"not a file ({tmp_path / 'missing.png'})"),
        ("not a file", str(tmp_path), f"not a file ({tmp_path})"),
    ]
    (tmp_path / "text.png").write_bytes(b"not a picture at all")
    with pytest.raises(UnusableImage) as refused:
        decode_image(tmp_path / "text.png")
    assert str(refused.value) == "not an image (not a format PIL can read, or corrupt)" and refused.value.problem == "not an image"
    whole = tmp_path / "whole.png"
    Image.fromarray(np.random.default_rng(0).integers(0, 256, (64, 64, 3), dtype=np.uint8)).save(whole)
    (tmp_path / "cut.png").write_bytes(whole.read_bytes()[:300])
    with pytest.raises(UnusableImage) as refused:
        decode_image(tmp_path / "cut.png")
    assert refused.value.problem == "corrupt image" and str(refused.value).startswith("corrupt image (decoding failed: OSError: ")
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 5)  # PIL's own bomb check: over twice this is an error when opened
    with pytest.raises(UnusableImage) as refused:
        decode_image(whole, max_pixels=10**6)
    message = "Image size (4096 pixels) exceeds limit of 10 pixels, could be decompression bomb DOS attack."
    assert (refused.value.problem, refused.value.detail) == ("too large", message)


def test_the_pixel_limit_is_read_from_the_header_before_decoding_and_named_in_the_refusal(tmp_path: Path) -> None:
    """Guards the limit's name in each reader's refusal: the user's pictures name the pixel limit, decode_image's
    default 'the limit'; a header claiming 120 million pixels is refused without decompressing anything."""
    (tmp_path / "huge.png").write_bytes(png_header_only(12_000, 10_000))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # PIL's bomb warning (over 89 million pixels) is silenced: the limit decides
        with pytest.raises(UnusableImage, match=r"^too large \(12000x10000 = 120000000 pixels is over the pixel limit=100000000\)$"):
            read_image(tmp_path / "huge.png")
        Image.fromarray(np.full((4, 5), 7, np.uint8)).save(tmp_path / "small.png")
        with pytest.raises(UnusableImage, match=r"^too large \(5x4 = 20 pixels is over the limit=19\)$"):
            decode_image(tmp_path / "small.png", max_pixels=19)


def test_decoding_keeps_a_pictures_stored_orientation_unless_asked_and_gives_rgb_by_default(tmp_path: Path) -> None:
    """Guards ``upright``'s default (training data is used as stored; users' pictures are turned by their EXIF
    orientation), the default RGB mode, and normalise_image (an opened picture as the API reads it)."""
    stored = np.zeros((2, 3), np.uint8)
    stored[0, 0] = 255
    exif = Image.Exif()
    exif[0x0112] = 6  # shown turned 90 degrees clockwise
    Image.fromarray(stored).save(tmp_path / "turned.png", exif=exif)
    as_stored = decode_image(tmp_path / "turned.png")
    assert as_stored.shape == (2, 3, 3) and np.array_equal(as_stored[..., 0], stored)
    upright = np.rot90(stored, -1)
    assert np.array_equal(read_image(tmp_path / "turned.png")[..., 1], upright)
    with Image.open(tmp_path / "turned.png") as opened:
        assert np.array_equal(normalise_image(opened), np.repeat(upright[..., None], 3, axis=2))
