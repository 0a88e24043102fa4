"""The study's four models: every (model, direction) trains, and each model's own promises hold."""

from __future__ import annotations

import csv
from pathlib import Path

import lightning as L
import pytest
import torch
from lightning.pytorch.callbacks import ModelCheckpoint

from face2sketch.core.errors import ConfigError
from face2sketch.models import VGGAE, Pix2Pix, SparseAE
from face2sketch.models.networks.unet import unet_depth
from face2sketch.models.networks.vgg import load_vgg16_features
from face2sketch.train import build_run, train
from tests.conftest import SeenTestBatches, compose_train, rescored

MODELS = ["sparse_ae", "conv_ae", "pix2pix", "vgg_ae"]
SMALL = ("data=synthetic", "data.image_size=32", "data.num_train=8", "data.num_test=4", "data.batch_size=2", "trainer=cpu", "++for_model.vgg_ae.weights=none")


class Capture(L.Callback):
    """Keeps the trained module and what each training epoch ended with."""

    def __init__(self) -> None:
        self.module: L.LightningModule | None = None
        self.epochs: list[dict] = []
        self.step_order: list[str] = []

    def on_fit_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self.module = pl_module

    def on_train_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        record = {"epoch": trainer.current_epoch, "lr": [o.param_groups[0]["lr"] for o in trainer.optimizers]}
        if isinstance(pl_module, VGGAE):
            record["frozen"] = pl_module.encoder_frozen
            record["encoder_sum"] = sum(float(p.detach().sum()) for p in pl_module.encoder.parameters())
        self.epochs.append(record)


@pytest.mark.parametrize("sketch_channels", [3, 1])
@pytest.mark.parametrize("direction", ["f2sk", "sk2f"])
@pytest.mark.parametrize("model", MODELS)
def test_every_model_and_direction_trains_with_right_shape_and_range(tmp_path: Path, model: str, direction: str, sketch_channels: int) -> None:
    cfg = compose_train(tmp_path / "run", *SMALL, f"model={model}", f"direction={direction}", f"direction.sketch_channels={sketch_channels}", "debug=fdr")
    capture, seen = Capture(), SeenTestBatches()
    summary = train(cfg, extra_callbacks=[capture, seen])
    # the test scores are the trained weights' own, recomputed from the test batch with the value range mapped here
    expected = rescored(capture.module, seen.batches)
    assert summary["test_metrics"] == pytest.approx(expected, abs=1e-5)
    module = capture.module.eval()
    in_c, out_c = (3, sketch_channels) if direction == "f2sk" else (sketch_channels, 3)
    low, high = module.value_range
    source = torch.rand(2, in_c, 32, 32) * (high - low) + low
    with torch.no_grad():
        raw = module(source)
        out = module.to_unit_range(raw)
    assert raw.shape == out.shape == (2, out_c, 32, 32)
    assert torch.isfinite(raw).all()
    if getattr(module, "head", "tanh") != "linear":
        # sigmoid (sparse_ae) and tanh (pix2pix) heads: the network's own output stays in the value range, before any clamp
        assert low <= raw.min() and raw.max() <= high
    assert out.min() >= 0 and out.max() <= 1


def _last_bias(module: torch.nn.Module) -> torch.Tensor:
    return [m for m in module.modules() if isinstance(m, (torch.nn.Conv2d, torch.nn.ConvTranspose2d, torch.nn.Linear))][-1].bias


@pytest.mark.parametrize(
    ("build", "poison"),
    [
        (lambda: SparseAE(image_size=16), 6.0),
        (lambda: SparseAE(image_size=16), -6.0),
        (lambda: Pix2Pix(image_size=16), 6.0),
        (lambda: Pix2Pix(image_size=16), -6.0),
    ],
    ids=["sigmoid_high", "sigmoid_low", "tanh_high", "tanh_low"],
)
def test_sigmoid_and_tanh_heads_keep_the_raw_network_output_in_the_value_range(build, poison: float) -> None:
    """The network's own output, before to_unit_range's clamp, with the last layer's bias pushed far outside the range."""
    module = build().eval()
    with torch.no_grad():
        _last_bias(module.generator if isinstance(module, Pix2Pix) else module).fill_(poison)
        raw = module(torch.rand(2, 3, 16, 16))
    low, high = module.value_range
    assert low <= raw.min() and raw.max() <= high
    assert (raw.mean() - (high if poison > 0 else low)).abs() < 0.05 * (high - low)  # saturated at the near end


