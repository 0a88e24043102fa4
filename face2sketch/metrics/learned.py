"""The metrics that need downloaded networks, LPIPS (VGG) and FID (Inception): used where their weights are already
in $TORCH_HOME/hub/checkpoints, skipped with the reason otherwise (nothing is downloaded at run time)."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlparse

import torch
from torch import nn

from face2sketch.core.io import torch_hub_file

SKIPPED_NO_WEIGHTS = "skipped: weights not available"


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
