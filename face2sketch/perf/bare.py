"""The yardstick the benchmark holds face2sketch's training against: the same networks, losses and optimisers
stepped by a plain PyTorch loop, with no trainer, logging, callbacks or data loader around them."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import nullcontext
from typing import Any

import torch

from face2sketch.models.base import ImageTranslationModule
from face2sketch.models.pix2pix import Pix2Pix

Step = Callable[[torch.Tensor, torch.Tensor], None]


def autocast_for(device: torch.device, precision: str) -> Any:
    """The autocast context Lightning's ``precision`` setting puts around a step (bf16-mixed), or none."""
    if precision.startswith("bf16"):
        return torch.autocast(device.type, dtype=torch.bfloat16)
    if precision.startswith("16"):
        return torch.autocast(device.type, dtype=torch.float16)
    return nullcontext()


def _as_list(optimizers: Any) -> list[torch.optim.Optimizer]:
    """configure_optimizers' result (one optimiser, a list, or (optimisers, schedulers)) as a list of optimisers."""
    if isinstance(optimizers, torch.optim.Optimizer):
        return [optimizers]
    if isinstance(optimizers, tuple) and len(optimizers) == 2 and isinstance(optimizers[1], list):
        return list(optimizers[0])
    return list(optimizers)


def autoencoder_step(model: ImageTranslationModule, optimizer: torch.optim.Optimizer, autocast: Any) -> Step:
    """One automatic-optimisation step: the model's own loss, backward, optimiser step."""

    def step(source: torch.Tensor, target: torch.Tensor) -> None:
        optimizer.zero_grad(set_to_none=True)
        with autocast:
            loss = model.compute_losses(source, target)["loss"]
        loss.backward()
        optimizer.step()

    return step


def pix2pix_step(model: Pix2Pix, opt_g: torch.optim.Optimizer, opt_d: torch.optim.Optimizer, autocast: Any) -> Step:
    """pix2pix's batch as ``Pix2Pix.training_step`` does it, written out: discriminator update(s), then the generator's."""
    generator, discriminator = model.generator, model.discriminator

    def update(optimizer: torch.optim.Optimizer, loss: torch.Tensor) -> None:
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()

    def step(source: torch.Tensor, target: torch.Tensor) -> None:
        with autocast:
            fakes_for_d, fake = model.generate(source)
            generator.requires_grad_(False)
            d_real, _ = model.discriminator_loss(source, target, real=True)
            if model.separate_discriminator_updates:
                update(opt_d, d_real)
            d_fake, _ = model.discriminator_loss(source, fakes_for_d, real=False)
            update(opt_d, d_fake if model.separate_discriminator_updates else d_real + d_fake)
            generator.requires_grad_(True)
            discriminator.requires_grad_(False)
            for parameter in model.discriminator_parameters_in_generator_step():
                parameter.requires_grad_(True)
            g_adv, l1 = model.generator_losses(source, target, fake)
            update(opt_g, g_adv + model.lambda_l1 * l1)
            discriminator.requires_grad_(True)

    return step


def bare_training_step(model: ImageTranslationModule, precision: str) -> Step:
    """A plain training step for ``model`` on its device, with fresh optimisers built by the model's own
    ``configure_optimizers`` (the same classes and settings as in training)."""
    autocast = autocast_for(model.device, precision)
    optimizers = _as_list(model.configure_optimizers())
    model.train()
    if isinstance(model, Pix2Pix):
        return pix2pix_step(model, optimizers[0], optimizers[1], autocast)
    return autoencoder_step(model, optimizers[0], autocast)
