"""Reading the pictures users have, not just CUHK's JPEGs: any PIL format, EXIF orientation, alpha, palettes, 16 bit.

Everything ends as a uint8 RGB (HxWx3) array, as upright as the viewer showed it; a sketch input is
then converted to grayscale exactly as the training data's sketches were (PIL's 'L').
"""

from __future__ import annotations

import io
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

import cv2
import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from face2sketch.core.errors import ConfigError, DataError

if TYPE_CHECKING:
    import torch

# decompression-bomb guard: PIL warns above ~89 M pixels; refuse beyond this many
MAX_PIXELS = 100_000_000
WHITE = (255, 255, 255)


def to_8_bit_opaque(image: Image.Image) -> Image.Image:
    """An 8-bit image without alpha: wide grayscale ('I;16', 'I', 'F') scaled, not clipped at 255 as PIL's convert()
    does (which would whiten it), and transparency composited on white paper. Training data and users' pictures both
    go through here."""
    if image.mode.startswith("I") or image.mode == "F":
        values = np.asarray(image, dtype=np.float64)
        highest = values.max(initial=0)
        wide = image.mode.startswith("I;16") or highest > 255
        peak = 1.0 if image.mode == "F" and highest <= 1.0 else (65535.0 if wide else 255.0)
        return Image.fromarray(np.clip(values * (255.0 / peak) + 0.5, 0, 255).astype(np.uint8), "L")
    palette_alpha = image.mode == "P" and image.palette is not None and image.palette.mode == "RGBA"
    if image.mode in ("RGBA", "LA", "PA", "RGBa", "La") or palette_alpha or (image.mode in ("1", "P", "L", "RGB") and "transparency" in image.info):
        rgba = (image.convert("LA") if image.mode == "La" else image).convert("RGBA")  # PIL converts La to LA only
        return Image.alpha_composite(Image.new("RGBA", rgba.size, WHITE + (255,)), rgba).convert("RGB")
    return image


def normalise_image(image: Image.Image) -> np.ndarray:
    """An opened PIL image as upright uint8 RGB; transparency is composited on white."""
    return np.asarray(to_8_bit_opaque(ImageOps.exif_transpose(image)).convert("RGB"))


class UnusableImage(DataError):
    """A file that cannot be used as an image: ``problem`` is the short category skipped.json and logs group by."""

    def __init__(self, problem: str, detail: str) -> None:
        super().__init__(f"{problem} ({detail})")
        self.problem, self.detail = problem, detail


def check_pixel_count(width: int, height: int, max_pixels: int | None = None, limit_name: str = "the pixel limit") -> None:
    """The one pixel limit (``MAX_PIXELS`` unless a reader sets its own): a picture over it is an UnusableImage."""
    limit = MAX_PIXELS if max_pixels is None else max_pixels
    if width * height > limit:
        raise UnusableImage("too large", f"{width}x{height} = {width * height} pixels is over {limit_name}={limit}")


def decode_image(
    path: str | Path | bytes, mode: str = "RGB", max_pixels: int | None = None, limit_name: str = "the limit", upright: bool = False
) -> np.ndarray:
    """The one image decoder: a file (or the bytes of one, as a request body brings them) as a uint8 array in PIL
    ``mode`` ('RGB' or 'L'), converted explicitly (CUHK stores some sketches as RGB and some as L), else an
    UnusableImage. The pixel count is checked from the header, before anything is decompressed; ``upright`` applies
    the EXIF orientation (users' pictures, not training data)."""
    if isinstance(path, bytes):
        if not path:
            raise UnusableImage("empty file", "0 bytes")
        source: Path | io.BytesIO = io.BytesIO(path)
    else:
        source = Path(path)
        if not source.is_file():
            raise UnusableImage("not a file", str(source))
        if source.stat().st_size == 0:
            raise UnusableImage("empty file", "0 bytes")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)  # ``max_pixels`` decides
            with Image.open(source) as image:
                check_pixel_count(*image.size, max_pixels, limit_name)
                image.load()
                return np.asarray(to_8_bit_opaque(ImageOps.exif_transpose(image) if upright else image).convert(mode))
    except Image.DecompressionBombError as err:
        raise UnusableImage("too large", str(err)) from None
    except UnidentifiedImageError:
        raise UnusableImage("not an image", "not a format PIL can read, or corrupt") from None
    except (OSError, SyntaxError, ValueError) as err:
        raise UnusableImage("corrupt image", f"decoding failed: {type(err).__name__}: {err}") from None


