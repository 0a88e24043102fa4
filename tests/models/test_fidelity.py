"""The study ran Keras: its output heads, layer geometry, initialisers and optimiser defaults are reproduced."""

from __future__ import annotations

import math
from pathlib import Path

import lightning as L
import pytest
import torch
import torch.nn.functional as F
from hydra.utils import instantiate
from omegaconf import OmegaConf
from torch import nn

from face2sketch.core.errors import ConfigError
from face2sketch.evaluation.evaluation import evaluate_run
from face2sketch.evaluation.subjects import discover_runs
from face2sketch.metrics.per_image import ssim
from face2sketch.models import VGGAE, ConvAE, Pix2Pix, SparseAE
from face2sketch.models.checkpoint_format import CHECKPOINT_FORMAT_KEY, load_checkpoint_state
from face2sketch.models.networks.layers import Conv2dSame, ConvTranspose2dSame
from face2sketch.train import build_run, train
from tests.conftest import SeenTestBatches, compose_train

SMALL = ("data=synthetic", "data.image_size=32", "data.num_train=8", "data.num_test=4", "data.batch_size=2", "trainer=cpu", "++for_model.vgg_ae.weights=none")


def ones_layer(layer: nn.Module) -> nn.Module:
    nn.init.ones_(layer.weight)
    return layer


def delta(size: int) -> torch.Tensor:
    x = torch.zeros(1, 1, size, size)
    x[0, 0, 0, 0] = 1.0
    return x


# -- Keras 'same' geometry (TensorFlow: total padding max(k - s, 0), the odd pixel at the bottom/right) -------------
def test_stride2_5x5_conv_samples_like_keras() -> None:
    out = ones_layer(Conv2dSame(1, 1, 5, stride=2, bias=False))(delta(8))[0, 0]
    # Keras pads 1 before and 2 after: output 0 reads input rows -1..3, output 1 reads rows 1..5 (PyTorch's padding=2 would read 0..4)
    assert out.shape == (4, 4)
    assert out[0, 0] == 1 and out[1, 0] == 0 and out[0, 1] == 0


def test_stride2_5x5_transposed_conv_writes_like_keras() -> None:
    out = ones_layer(ConvTranspose2dSame(1, 1, 5, stride=2, bias=False))(delta(4))[0, 0]
    # input pixel 0 lands on outputs 2*0 - 1 + k, k = 0..4, cropped to 0..3 (PyTorch's padding=2, output_padding=1 writes 0..2)
    assert out.shape == (8, 8)
    assert out[:4, :4].eq(1).all() and out[4, 0] == 0 and out[0, 4] == 0


def test_stride2_3x3_transposed_conv_writes_like_keras() -> None:
    out = ones_layer(ConvTranspose2dSame(1, 1, 3, stride=2, bias=False))(delta(4))[0, 0]
    # Keras crops nothing at the top/left: input pixel 0 lands on outputs 0..2 (padding=1, output_padding=1 writes 0..1)
    assert out.shape == (8, 8)
    assert out[:3, :3].eq(1).all() and out[3, 0] == 0


def test_stride1_4x4_conv_keeps_the_size_like_keras() -> None:
    assert Conv2dSame(1, 1, 4, stride=1)(delta(16)).shape == (1, 1, 16, 16)


def test_stride1_4x4_conv_pads_one_before_and_two_after_like_keras() -> None:
    conv = ones_layer(Conv2dSame(1, 1, 4, stride=1, bias=False))
    first = conv(delta(16))[0, 0]
    # 1 before, 2 after: output o reads input rows o-1..o+2, so input 0 reaches outputs 0 and 1 only
    assert first[:2, :2].eq(1).all() and first[2, 0] == 0 and first[0, 2] == 0 and first.sum() == 4
    last_pixel = torch.zeros(1, 1, 16, 16)
    last_pixel[0, 0, 15, 15] = 1.0
    last = conv(last_pixel)[0, 0]
    # and input 15 reaches outputs 13, 14 and 15
    assert last[13:, 13:].eq(1).all() and last[12, 15] == 0 and last[15, 12] == 0 and last.sum() == 9


