"""Training that varies what CUHK never varied: backgrounds, light, camera, pose, paper and pencil.

CUHK has one blue backdrop, one light, upright eye-aligned faces and one pencil style; a model trained on it alone
loses up to a quarter of its quality on the photos and sketches users bring. :class:`RealWorldAugmentation` is
applied to each training pair (``data.augmentation``, selected by ``augmentation=real_world``):

- geometry, identical on photo, sketch and mask: a mirror image, rotation, scale and shift;
- a face photo as input (f2sk): the person composited onto another background through the photo's foreground mask,
  then colour casts, gamma, brightness ramps, contrast, greyscale, blur, noise and JPEG (albumentations);
- a sketch as input (sk2f): toned and textured paper, a photographed sheet's light fall-off, a faint or heavy
  pencil, line drawings without shading derived from the sketch, blur and JPEG.

Only the input is degraded; the target (the sketch of f2sk, the photo of sk2f) keeps its own paper or backdrop and
only follows the geometry. Each sample's draws come from its augmentation seed, so a resumed run sees the same pairs.
"""

from __future__ import annotations

from collections.abc import Sequence

import albumentations as A
import cv2
import numpy as np

from face2sketch.realworld import sketch_styles
from face2sketch.realworld.backgrounds import random_background
from face2sketch.realworld.foreground import composite


def photo_camera_transforms() -> A.Compose:
    """Light and camera, on a photo input: what a phone under other light does to a picture."""
    return A.Compose(
        [
            A.OneOf(
                [
                    A.PlanckianJitter(mode="blackbody", temperature_limit=(3000, 12000), p=1.0),
                    A.RGBShift(r_shift_limit=30, g_shift_limit=20, b_shift_limit=30, p=1.0),
                    A.HueSaturationValue(hue_shift_limit=8, sat_shift_limit=(-40, 20), val_shift_limit=0, p=1.0),
                ],
                p=0.5,
            ),
            A.RandomGamma(gamma_limit=(55, 180), p=0.4),
            A.RandomBrightnessContrast(brightness_limit=0.35, contrast_limit=0.35, p=0.5),
            A.OneOf(
                [
                    A.Illumination(mode="linear", intensity_range=(0.05, 0.2), effect_type="both", p=1.0),
                    A.Illumination(mode="corner", intensity_range=(0.05, 0.2), effect_type="darken", p=1.0),
                    A.Illumination(mode="gaussian", intensity_range=(0.05, 0.2), effect_type="both", p=1.0),
                ],
                p=0.4,
            ),
            A.ToGray(p=0.2),
            A.OneOf(
                [
                    A.GaussianBlur(blur_limit=(3, 7), p=1.0),
                    A.Defocus(radius=(1, 3), p=1.0),
                    A.MotionBlur(blur_limit=(3, 7), p=1.0),
                    A.Downscale(scale_range=(0.3, 0.7), p=1.0),
                ],
                p=0.3,
            ),
            A.OneOf([A.GaussNoise(std_range=(0.01, 0.06), p=1.0), A.ISONoise(p=1.0)], p=0.35),
            A.ImageCompression(quality_range=(10, 90), p=0.35),
        ]
    )