class StepOrder(L.Callback):
    """Records which optimiser stepped, in order, by hooks on the real optimisers."""

    def __init__(self) -> None:
        self.order: list[str] = []

    def on_train_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        for name, optimizer in zip(("generator", "discriminator"), trainer.optimizers, strict=False):
            optimizer.register_step_post_hook(lambda *_, name=name: self.order.append(name))


@pytest.mark.parametrize(
    ("model", "expected_order"),
    [
        ("pix2pix", ["discriminator", "discriminator", "generator"]),  # the tutorial: a real-batch and a fake-batch update
        ("pix2pix_paper", ["discriminator", "generator"]),  # the paper: one update on real and fake together
    ],
)
def test_pix2pix_steps_discriminator_then_generator_and_updates_both(tmp_path: Path, model: str, expected_order: list[str]) -> None:
    cfg = compose_train(
        tmp_path / "run", *SMALL, f"model={model}", "trainer.max_epochs=1", "trainer.limit_train_batches=1", "trainer.limit_val_batches=1", "test=false"
    )
    order, capture = StepOrder(), Capture()
    summary = train(cfg, extra_callbacks=[order, capture])
    trained = capture.module
    assert order.order == expected_order
    assert summary["global_step"] == len(expected_order)  # Lightning counts every optimiser step
    # every parameter moved: compare with the model the same seed and config build before training
    untrained, _, _ = build_run(compose_train(tmp_path / "fresh", *SMALL, f"model={model}"))
    for part in ("generator", "discriminator"):
        before = dict(getattr(untrained, part).named_parameters())
        after = dict(getattr(trained, part).named_parameters())
        unchanged = [name for name in before if torch.equal(before[name], after[name])]
        assert not unchanged, f"{part}: {unchanged} did not change"


class BatchLosses(L.Callback):
    """The loss terms each training batch ended with (the model's ``last_losses``), batch by batch."""

    def __init__(self) -> None:
        self.batches: list[dict[str, float]] = []

    def on_train_batch_end(self, trainer: L.Trainer, pl_module: L.LightningModule, outputs, batch, batch_idx: int) -> None:
        self.batches.append({name: float(value) for name, value in pl_module.last_losses.items()})


GAN_TERMS = ("d_loss", "d_real", "d_fake", "g_loss", "g_adv", "l1")


def test_pix2pix_logs_the_gan_terms_it_computed(tmp_path: Path) -> None:
    """metrics.csv holds, for each batch, the six terms the batch computed, and for the epoch their mean."""
    cfg = compose_train(
        tmp_path / "run",
        *SMALL,
        "model=pix2pix",
        "logger=csv",
        "trainer.max_epochs=1",
        "trainer.limit_train_batches=2",
        "trainer.log_every_n_steps=1",
        "test=false",
    )
    computed = BatchLosses()
    train(cfg, extra_callbacks=[computed])
    with open(tmp_path / "run" / "csv" / "metrics.csv") as handle:
        rows = list(csv.DictReader(handle))
    steps = [row for row in rows if row.get("train/g_loss_step")]
    (epoch,) = [row for row in rows if row.get("train/g_loss_epoch")]
    assert len(steps) == len(computed.batches) == 2
    for logged, batch in zip(steps, computed.batches, strict=True):
        assert {term: float(logged[f"train/{term}_step"]) for term in GAN_TERMS} == pytest.approx(
            {term: batch[f"train/{term}"] for term in GAN_TERMS}, rel=1e-6
        )
        assert batch["train/g_loss"] == pytest.approx(batch["train/g_adv"] + 100.0 * batch["train/l1"], rel=1e-6)
    for term in GAN_TERMS:  # both batches hold 2 examples: the epoch value is the plain mean
        assert float(epoch[f"train/{term}_epoch"]) == pytest.approx(sum(b[f"train/{term}"] for b in computed.batches) / 2, rel=1e-6)


class GeneratorOutputDtype(L.Callback):
    """The dtype of the generator's output in each training forward pass."""

    def __init__(self) -> None:
        self.dtypes: list[torch.dtype] = []

    def on_train_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        pl_module.generator.register_forward_hook(lambda module, args, output: self.dtypes.append(output.dtype) if module.training else None)


def test_pix2pix_runs_under_bf16_autocast(tmp_path: Path) -> None:
    """bf16-mixed: the generator computes in bfloat16, the losses in float32, and the test scores are what the trained
    weights' predictions under the same autocast score in float32."""
    cfg = compose_train(tmp_path / "run", *SMALL, "model=pix2pix", "trainer.precision=bf16-mixed", "debug=fdr")
    capture, seen, dtypes = Capture(), SeenTestBatches(), GeneratorOutputDtype()
    summary = train(cfg, extra_callbacks=[capture, seen, dtypes])
    assert dtypes.dtypes and set(dtypes.dtypes) == {torch.bfloat16}
    assert {value.dtype for value in capture.module.last_losses.values()} == {torch.float32}
    # the generator under autocast, its predictions scored in float32 (bf16 SSIM loses its local variances' digits)
    expected = rescored(capture.module, seen.batches, autocast=torch.bfloat16)
    assert summary["test_metrics"] == pytest.approx(expected, abs=1e-5)


