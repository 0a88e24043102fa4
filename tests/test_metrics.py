"""Metrics: hand-computable SCOOT cases, FSIM sanity, MS-SSIM applicability, LPIPS/FID on both paths."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from face2sketch.metrics import (
    SKIPPED_NO_WEIGHTS,
    ImageSetEvaluator,
    fsim,
    lpips_model,
    mse,
    scoot,
    scoot_features,
    scoot_pair,
    ssim,
    to_gray_uint8,
)


def _stripes() -> np.ndarray:
    image = np.zeros((8, 8), np.uint8)
    image[:, 1::2] = 255
    return image


def test_scoot_of_vertical_stripes_matches_hand_computation() -> None:
    # each 2x2 block: counts (0,5):3 (0,0):1 (5,5):1 (5,0):1 over 4 offsets -> averages .75 .25 .25 .25
    # -> rounded 1 0 0 0 -> p(0,5) = 1: contrast (0-5)^2 = 25, energy 1
    assert scoot_features(_stripes()).tolist() == [25.0, 1.0] * 16


def test_scoot_rounds_halves_away_from_zero() -> None:
    # checkerboard block: (0,5):2 (5,0):2 (5,5):1 (0,0):1 -> averages .5 .5 .25 .25 -> 1 1 0 0 -> p = .5, .5
    # (numpy's round-half-to-even would give all zeros here)
    checker = (np.indices((8, 8)).sum(0) % 2 * 255).astype(np.uint8)
    assert scoot_features(checker).tolist() == [25.0, 0.5] * 16


def test_scoot_distance_between_known_images() -> None:
    flat = np.full((8, 8), 128, np.uint8)  # every pair (3,3): contrast 0, energy 1
    assert scoot_pair(_stripes(), flat) == pytest.approx(1.0 / (1.0 + np.sqrt(16 * 25.0**2)))


def test_scoot_of_identical_images_is_one_and_resizes_the_synthesis() -> None:
    rng = np.random.default_rng(0)
    gt = rng.integers(0, 256, (250, 200, 3), dtype=np.uint8)
    assert scoot_pair(gt, gt) == 1.0
    small = rng.random((64, 64, 3))
    assert 0.0 < scoot_pair(small, gt) < 1.0
    batch = torch.rand(3, 3, 32, 32)
    assert torch.equal(scoot(batch, batch), torch.ones(3, dtype=torch.float64))


def test_gray_conversion_uses_the_spec_weights() -> None:
    pixel = np.array([[[100, 150, 200]]], np.uint8)
    assert to_gray_uint8(pixel)[0, 0] == int(np.floor(0.2989 * 100 + 0.5870 * 150 + 0.1140 * 200 + 0.5))


def test_fsim_identity_and_blur_scores_lower_than_slight_noise() -> None:
    torch.manual_seed(0)
    base = torch.rand(2, 3, 64, 64)
    target = torch.nn.functional.avg_pool2d(base, 3, 1, 1)  # some structure at several scales
    assert torch.allclose(fsim(target, target, chromatic=False), torch.ones(2), atol=1e-5)
    assert torch.allclose(fsim(target, target, chromatic=True), torch.ones(2), atol=1e-5)
    blurred = torch.nn.functional.avg_pool2d(target, 7, 1, 3)
    noisy = (target + 0.01 * torch.randn_like(target)).clamp(0, 1)
    assert (fsim(blurred, target, chromatic=False) < fsim(noisy, target, chromatic=False)).all()


def test_ssim_and_mse_per_image() -> None:
    a = torch.rand(2, 3, 32, 32)
    assert torch.allclose(ssim(a, a), torch.ones(2)) and torch.equal(mse(a, a), torch.zeros(2))
    assert mse(torch.zeros(1, 1, 4, 4), torch.full((1, 1, 4, 4), 0.5)).item() == pytest.approx(0.25)


def test_evaluator_reports_inapplicable_and_skipped_metrics_instead_of_crashing() -> None:
    evaluator = ImageSetEvaluator("photo", lpips_net=None, fid_feature=None)
    rows = evaluator.update(torch.rand(2, 3, 64, 64), torch.rand(2, 3, 64, 64))
    results = evaluator.compute()
    assert len(rows) == 2 and set(rows[0]) == {"ssim", "mse", "psnr", "fsim"}
    assert results["ms_ssim"].status.startswith("n/a") and results["ms_ssim"].mean is None
    assert results["scoot"].status.startswith("n/a")
    assert results["lpips"].status == SKIPPED_NO_WEIGHTS and results["fid"].status.startswith(SKIPPED_NO_WEIGHTS)


def test_ms_ssim_runs_at_cuhk_resolution() -> None:
    evaluator = ImageSetEvaluator("sketch", lpips_net=None, fid_feature=None)
    target = torch.rand(2, 3, 250, 200)
    evaluator.update(target, target)
    results = evaluator.compute()
    assert results["ms_ssim"].status == "ok" and results["ms_ssim"].mean == pytest.approx(1.0, abs=1e-4)
    assert results["scoot"].mean == 1.0


def test_lpips_runs_when_vgg_weights_are_cached(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from torchvision.models import vgg16

    monkeypatch.setattr(torch.hub, "_hub_dir", str(tmp_path / "hub"))
    assert lpips_model() is None
    (tmp_path / "hub" / "checkpoints").mkdir(parents=True)
    torch.manual_seed(0)
    torch.save(vgg16(weights=None).state_dict(), tmp_path / "hub" / "checkpoints" / "vgg16-397923af.pth")
    model = lpips_model()
    assert model is not None
    evaluator = ImageSetEvaluator("sketch", lpips_net=model, fid_feature=None)
    a = torch.rand(2, 3, 64, 64)
    evaluator.update(a, a)
    evaluator.update(a, torch.rand(2, 3, 64, 64))
    values = evaluator.compute()["lpips"].values
    assert values[:2] == pytest.approx([0.0, 0.0], abs=1e-6) and all(v > 0 for v in values[2:])


class _TinyFeatures(nn.Module):
    """A stand-in feature extractor for FID: the real torchmetrics FID code runs on its features."""

    num_features = 8

    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.net = nn.Sequential(nn.Conv2d(3, 8, 3, 2), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x.float() / 255.0 if x.dtype == torch.uint8 else x)


def test_fid_runs_with_a_feature_extractor() -> None:
    torch.manual_seed(1)
    target = torch.rand(16, 3, 32, 32)
    same = ImageSetEvaluator("photo", lpips_net=None, fid_feature=_TinyFeatures())
    same.update(target, target)
    shifted = ImageSetEvaluator("photo", lpips_net=None, fid_feature=_TinyFeatures())
    shifted.update(1.0 - target, target)
    assert same.compute()["fid"].mean == pytest.approx(0.0, abs=1e-3)
    assert shifted.compute()["fid"].mean > 100 * max(same.compute()["fid"].mean, 1e-6)