# -- output heads ----------------------------------------------------------------------------------------------------
def gradient_after_white_training(model: nn.Module, steps: int = 40) -> float:
    """Train on all-white targets (f2sk's mostly white sketches, in the extreme) and return the gradient norm a
    dark target then produces: zero when the output is pinned to white."""
    torch.manual_seed(0)
    source = torch.rand(4, 3, 32, 32)
    optimizer = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=1e-2)
    for _ in range(steps):
        optimizer.zero_grad()
        model.compute_losses(source, torch.ones(4, 3, 32, 32))["loss"].backward()
        optimizer.step()
    optimizer.zero_grad()
    model.compute_losses(source, torch.zeros(4, 3, 32, 32))["loss"].backward()
    return float(torch.cat([p.grad.flatten() for p in model.parameters() if p.grad is not None]).norm())


@pytest.mark.parametrize(
    "build", [lambda head: ConvAE(image_size=32, head=head), lambda head: VGGAE(image_size=32, weights="none", head=head)], ids=["conv_ae", "vgg_ae"]
)
def test_linear_head_keeps_a_gradient_where_the_sigmoid_saturated(build) -> None:
    assert gradient_after_white_training(build("linear")) > 1e-2
    assert gradient_after_white_training(build("sigmoid")) < 1e-6  # the old head: MSE through a saturated sigmoid


def test_heads_follow_the_study() -> None:
    assert (ConvAE(image_size=32).head, VGGAE(image_size=32, weights="none").head, SparseAE(image_size=32).head) == ("linear", "linear", "sigmoid")


def test_sparse_ae_bce_is_taken_on_the_logits() -> None:
    model = SparseAE(image_size=8, l1_weight=0.0)
    source, target = torch.rand(2, 3, 8, 8), torch.rand(2, 3, 8, 8)
    logits = model.raw_output(source)
    assert torch.allclose(model(source), torch.sigmoid(logits))
    assert torch.isclose(model.compute_losses(source, target)["loss"], F.binary_cross_entropy(torch.sigmoid(logits), target), atol=1e-5)


def test_sparse_ae_penalises_the_codes_l1_norm_per_example_averaged_over_the_batch() -> None:
    """Keras' activity_regularizer l1(w): w x sum |code| for each example, divided by the batch size. Codes (1, -2, 3)
    and (0, 0, 4) have L1 norms 6 and 4: a penalty of w x 5; logits 0 give BCE ln 2 for any target."""
    model = SparseAE(image_size=8, l1_weight=0.5)
    code = torch.tensor([[1.0, -2.0, 3.0], [0.0, 0.0, 4.0]])
    model.net.forward = lambda source: (torch.zeros(2, 3, 8, 8), code)  # type: ignore[method-assign]
    losses = model.compute_losses(torch.zeros(2, 3, 8, 8), torch.rand(2, 3, 8, 8))
    assert float(losses["sparsity"]) == pytest.approx(0.5 * 5.0)
    assert float(losses["reconstruction"]) == pytest.approx(math.log(2.0), rel=1e-6)
    assert float(losses["loss"]) == pytest.approx(math.log(2.0) + 2.5, rel=1e-6)


