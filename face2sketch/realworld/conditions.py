"""Named, seeded sets of real-world conditions: how a model does on photos and sketches as people bring them.

Each condition turns a stored CUHK input (a photo with its foreground mask, or a grayscale sketch) into the same
picture as a user might have it: another background, other light, a phone's camera, toned paper, a line drawing.
The target is never touched, so a prediction from the changed input is scored against the true target, and its
ratio to the score on the clean input says what the condition costs. The same sets make the real-conditions
validation images (validation identities only) that choose a checkpoint, and ``face2sketch.evaluate conditions=real``
reports every condition on the test split. Every condition draws from a generator seeded by (condition, example),
so a set is the same pictures on every machine and every run.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

import cv2
import numpy as np

from face2sketch.core.errors import ConfigError
from face2sketch.realworld import sketch_styles
from face2sketch.realworld.backgrounds import clutter, noise_field, random_colour, smooth_noise, stripes, to_uint8
from face2sketch.realworld.foreground import composite

# (input, foreground mask or None, generator) -> the input under the condition, same size and dtype
Condition = Callable[[np.ndarray, np.ndarray | None, np.random.Generator], np.ndarray]


def _need_mask(mask: np.ndarray | None) -> np.ndarray:
    if mask is None:
        raise ConfigError("a background condition needs the photo's foreground mask: build the condition set from decoded data")
    return mask


def _wall(photo: np.ndarray, mask: np.ndarray | None, colour: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    size = photo.shape[:2]
    shade = 1.0 + (smooth_noise(rng, size, 4) - 0.5) * 0.15
    return composite(photo, _need_mask(mask), to_uint8(colour * shade[..., None]))


def dark_wall(photo: np.ndarray, mask: np.ndarray | None, rng: np.random.Generator) -> np.ndarray:
    """In front of a dark wall or curtain (the brightest channel 5 to 30 % of white)."""
    return _wall(photo, mask, random_colour(rng, (0.05, 0.3)), rng)


def light_wall(photo: np.ndarray, mask: np.ndarray | None, rng: np.random.Generator) -> np.ndarray:
    """In front of a white, cream or pale grey wall (a passport or office photo)."""
    colour = 255.0 * rng.uniform(0.78, 0.98) * (1.0 - rng.uniform(0.0, 0.12, 3))
    return _wall(photo, mask, colour, rng)


def busy_texture(photo: np.ndarray, mask: np.ndarray | None, rng: np.random.Generator) -> np.ndarray:
    """In front of something busy and in focus: shelves and posters, or a patterned fabric."""
    size = photo.shape[:2]
    background = clutter(rng, size) if rng.uniform() < 0.6 else stripes(rng, size)
    return composite(photo, _need_mask(mask), background)


def outdoors(photo: np.ndarray, mask: np.ndarray | None, rng: np.random.Generator) -> np.ndarray:
    """Outdoors with the background out of focus: sky above, foliage and ground below, in soft blotches."""
    height, width = photo.shape[:2]
    sky = np.array([150.0, 185.0, 225.0]) * rng.uniform(0.8, 1.1)
    leaves = np.array([70.0, 110.0, 55.0]) * rng.uniform(0.6, 1.2)
    ground = np.array([120.0, 100.0, 80.0]) * rng.uniform(0.6, 1.2)
    horizon = rng.uniform(0.2, 0.5)
    ys = (np.arange(height, dtype=np.float32) / height)[:, None, None]
    blend = np.clip((ys - horizon) / 0.25, 0.0, 1.0)
    field = sky * (1.0 - blend) + leaves * blend
    field = field * (0.7 + 0.6 * smooth_noise(rng, (height, width), 6)[..., None])
    field = np.where(smooth_noise(rng, (height, width), 3)[..., None] > 0.7, ground, field)
    background = cv2.GaussianBlur(to_uint8(field), (0, 0), rng.uniform(3.0, 7.0))
    return composite(photo, _need_mask(mask), background)


def indoor_noise(photo: np.ndarray, mask: np.ndarray | None, rng: np.random.Generator) -> np.ndarray:
    """In front of a mottled, grainy indoor background (plaster, a sofa, a dim room)."""
    return composite(photo, _need_mask(mask), noise_field(rng, photo.shape[:2]))


def warm_light(photo: np.ndarray, mask: np.ndarray | None, rng: np.random.Generator) -> np.ndarray:
    """Indoors under tungsten or warm LED light: red up, blue down, a little darker."""
    gains = np.array([rng.uniform(1.05, 1.2), rng.uniform(0.92, 1.0), rng.uniform(0.6, 0.75)]) * rng.uniform(0.8, 0.95)
    return to_uint8(photo.astype(np.float32) * gains)


def cool_light(photo: np.ndarray, mask: np.ndarray | None, rng: np.random.Generator) -> np.ndarray:
    """Under fluorescent light or in shade: a blue-green cast, flatter contrast."""
    gains = np.array([rng.uniform(0.75, 0.88), rng.uniform(0.95, 1.05), rng.uniform(1.05, 1.2)])
    flat = photo.astype(np.float32) * gains
    return to_uint8(flat.mean() + (flat - flat.mean()) * rng.uniform(0.7, 0.85))


def side_light(photo: np.ndarray, mask: np.ndarray | None, rng: np.random.Generator) -> np.ndarray:
    """Light from one side (a window): one half of the face bright, the other in shadow."""
    height, width = photo.shape[:2]
    xs = np.linspace(0.0, 1.0, width, dtype=np.float32)[None, :]
    xs = xs if rng.uniform() < 0.5 else xs[:, ::-1]
    bright, dark = rng.uniform(1.05, 1.25), rng.uniform(0.3, 0.5)
    field = dark + (bright - dark) / (1.0 + np.exp(-(xs - 0.5) * rng.uniform(6.0, 12.0)))
    return to_uint8(photo.astype(np.float32) * np.broadcast_to(field, (height, width))[..., None])


def dim_and_noisy(photo: np.ndarray, mask: np.ndarray | None, rng: np.random.Generator) -> np.ndarray:
    """Low light on a small sensor: underexposed, then brightened by the camera with its noise."""
    dark = 255.0 * (photo.astype(np.float32) / 255.0 * rng.uniform(0.35, 0.5)) ** rng.uniform(0.8, 0.95)
    noisy = dark + rng.normal(0.0, rng.uniform(5.0, 10.0), photo.shape) + rng.normal(0.0, 3.0, photo.shape[:2])[..., None]
    return to_uint8(cv2.GaussianBlur(noisy.astype(np.float32), (0, 0), 0.6))


def overexposed(photo: np.ndarray, mask: np.ndarray | None, rng: np.random.Generator) -> np.ndarray:
    """A flash or a bright window: highlights clipped, shadows lifted."""
    lifted = 255.0 * (photo.astype(np.float32) / 255.0) ** rng.uniform(0.55, 0.7) * rng.uniform(1.05, 1.2)
    return to_uint8(lifted)


def black_and_white(photo: np.ndarray, mask: np.ndarray | None, rng: np.random.Generator) -> np.ndarray:
    """A black-and-white photo (the same gray in every channel)."""
    gray = cv2.cvtColor(photo, cv2.COLOR_RGB2GRAY)
    return np.repeat(gray[..., None], 3, axis=2)


def heavy_jpeg(image: np.ndarray, mask: np.ndarray | None, rng: np.random.Generator) -> np.ndarray:
    """Sent through a messenger: JPEG at quality 10 to 20."""
    return sketch_styles.jpeg(image, int(rng.integers(10, 21)))


def phone_snapshot(photo: np.ndarray, mask: np.ndarray | None, rng: np.random.Generator) -> np.ndarray:
    """All at once, as a phone takes it: another background, a colour cast, softness, noise and JPEG."""
    background = [dark_wall, light_wall, busy_texture, outdoors, indoor_noise][int(rng.integers(5))]
    light = [warm_light, cool_light, side_light][int(rng.integers(3))]
    picture: np.ndarray = light(background(photo, mask, rng), mask, rng).astype(np.float32)
    picture = cv2.GaussianBlur(picture, (0, 0), rng.uniform(0.4, 0.9)) + rng.normal(0.0, 3.0, picture.shape)
    return sketch_styles.jpeg(to_uint8(picture), int(rng.integers(40, 70)))


def scanned_paper(sketch: np.ndarray, mask: np.ndarray | None, rng: np.random.Generator) -> np.ndarray:
    """Scanned from toned, grainy paper without white balance."""
    return sketch_styles.paper_texture(sketch_styles.paper_tone(sketch, rng, (0.7, 0.85)), rng)


def photographed_sheet(sketch: np.ndarray, mask: np.ndarray | None, rng: np.random.Generator) -> np.ndarray:
    """A sheet photographed on a desk: light falling off across it, slightly soft, a phone's JPEG."""
    lit = sketch_styles.light_falloff(sketch_styles.paper_tone(sketch, rng, (0.85, 0.97)), rng, (0.5, 0.65))
    soft = cv2.GaussianBlur(lit.astype(np.float32), (0, 0), 0.7) + rng.normal(0.0, 2.5, lit.shape)
    return sketch_styles.jpeg(to_uint8(soft), int(rng.integers(55, 75)))


