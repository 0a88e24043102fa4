"""Clips made from one face photo, with the truth known frame by frame: a still face with a camera's sensor noise, a
face that pans, zooms and tilts with a change of light, and a face that leaves the frame and comes back. Where the
photo's eyes are in every frame is known from how it was placed, so following can be measured against it."""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

from face2sketch.realworld.backgrounds import smooth_noise

CLIP_KINDS = ("still", "moving", "leaving")


@dataclass(frozen=True)
class Clip:
    """The frames (uint8 RGB), their rate, and for each frame the 2x3 transform that placed the photo into it (None
    where the photo is out of the frame)."""

    frames: list[np.ndarray]
    fps: float
    placements: list[np.ndarray | None]


def placement(photo_size: tuple[int, int], frame_size: tuple[int, int], scale: float, turn: float, shift: tuple[float, float]) -> np.ndarray:
    """The transform putting a photo's centre at the frame's centre plus ``shift``, scaled and turned (degrees)."""
    centre = (photo_size[0] / 2, photo_size[1] / 2)
    transform = cv2.getRotationMatrix2D(centre, turn, scale)
    transform[:, 2] += np.array([frame_size[0] / 2 + shift[0] - centre[0], frame_size[1] / 2 + shift[1] - centre[1]])
    return transform


def motion(kind: str, t: float, size: tuple[int, int]) -> tuple[float, float, tuple[float, float], float]:
    """(scale, turn in degrees, shift, light gain) at ``t`` in [0, 1] of a clip of ``kind``."""
    if kind == "still":
        return 1.0, 0.0, (0.0, 0.0), 1.0
    if kind == "moving":
        wave = math.sin(2 * math.pi * t)
        return 1.0 + 0.2 * math.sin(math.pi * t), 15.0 * wave, (0.18 * size[0] * wave, 0.06 * size[1] * math.sin(4 * math.pi * t)), 0.8 + 0.4 * t
    # leaving: out to the right over 30 % of the clip, out of the frame for the next 30 %, back over the next 30 %
    out = min(1.0, max(0.0, (0.45 - abs(t - 0.5)) / 0.3))
    return 1.0, 0.0, (out * 1.2 * size[0], 0.0), 1.0


def make_clip(photo: np.ndarray, kind: str, size: tuple[int, int] = (640, 480), seconds: float = 3.0, fps: float = 25.0, seed: int = 0) -> Clip:
    """A clip of ``kind`` (``CLIP_KINDS``) of ``photo`` at ``size`` (width, height), its face about 40 % of the height."""
    rng = np.random.default_rng(seed)
    background = (smooth_noise(rng, (size[1], size[0]), 6)[..., None] * np.array([90.0, 110.0, 100.0]) + 70.0).astype(np.float32)
    base = 0.8 * size[1] / photo.shape[0]
    frames, placements = [], []
    count = max(1, round(seconds * fps))
    for index in range(count):
        scale, turn, shift, gain = motion(kind, index / max(1, count - 1), size)
        transform = placement((photo.shape[1], photo.shape[0]), size, base * scale, turn, shift)
        mask = cv2.warpAffine(np.ones(photo.shape[:2], np.float32), transform, size)[..., None]
        placed = cv2.warpAffine(photo.astype(np.float32), transform, size, flags=cv2.INTER_LINEAR)
        frame = (background * (1 - mask) + placed * mask) * gain + rng.normal(0.0, 3.0, (size[1], size[0], 3))
        frames.append(np.clip(frame + 0.5, 0, 255).astype(np.uint8))
        inside = mask[..., 0].mean() > 0.05
        placements.append(transform if inside else None)
    return Clip(frames, fps, placements)