def test_pix2pix_linear_decay_is_stepped_per_epoch(tmp_path: Path) -> None:
    cfg = compose_train(
        tmp_path / "run", *SMALL, "model=pix2pix", "model.lr_constant_epochs=1", "trainer.max_epochs=3", "trainer.limit_train_batches=1", "test=false"
    )
    capture = Capture()
    train(cfg, extra_callbacks=[capture])
    # the rate each epoch trained with: constant for 1 epoch, then linearly down (x 2/3, x 1/3), both optimisers
    for optimiser in (0, 1):
        lrs = [e["lr"][optimiser] for e in capture.epochs]
        assert lrs == pytest.approx([2e-4, 2e-4 * 2 / 3, 2e-4 * 1 / 3], abs=1e-12)


@pytest.mark.parametrize("train_mode", [False, True])
def test_pix2pix_inference_mode_flag(tmp_path: Path, train_mode: bool) -> None:
    seen: list[bool] = []

    class Watch(L.Callback):
        def on_test_batch_start(self, trainer, pl_module, batch, batch_idx, dataloader_idx=0) -> None:
            seen.append(pl_module.generator.training)

    cfg = compose_train(tmp_path / "run", *SMALL, "model=pix2pix", f"model.train_mode_inference={train_mode}", "debug=fdr")
    train(cfg, extra_callbacks=[Watch()])
    assert seen and all(flag is train_mode for flag in seen)


def _trained_batchnorm(generator: torch.nn.Module) -> None:
    """A few batch-1 training passes, so the running averages are those of one kind of picture (bright ones)."""
    generator.train()
    with torch.no_grad():
        for seed in range(5):
            generator(torch.rand(1, 3, 32, 32, generator=torch.Generator().manual_seed(seed)) * 0.5 + 0.5)


def test_picture_statistics_predict_each_picture_as_batch_one_training_normalized_it() -> None:
    picture = Pix2Pix(image_size=32, norm_statistics="picture", dropout=0.0).generator
    running = Pix2Pix(image_size=32, norm_statistics="running", dropout=0.0).generator
    _trained_batchnorm(picture)
    running.load_state_dict(picture.state_dict())  # the same parameters and buffers: checkpoints load either way
    dark = torch.rand(3, 3, 32, 32, generator=torch.Generator().manual_seed(9)) * 0.4 - 1.0  # far from the averages
    with torch.no_grad():
        as_trained = torch.cat([picture.train()(dark[i : i + 1]) for i in range(3)])
        alone = torch.cat([picture.eval()(dark[i : i + 1]) for i in range(3)])
        together = picture(dark)
        from_averages = running.eval()(dark)
    torch.testing.assert_close(alone, as_trained, atol=1e-5, rtol=0)
    torch.testing.assert_close(together, alone, atol=1e-5, rtol=0)  # whatever else is in the batch
    assert (from_averages - as_trained).abs().max() > 0.05  # the running averages normalize these pictures otherwise


def test_unet_depth_follows_image_size() -> None:
    assert (unet_depth(256), unet_depth(128), unet_depth(64), unet_depth(224)) == (8, 7, 6, 5)
    generator = Pix2Pix(image_size=256).generator.eval()
    assert len(generator.encoder) == 7  # C64 C128 C256 C512 x4, then the bottleneck: 8 downsamplings
    with torch.no_grad():
        assert generator(torch.zeros(1, 3, 256, 256)).shape == (1, 3, 256, 256)