def pen_line_drawing(sketch: np.ndarray, mask: np.ndarray | None, rng: np.random.Generator) -> np.ndarray:
    """Outlines only, as a person draws with a pen or a mouse: no shading, unbroken strokes of one width."""
    return sketch_styles.line_drawing(sketch, rng, detector=0, coverage=rng.uniform(0.05, 0.08), width=1, broken=False)


def faint_pencil(sketch: np.ndarray, mask: np.ndarray | None, rng: np.random.Generator) -> np.ndarray:
    """A light hand with a hard pencil: every stroke at 35 to 55 % of its darkness."""
    return sketch_styles.pencil_weight(sketch, rng, (0.35, 0.55))


def heavy_pencil(sketch: np.ndarray, mask: np.ndarray | None, rng: np.random.Generator) -> np.ndarray:
    """A heavy hand with a soft pencil: strokes 1.6 to 2 times as dark, the darkest filled in."""
    return sketch_styles.pencil_weight(sketch, rng, (1.6, 2.0))


def small_and_soft(image: np.ndarray, mask: np.ndarray | None, rng: np.random.Generator) -> np.ndarray:
    """A small or out-of-focus picture: a third to a half of the resolution, enlarged again."""
    height, width = image.shape[:2]
    factor = rng.uniform(0.33, 0.5)
    small = cv2.resize(image, (max(8, round(width * factor)), max(8, round(height * factor))), interpolation=cv2.INTER_AREA)
    return cv2.resize(small, (width, height), interpolation=cv2.INTER_LINEAR)


