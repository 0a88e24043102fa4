"""Metrics over sets of images: what training validates and tests with (torchmetrics collections), and the whole
evaluation of a test set, every metric per image and as mean and standard deviation, with the reason a metric is
skipped."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn
from torchmetrics import MeanSquaredError, MetricCollection
from torchmetrics.image import StructuralSimilarityIndexMeasure

from face2sketch.metrics.learned import SKIPPED_NO_WEIGHTS, fid, fid_feature_size, lpips, lpips_model
from face2sketch.metrics.per_image import (
    MS_SSIM_MIN_SIDE,
    SSIM_KERNEL,
    SSIM_SIGMA,
    MeanStudySSIM,
    fsim,
    ms_ssim,
    ms_ssim_applicable,
    mse,
    psnr,
    ssim,
    ssim_study,
)
from face2sketch.metrics.scoot import scoot


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