def test_vgg_weights_load_through_torchvision_cache_without_download(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from torchvision.models import vgg16

    reference = vgg16(weights=None)
    (tmp_path / "hub" / "checkpoints").mkdir(parents=True)
    torch.save(reference.state_dict(), tmp_path / "hub" / "checkpoints" / "vgg16-397923af.pth")
    monkeypatch.setattr(torch.hub, "_hub_dir", str(tmp_path / "hub"))
    features, mean, std = load_vgg16_features("imagenet", download=False)
    assert all(torch.equal(a, b) for a, b in zip(features.state_dict().values(), reference.features.state_dict().values(), strict=False))
    assert mean == (0.485, 0.456, 0.406) and std == (0.229, 0.224, 0.225)


def test_vgg_weights_from_a_state_dict_file(tmp_path: Path) -> None:
    from torchvision.models import vgg16

    reference = vgg16(weights=None).features
    torch.save(reference.state_dict(), tmp_path / "features.pth")
    features, _, _ = load_vgg16_features(str(tmp_path / "features.pth"))
    assert torch.equal(features[0].weight, reference[0].weight)


def test_caffe_weights_use_caffe_normalisation(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from torchvision.models import vgg16

    (tmp_path / "hub" / "checkpoints").mkdir(parents=True)
    torch.save(vgg16(weights=None).features.state_dict(), tmp_path / "hub" / "checkpoints" / "vgg16_features-amdegroot-88682ab5.pth")
    monkeypatch.setattr(torch.hub, "_hub_dir", str(tmp_path / "hub"))
    model = VGGAE(image_size=32, weights="imagenet_features", download=False)
    assert torch.allclose(model.input_std.flatten(), torch.full((3,), 1 / 255))


def test_missing_vgg_weights_say_which_file_goes_where(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(torch.hub, "_hub_dir", str(tmp_path / "hub"))
    with pytest.raises(ConfigError) as err:
        load_vgg16_features("imagenet", download=False)
    message = str(err.value)
    assert "vgg16-397923af.pth" in message and str(tmp_path / "hub" / "checkpoints") in message and "++for_model.vgg_ae.weights=none" in message


def test_vgg_fine_tuning_unfreezes_at_the_right_epoch_and_resumes_in_stage(tmp_path: Path) -> None:
    stage = (
        "model=vgg_ae",
        "model.finetune_epochs=1",
        "model.finetune_lr=0.0001",
        "trainer.max_epochs=3",
        "trainer.limit_train_batches=1",
        "trainer.limit_val_batches=1",
        "test=false",
    )
    keep_all = ModelCheckpoint(dirpath=tmp_path / "run" / "checkpoints", filename="{epoch}", monitor=None, save_top_k=-1)
    capture = Capture()
    train(compose_train(tmp_path / "run", *SMALL, *stage), extra_callbacks=[capture, keep_all])
    assert [e["frozen"] for e in capture.epochs] == [True, True, False]
    assert [e["lr"][0] for e in capture.epochs] == pytest.approx([1e-3, 1e-3, 1e-4])
    sums = [e["encoder_sum"] for e in capture.epochs]
    assert sums[0] == sums[1] != sums[2], "the encoder moves only once unfrozen"

    resumed = Capture()
    ckpt = tmp_path / "run" / "checkpoints" / "epoch=1.ckpt"  # saved after epoch 1, still frozen
    train(compose_train(tmp_path / "resumed", *SMALL, *stage, f"ckpt_path='{ckpt}'"), extra_callbacks=[resumed])
    assert [(e["epoch"], e["frozen"]) for e in resumed.epochs] == [(2, False)]
    assert resumed.epochs[0]["lr"][0] == pytest.approx(1e-4)


def test_vgg_fine_tuning_longer_than_the_run_is_a_clear_error(tmp_path: Path) -> None:
    cfg = compose_train(tmp_path / "run", *SMALL, "model=vgg_ae", "trainer.max_epochs=2", "model.finetune_epochs=5")
    with pytest.raises(ConfigError, match="finetune_epochs"):
        train(cfg)


@pytest.mark.slow  # compiling pix2pix's networks takes a minute or more on 2 CPU cores
def test_pix2pix_trains_the_same_with_networks_compiled_for_cuda_graphs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """compile_mode=reduce-overhead (CUDA graphs on a GPU; on the CPU Inductor alone) trains as the eager networks do,
    and every step is marked as a new one for the graphs: the 3 training batches and the validation batch."""
    marks: list[int] = []
    mark_step = torch.compiler.cudagraph_mark_step_begin
    monkeypatch.setattr(torch.compiler, "cudagraph_mark_step_begin", lambda: (marks.append(1), mark_step())[1])
    run = (*SMALL, "model=pix2pix", "model.dropout=0", "model.ngf=8", "model.ndf=8", "trainer.max_epochs=1", "trainer.limit_train_batches=3")
    losses = {}
    for compiled in (False, True):
        capture = Capture()
        extra = ("compile=true", "compile_mode=reduce-overhead") if compiled else ()
        train(compose_train(tmp_path / str(compiled), *run, "trainer.limit_val_batches=1", "trainer.num_sanity_val_steps=0", "test=false", *extra), [capture])
        losses[compiled] = {name: float(value) for name, value in capture.module.last_losses.items()}
    assert len(marks) == 3 + 1
    assert losses[True] == pytest.approx(losses[False], rel=1e-3, abs=1e-5)
