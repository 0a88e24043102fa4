"""Reading the pictures users have, not just CUHK's JPEGs: any PIL format, EXIF orientation, alpha, palettes, 16 bit.

Everything ends as a uint8 RGB (HxWx3) array, as upright as the viewer showed it; a sketch input is
then converted to grayscale exactly as the training data's sketches were (PIL's 'L').
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from face2sketch.errors import DataError

# decompression-bomb guard: PIL warns above ~89 M pixels; refuse beyond this many
MAX_PIXELS = 100_000_000
WHITE = (255, 255, 255)


def to_8_bit_opaque(image: Image.Image) -> Image.Image:
    """An 8-bit image without alpha: wide grayscale ('I;16', 'I', 'F') scaled, not clipped at 255 as PIL's convert()
    does (which would whiten it), and transparency composited on white paper. Training data and users' pictures both
    go through here."""
    if image.mode.startswith("I") or image.mode == "F":
        values = np.asarray(image, dtype=np.float64)
        if image.mode == "F" and values.max(initial=0) <= 1.0:
            peak = 1.0
        else:
            peak = 65535.0 if image.mode.startswith("I;16") or values.max(initial=0) > 255 else 255.0
        return Image.fromarray(np.clip(values * (255.0 / peak) + 0.5, 0, 255).astype(np.uint8), "L")
    if image.mode in ("RGBA", "LA", "PA", "RGBa", "La") or (image.mode in ("P", "L", "RGB") and "transparency" in image.info):
        rgba = image.convert("RGBA")
        return Image.alpha_composite(Image.new("RGBA", rgba.size, WHITE + (255,)), rgba).convert("RGB")
    return image


def normalise_image(image: Image.Image) -> np.ndarray:
    """An opened PIL image as upright uint8 RGB; transparency is composited on white."""
    return np.asarray(to_8_bit_opaque(ImageOps.exif_transpose(image)).convert("RGB"))


def read_image(path: str | Path) -> np.ndarray:
    """A picture file as uint8 RGB, or a DataError whose message is the reason it cannot be used."""
    path = Path(path)
    if not path.is_file():
        raise DataError("not a file")
    if path.stat().st_size == 0:
        raise DataError("empty file (0 bytes)")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(path) as image:
                if image.width * image.height > MAX_PIXELS:
                    raise DataError(f"image too large ({image.width}x{image.height} pixels; the limit is {MAX_PIXELS:,})")
                image.load()
                return normalise_image(image)
    except UnidentifiedImageError:
        raise DataError("not an image PIL can read (unknown or corrupt format)") from None
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError, Image.DecompressionBombWarning) as err:
        raise DataError(f"cannot decode the image ({type(err).__name__}: {err})") from None


def to_source_kind(image: np.ndarray, kind: str) -> np.ndarray:
    """An RGB array as the model's input kind: RGB for photos, PIL 'L' grayscale (HxW) for sketches, as training decoded them."""
    if kind == "photo":
        return image
    return np.asarray(Image.fromarray(image, "RGB").convert("L"))
