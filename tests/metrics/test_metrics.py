"""Metrics: hand-computable SCOOT cases, the study's SSIM against scikit-image, FSIM sanity, MS-SSIM applicability,
LPIPS/FID on both paths."""

from __future__ import annotations

import importlib.machinery
import importlib.util
import math
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image
from torch import nn

from face2sketch.metrics.image_sets import HIGHER_IS_BETTER, ImageSetEvaluator, MetricSummary, study_metrics
from face2sketch.metrics.learned import SKIPPED_NO_WEIGHTS, fid, fid_feature_size, lpips, lpips_model
from face2sketch.metrics.per_image import MS_SSIM_MIN_SIDE, MeanStudySSIM, fsim, ms_ssim, ms_ssim_applicable, mse, psnr, ssim, ssim_study
from face2sketch.metrics.scoot import scoot, scoot_features, scoot_pair, to_gray_uint8


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


@pytest.mark.parametrize(
    ("grey", "level"), [(42, 0), (43, 1), (84, 1), (85, 2), (127, 2), (128, 3), (169, 3), (170, 4), (212, 4), (213, 5), (254, 5), (255, 5)]
)
def test_scoot_quantises_grey_to_six_levels_at_the_bin_edges(grey: int, level: int) -> None:
    # stripes of 0 and ``grey``: every 2x2 block's one pair left after rounding is (0, q(grey)), so the contrast is
    # q(grey)^2 with q(I) = min(floor(6 I / 255), 5): levels change between 42 and 43, 84 and 85, ... 212 and 213
    stripes = np.zeros((8, 8), np.uint8)
    stripes[:, 1::2] = grey
    assert scoot_features(stripes).tolist() == [float(level**2), 1.0] * 16


def test_scoot_block_edges_are_floored_quarters() -> None:
    # 8x10 stripes (255 in even columns): column edges floor(10 v / 4) = 0, 2, 5, 7, 10 give blocks 2, 3, 2 and 3 wide.
    # A 2-wide block [5, 0] or [0, 5] keeps one pair: contrast 25, energy 1. A 3-wide block [5, 0, 5] counts (5,0) and
    # (0,5) 4 times each over the 4 offsets, (5,5) twice and (0,0) once: averages 1, 1, 0.5, 0.25, rounded 1, 1, 1, 0,
    # so p = 1/3 each: contrast (25 + 25 + 0) / 3, energy 3 / 9. Rounded edges (0, 2, 5, 8, 10) or ceiled ones differ.
    stripes = np.zeros((8, 10), np.uint8)
    stripes[:, 0::2] = 255
    row = [25.0, 1.0, 50 / 3, 1 / 3, 25.0, 1.0, 50 / 3, 1 / 3]
    assert scoot_features(stripes) == pytest.approx(row * 4, abs=1e-12)


def test_scoot_distance_between_known_images() -> None:
    flat = np.full((8, 8), 128, np.uint8)  # every pair (3,3): contrast 0, energy 1
    assert scoot_pair(_stripes(), flat) == pytest.approx(1.0 / (1.0 + np.sqrt(16 * 25.0**2)))


def test_scoot_of_identical_images_is_one_and_resizes_the_synthesis() -> None:
    rng = np.random.default_rng(0)
    gt = rng.integers(0, 256, (250, 200, 3), dtype=np.uint8)
    assert scoot_pair(gt, gt) == 1.0
    small = rng.random((64, 64, 3))
    resized = np.asarray(Image.fromarray(to_gray_uint8(small)).resize((200, 250), Image.Resampling.BICUBIC))  # the grey synthesis, bicubic
    assert scoot_pair(small, gt) == scoot_pair(resized, gt) < 1.0
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


# -- SSIM and MS-SSIM against an independent implementation (docs/spec section 5) ------------------------------------
# Written out with numpy: an 11-tap Gaussian window with sigma 1.5, C1 = (0.01 L)^2 and C2 = (0.03 L)^2 for data range
# L = 1, borders reflect-padded (torchmetrics' convention); MS-SSIM takes the contrast-structure term at the first four
# scales (on the window's valid region) and SSIM at the fifth, weighted by Wang et al.'s exponents, 2x2 mean pooling.
MS_SSIM_BETAS = (0.0448, 0.2856, 0.3001, 0.2363, 0.1333)


def _gaussian_window(size: int = 11, sigma: float = 1.5) -> np.ndarray:
    x = np.arange(size) - (size - 1) / 2
    window = np.exp(-(x**2) / (2 * sigma**2))
    return window / window.sum()


def _filter_valid(image: np.ndarray, window: np.ndarray) -> np.ndarray:
    k = len(window)
    rows = sum(window[i] * image[i : image.shape[0] - k + 1 + i, :] for i in range(k))
    return sum(window[j] * rows[:, j : rows.shape[1] - k + 1 + j] for j in range(k))