# the conditions of each input kind, in report order; "clean" (the input as stored) comes first in every report
CONDITION_SETS: dict[str, dict[str, dict[str, Condition]]] = {
    "real": {
        "photo": {
            "dark_wall": dark_wall,
            "light_wall": light_wall,
            "busy_texture": busy_texture,
            "outdoors": outdoors,
            "indoor_noise": indoor_noise,
            "warm_light": warm_light,
            "cool_light": cool_light,
            "side_light": side_light,
            "dim_and_noisy": dim_and_noisy,
            "overexposed": overexposed,
            "black_and_white": black_and_white,
            "heavy_jpeg": heavy_jpeg,
            "small_and_soft": small_and_soft,
            "phone_snapshot": phone_snapshot,
        },
        "sketch": {
            "scanned_paper": scanned_paper,
            "photographed_sheet": photographed_sheet,
            "pen_line_drawing": pen_line_drawing,
            "faint_pencil": faint_pencil,
            "heavy_pencil": heavy_pencil,
            "heavy_jpeg": heavy_jpeg,
            "small_and_soft": small_and_soft,
        },
    }
}


def condition_set(name: str, source_kind: str) -> dict[str, Condition]:
    """The named set's conditions for inputs of ``source_kind`` ('photo' or 'sketch'), or a one-line ConfigError."""
    if name not in CONDITION_SETS:
        raise ConfigError(f"unknown condition set '{name}': use one of {', '.join(CONDITION_SETS)}")
    return CONDITION_SETS[name][source_kind]


def apply_condition(condition: str, conditions: dict[str, Condition], image: np.ndarray, mask: np.ndarray | None, seed: int, example: int) -> np.ndarray:
    """``image`` under the named condition, drawn from a generator seeded by (seed, condition, example) alone."""
    index = list(conditions).index(condition)
    rng = np.random.default_rng([seed, index, example])
    return conditions[condition](image, mask, rng)


class StoredPair(Protocol):
    """A stored photo/sketch pair as the data code holds it (``face2sketch.data.protocols.Item``)."""

    def full_resolution(self, kind: str) -> np.ndarray: ...

    def full_resolution_mask(self) -> np.ndarray: ...


def input_under_condition(pair: StoredPair, kind: str, condition: str, conditions: dict[str, Condition], seed: int, example: int) -> np.ndarray:
    """The stored ``kind`` input of ``pair`` (at its stored resolution, a photo with its foreground mask) under
    ``condition``: the one way training's validation and evaluate change an input, before it is fitted to a model."""
    mask = pair.full_resolution_mask() if kind == "photo" else None
    return apply_condition(condition, conditions, pair.full_resolution(kind), mask, seed, example)
