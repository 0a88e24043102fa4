"""A hand-drawn studio photo whose person mask is known exactly, and its sketch: inputs for the real-world tests."""

from __future__ import annotations

import cv2
import numpy as np

BACKDROP = (114, 205, 250)  # CUHK's light blue (RGB)


def studio_pair(height: int = 240, width: int = 192) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(photo HxWx3, sketch HxW, true person mask HxW bool): a head, hair and shirt on a light-blue backdrop that
    darkens towards the bottom as CUHK's does, and a pencil-like drawing of the same shapes on white."""
    photo = np.empty((height, width, 3), np.uint8)
    shade = np.linspace(1.0, 0.55, height)[:, None, None]
    photo[:] = np.clip(np.array(BACKDROP, np.float32) * shade, 0, 255).astype(np.uint8)
    person = np.zeros((height, width), np.uint8)
    centre = (width // 2, int(height * 0.42))
    cv2.ellipse(person, centre, (width // 5, height // 4), 0, 0, 360, 1, -1)
    cv2.rectangle(person, (width // 6, int(height * 0.72)), (width - width // 6, height - 1), 1, -1)
    inside = person.astype(bool)
    photo[inside] = (225, 180, 150)  # skin
    hair = np.zeros_like(person)
    cv2.ellipse(hair, (centre[0], centre[1] - height // 10), (width // 5 + 2, height // 6), 0, 180, 360, 1, -1)
    photo[hair.astype(bool)] = (40, 30, 25)
    photo[int(height * 0.72) :][inside[int(height * 0.72) :]] = (200, 40, 40)  # a red shirt
    inside |= hair.astype(bool)
    grain = np.random.default_rng(0).normal(0.0, 4.0, photo.shape)
    photo = np.clip(photo + grain, 0, 255).astype(np.uint8)  # a camera's grain: nothing in a photo is perfectly flat
    sketch = np.full((height, width), 250, np.uint8)
    outline = cv2.Canny(inside.astype(np.uint8) * 255, 50, 150) > 0
    sketch[cv2.dilate(outline.astype(np.uint8), np.ones((2, 2), np.uint8)) > 0] = 40
    sketch[hair.astype(bool)] = 90  # shaded hair
    return photo, sketch, inside