def read_image(path: str | Path | bytes) -> np.ndarray:
    """A user's picture file (or its bytes) as upright uint8 RGB, or an UnusableImage (a DataError) whose message is the
    reason."""
    return decode_image(path, "RGB", None, "the pixel limit", upright=True)


def to_source_kind(image: np.ndarray, kind: str) -> np.ndarray:
    """An RGB array as the model's input kind: RGB for photos, PIL 'L' grayscale (HxW) for sketches, as training decoded them."""
    if kind == "photo":
        return image
    return np.asarray(Image.fromarray(image, "RGB").convert("L"))


# -- images at the model's size -------------------------------------------------------------------------
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


def model_input(image: np.ndarray, value_range: tuple[float, float]) -> np.ndarray:
    """HxWxC uint8 -> CxHxW float32 scaled to ``value_range``: what every model is fed (``tensors.to_tensor`` wraps it)."""
    low, high = value_range
    planes = np.ascontiguousarray(image.transpose(2, 0, 1), dtype=np.float32) / np.float32(255.0)
    return planes * np.float32(high - low) + np.float32(low)


ImageArray = TypeVar("ImageArray", np.ndarray, "torch.Tensor")


def to_unit_range(images: ImageArray, value_range: tuple[float, float]) -> ImageArray:
    """The one [0, 1] mapping: float images (or raw network outputs) from ``value_range`` to [0, 1], clamped (a linear
    head's output can leave its range). Arrays and tensors alike: ``unit_range_array`` and ``tensors.unit_range``."""
    low, high = value_range
    return ((images - low) / (high - low)).clip(0.0, 1.0)


def unit_range_array(images: np.ndarray, value_range: tuple[float, float]) -> np.ndarray:
    """Network outputs mapped to [0, 1] as float32 (what a translator returns)."""
    return to_unit_range(images.astype(np.float32), value_range)


def dihedral(images: ImageArray, rotations: int, flip: bool) -> ImageArray:
    """One of the 8 symmetries of the square: ``rotations`` quarter turns, then a horizontal flip if ``flip``.

    On an HxW[xC] array (the paper protocol's static copies) or on ...xHxW tensors (training batches turned on the
    training device); both turn the same way.
    """
    if isinstance(images, np.ndarray):
        turned_array = np.rot90(images, rotations, axes=(0, 1))
        return np.ascontiguousarray(turned_array[:, ::-1] if flip else turned_array)
    turned = images.rot90(rotations, dims=(-2, -1)) if rotations % 4 else images  # a tensor: turned where it lies
    return turned.flip(-1) if flip else turned


# -- finishing predictions --------------------------------------------------------------------------------
def resize_planes(prediction: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """A CxHxW [0, 1] float prediction resized (bicubic) to ``size`` = (height, width) and clamped; unchanged if already
    that size. The one resizer of predictions: ``tensors.resize_prediction`` runs it on tensors."""
    if tuple(prediction.shape[-2:]) == tuple(size):
        return prediction
    height, width = size
    resized = cv2.resize(np.ascontiguousarray(prediction.transpose(1, 2, 0)), (width, height), interpolation=cv2.INTER_CUBIC)
    resized = resized[..., None] if resized.ndim == 2 else resized
    return np.clip(resized, 0.0, 1.0).transpose(2, 0, 1)


def to_uint8(image: np.ndarray) -> np.ndarray:
    """A CxHxW [0, 1] float array as an 8-bit HxW (1 channel) or HxWx3 array, rounded to the nearest grey level."""
    array = (np.clip(image, 0.0, 1.0) * np.float32(255.0) + np.float32(0.5)).astype(np.uint8).transpose(1, 2, 0)
    return np.ascontiguousarray(array[..., 0] if array.shape[2] == 1 else array)
