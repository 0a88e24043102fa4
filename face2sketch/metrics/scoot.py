"""SCOOT (Fan et al. 2018), the structure co-occurrence texture score of a synthesised sketch against its drawing."""

from __future__ import annotations

import math

import numpy as np
import torch
from PIL import Image

from face2sketch.metrics.per_image import image_arrays

SCOOT_LEVELS, SCOOT_GRID = 6, 4
SCOOT_OFFSETS = ((0, 1), (-1, 1), (-1, 0), (-1, -1))  # (row, col): 0, 45, 90, 135 degrees


def to_gray_uint8(image: np.ndarray) -> np.ndarray:
    """HxW or HxWx3 (uint8 or float in [0, 1]) -> HxW uint8 with 0.2989 R + 0.5870 G + 0.1140 B, rounded half up."""
    arr = image.astype(np.float64)
    if image.dtype != np.uint8:
        arr = arr * 255.0
    if arr.ndim == 3:
        arr = arr[..., 0] * 0.2989 + arr[..., 1] * 0.5870 + arr[..., 2] * 0.1140 if arr.shape[2] == 3 else arr[..., 0]
    return np.floor(np.clip(arr, 0, 255) + 0.5).astype(np.uint8)


def scoot_features(gray: np.ndarray) -> np.ndarray:
    """The 32-d SCOOT vector of an HxW uint8 image: (contrast, energy) of each block of a 4x4 grid."""
    h, w = gray.shape
    q = np.minimum((SCOOT_LEVELS * gray.astype(np.int64)) // 255, SCOOT_LEVELS - 1)  # floor(6 I / 255), capped at 5
    row_edges = [math.floor(h * v / SCOOT_GRID) for v in range(SCOOT_GRID + 1)]
    col_edges = [math.floor(w * v / SCOOT_GRID) for v in range(SCOOT_GRID + 1)]
    row_block = np.searchsorted(row_edges, np.arange(h), side="right") - 1
    col_block = np.searchsorted(col_edges, np.arange(w), side="right") - 1
    block = row_block[:, None] * SCOOT_GRID + col_block[None, :]
    n_blocks, n_cells = SCOOT_GRID * SCOOT_GRID, SCOOT_LEVELS * SCOOT_LEVELS
    counts = np.zeros((n_blocks, n_cells), dtype=np.float64)
    for dr, dc in SCOOT_OFFSETS:
        r0, r1 = max(0, -dr), h - max(0, dr)
        c0, c1 = max(0, -dc), w - max(0, dc)
        first_block, second_block = block[r0:r1, c0:c1], block[r0 + dr : r1 + dr, c0 + dc : c1 + dc]
        inside = first_block == second_block
        code = q[r0:r1, c0:c1] * SCOOT_LEVELS + q[r0 + dr : r1 + dr, c0 + dc : c1 + dc]
        flat = first_block[inside] * n_cells + code[inside]
        counts += np.bincount(flat, minlength=n_blocks * n_cells).reshape(n_blocks, n_cells)
    averaged = np.floor(counts / len(SCOOT_OFFSETS) + 0.5)  # counts are >= 0: half away from zero
    totals = averaged.sum(axis=1, keepdims=True)
    p = np.divide(averaged, totals, out=np.zeros_like(averaged), where=totals > 0).reshape(n_blocks, SCOOT_LEVELS, SCOOT_LEVELS)
    i, j = np.meshgrid(np.arange(SCOOT_LEVELS), np.arange(SCOOT_LEVELS), indexing="ij")
    contrast = (p * (i - j) ** 2).sum(axis=(1, 2))
    energy = (p**2).sum(axis=(1, 2))
    return np.stack([contrast, energy], axis=1).reshape(-1)


def scoot_pair(synthesis: np.ndarray, ground_truth: np.ndarray) -> float:
    """SCOOT of one synthesised sketch against its ground truth, in (0, 1]; the synthesis is resized bicubically if needed."""
    gt, syn = to_gray_uint8(ground_truth), to_gray_uint8(synthesis)
    if syn.shape != gt.shape:
        syn = np.asarray(Image.fromarray(syn).resize((gt.shape[1], gt.shape[0]), Image.Resampling.BICUBIC))
    return float(1.0 / (1.0 + np.linalg.norm(scoot_features(gt) - scoot_features(syn))))


def scoot(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """SCOOT per image for batches in [0, 1]."""
    return torch.tensor([scoot_pair(p, t) for p, t in zip(image_arrays(pred), image_arrays(target), strict=False)], dtype=torch.float64)
