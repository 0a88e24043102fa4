"""Image-quality metrics, one implementation for training-time validation and for ``evaluate``.

All functions take batches (N, C, H, W) in [0, 1] and return one value per image unless said
otherwise. Definitions: SSIM with an 11-wide Gaussian window
(sigma 1.5, data range 1), SSIM as the study most likely computed it (``ssim_study``: scikit-image,
7x7 uniform window, data range 2), MSE on [0, 1], PSNR, MS-SSIM (where the size allows), FSIM
(luminance for sketches, FSIMc for photos, via piq), SCOOT (Fan et al. 2018) for sketches,
and LPIPS (VGG) and FID where their network weights are available locally.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import numpy as np
import torch
from PIL import Image
from torch import nn
from torchmetrics import MeanSquaredError, Metric, MetricCollection
from torchmetrics.functional.image import multiscale_structural_similarity_index_measure, structural_similarity_index_measure
from torchmetrics.image import StructuralSimilarityIndexMeasure

from face2sketch.core.io import torch_hub_file

SSIM_KERNEL, SSIM_SIGMA = 11, 1.5
MS_SSIM_SCALES = 5
# MS-SSIM downsamples 4 times and then needs more than one kernel width: sides above (11 - 1) * 2**4
MS_SSIM_MIN_SIDE = (SSIM_KERNEL - 1) * 2 ** (MS_SSIM_SCALES - 1)
SKIPPED_NO_WEIGHTS = "skipped: weights not available"


# scikit-image up to 0.19.3 took a missing data_range from the dtype, (-1, 1) for floats: the study's most likely call
STUDY_SSIM_DATA_RANGE = 2.0


def study_metrics() -> MetricCollection:
    """SSIM and MSE as running torchmetrics, for the validation steps during training."""
    return MetricCollection(
        {
            "ssim": StructuralSimilarityIndexMeasure(data_range=1.0, kernel_size=SSIM_KERNEL, sigma=SSIM_SIGMA),
            "mse": MeanSquaredError(),
        }
    )


def training_test_metrics() -> MetricCollection:
    """The test step's metrics: SSIM and MSE, and ``ssim_study`` beside them. ``ssim_study`` runs scikit-image on the
    CPU, so it stays out of the validation that runs every epoch."""
    metrics = study_metrics()
    metrics.add_metrics({"ssim_study": MeanStudySSIM()})
    return metrics


# -- per-image metrics ---------------------------------------------------------------------------------
def ssim(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """SSIM per image, averaged over channels."""
    values = structural_similarity_index_measure(pred, target, data_range=1.0, kernel_size=SSIM_KERNEL, sigma=SSIM_SIGMA, reduction="none")
    assert isinstance(values, torch.Tensor)  # a tuple only when asked for the full image as well
    return values


def image_arrays(batch: torch.Tensor, dtype: torch.dtype = torch.float32) -> np.ndarray:
    """(N, C, H, W) tensor -> (N, H, W, C) numpy array on the CPU."""
    return batch.detach().to(dtype).cpu().permute(0, 2, 3, 1).numpy()


def ssim_study(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """SSIM per image as the study most likely computed it: ``skimage.metrics.structural_similarity`` on the float
    images with ``data_range=2`` (what scikit-image <= 0.19.3 assumed for floats), its 7x7 uniform window and sample
    covariance, channels averaged. Computed in float64, as numpy's ``/ 255`` gives; docs/fidelity.md has the evidence."""
    from skimage.metrics import structural_similarity

    values = []
    for p, t in zip(image_arrays(pred, torch.float64), image_arrays(target, torch.float64), strict=True):
        colour = p.shape[-1] > 1
        p, t = (p, t) if colour else (p[..., 0], t[..., 0])
        values.append(structural_similarity(p, t, data_range=STUDY_SSIM_DATA_RANGE, channel_axis=-1 if colour else None))
    return torch.tensor(values, dtype=torch.float64)