class EncoderInput(nn.Module):
    """Stands in for VGG-16's features: keeps what it was given and answers a 512-channel map of zeros."""

    def __init__(self) -> None:
        super().__init__()
        self.seen: list[torch.Tensor] = []

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.seen.append(x.detach().clone())
        return torch.zeros(x.shape[0], 512, x.shape[2] // 32, x.shape[3] // 32)


@pytest.mark.parametrize("channels", [3, 1])
def test_vgg_ae_feeds_its_encoder_imagenet_normalised_rgb(channels: int) -> None:
    """(x - mean) / std per channel with ImageNet's statistics; a grey sketch is repeated to the three channels first."""
    model = VGGAE(image_size=32, in_channels=channels, weights="none")
    model.encoder = EncoderInput()
    with torch.no_grad():
        model(torch.full((1, channels, 32, 32), 0.5))
    (seen,) = model.encoder.seen
    expected = [(0.5 - mean) / std for mean, std in ((0.485, 0.229), (0.456, 0.224), (0.406, 0.225))]
    assert seen.shape == (1, 3, 32, 32) and seen[0, :, 0, 0].tolist() == pytest.approx(expected, rel=1e-6)
    assert torch.equal(seen, seen[:, :, :1, :1].expand_as(seen))


# -- predictions are clamped where they are scored and saved -------------------------------------------------------
@pytest.mark.parametrize(
    ("model", "raw", "expected"),
    [
        (lambda: ConvAE(image_size=32), [-0.5, 0.0, 0.25, 1.0, 1.7, 40.0], [0.0, 0.0, 0.25, 1.0, 1.0, 1.0]),
        (lambda: Pix2Pix(image_size=32), [-3.0, -1.0, 0.0, 0.5, 1.0, 2.0], [0.0, 0.0, 0.5, 0.75, 1.0, 1.0]),
    ],
    ids=["unit_range", "tanh_range"],
)
def test_to_unit_range_maps_the_value_range_and_clamps(model, raw: list[float], expected: list[float]) -> None:
    images = torch.tensor(raw).view(1, 1, 2, 3).expand(2, 3, 2, 3).contiguous(memory_format=torch.channels_last)
    out = model().to_unit_range(images)
    assert out.dtype == torch.float32 and out.is_contiguous()
    assert out[1, 2].flatten().tolist() == pytest.approx(expected)


def training_time_test_scores(model: L.LightningModule, batch: torch.Tensor, output: torch.Tensor) -> dict[str, float]:
    """What ``trainer.test`` logs for one batch whose source and target are both ``batch`` (in the model's value
    range), when the network answers ``output`` for it."""
    model.forward = lambda source: output  # type: ignore[method-assign]
    loader = torch.utils.data.DataLoader([{"source": image, "target": image} for image in batch], batch_size=len(batch))
    trainer = L.Trainer(accelerator="cpu", logger=False, enable_progress_bar=False, enable_model_summary=False)
    (scores,) = trainer.test(model, dataloaders=loader, verbose=False)
    return {name.removeprefix("test/"): value for name, value in scores.items()}


# C1 = (0.01 x data range)^2 with data range 1: SSIM between two flat images at a and b is (2ab + C1) / (a^2 + b^2 + C1)
SSIM_C1 = 1e-4
# ssim_study, the study's scikit-image SSIM, at data range 2: C1 = (0.01 x 2)^2
STUDY_SSIM_C1 = 4e-4


@pytest.mark.parametrize("build", [lambda: Pix2Pix(image_size=16, ngf=8, ndf=8), lambda: ConvAE(image_size=16)], ids=["tanh_range", "unit_range"])
def test_training_time_test_metrics_map_predictions_and_targets_to_unit_range_and_clamp(build) -> None:
    """Hand-computed SSIM, MSE and the study's SSIM of the test step for a [-1, 1] model and a [0, 1] one: targets
    are mapped to [0, 1] like predictions (a target left in [-1, 1] scores MSE 4 u^2, not u^2), predictions are
    clamped, SSIM's data range is 1 and ``ssim_study``'s 2, each logged under its own name (a renamed
    ``test/ssim_study`` leaves the study's column of every report empty)."""
    model = build()
    low, high = model.value_range
    structured = torch.rand(2, 3, 16, 16, generator=torch.Generator().manual_seed(0)) * (high - low) + low
    identical = training_time_test_scores(model, structured, structured)
    assert sorted(identical) == ["mse", "ssim", "ssim_study"]
    assert identical["ssim"] == pytest.approx(1.0, abs=1e-6) and identical["mse"] == pytest.approx(0.0, abs=1e-12)
    assert identical["ssim_study"] == pytest.approx(1.0, abs=1e-6)

    u = 0.75  # a flat target at three quarters of the range; the prediction at the bottom (0 in [0, 1])
    flat = torch.full((2, 3, 16, 16), low + u * (high - low))
    darkest = training_time_test_scores(model, flat, torch.full_like(flat, low))
    assert darkest["mse"] == pytest.approx(u**2, rel=1e-6)
    assert darkest["ssim"] == pytest.approx(SSIM_C1 / (u**2 + SSIM_C1), rel=1e-3)
    assert darkest["ssim_study"] == pytest.approx(STUDY_SSIM_C1 / (u**2 + STUDY_SSIM_C1), rel=1e-6)
    beyond = training_time_test_scores(model, flat, torch.full_like(flat, high + 4.0))  # clamped to 1 before scoring
    assert beyond["mse"] == pytest.approx((1 - u) ** 2, rel=1e-6)
    assert beyond["ssim"] == pytest.approx((2 * u + SSIM_C1) / (1 + u**2 + SSIM_C1), rel=1e-3)  # float32 leaves a variance of ~4e-7
    assert beyond["ssim_study"] == pytest.approx((2 * u + STUDY_SSIM_C1) / (1 + u**2 + STUDY_SSIM_C1), rel=1e-6)


class PoisonHeadBias(L.Callback):
    """Before testing, sets the linear head's bias far above 1, as a diverging or badly initialised head would."""

    def on_test_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        with torch.no_grad():
            pl_module.net.layers[12].bias.fill_(5.0)


def test_training_time_test_metrics_score_clamped_predictions(tmp_path: Path) -> None:
    cfg = compose_train(tmp_path / "run", *SMALL, "model=conv_ae", "trainer.max_epochs=1", "trainer.limit_train_batches=1", "trainer.limit_val_batches=1")
    seen = SeenTestBatches()
    metrics = train(cfg, extra_callbacks=[PoisonHeadBias(), seen])["test_metrics"]
    # every clamped prediction is 1 (white): the MSE is the mean of (1 - target)^2 (unclamped, ~5, it would be above 9)
    target = seen.targets
    white = torch.ones_like(target)
    assert metrics["mse"] == pytest.approx(float((white - target).pow(2).mean()), rel=1e-5)
    assert metrics["ssim"] == pytest.approx(float(ssim(white, target).mean()), abs=1e-5)


@pytest.fixture(scope="module")
def trained_conv_ae_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    run = tmp_path_factory.mktemp("fidelity") / "run"
    train(compose_train(run, *SMALL, "model=conv_ae", "trainer.max_epochs=1", "test=false"))
    return run


def test_scored_and_saved_predictions_are_clamped(trained_conv_ae_run: Path, tmp_path: Path) -> None:
    checkpoint = next((trained_conv_ae_run / "checkpoints").glob("best-*.ckpt"))
    saved = torch.load(checkpoint, map_location="cpu", weights_only=True)
    saved["state_dict"]["net.layers.12.bias"].fill_(5.0)  # the linear head now outputs far above 1
    torch.save(saved, checkpoint)
    evaluate_cfg = compose_evaluate(tmp_path)
    summary = evaluate_run(discover_runs([str(trained_conv_ae_run)])[0], evaluate_cfg)
    predictions = list((trained_conv_ae_run / "evaluation" / "predictions").glob("*.png"))
    from PIL import Image

    assert predictions and all(Image.open(p).getextrema() == ((255, 255),) * 3 for p in predictions)
    # the test split as the run's config rebuilds it: an all-white prediction scores the mean of (1 - target)^2
    # (an unclamped output of ~5 would score above 16)
    data = instantiate(OmegaConf.load(trained_conv_ae_run / "config.yaml").data, value_range=(0.0, 1.0))
    test = data.dataset("test")
    target = torch.stack([test[i]["target"] for i in range(len(test))])
    assert summary["num_images"] == len(test) == 4
    assert summary["metrics"]["mse"]["mean"] == pytest.approx(float((1 - target).pow(2).mean()), rel=1e-5)


def compose_evaluate(tmp_path: Path):
    from hydra import compose, initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra

    from face2sketch.core.config import CONFIG_DIR

    GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=str(CONFIG_DIR), version_base="1.3"):
        return compose("evaluate", overrides=["runs=[]", "resolution=model"])


