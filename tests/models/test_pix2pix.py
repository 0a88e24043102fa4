"""pix2pix's losses checked from outside: a discriminator stub with known logits, so labels, the 0.5 factor on the
discriminator's losses, the L1 weight of 100 and the number of generator passes are asserted against hand-computed
values rather than against the model's own loss helper."""

from __future__ import annotations

import math
from functools import partial

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from face2sketch.models import Pix2Pix
from face2sketch.perf.bare import bare_training_step
from tests.conftest import one_batch_trainer

LN2 = math.log(2.0)
RECIPES = {
    "tutorial": {"separate_discriminator_updates": True, "discriminator_fakes": "predict"},
    "paper": {"separate_discriminator_updates": False, "discriminator_fakes": "detached", "discriminator": "patchgan70", "layer_defaults": "pytorch"},
}


class ZeroLogits(nn.Module):
    """A discriminator that answers logit 0 (p = 0.5) for every cell of every pair.

    The logits are ``bias_real`` for the real pair and ``bias_fake`` for any other (both 0), plus ``s - s.detach()``
    with ``s`` the sum of the scored image: 0 in value, but the gradient that reaches the image is dLoss/dlogits summed
    over the cells. It records what it scored and the gradients that reached its biases and the images.
    """

    def __init__(self, real: torch.Tensor) -> None:
        super().__init__()
        self.real = real
        self.bias_real = nn.Parameter(torch.zeros(()))
        self.bias_fake = nn.Parameter(torch.zeros(()))
        self.grads: dict[str, list[float]] = {"real": [], "fake": []}
        self.bias_real.register_hook(lambda g: self.grads["real"].append(float(g)))
        self.bias_fake.register_hook(lambda g: self.grads["fake"].append(float(g)))
        self.scored: list[torch.Tensor] = []
        self.image_grads: list[torch.Tensor] = []

    def forward(self, source: torch.Tensor, image: torch.Tensor) -> torch.Tensor:
        self.scored.append(image.detach().clone())
        bias = self.bias_real if torch.equal(image, self.real) else self.bias_fake
        logits = bias.expand(image.shape[0], 1, 4, 4)
        if image.requires_grad:
            x = image.float() * 1.0
            x.register_hook(lambda g: self.image_grads.append(g.detach().clone()))
            total = x.sum()
            logits = logits + (total - total.detach())
        return logits


def _model(recipe: str, real: torch.Tensor) -> tuple[Pix2Pix, ZeroLogits, list[bool]]:
    torch.manual_seed(0)
    model = Pix2Pix(
        image_size=32,
        ngf=8,
        ndf=8,
        dropout=0.5,
        **RECIPES[recipe],
        generator_optimizer=partial(torch.optim.Adam, lr=2e-4, betas=(0.5, 0.999)),
        discriminator_optimizer=partial(torch.optim.SGD, lr=0.0),  # the stub's logits stay 0 for every update
    )
    stub = ZeroLogits(real)
    model.discriminator = stub
    passes: list[bool] = []  # one entry per generator forward pass: whether it built a graph
    model.generator.register_forward_hook(lambda module, args, output: passes.append(torch.is_grad_enabled()))
    return model, stub, passes