def brightness_ramp(photo: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Light from one side, stronger than albumentations' Illumination allows: a soft step from shadow to light
    across the picture in a random direction (a window beside the person)."""
    height, width = photo.shape[:2]
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
    angle = rng.uniform(0.0, 2 * np.pi)
    across = np.cos(angle) * (xs / width - 0.5) + np.sin(angle) * (ys / height - 0.5)
    dark, bright = rng.uniform(0.3, 0.9), rng.uniform(1.0, 1.3)
    field = dark + (bright - dark) / (1.0 + np.exp(-across * rng.uniform(4.0, 14.0)))
    return np.clip(photo.astype(np.float32) * field[..., None] + 0.5, 0, 255).astype(np.uint8)


def exposure(photo: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Another exposure and tone curve, wider than albumentations' brightness and gamma ranges: a gain of 0.3 to 1.7
    (a dim room to a flash), a gamma of 0.5 to 1.8 and the contrast flattened or raised about the mean."""
    gain, gamma = np.exp(rng.uniform(np.log(0.3), np.log(1.7))), np.exp(rng.uniform(np.log(0.5), np.log(1.8)))
    toned = (photo.astype(np.float32) / 255.0 * gain).clip(0.0, 1.0) ** gamma
    contrast = rng.uniform(0.5, 1.25)
    return np.clip((toned.mean() + (toned - toned.mean()) * contrast) * 255.0 + 0.5, 0, 255).astype(np.uint8)


class RealWorldAugmentation:
    """The pair-level augmentation of ``augmentation=real_world``; ``data.augmentation`` holds one.

    ``p_*`` are the probabilities of each stage; a stage's strength is drawn within its range. Call :meth:`bind`
    with the training photos before use, so that blurred pieces of them can serve as backgrounds.
    """

    def __init__(
        self,
        p_flip: float = 0.5,
        p_geometry: float = 0.6,
        max_rotation: float = 15.0,
        scale: Sequence[float] = (0.85, 1.15),
        max_shift: float = 0.08,
        p_background: float = 0.8,
        p_dark_background: float = 0.25,
        p_camera: float = 0.8,
        p_side_light: float = 0.3,
        p_exposure: float = 0.5,
        p_sketch_paper: float = 0.6,
        p_line_drawing: float = 0.45,
        p_pencil_weight: float = 0.5,
        p_sketch_jpeg: float = 0.3,
        p_sketch_blur: float = 0.2,
    ) -> None:
        self.p_flip, self.p_geometry, self.max_rotation = p_flip, p_geometry, max_rotation
        self.scale, self.max_shift = (float(scale[0]), float(scale[1])), max_shift
        self.p_background, self.p_camera, self.p_side_light, self.p_exposure = p_background, p_camera, p_side_light, p_exposure
        self.p_dark_background = p_dark_background
        self.p_sketch_paper, self.p_line_drawing, self.p_pencil_weight = p_sketch_paper, p_line_drawing, p_pencil_weight
        self.p_sketch_jpeg, self.p_sketch_blur = p_sketch_jpeg, p_sketch_blur
        self.camera = photo_camera_transforms()
        self.pictures: list[np.ndarray] = []

    def bind(self, pictures: Sequence[np.ndarray]) -> None:
        """The pictures (training photos, uint8 RGB) whose blurred pieces may stand behind a person."""
        self.pictures = list(pictures)

    # -- the stages ------------------------------------------------------------------------------------
    def geometry(self, images: Sequence[np.ndarray], fills: Sequence[float], rng: np.random.Generator) -> tuple[list[np.ndarray], np.ndarray | None]:
        """The same mirror, rotation, scale and shift on every image, each filled with its ``fill`` outside the picture;
        and where the picture still is (uint8, 255 inside), or None when nothing was moved out of it."""
        height, width = images[0].shape[:2]
        images = [np.ascontiguousarray(image[:, ::-1]) for image in images] if rng.uniform() < self.p_flip else list(images)
        if rng.uniform() >= self.p_geometry:
            return images, None
        angle, zoom = rng.uniform(-self.max_rotation, self.max_rotation), rng.uniform(*self.scale)
        matrix = np.asarray(cv2.getRotationMatrix2D((width / 2, height / 2), angle, zoom), dtype=np.float64)
        matrix[:, 2] += rng.uniform(-self.max_shift, self.max_shift, 2) * (width, height)

        def warp(image: np.ndarray, fill: float) -> np.ndarray:
            # the fill in every channel: OpenCV reads a single number as (fill, 0, 0, 0)
            warped = cv2.warpAffine(image, matrix, (width, height), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=(fill,) * 4)
            return warped.reshape(image.shape)

        inside = warp(np.full((height, width), 255, np.uint8), 0.0)
        return [warp(image, fill) for image, fill in zip(images, fills, strict=True)], inside

    def photo_input(self, photo: np.ndarray, mask: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Another background behind the person, then another camera and light."""
        if rng.uniform() < self.p_background:
            photo = composite(photo, mask, random_background(rng, photo.shape[:2], self.pictures, self.p_dark_background))
        if rng.uniform() < self.p_exposure:
            photo = exposure(photo, rng)
        if rng.uniform() < self.p_side_light:
            photo = brightness_ramp(photo, rng)
        if rng.uniform() < self.p_camera:
            self.camera.set_random_seed(int(rng.integers(2**31)))
            photo = self.camera(image=photo)["image"]
        return photo

    def sketch_input(self, sketch: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Other pencils, paper and light on a HxW grayscale sketch."""
        if rng.uniform() < self.p_line_drawing:
            sketch = sketch_styles.line_drawing(sketch, rng)
        elif rng.uniform() < self.p_pencil_weight:
            sketch = sketch_styles.pencil_weight(sketch, rng)
        if rng.uniform() < self.p_sketch_paper:
            sketch = sketch_styles.paper_tone(sketch, rng) if rng.uniform() < 0.6 else sketch
            sketch = sketch_styles.paper_texture(sketch, rng) if rng.uniform() < 0.5 else sketch
            sketch = sketch_styles.light_falloff(sketch, rng) if rng.uniform() < 0.5 else sketch
        if rng.uniform() < self.p_sketch_blur:
            sketch = cv2.GaussianBlur(sketch, (0, 0), rng.uniform(0.5, 1.5))
        if rng.uniform() < self.p_sketch_jpeg:
            sketch = sketch_styles.jpeg(sketch, int(rng.integers(10, 90)))
        return sketch

    # -- one training pair -----------------------------------------------------------------------------
    def __call__(self, photo: np.ndarray, sketch: np.ndarray, mask: np.ndarray, source_kind: str, seed: int) -> tuple[np.ndarray, np.ndarray]:
        """(photo, sketch) of one training pair at model resolution (HxWx3, HxWxC uint8; ``mask`` HxW, 255 = person),
        augmented for a model whose input is ``source_kind``; the same ``seed`` gives the same pair."""
        rng = np.random.default_rng(seed)
        paper = float(np.median(np.concatenate([sketch[0].reshape(-1), sketch[-1].reshape(-1)])))
        backdrop = np.median(photo[mask < 128], axis=0) if (mask < 128).any() else np.full(3, 255.0)
        (photo, sketch, mask), inside = self.geometry([photo, sketch, mask], [0.0, paper, 0.0], rng)
        if inside is not None:  # the studio's backdrop continues where the picture was moved away
            photo = composite(photo, inside, np.broadcast_to(backdrop.astype(np.uint8), photo.shape).copy())
        if source_kind == "photo":
            return self.photo_input(photo, mask, rng), sketch
        gray = self.sketch_input(np.ascontiguousarray(sketch[..., 0]), rng)
        return photo, np.repeat(gray[..., None], sketch.shape[2], axis=2)