def _ssim_and_cs_maps(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """SSIM over the reflect-padded image and the contrast-structure term over the window's valid region, one channel."""
    pad, window = 5, _gaussian_window()
    x, y = np.pad(x, pad, mode="reflect"), np.pad(y, pad, mode="reflect")
    mx, my = _filter_valid(x, window), _filter_valid(y, window)
    vx = np.maximum(_filter_valid(x * x, window) - mx**2, 0)
    vy = np.maximum(_filter_valid(y * y, window) - my**2, 0)
    cxy = _filter_valid(x * y, window) - mx * my
    c1, c2 = 0.01**2, 0.03**2
    cs = (2 * cxy + c2) / (vx + vy + c2)
    return (2 * mx * my + c1) / (mx**2 + my**2 + c1) * cs, cs[pad:-pad, pad:-pad]


def _reference_ssim(x: np.ndarray, y: np.ndarray) -> float:
    return float(np.mean([_ssim_and_cs_maps(a, b)[0].mean() for a, b in zip(x, y, strict=False)]))


def _reference_ms_ssim(x: np.ndarray, y: np.ndarray) -> float:
    pool = lambda a: (a[0::2, 0::2] + a[1::2, 0::2] + a[0::2, 1::2] + a[1::2, 1::2]) / 4  # noqa: E731
    xs, ys, result = list(x), list(y), 1.0
    for scale, beta in enumerate(MS_SSIM_BETAS):
        maps = [_ssim_and_cs_maps(a, b) for a, b in zip(xs, ys, strict=False)]
        last = scale == len(MS_SSIM_BETAS) - 1
        result *= float(np.mean([(s if last else cs).mean() for s, cs in maps])) ** beta
        if not last:
            xs, ys = [pool(a) for a in xs], [pool(b) for b in ys]
    return result


def _fixed_pair(side: int) -> tuple[np.ndarray, np.ndarray]:
    """A smooth 3-channel target and a darker, noisy copy of it: SSIM well below 1, sensitive to window and range."""
    rng = np.random.default_rng(0)
    window = _gaussian_window(7, 2.0)
    target = np.stack([_filter_valid(np.pad(c, 3, mode="reflect"), window) for c in rng.random((3, side, side))])
    target = (target - target.min()) / (target.max() - target.min())
    return np.clip(0.8 * target + 0.1 + 0.05 * rng.standard_normal(target.shape), 0, 1), target


def test_ssim_matches_an_independent_gaussian_window_implementation() -> None:
    pred, target = _fixed_pair(64)
    expected = _reference_ssim(pred, target)
    assert 0.5 < expected < 0.95  # far from the identical-images case, where any window gives 1
    as_batch = lambda a: torch.from_numpy(a)[None].float()  # noqa: E731
    assert ssim(as_batch(pred), as_batch(target)).item() == pytest.approx(expected, abs=1e-4)


def test_training_time_ssim_and_mse_are_the_reference_averaged_over_images_across_batches() -> None:
    """The running metrics the validation and test steps log: SSIM with data range 1 as the reference computes it,
    and both averaged over images (not over batches), as ``evaluate`` averages them."""
    pred, target = _fixed_pair(64)  # its three channels as three one-channel images, each with its own SSIM
    images = [(torch.from_numpy(pred[c : c + 1]).float(), torch.from_numpy(target[c : c + 1]).float()) for c in range(3)]
    metrics = study_metrics()
    metrics.update(images[0][0][None], images[0][1][None])
    metrics.update(torch.stack([p for p, _ in images[1:]]), torch.stack([t for _, t in images[1:]]))
    scores = metrics.compute()
    per_image = [_reference_ssim(pred[c : c + 1], target[c : c + 1]) for c in range(3)]
    assert max(per_image) - min(per_image) > 0.01  # a mean of batch means would differ from the mean of images
    assert float(scores["ssim"]) == pytest.approx(np.mean(per_image), abs=1e-4)
    assert float(scores["mse"]) == pytest.approx(float(np.mean((pred - target) ** 2)), rel=1e-5)


def test_ms_ssim_matches_an_independent_implementation() -> None:
    pred, target = _fixed_pair(176)  # sides above 160: five scales
    expected = _reference_ms_ssim(pred, target)
    assert 0.5 < expected < 0.99
    as_batch = lambda a: torch.from_numpy(a)[None].float()  # noqa: E731
    assert ms_ssim(as_batch(pred), as_batch(target)).item() == pytest.approx(expected, abs=1e-4)
    assert abs(expected - _reference_ssim(pred, target)) > 0.05  # MS-SSIM is not SSIM under another name


def test_psnr_at_a_known_mse() -> None:
    pred, target = torch.zeros(2, 3, 8, 8), torch.full((2, 3, 8, 8), 0.1)  # MSE 0.01 on a data range of 1: 20 dB
    assert psnr(pred, target).tolist() == pytest.approx([20.0, 20.0], abs=1e-4)
    assert psnr(torch.zeros(1, 1, 4, 4), torch.full((1, 1, 4, 4), 0.01)).item() == pytest.approx(40.0, abs=1e-3)  # MSE 1e-4


def _colour_shifted_pair() -> tuple[torch.Tensor, torch.Tensor]:
    """A structured picture and a copy shifted along a colour direction with no luminance (YIQ's Y unchanged)."""
    torch.manual_seed(0)
    base = torch.nn.functional.avg_pool2d(torch.rand(1, 3, 64, 64), 5, 1, 2) * 0.5 + 0.25
    shift = torch.tensor([0.1, -0.299 * 0.1 / 0.587, 0.0]).view(1, 3, 1, 1)  # 0.299 dR + 0.587 dG + 0.114 dB = 0
    return base + shift, base


@pytest.mark.parametrize("channels", [1, 3])
def test_ssim_study_is_scikit_images_ssim_at_data_range_2_on_the_studys_float_images(channels: int) -> None:
    """The study's most likely call: uint8 pictures / 255 as numpy floats, structural_similarity(..., data_range=2)."""
    from skimage.metrics import structural_similarity

    rng = np.random.default_rng(3)
    target = rng.integers(0, 256, (2, 40, 36, channels), dtype=np.uint8)
    noise = rng.integers(-40, 41, target.shape)
    prediction = np.clip(target.astype(np.int64) + noise, 0, 255).astype(np.uint8)
    expected = [
        structural_similarity(p / 255.0, t / 255.0, data_range=2.0, channel_axis=2)
        if channels == 3
        else structural_similarity(p[..., 0] / 255.0, t[..., 0] / 255.0, data_range=2.0)
        for p, t in zip(prediction, target, strict=True)
    ]
    as_batch = lambda images: torch.from_numpy(images).permute(0, 3, 1, 2).float() / 255.0  # noqa: E731
    assert ssim_study(as_batch(prediction), as_batch(target)).tolist() == pytest.approx(expected, abs=1e-6)


def test_ssim_study_of_flat_images_is_the_luminance_term_with_the_constant_of_data_range_2() -> None:
    # flat images have no variance: SSIM = (2 mx my + C1) / (mx^2 + my^2 + C1), C1 = (0.01 * 2)^2 = 4e-4;
    # grey 0.1 against black gives 4e-4 / 0.0104 = 1/26 (face2sketch's SSIM, data range 1: 1e-4 / 0.0101 = 1/101)
    dark, black = torch.full((1, 1, 16, 16), 0.1), torch.zeros(1, 1, 16, 16)
    assert ssim_study(dark, black).item() == pytest.approx(1 / 26, abs=1e-6)
    assert ssim(dark, black).item() == pytest.approx(1 / 101, abs=1e-4)
    paper, grey = torch.ones(1, 3, 16, 16), torch.full((1, 3, 16, 16), 0.9)
    assert ssim_study(paper, grey).item() == pytest.approx(1.8004 / 1.8104, abs=1e-6)


def test_the_running_study_ssim_is_the_mean_over_images_across_batches() -> None:
    torch.manual_seed(0)
    first, second = torch.rand(3, 3, 16, 16), torch.rand(1, 3, 16, 16)
    running = MeanStudySSIM()
    running.update(first, first.flip(-1))
    running.update(second, second)
    per_image = [*ssim_study(first, first.flip(-1)).tolist(), 1.0]
    assert running.compute().item() == pytest.approx(sum(per_image) / 4, abs=1e-12)


def test_ssim_study_scores_float32_float64_and_bfloat16_batches_in_float64() -> None:
    """Bugs guarded: the pictures handed to scikit-image as float32 (it then computes in float32, about 1e-7 off the
    study's float64, or rounds float64 pictures first), bfloat16 batches handed over unconverted (numpy has no
    bfloat16), the values returned as float32. The reference: scikit-image on the batch's values in float64."""
    from skimage.metrics import structural_similarity

    generator = torch.Generator().manual_seed(5)
    target = torch.rand(2, 3, 24, 20, generator=generator, dtype=torch.float64)
    pred = (0.8 * target + 0.2 * torch.rand(2, 3, 24, 20, generator=generator, dtype=torch.float64)).clamp(0, 1)
    as_arrays = lambda batch: batch.double().permute(0, 2, 3, 1).numpy()  # noqa: E731
    for dtype in (torch.float32, torch.float64, torch.bfloat16):
        p, t = pred.to(dtype), target.to(dtype)
        expected = [structural_similarity(a, b, data_range=2.0, channel_axis=-1) for a, b in zip(as_arrays(p), as_arrays(t), strict=True)]
        values = ssim_study(p, t)
        assert values.dtype == torch.float64, dtype
        assert values.tolist() == expected, dtype


def test_ssim_study_refuses_batches_of_different_sizes() -> None:
    """Bug guarded: a prediction batch scored against a shorter target batch, the extra pictures silently dropped."""
    with pytest.raises(ValueError, match="shorter"):
        ssim_study(torch.rand(2, 1, 16, 16), torch.rand(1, 1, 16, 16))


def test_the_running_study_ssim_adds_up_totals_and_counts_across_processes() -> None:
    """Under DDP each process scores its share of the test set; the mean is the sum of all totals over the sum of all
    counts. Bug guarded: a state without its ``"sum"`` reduction (torchmetrics then stacks the processes' states and
    ``compute`` gives one mean per process). Two processes are simulated through ``sync``'s gather function."""
    torch.manual_seed(0)
    first, second = torch.rand(3, 1, 16, 16), torch.rand(1, 1, 16, 16)
    here, there = MeanStudySSIM(sync_on_compute=False), MeanStudySSIM()
    here.update(first, first.flip(-1))
    there.update(second, second.flip(-2))
    there_state = {torch.float64: there.total, torch.int64: there.count}  # each state told apart by its dtype
    here.sync(dist_sync_fn=lambda state, group=None: [state, there_state[state.dtype]], distributed_available=lambda: True)
    per_image = [*ssim_study(first, first.flip(-1)).tolist(), *ssim_study(second, second.flip(-2)).tolist()]
    assert here.count.tolist() == 4 and here.total.tolist() == pytest.approx(sum(per_image), abs=1e-12)
    assert here.compute().tolist() == pytest.approx(sum(per_image) / 4, abs=1e-12)


def test_fsimc_sees_a_colour_shift_that_luminance_fsim_does_not() -> None:
    shifted, base = _colour_shifted_pair()
    assert fsim(shifted, base, chromatic=False).item() == pytest.approx(1.0, abs=1e-4)
    assert fsim(shifted, base, chromatic=True).item() < 0.97
    scores = {}
    for kind in ("photo", "sketch"):  # photos are scored with FSIMc, sketches with FSIM
        evaluator = ImageSetEvaluator(kind, lpips_net=None, fid_feature=None)
        evaluator.update(shifted, base)
        scores[kind] = evaluator.compute()["fsim"].mean
    assert scores["photo"] == fsim(shifted, base, chromatic=True).item() and scores["sketch"] == fsim(shifted, base, chromatic=False).item()


def test_evaluator_reports_inapplicable_and_skipped_metrics_instead_of_crashing() -> None:
    evaluator = ImageSetEvaluator("photo", lpips_net=None, fid_feature=None)
    rows = evaluator.update(torch.rand(2, 3, 64, 64), torch.rand(2, 3, 64, 64))
    results = evaluator.compute()
    assert len(rows) == 2 and set(rows[0]) == {"ssim", "ssim_study", "mse", "psnr", "fsim"}
    assert results["ms_ssim"].status == "n/a: images of 64x64 px are too small (MS-SSIM needs sides > 160)" and results["ms_ssim"].mean is None
    assert results["scoot"].status == "n/a: SCOOT is a sketch metric" and results["scoot"].mean is None
    assert results["lpips"].status == SKIPPED_NO_WEIGHTS == "skipped: weights not available"
    assert results["fid"].status == "skipped: weights not available (torch-fidelity Inception)"
    assert [(name, summary.name) for name, summary in results.items()] == [(name, name) for name in HIGHER_IS_BETTER]
    with pytest.raises(ValueError, match=r"^target_kind must be 'sketch' or 'photo', got sketches$"):
        ImageSetEvaluator("sketches", lpips_net=None, fid_feature=None)


def test_ms_ssim_runs_at_cuhk_resolution() -> None:
    evaluator = ImageSetEvaluator("sketch", lpips_net=None, fid_feature=None)
    target = torch.rand(2, 3, 250, 200)
    evaluator.update(target, target)
    results = evaluator.compute()
    assert results["ms_ssim"].status == "ok" and results["ms_ssim"].mean == pytest.approx(1.0, abs=1e-4)
    assert results["scoot"].mean == 1.0


@pytest.fixture(scope="module")
def random_vgg_hub(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A torch hub folder with a randomly initialised VGG-16 saved under the ImageNet weights' file name: LPIPS builds
    from it without a download (its linear layers ship with torchmetrics), the same network every time it is built."""
    from torchvision.models import vgg16

    hub = tmp_path_factory.mktemp("hub")
    (hub / "checkpoints").mkdir()
    torch.manual_seed(0)
    torch.save(vgg16(weights=None).state_dict(), hub / "checkpoints" / "vgg16-397923af.pth")
    return hub


def test_lpips_model_is_built_only_when_the_vgg_weights_are_cached(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, random_vgg_hub: Path) -> None:
    """Bug guarded: LPIPS built (and its weights downloaded) where the cache has no VGG-16, or skipped where it has one."""
    monkeypatch.setattr(torch.hub, "_hub_dir", str(tmp_path / "hub"))
    assert lpips_model() is None
    monkeypatch.setattr(torch.hub, "_hub_dir", str(random_vgg_hub))
    assert lpips_model() is not None


def test_lpips_is_torchmetrics_vgg_lpips_of_each_clamped_picture_with_grey_repeated_to_three_channels(
    monkeypatch: pytest.MonkeyPatch, random_vgg_hub: Path
) -> None:
    """Bugs guarded: the network told its inputs are in [-1, 1] (``normalize`` dropped: [0, 1] pictures then read as
    dark, low-contrast ones), grey pictures not repeated to three channels, inputs not clamped (torchmetrics refuses
    values outside [0, 1]), one value per batch instead of per picture."""
    from torchmetrics.image.lpip import LearnedPerceptualImagePatchSimilarity

    monkeypatch.setattr(torch.hub, "_hub_dir", str(random_vgg_hub))
    model = lpips_model()
    assert model is not None
    reference = LearnedPerceptualImagePatchSimilarity(net_type="vgg", normalize=True)
    generator = torch.Generator().manual_seed(6)
    for channels in (1, 3):
        pred, target = (torch.rand(2, channels, 32, 32, generator=generator) * 1.4 - 0.2 for _ in range(2))
        as_rgb = lambda x: x[None].clamp(0, 1).expand(-1, 3, -1, -1)  # noqa: E731
        expected = [float(reference(as_rgb(p), as_rgb(t))) for p, t in zip(pred, target, strict=True)]
        assert expected[0] != pytest.approx(expected[1], abs=1e-3)  # two pictures, two values
        assert lpips(pred, target, model).tolist() == pytest.approx(expected, abs=1e-6), f"{channels} channel(s)"
    assert lpips(target, target, model).tolist() == pytest.approx([0.0, 0.0], abs=1e-6)


class _RecordingLPIPS(nn.Module):
    """A stand-in LPIPS network: the mean absolute difference of its two inputs; it records each call and each move."""

    def __init__(self) -> None:
        super().__init__()
        self.moved_to: list[object] = []
        self.calls: list[tuple[torch.Tensor, torch.Tensor]] = []

    def to(self, *args: object, **kwargs: object) -> _RecordingLPIPS:  # type: ignore[override]
        self.moved_to.append(args[0] if args else kwargs.get("device"))
        return super().to(*args, **kwargs)

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        self.calls.append((x, y))
        return (x - y).abs().mean()


def test_lpips_moves_the_network_to_the_pictures_device_and_the_evaluator_uses_the_network_it_is_given() -> None:
    """Bugs guarded: the network left where it was (on the CPU while a GPU evaluation's pictures are on the GPU), and
    the evaluator building its own LPIPS (or none) instead of the one it was handed."""
    network = _RecordingLPIPS()
    pred, target = torch.zeros(2, 1, 8, 8), torch.stack([torch.full((1, 8, 8), 0.25), torch.full((1, 8, 8), 0.5)])
    assert lpips(pred, target, network).tolist() == [0.25, 0.5]
    assert network.moved_to == [torch.device("cpu")] * 2
    assert [(tuple(x.shape), tuple(y.shape)) for x, y in network.calls] == [((1, 3, 8, 8), (1, 3, 8, 8))] * 2
    evaluator = ImageSetEvaluator("sketch", lpips_net=network, fid_feature=None)
    evaluator.update(pred, target)
    assert evaluator.lpips_net is network and evaluator.compute()["lpips"].values == [0.25, 0.5]
    assert ImageSetEvaluator("sketch", lpips_net=None, fid_feature=None).compute()["lpips"].status == SKIPPED_NO_WEIGHTS


class _TinyFeatures(nn.Module):
    """A stand-in feature extractor for FID: the real torchmetrics FID code runs on its features. Like torch-fidelity's
    Inception it takes uint8 pictures only, so FID's ``normalize`` (float [0, 1] to uint8) has to be on."""

    num_features = 8

    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.net = nn.Sequential(nn.Conv2d(3, 8, 3, 2), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        assert x.dtype == torch.uint8, f"FID's network got {x.dtype} pictures, not uint8 (normalize=True dropped?)"
        return self.net(x.float() / 255.0)


@pytest.fixture
def fid_as_with_inception(monkeypatch: pytest.MonkeyPatch) -> type:
    """torchmetrics' FID that treats a stand-in network as it treats its own Inception: ``normalize`` turns [0, 1]
    floats into uint8 pictures for it (for any other network torchmetrics hands the pictures over as they are)."""
    import torchmetrics.image.fid

    class FIDAsWithInception(torchmetrics.image.fid.FrechetInceptionDistance):
        def __init__(self, **kwargs: object) -> None:
            super().__init__(**kwargs)
            self.used_custom_model = False

    monkeypatch.setattr(torchmetrics.image.fid, "FrechetInceptionDistance", FIDAsWithInception)
    return FIDAsWithInception


@pytest.mark.parametrize("channels", [1, 3])
def test_fid_is_torchmetrics_fid_of_the_clamped_pictures_with_grey_repeated_to_three_channels(channels: int, fid_as_with_inception: type) -> None:
    """Bugs guarded: grey pictures not repeated to three channels, a side not clamped (an overshoot wraps around in
    uint8), ``normalize`` dropped (float pictures reach the network); and the evaluator's FID is this one over all
    batches. The reference: torchmetrics' FID called directly on the clamped three-channel pictures."""
    generator = torch.Generator().manual_seed(1)
    target = torch.rand(16, channels, 16, 16, generator=generator) * 1.4 - 0.2
    pred = target.square() * 1.3 - 0.1  # darker, more contrast, also overshooting
    reference = fid_as_with_inception(feature=_TinyFeatures(), normalize=True)
    reference.update(target.clamp(0, 1).expand(-1, 3, -1, -1), real=True)
    reference.update(pred.clamp(0, 1).expand(-1, 3, -1, -1), real=False)
    expected = float(reference.compute())
    assert expected > 1e-3  # sets apart: each bug moves the value
    assert fid(pred, target, _TinyFeatures()) == pytest.approx(expected, rel=1e-9)
    assert fid(target, target, _TinyFeatures()) == pytest.approx(0.0, abs=1e-6)
    evaluator = ImageSetEvaluator("photo", lpips_net=None, fid_feature=_TinyFeatures())
    evaluator.update(pred[:8], target[:8])
    evaluator.update(pred[8:], target[8:])
    assert evaluator.compute()["fid"].mean == pytest.approx(fid(pred.clamp(0, 1), target.clamp(0, 1), _TinyFeatures()), rel=1e-9)


def test_an_evaluator_with_a_fid_network_and_no_pictures_has_no_fid() -> None:
    """Bug guarded: FID computed over an empty set (a crash in ``torch.cat``) when nothing was scored."""
    result = ImageSetEvaluator("photo", lpips_net=None, fid_feature=_TinyFeatures()).compute()["fid"]
    assert (result.mean, result.values, result.status) == (None, [], "ok")


@pytest.mark.parametrize(("fidelity_installed", "weights_cached", "expected"), [(False, True, None), (True, False, None), (True, True, 2048)])
def test_fid_uses_2048_inception_features_only_with_torch_fidelity_and_its_weights(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fidelity_installed: bool, weights_cached: bool, expected: int | None
) -> None:
    """Bugs guarded: a check inverted or dropped (FID then tries to download weights or import torch-fidelity
    where they are missing, or is skipped where both are present), another feature size than Inception's pool3."""
    real_find_spec = importlib.util.find_spec

    def find_spec(name: str, package: str | None = None) -> importlib.machinery.ModuleSpec | None:
        if name == "torch_fidelity":
            return importlib.machinery.ModuleSpec(name, None) if fidelity_installed else None
        return real_find_spec(name, package)

    monkeypatch.setattr(importlib.util, "find_spec", find_spec)
    monkeypatch.setattr(torch.hub, "_hub_dir", str(tmp_path / "hub"))
    if weights_cached:
        (tmp_path / "hub" / "checkpoints").mkdir(parents=True)
        (tmp_path / "hub" / "checkpoints" / "weights-inception-2015-12-05-6726825d.pth").write_bytes(b"")
    assert fid_feature_size() == expected


# -- SCOOT's float path, and SCOOT against a pixel-by-pixel reference --------------------------------------------------
def test_scoot_of_float_pictures_in_unit_range_is_scoot_of_their_uint8_pixels() -> None:
    """Bug: the float path left unscaled (``* 255`` dropped, or applied to float64 only while batches are float32), so
    evaluate's SCOOT (always on float tensors) quantised every picture to level 0 and scored any pair alike."""
    rng = np.random.default_rng(4)
    for channels in (1, 3):
        predictions = rng.integers(0, 256, (3, 40, 36, channels), dtype=np.uint8)
        targets = np.clip(predictions.astype(int) + rng.integers(-60, 61, predictions.shape), 0, 255).astype(np.uint8)
        expected = [scoot_pair(p, t) for p, t in zip(predictions, targets, strict=True)]
        as_floats = lambda images: torch.from_numpy(images).permute(0, 3, 1, 2).float() / 255.0  # noqa: E731
        assert scoot(as_floats(predictions), as_floats(targets)).tolist() == expected
        assert all(value < 0.9 for value in expected)  # pairs SCOOT tells apart: a float path at one level would give 1


def test_scoot_of_float_stripes_against_float_flat_grey_is_the_hand_computed_one_over_101() -> None:
    """Stripes of 0.0 and 1.0 (levels 0 and 5: contrast 25, energy 1 in each of the 16 blocks) against flat 128/255
    (level 3: contrast 0, energy 1): the distance is sqrt(16 * 25^2) = 100, SCOOT 1 / 101."""
    stripes = torch.zeros(1, 1, 8, 8)
    stripes[..., 1::2] = 1.0
    flat = torch.full((1, 1, 8, 8), 128 / 255)
    assert scoot(stripes, flat).item() == 1 / 101
    assert scoot(stripes.expand(-1, 3, -1, -1), flat.expand(-1, 3, -1, -1)).item() == 1 / 101  # grey as RGB: the same


def test_float_grey_levels_are_scaled_to_255_rounded_half_up_and_clipped() -> None:
    values = np.array([[0.0, 0.49 / 255, 0.51 / 255, 0.5, 1.0, 1.2, -0.1]], np.float32)
    assert to_gray_uint8(values).tolist() == [[0, 0, 1, 128, 255, 255, 0]]
    assert to_gray_uint8(values[..., None]).tolist() == [[0, 0, 1, 128, 255, 255, 0]]  # HxWx1: its one plane
    rgb = np.array([[[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]]])
    assert to_gray_uint8(rgb).tolist() == [[76, 150, 29]]  # 0.2989, 0.5870, 0.1140 of 255, rounded: 76.22, 149.69, 29.07


def reference_scoot_features(gray: np.ndarray) -> list[float]:
    """SCOOT's 32 features pixel by pixel, as Fan et al. define them: 6 grey levels floor(6 I / 255) (255 in level 5),
    a 4x4 grid of blocks with floored edges, MATLAB graycomatrix's four offsets at distance 1 (0, 45, 90, 135 degrees:
    row, col +0 +1, -1 +1, -1 +0, -1 -1) counted within each block, their average rounded half up, normalised;
    contrast and energy of each block."""
    h, w = gray.shape
    level = [[min(6 * int(v) // 255, 5) for v in row] for row in gray]
    rows = [math.floor(h * k / 4) for k in range(5)]
    cols = [math.floor(w * k / 4) for k in range(5)]
    features = []
    for br in range(4):
        for bc in range(4):
            counts = np.zeros((6, 6))
            for r in range(rows[br], rows[br + 1]):
                for c in range(cols[bc], cols[bc + 1]):
                    for dr, dc in ((0, 1), (-1, 1), (-1, 0), (-1, -1)):
                        if rows[br] <= r + dr < rows[br + 1] and cols[bc] <= c + dc < cols[bc + 1]:
                            counts[level[r][c], level[r + dr][c + dc]] += 1
            averaged = np.floor(counts / 4 + 0.5)
            p = averaged / averaged.sum() if averaged.sum() else averaged
            features += [sum(p[i, j] * (i - j) ** 2 for i in range(6) for j in range(6)), sum(p[i, j] ** 2 for i in range(6) for j in range(6))]
    return features


@settings(max_examples=40, deadline=None, database=None)
@given(
    height=st.integers(4, 14),
    width=st.integers(4, 14),
    greys=st.lists(st.integers(0, 255), min_size=1, max_size=4),
    seed=st.integers(0, 2**16),
)
def test_scoot_features_match_a_pixel_by_pixel_reference(height: int, width: int, greys: list[int], seed: int) -> None:
    """Bugs guarded: an offset's direction or sign, a block edge off by one, pairs counted across block edges, the
    average rounded otherwise, the levels' scale or cap changed, contrast or energy computed over the wrong axes."""
    gray = np.random.default_rng(seed).choice(np.array(greys, np.uint8), size=(height, width))
    assert scoot_features(gray).tolist() == pytest.approx(reference_scoot_features(gray), abs=1e-12)


# -- the other metrics on small known inputs -----------------------------------------------------------------------------
def test_mse_and_psnr_are_per_image() -> None:
    """Bug guarded: the mean over the batch (or over channels only) where each image needs its own value."""
    pred = torch.stack([torch.zeros(2, 4, 4), torch.full((2, 4, 4), 0.1)])
    target = torch.stack([torch.full((2, 4, 4), 0.5), torch.full((2, 4, 4), 0.4)])
    target[1, 1] = 0.1  # the second image's second channel is exact: its MSE is the mean over both channels, 0.09 / 2
    assert mse(pred, target).tolist() == pytest.approx([0.25, 0.045], abs=1e-7)
    assert psnr(pred, target).tolist() == pytest.approx([-10 * math.log10(0.25), -10 * math.log10(0.045)], abs=1e-5)


def test_ssim_of_flat_images_is_the_luminance_term_with_the_constant_of_data_range_1() -> None:
    # (2 * 0.5 * 0.25 + 1e-4) / (0.5^2 + 0.25^2 + 1e-4): no variance, so the contrast-structure term is 1
    half, quarter = torch.full((1, 3, 16, 16), 0.5), torch.full((1, 3, 16, 16), 0.25)
    assert ssim(half, quarter).item() == pytest.approx(0.2501 / 0.3126, abs=1e-6)


def test_ms_ssim_applies_to_sides_above_160_and_says_so_otherwise() -> None:
    """Bug guarded: the size rule off by one (MS-SSIM's fifth scale needs more than one 11-wide window: sides > 160)."""
    assert MS_SSIM_MIN_SIDE == 160
    assert ms_ssim_applicable(161, 161) and not ms_ssim_applicable(160, 400) and not ms_ssim_applicable(400, 160)
    evaluator = ImageSetEvaluator("photo", lpips_net=None, fid_feature=None)
    evaluator.update(torch.rand(1, 3, 160, 200), torch.rand(1, 3, 160, 200))
    assert evaluator.compute()["ms_ssim"].status == "n/a: images of 160x200 px are too small (MS-SSIM needs sides > 160)"


def test_fsim_is_piq_s_on_inputs_clamped_to_unit_range_with_grey_repeated_to_three_channels() -> None:
    """Bugs guarded: inputs not clamped (piq refuses them), another data range, the chromatic flag not passed on."""
    import piq

    torch.manual_seed(2)
    # both sides overshoot [0, 1] (a target too: evaluate clamps it, a direct call may not), so each clamp bound shows
    pred, target = torch.rand(2, 1, 48, 48) * 1.4 - 0.2, torch.nn.functional.avg_pool2d(torch.rand(2, 1, 48, 48), 3, 1, 1) * 1.4 - 0.2
    as_rgb = lambda x: x.clamp(0, 1).expand(-1, 3, -1, -1)  # noqa: E731
    expected = piq.fsim(as_rgb(pred), as_rgb(target), reduction="none", data_range=1.0, chromatic=False)
    assert torch.equal(fsim(pred, target, chromatic=False), expected)
    colour_pred, colour_target = torch.rand(2, 3, 48, 48) * 1.4 - 0.2, torch.rand(2, 3, 48, 48) * 1.4 - 0.2
    expected_colour = piq.fsim(colour_pred.clamp(0, 1), colour_target.clamp(0, 1), reduction="none", data_range=1.0, chromatic=True)
    assert torch.equal(fsim(colour_pred, colour_target, chromatic=True), expected_colour)


def test_the_evaluator_clamps_to_unit_range_and_gives_each_image_its_row() -> None:
    """Bug guarded: predictions scored unclamped (a model's overshoot counted as error) or rows mixed up between images."""
    pred = torch.stack([torch.full((1, 8, 8), 1.5), torch.full((1, 8, 8), 0.3)])  # the first overshoots paper white
    target = torch.stack([torch.ones(1, 8, 8), torch.full((1, 8, 8), 0.5)])
    evaluator = ImageSetEvaluator("sketch", lpips_net=None, fid_feature=None)
    first, second = evaluator.update(pred, target)
    assert set(first) == {"ssim", "ssim_study", "mse", "psnr", "fsim", "scoot"}
    assert first["mse"] == 0.0 and first["psnr"] == math.inf and first["ssim"] == pytest.approx(1.0, abs=1e-6)
    assert second["mse"] == pytest.approx(0.04, abs=1e-7) and second["psnr"] == pytest.approx(-10 * math.log10(0.04), abs=1e-5)
    assert evaluator.compute()["psnr"].mean == second["psnr"]  # the infinite value is left out of the mean


def test_a_summary_s_mean_and_spread_leave_out_infinite_values_and_none_when_not_scored() -> None:
    assert MetricSummary("psnr", [20.0, math.inf, 40.0]).mean == 30.0 and MetricSummary("psnr", [20.0, math.inf, 40.0]).std == 10.0
    assert MetricSummary("ms_ssim", [0.5], status="n/a: too small").mean is None and MetricSummary("ms_ssim", [0.5], status="n/a").std is None
    assert MetricSummary("fid", [], set_value=3.5).mean == 3.5 and MetricSummary("fid", [], set_value=3.5).std is None
    assert MetricSummary("mse").mean is None and MetricSummary("mse", [math.inf]).std is None


def test_each_metric_says_whether_higher_is_better_in_the_order_the_reports_list_them() -> None:
    assert list(HIGHER_IS_BETTER.items()) == [
        ("ssim", True),
        ("ssim_study", True),
        ("mse", False),
        ("psnr", True),
        ("ms_ssim", True),
        ("fsim", True),
        ("scoot", True),
        ("lpips", False),
        ("fid", False),
    ]
