"""pix2pix (Isola et al., 2017) as the study ran it, from the Keras tutorial it names, and as the paper's code runs it.

U-Net generator, patch discriminator, BCE + 100 x L1. The adversarial loop is Lightning manual
optimisation: per batch the discriminator update(s), then one generator update.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import partial
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from face2sketch.models.base import ImageTranslationModule, OptimizerFactory, SizeRule
from face2sketch.models.networks.discriminators import TUTORIAL_DISCRIMINATOR_STRIDE, PatchDiscriminator
from face2sketch.models.networks.layers import init_normal
from face2sketch.models.networks.unet import UNetGenerator, unet_depth


class Pix2Pix(ImageTranslationModule):
    """Conditional GAN on [-1, 1] images with manual optimisation: discriminator update(s), then a generator update.

    The defaults are the study's recipe, the Keras tutorial it names: its 16x16-cell discriminator, two separate
    discriminator updates per batch (a real batch, then a fake batch, each loss x 0.5) with fakes from a separate
    no-gradient generator pass (Keras' ``predict``), Keras layer defaults. ``conf/model/pix2pix_paper.yaml`` sets
    the pix2pix paper's recipe: 70x70 PatchGAN, one joint update on 0.5 x (real + fake) with the generator's own
    output detached, PyTorch layer defaults, BatchNorm scales drawn from N(1, 0.02).

    ``generator_trains_discriminator_batchnorm`` (default, the tutorial's ``define_gan`` since January 2021): the
    composite model freezes every discriminator layer except BatchNorm, so the generator's optimiser (a separate
    Adam, as the composite model's) also moves the discriminator's BatchNorm scales and offsets. False: the
    generator update touches the generator alone, as the paper's code does.

    ``train_mode_inference`` picks how the generator predicts: False (default) runs it in eval mode
    (BatchNorm running statistics, no dropout); True keeps train mode, as the tutorial (whose BatchNorm and
    dropout are fixed in training mode) and the pix2pix paper did at test time.
    """

    value_range = (-1.0, 1.0)

    @classmethod
    def image_size_rule(cls, settings: Mapping[str, Any]) -> SizeRule:
        downs = settings.get("num_downs") or 2
        if settings.get("discriminator", "tutorial") == "tutorial":
            multiple = max(2**downs, TUTORIAL_DISCRIMINATOR_STRIDE)
            return SizeRule(multiple, multiple, f"the U-Net downsamples {downs}+ times and the tutorial's discriminator halves the image 4 times")
        return SizeRule(2**downs, max(24, 2**downs), f"the U-Net downsamples {downs}+ times and the PatchGAN needs 24 px")

    @classmethod
    def epoch_budget_problem(cls, settings: Mapping[str, Any], max_epochs: int) -> str | None:
        constant = settings.get("lr_constant_epochs")
        if constant is not None and constant >= max_epochs:
            return f"model.lr_constant_epochs={constant} is not allowed with trainer.max_epochs={max_epochs}: use fewer, or null"
        return None

    def __init__(
        self,
        in_channels: int = 3,
        out_channels: int = 3,
        image_size: int = 256,
        ngf: int = 64,
        ndf: int = 64,
        num_downs: int | None = None,
        dropout: float = 0.5,
        lambda_l1: float = 100.0,
        discriminator: str = "tutorial",
        separate_discriminator_updates: bool = True,
        discriminator_fakes: str = "predict",
        layer_defaults: str = "keras",
        generator_optimizer: OptimizerFactory | None = None,
        discriminator_optimizer: OptimizerFactory | None = None,
        lr_constant_epochs: int | None = None,
        train_mode_inference: bool = False,
        generator_trains_discriminator_batchnorm: bool = True,
        normalize_input: bool = False,
        norm_statistics: str = "running",
        num_preview_images: int = 4,
        memory_format: str = "auto",
    ) -> None:
        super().__init__(optimizer=None, num_preview_images=num_preview_images, memory_format=memory_format)
        self.save_hyperparameters(ignore=["generator_optimizer", "discriminator_optimizer"])
        self.automatic_optimization = False
        depth = num_downs or unet_depth(image_size)
        keras_layers = layer_defaults == "keras"
        self.generator = UNetGenerator(in_channels, out_channels, depth, ngf, dropout, keras_layers, normalize_input, norm_statistics)
        self.discriminator = PatchDiscriminator(in_channels + out_channels, ndf, discriminator)
        init = partial(init_normal, std=0.02, batchnorm_scale_std=0.0 if keras_layers else 0.02)
        self.generator.apply(init)
        self.discriminator.apply(init)
        self.generator_optimizer, self.discriminator_optimizer = generator_optimizer, discriminator_optimizer
        self.lambda_l1 = lambda_l1
        self.separate_discriminator_updates = separate_discriminator_updates
        self.discriminator_fakes = discriminator_fakes
        self.lr_constant_epochs = lr_constant_epochs
        self.train_mode_inference = train_mode_inference
        self.generator_trains_discriminator_batchnorm = generator_trains_discriminator_batchnorm

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.generator(x)

    # -- the adversarial loop: generate, then the discriminator's step, then the generator's ------------------
    def adversarial_loss(self, logits: torch.Tensor, real: bool) -> torch.Tensor:
        """BCE of the discriminator's logits against "real" (1) or "fake" (0) for every cell."""
        return F.binary_cross_entropy_with_logits(logits.float(), torch.full_like(logits.float(), 1.0 if real else 0.0))

    def generate(self, source: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(the fakes the discriminator judges, the generator's output its own update trains on).

        The tutorial's discriminator judges a separate pass without gradient (``g_model.predict``); the paper's code
        judges the generator's own output, detached (``model.discriminator_fakes=detached``).
        """
        if self.discriminator_fakes == "detached":
            fake = self.generator(source)
            return fake.detach(), fake
        with torch.no_grad():
            predicted = self.generator(source)
        return predicted, self.generator(source)

    def discriminator_loss(self, source: torch.Tensor, image: torch.Tensor, real: bool) -> tuple[torch.Tensor, torch.Tensor]:
        """(0.5 x BCE of the discriminator's logits on (source, image) against "real" or "fake", the logits)."""
        logits = self.discriminator(source, image)
        return 0.5 * self.adversarial_loss(logits, real), logits

    def generator_losses(self, source: torch.Tensor, target: torch.Tensor, fake: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(the generator's adversarial loss: how far the discriminator is from calling its output real, L1 to the target)."""
        return self.adversarial_loss(self.discriminator(source, fake), True), F.l1_loss(fake.float(), target)

    def update(self, optimizer: Any, loss: torch.Tensor) -> None:
        """One optimiser step on ``loss``."""
        optimizer.zero_grad(set_to_none=True)
        self.manual_backward(loss)
        optimizer.step()

    def training_step(self, batch: dict, batch_idx: int) -> None:
        """One batch, as the reference's ``optimize_parameters``: generate, update the discriminator, then the generator."""
        source, target = self.prepare_batch(batch)
        opt_g, opt_d = self.optimizers()
        fakes_for_d, fake = self.generate(source)
        # the discriminator: a real-batch then a fake-batch update (the tutorial's two train_on_batch calls), or one
        # update on both (the paper's)
        self.toggle_optimizer(opt_d)
        d_real, real_logits = self.discriminator_loss(source, target, real=True)
        if self.separate_discriminator_updates:
            self.update(opt_d, d_real)
        d_fake, fake_logits = self.discriminator_loss(source, fakes_for_d, real=False)
        self.update(opt_d, d_fake if self.separate_discriminator_updates else d_real + d_fake)
        self.untoggle_optimizer(opt_d)
        # the generator: fool the discriminator, plus lambda_l1 x L1 to the target
        self.toggle_optimizer(opt_g)
        g_adv, l1 = self.generator_losses(source, target, fake)
        g_loss = g_adv + self.lambda_l1 * l1
        self.update(opt_g, g_loss)
        self.untoggle_optimizer(opt_g)
        d_real_score, d_fake_score = torch.sigmoid(real_logits.float()).mean(), torch.sigmoid(fake_logits.float()).mean()
        losses = {"d_loss": d_real + d_fake, "d_real": d_real_score, "d_fake": d_fake_score, "g_loss": g_loss, "g_adv": g_adv, "l1": l1}
        self.log_losses({f"train/{name}": value for name, value in losses.items()}, batch_size=source.shape[0])

    def on_train_epoch_end(self) -> None:
        super().on_train_epoch_end()
        for scheduler in self.lr_schedulers() or []:
            scheduler.step()

    def discriminator_parameters_in_generator_step(self) -> list[nn.Parameter]:
        """The discriminator's weights that the generator's update trains too: its BatchNorm scales and offsets when
        ``generator_trains_discriminator_batchnorm`` (the tutorial's composite model), else none."""
        if not self.generator_trains_discriminator_batchnorm:
            return []
        return [p for m in self.discriminator.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm) for p in m.parameters()]

    def configure_optimizers(self) -> Any:
        if self.generator_optimizer is None or self.discriminator_optimizer is None:
            raise ValueError("pix2pix needs model.generator_optimizer and model.discriminator_optimizer")
        opt_g = self.generator_optimizer(params=[*self.generator.parameters(), *self.discriminator_parameters_in_generator_step()])
        opt_d = self.discriminator_optimizer(params=self.discriminator.parameters())
        if self.lr_constant_epochs is None or self.trainer.fast_dev_run:
            return [opt_g, opt_d]  # fast_dev_run runs one epoch: no schedule to follow
        total, constant = int(self.trainer.max_epochs), self.lr_constant_epochs
        # validation.validate_settings refused a schedule whose constant epochs leave none to decay over
        assert not self.epoch_budget_problem({"lr_constant_epochs": constant}, total)
        decay = total - constant

        def linear_decay(epoch: int) -> float:
            """Constant, then linearly down to 1/(decay + 1) of the base rate in the last epoch (the pix2pix schedule)."""
            return 1.0 - max(0, epoch + 1 - constant) / (decay + 1)

        schedulers = [torch.optim.lr_scheduler.LambdaLR(opt, linear_decay) for opt in (opt_g, opt_d)]
        return [opt_g, opt_d], schedulers

    # -- inference mode ------------------------------------------------------------------------------
    def enter_prediction_mode(self) -> None:
        super().enter_prediction_mode()
        if self.train_mode_inference:
            self.generator.train()