def test_checkpoints_from_before_the_linear_heads_are_refused(trained_conv_ae_run: Path, tmp_path: Path) -> None:
    checkpoint = trained_conv_ae_run / "checkpoints" / "last.ckpt"
    old = torch.load(checkpoint, map_location="cpu", weights_only=True)
    old.pop(CHECKPOINT_FORMAT_KEY)
    torch.save(old, tmp_path / "old.ckpt")
    model = ConvAE(image_size=32)
    with pytest.raises(ConfigError, match="checkpoint format 1, this version reads format 2.*retrain"):
        load_checkpoint_state(tmp_path / "old.ckpt", model, "retrain")
    assert load_checkpoint_state(checkpoint, model, "retrain").keys() == model.state_dict().keys()


# -- pix2pix: the tutorial's recipe by default, the paper's as model=pix2pix_paper --------------------------------
def test_tutorial_discriminator_scores_16x16_cells_at_256_and_patchgan_30x30() -> None:
    pair = torch.zeros(1, 3, 256, 256)
    with torch.no_grad():
        assert Pix2Pix(image_size=256).discriminator(pair, pair).shape == (1, 1, 16, 16)
        assert Pix2Pix(image_size=256, discriminator="patchgan70", layer_defaults="pytorch").discriminator(pair, pair).shape == (1, 1, 30, 30)