def _batch() -> tuple[torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(1)
    return torch.rand(2, 3, 32, 32, generator=generator) * 2 - 1, torch.rand(2, 3, 32, 32, generator=generator) * 2 - 1


def _one_lightning_batch(model: Pix2Pix, source: torch.Tensor, target: torch.Tensor) -> None:
    loader = torch.utils.data.DataLoader([{"source": source[i], "target": target[i]} for i in range(len(source))], batch_size=len(source))
    trainer = one_batch_trainer()
    trainer.fit(model, train_dataloaders=loader)


def _train_one_batch(recipe: str, loop: str) -> tuple:
    """One batch of ``recipe`` against the stub, through Lightning or the benchmark's bare loop: (model, stub, passes, target)."""
    source, target = _batch()
    model, stub, passes = _model(recipe, target)
    if loop == "lightning":
        _one_lightning_batch(model, source, target)
    else:
        bare_training_step(model, "32-true")(source, target)
    return model, stub, passes, target


@pytest.mark.parametrize("loop", ["lightning", "bare"])
@pytest.mark.parametrize("recipe", ["tutorial", "paper"])
def test_discriminator_and_generator_losses_against_a_zero_logit_stub(recipe: str, loop: str) -> None:
    model, stub, passes, target = _train_one_batch(recipe, loop)

    # discriminator: BCE(0, label) = ln 2 per pair, halved: dLoss/dlogit = 0.5 (sigmoid(0) - label), summed over the cells
    assert stub.grads["real"] == pytest.approx([-0.25], abs=1e-6)  # real pairs labelled 1
    assert stub.grads["fake"] == pytest.approx([0.25], abs=1e-6)  # fake pairs labelled 0, updated only by the discriminator
    # generator: its fakes labelled 1, unhalved: the gradient reaching each pixel of the scored fake is sigmoid(0) - 1
    (image_grad,) = stub.image_grads
    assert torch.allclose(image_grad, torch.full_like(image_grad, -0.5))
    real, fake_for_d, fake_for_g = stub.scored
    assert torch.equal(real, target)
    if loop == "lightning":
        losses = {name.removeprefix("train/"): float(value) for name, value in model.last_losses.items()}
        l1 = float((fake_for_g - target).abs().mean())
        assert losses["d_loss"] == pytest.approx(0.5 * LN2 + 0.5 * LN2, abs=1e-6)
        assert losses["g_adv"] == pytest.approx(LN2, abs=1e-6)
        assert losses["l1"] == pytest.approx(l1, abs=1e-6)
        assert losses["g_loss"] == pytest.approx(LN2 + 100.0 * l1, rel=1e-6)
        assert losses["d_real"] == losses["d_fake"] == pytest.approx(0.5)


@pytest.mark.parametrize("loop", ["lightning", "bare"])
@pytest.mark.parametrize(("recipe", "expected_passes"), [("tutorial", [False, True]), ("paper", [True])])
def test_generator_passes_per_batch_with_dropout(recipe: str, expected_passes: list[bool], loop: str) -> None:
    """The tutorial scores fakes from a separate no-gradient pass (Keras' predict, other dropout masks); the paper
    detaches the generator's own output: one pass."""
    model, stub, passes, target = _train_one_batch(recipe, loop)
    assert passes == expected_passes
    _, fake_for_d, fake_for_g = stub.scored
    # with dropout 0.5 two passes differ; one pass gives the discriminator exactly the generator's fake
    assert torch.equal(fake_for_d, fake_for_g) is (recipe == "paper")


class GeneratorOutputGradient:
    """The generator's output in the pass that builds a graph, and the gradient its update sends back into it."""

    def __init__(self, model: Pix2Pix) -> None:
        self.outputs: list[torch.Tensor] = []
        self.gradients: list[torch.Tensor] = []
        model.generator.register_forward_hook(self._hook)

    def _hook(self, module: nn.Module, args: tuple, output: torch.Tensor) -> None:
        if output.requires_grad:
            self.outputs.append(output.detach().clone())
            output.register_hook(lambda grad: self.gradients.append(grad.detach().clone()))


@pytest.mark.parametrize("loop", ["lightning", "bare"])
@pytest.mark.parametrize("recipe", ["tutorial", "paper"])
@pytest.mark.parametrize("lambda_l1", [100.0, 10.0])
def test_the_generator_update_follows_the_adversarial_term_plus_lambda_times_l1(recipe: str, loop: str, lambda_l1: float) -> None:
    """What reaches each pixel of the generator's output, hand-computed: -0.5 from the stub's adversarial term (see the
    test above) plus lambda x d|fake - target|/dfake averaged, lambda x sign(fake - target) / N. An update that drops the
    L1 term, its weight or its gradient (a detached fake) fails here, whatever the logged loss says."""
    source, target = _batch()
    model, stub, _ = _model(recipe, target)
    model.lambda_l1 = lambda_l1
    seen = GeneratorOutputGradient(model)
    if loop == "lightning":
        _one_lightning_batch(model, source, target)
    else:
        bare_training_step(model, "32-true")(source, target)
    (fake,), (gradient,) = seen.outputs, seen.gradients
    expected = -0.5 + lambda_l1 * torch.sign(fake - target) / fake.numel()
    assert torch.allclose(gradient, expected, atol=1e-7, rtol=0)


def test_the_l1_weight_is_the_configured_lambda() -> None:
    source, target = _batch()
    model, stub, _ = _model("tutorial", target)
    model.lambda_l1 = 10.0
    _one_lightning_batch(model, source, target)
    l1 = float((stub.scored[-1] - target).abs().mean())
    assert float(model.last_losses["train/g_loss"]) == pytest.approx(LN2 + 10.0 * l1, rel=1e-6)
    assert float(model.last_losses["train/l1"]) == pytest.approx(float(F.l1_loss(stub.scored[-1], target)), abs=1e-6)
