"""The per-image metrics on batches (N, C, H, W) in [0, 1], one value per image: SSIM (an 11-wide Gaussian window,
sigma 1.5, data range 1), SSIM as the study most likely computed it (``ssim_study``: scikit-image, 7x7 uniform window,
data range 2), MSE, PSNR, MS-SSIM where the size allows, and FSIM (luminance for sketches, FSIMc for photos, via piq)."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torchmetrics import Metric
from torchmetrics.functional.image import multiscale_structural_similarity_index_measure, structural_similarity_index_measure

SSIM_KERNEL, SSIM_SIGMA = 11, 1.5


MS_SSIM_SCALES = 5


# MS-SSIM downsamples 4 times and then needs more than one kernel width: sides above (11 - 1) * 2**4
MS_SSIM_MIN_SIDE = (SSIM_KERNEL - 1) * 2 ** (MS_SSIM_SCALES - 1)


# scikit-image up to 0.19.3 took a missing data_range from the dtype, (-1, 1) for floats: the study's most likely call
STUDY_SSIM_DATA_RANGE = 2.0


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