class MeanStudySSIM(Metric):
    """The mean of ``ssim_study`` over images, as a running metric (summed across processes under DDP)."""

    higher_is_better = True
    full_state_update = False
    total: torch.Tensor
    count: torch.Tensor

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.add_state("total", default=torch.tensor(0.0, dtype=torch.float64), dist_reduce_fx="sum")
        self.add_state("count", default=torch.tensor(0, dtype=torch.long), dist_reduce_fx="sum")

    def update(self, pred: torch.Tensor, target: torch.Tensor) -> None:
        values = ssim_study(pred, target)
        self.total += values.sum().to(self.total.device)
        self.count += values.numel()

    def compute(self) -> torch.Tensor:
        return self.total / self.count


def mse(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    return (pred - target).pow(2).flatten(1).mean(1)


def psnr(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """PSNR in dB for data range 1; identical images give +inf."""
    return -10.0 * torch.log10(mse(pred, target))


def ms_ssim_applicable(height: int, width: int) -> bool:
    return min(height, width) > MS_SSIM_MIN_SIDE


def ms_ssim(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    return multiscale_structural_similarity_index_measure(pred, target, data_range=1.0, kernel_size=SSIM_KERNEL, sigma=SSIM_SIGMA, reduction="none")


def fsim(pred: torch.Tensor, target: torch.Tensor, chromatic: bool) -> torch.Tensor:
    """FSIM (luminance, for sketches) or FSIMc (chromatic, for photos), via piq, on [0, 1] inputs."""
    import piq

    if pred.shape[1] == 1:
        pred, target = pred.expand(-1, 3, -1, -1), target.expand(-1, 3, -1, -1)
    return piq.fsim(pred.clamp(0, 1), target.clamp(0, 1), reduction="none", data_range=1.0, chromatic=chromatic)


# -- SCOOT -----------------------------------------------------------------------------------------------
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


# -- metrics that need downloaded networks -------------------------------------------------------------
def hub_checkpoint(url: str) -> Path:
    """Where torch.hub keeps (and torchvision looks for) the file of a weights URL."""
    return torch_hub_file(Path(urlparse(url).path).name)


def lpips_model() -> nn.Module | None:
    """torchmetrics' LPIPS with a VGG-16 backbone, or None when the backbone weights are not cached locally."""
    from torchvision.models import VGG16_Weights

    if not hub_checkpoint(VGG16_Weights.IMAGENET1K_V1.url).is_file():
        return None
    from torchmetrics.image.lpip import LearnedPerceptualImagePatchSimilarity

    return LearnedPerceptualImagePatchSimilarity(net_type="vgg", normalize=True, reduction="mean")


def lpips(pred: torch.Tensor, target: torch.Tensor, model: nn.Module) -> torch.Tensor:
    """LPIPS per image (lower is closer)."""
    if pred.shape[1] == 1:
        pred, target = pred.expand(-1, 3, -1, -1), target.expand(-1, 3, -1, -1)
    return torch.stack([model.to(pred.device)(p[None].clamp(0, 1), t[None].clamp(0, 1)).detach() for p, t in zip(pred, target, strict=False)]).flatten()


FID_WEIGHTS_FILE = "weights-inception-2015-12-05-6726825d.pth"


def fid_feature_size() -> int | None:
    """The size of the Inception features torchmetrics' FID uses (2048), or None when torch-fidelity or its weights
    are missing."""
    import importlib.util

    if importlib.util.find_spec("torch_fidelity") is None:
        return None
    if not torch_hub_file(FID_WEIGHTS_FILE).is_file():
        return None
    return 2048


def fid(pred: torch.Tensor, target: torch.Tensor, feature: nn.Module | int) -> float:
    """Fréchet distance between the feature statistics of two sets (biased by sample size: compare at equal N)."""
    from torchmetrics.image.fid import FrechetInceptionDistance

    metric = FrechetInceptionDistance(feature=feature, normalize=True)
    if pred.shape[1] == 1:
        pred, target = pred.expand(-1, 3, -1, -1), target.expand(-1, 3, -1, -1)
    metric.update(target.clamp(0, 1), real=True)
    metric.update(pred.clamp(0, 1), real=False)
    return float(metric.compute())


# -- a whole evaluation ----------------------------------------------------------------------------------
@dataclass
class MetricSummary:
    """Per-image values and their aggregate, or the reason a metric has no value."""

    name: str
    values: list[float] = field(default_factory=list)
    status: str = "ok"
    set_value: float | None = None  # for set-level metrics (FID)

    @property
    def mean(self) -> float | None:
        if self.set_value is not None:
            return self.set_value
        finite = [v for v in self.values if math.isfinite(v)]
        return float(np.mean(finite)) if finite and self.status == "ok" else None

    @property
    def std(self) -> float | None:
        finite = [v for v in self.values if math.isfinite(v)]
        return float(np.std(finite)) if finite and self.status == "ok" and self.set_value is None else None


PER_IMAGE: dict[str, Callable[[torch.Tensor, torch.Tensor], torch.Tensor]] = {"ssim": ssim, "ssim_study": ssim_study, "mse": mse, "psnr": psnr}
# every metric an evaluation reports, in the order metrics.json and per_image.csv list them
HIGHER_IS_BETTER = {
    "ssim": True,
    "ssim_study": True,
    "mse": False,
    "psnr": True,
    "ms_ssim": True,
    "fsim": True,
    "scoot": True,
    "lpips": False,
    "fid": False,
}


class ImageSetEvaluator:
    """Accumulates predictions and targets batch by batch and scores them with every metric that applies.

    ``target_kind`` decides FSIM vs FSIMc and whether SCOOT (a sketch metric) applies. LPIPS and FID
    run when their weights are present locally, otherwise they are reported as skipped.
    """

    def __init__(self, target_kind: str, lpips_net: nn.Module | None | str = "auto", fid_feature: nn.Module | int | None | str = "auto") -> None:
        if target_kind not in ("sketch", "photo"):
            raise ValueError(f"target_kind must be 'sketch' or 'photo', got {target_kind}")
        self.target_kind = target_kind
        self.lpips_net: nn.Module | None = lpips_model() if isinstance(lpips_net, str) else lpips_net
        self.fid_feature: nn.Module | int | None = fid_feature_size() if isinstance(fid_feature, str) else fid_feature
        self.results = {name: MetricSummary(name) for name in HIGHER_IS_BETTER}
        if target_kind != "sketch":
            self.results["scoot"].status = "n/a: SCOOT is a sketch metric"
        if self.lpips_net is None:
            self.results["lpips"].status = SKIPPED_NO_WEIGHTS
        if self.fid_feature is None:
            self.results["fid"].status = SKIPPED_NO_WEIGHTS + " (torch-fidelity Inception)"
        self._fid_sets: list[tuple[torch.Tensor, torch.Tensor]] = []

    @torch.no_grad()
    def update(self, pred: torch.Tensor, target: torch.Tensor) -> list[dict[str, float]]:
        """Score a batch; returns one dict of metric values per image."""
        pred, target = pred.float().clamp(0, 1), target.float().clamp(0, 1)
        per_image: dict[str, torch.Tensor] = {name: fn(pred, target) for name, fn in PER_IMAGE.items()}
        if ms_ssim_applicable(*pred.shape[-2:]):
            per_image["ms_ssim"] = ms_ssim(pred, target)
        else:
            self.results["ms_ssim"].status = f"n/a: images of {pred.shape[-2]}x{pred.shape[-1]} px are too small (MS-SSIM needs sides > {MS_SSIM_MIN_SIDE})"
        per_image["fsim"] = fsim(pred, target, chromatic=self.target_kind == "photo" and pred.shape[1] == 3)
        if self.target_kind == "sketch":
            per_image["scoot"] = scoot(pred, target)
        if self.lpips_net is not None:
            per_image["lpips"] = lpips(pred, target, self.lpips_net)
        if self.fid_feature is not None:
            self._fid_sets.append((pred.cpu(), target.cpu()))
        for name, values in per_image.items():
            self.results[name].values.extend(float(v) for v in values.flatten())
        return [{name: float(values.flatten()[k]) for name, values in per_image.items()} for k in range(pred.shape[0])]

    def compute(self) -> dict[str, MetricSummary]:
        if self.fid_feature is not None and self._fid_sets:
            preds = torch.cat([p for p, _ in self._fid_sets])
            targets = torch.cat([t for _, t in self._fid_sets])
            self.results["fid"].set_value = fid(preds, targets, self.fid_feature)
        return self.results