def test_tutorial_discriminator_layers() -> None:
    convs = [m for m in Pix2Pix(image_size=256).discriminator.modules() if isinstance(m, nn.Conv2d)]
    assert [(c.out_channels, c.stride[0]) for c in convs] == [(64, 2), (128, 2), (256, 2), (512, 2), (512, 1), (1, 1)]
    assert all(c.bias is not None for c in convs)  # Keras' Conv2D has a bias by default, also before BatchNorm


@pytest.mark.parametrize(("model", "momentum", "eps", "adam_eps"), [("pix2pix", 0.01, 1e-3, 1e-7), ("pix2pix_paper", 0.1, 1e-5, 1e-8)])
def test_pix2pix_batchnorm_and_adam_defaults(tmp_path: Path, model: str, momentum: float, eps: float, adam_eps: float) -> None:
    module, _, _ = build_run(compose_train(tmp_path / "run", *SMALL, f"model={model}"))
    norms = [m for m in module.modules() if isinstance(m, nn.BatchNorm2d)]
    assert norms and all(n.momentum == momentum and n.eps == eps for n in norms)
    optimizers = module.configure_optimizers()
    assert all(o.defaults["eps"] == adam_eps for o in optimizers)
    scales = torch.cat([n.weight.detach() for n in norms])
    if model == "pix2pix":
        assert torch.all(scales == 1)  # Keras' BatchNorm: gamma starts at 1
    else:  # the paper's code: N(1, 0.02), drawn for each of the ~5,000 channels
        assert float(scales.mean()) == pytest.approx(1.0, abs=0.002) and float(scales.std()) == pytest.approx(0.02, abs=0.002)


@pytest.mark.parametrize("model", ["conv_ae", "sparse_ae", "vgg_ae"])
def test_autoencoders_use_keras_adam_epsilon(tmp_path: Path, model: str) -> None:
    module, _, _ = build_run(compose_train(tmp_path / "run", *SMALL, f"model={model}"))
    assert module.configure_optimizers().defaults["eps"] == 1e-7


def test_vgg_fine_tuning_starts_a_fresh_adam_like_a_keras_recompile(tmp_path: Path) -> None:
    import lightning as L

    steps: list[float] = []

    class AdamSteps(L.Callback):
        def on_train_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
            state = trainer.optimizers[0].state[next(pl_module.decoder.parameters())]
            steps.append(float(state["step"]))

    cfg = compose_train(
        tmp_path / "run",
        *SMALL,
        "model=vgg_ae",
        "model.finetune_epochs=1",
        "trainer.max_epochs=3",
        "trainer.limit_train_batches=2",
        "trainer.limit_val_batches=1",
        "test=false",
    )
    train(cfg, extra_callbacks=[AdamSteps()])
    assert steps == [2.0, 4.0, 2.0]  # the decoder's Adam moments restart with fine-tuning
