"""Every model as a user runs it, composed through Hydra from its config (``model=<name>``, the study's image size),
against its table: each layer's width, kernel, stride and output size, the parameter count worked out by hand from
those layers, and the settings the study (or the recipe's source) gives it.

The models are built on PyTorch's meta device: shapes and counts without allocating their weights.
"""

from __future__ import annotations

from pathlib import Path

import torch
from hydra.utils import instantiate
from torch import nn

from face2sketch.models.base import ImageTranslationModule
from tests.conftest import compose_train


def composed(model: str) -> tuple[ImageTranslationModule, dict]:
    """The LightningModule ``model=<model>`` instantiates with the default data (CUHK at the model's study size), on the
    meta device, and the composed config."""
    cfg = compose_train(Path("unused") / "run", f"model={model}", "++for_model.vgg_ae.weights=none")
    with torch.device("meta"):
        module = instantiate(cfg.model, _convert_="all")
    return module, cfg


def layer_table(network: nn.Module, image: torch.Tensor, *more: torch.Tensor) -> list[tuple]:
    """(kind, output channels or features, kernel, stride, output side) of every convolution and dense layer, in the
    order a forward pass runs them."""
    rows: list[tuple] = []

    def record(layer: nn.Module, args: tuple, output: torch.Tensor) -> None:
        if isinstance(layer, nn.Linear):
            rows.append(("dense", layer.out_features))
        else:
            kind = "convT" if isinstance(layer, nn.ConvTranspose2d) else "conv"
            rows.append((kind, layer.out_channels, layer.kernel_size[0], layer.stride[0], output.shape[-1]))

    hooks = [m.register_forward_hook(record) for m in network.modules() if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear))]
    with torch.no_grad():
        network(image, *more)
    for hook in hooks:
        hook.remove()
    return rows


def activations(network: nn.Module) -> list[tuple[str, float | None]]:
    """The activation layers in module order, with LeakyReLU's negative slope."""
    kinds = (nn.LeakyReLU, nn.ReLU, nn.Tanh, nn.Sigmoid)
    return [(type(m).__name__, getattr(m, "negative_slope", None)) for m in network.modules() if isinstance(m, kinds)]


def conv_parameters(kernel: int, widths: list[int], bias: bool = True) -> int:
    """Weights (and biases) of a chain of kernel x kernel convolutions through ``widths`` (input width first)."""
    return sum(kernel * kernel * a * b + (b if bias else 0) for a, b in zip(widths[:-1], widths[1:], strict=False))


def dense_parameters(widths: list[int]) -> int:
    return sum(a * b + b for a, b in zip(widths[:-1], widths[1:], strict=False))


def parameters(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def keras_parameters(module: nn.Module) -> int:
    """The count Keras prints: parameters plus BatchNorm's moving mean and variance."""
    moving = sum(m.running_mean.numel() + m.running_var.numel() for m in module.modules() if isinstance(m, nn.BatchNorm2d))
    return parameters(module) + moving


def adam_settings(module: ImageTranslationModule) -> list[tuple]:
    optimizers = module.configure_optimizers()
    optimizers = optimizers if isinstance(optimizers, list) else [optimizers]
    return [(type(o).__name__, o.defaults["lr"], tuple(o.defaults["betas"]), o.defaults["eps"]) for o in optimizers]


KERAS_ADAM = ("Adam", 1e-3, (0.9, 0.999), 1e-7)


def test_conv_ae_is_table_one() -> None:
    """Table I: Conv 16/32/64 (5x5, stride 2, same), ConvT 64/32/16 (5x5, stride 2), Conv 3 (5x5, stride 1), at 256 px."""
    module, cfg = composed("conv_ae")
    image = torch.zeros(1, 3, 256, 256, device="meta")
    assert layer_table(module.net, image) == [
        ("conv", 16, 5, 2, 128),
        ("conv", 32, 5, 2, 64),
        ("conv", 64, 5, 2, 32),
        ("convT", 64, 5, 2, 64),
        ("convT", 32, 5, 2, 128),
        ("convT", 16, 5, 2, 256),
        ("conv", 3, 5, 1, 256),
    ]
    assert activations(module.net) == [("LeakyReLU", 0.1)] * 6  # after every layer but the linear last one
    assert parameters(module) == conv_parameters(5, [3, 16, 32, 64, 64, 32, 16, 3]) == 233_027
    assert (module.head, module.loss_kind) == ("linear", "mse")
    assert (cfg.data.image_size, cfg.data.batch_size, cfg.trainer.max_epochs) == (256, 32, 100)
    assert adam_settings(module) == [KERAS_ADAM]


def test_sparse_ae_is_the_studys_dense_autoencoder() -> None:
    """Flatten, dense 512-256-128-64-128-256-512, dense to 256 x 256 x 3: about 201 M parameters."""
    module, cfg = composed("sparse_ae")
    pixels = 256 * 256 * 3
    assert layer_table(module.net, torch.zeros(1, 3, 256, 256, device="meta")) == [("dense", n) for n in (512, 256, 128, 64, 128, 256, 512, pixels)]
    assert activations(module.net) == [("ReLU", None)] * 7  # the code included; the last layer's logits go to the sigmoid head
    assert parameters(module) == dense_parameters([pixels, 512, 256, 128, 64, 128, 256, 512, pixels]) == 201_869_120
    assert (module.head, module.loss_kind, module.l1_weight) == ("sigmoid", "bce", 1e-4)
    assert (cfg.data.image_size, cfg.data.batch_size, cfg.trainer.max_epochs) == (256, 32, 100)
    assert adam_settings(module) == [KERAS_ADAM]


VGG16_FEATURES = [3, 64, 64, 128, 128, 256, 256, 256, 512, 512, 512, 512, 512, 512]


def test_vgg_ae_is_table_two_with_3x3_decoder_kernels() -> None:
    """VGG-16's 13 3x3 convolutions (7x7x512 at 224 px), then ConvT 256/128/64/32/16 (stride 2) and ConvT 3 (stride 1):
    16,286,947 parameters, 14,714,688 of them the frozen encoder (docs/fidelity.md: the study's 16.3 M and 14.7 M)."""
    module, cfg = composed("vgg_ae")
    table = layer_table(module, torch.zeros(1, 3, 224, 224, device="meta"))
    encoder_sides = [224] * 2 + [112] * 2 + [56] * 3 + [28] * 3 + [14] * 3
    assert table[:13] == [("conv", width, 3, 1, side) for width, side in zip(VGG16_FEATURES[1:], encoder_sides, strict=True)]
    assert table[13:] == [("convT", 256, 3, 2, 14), ("convT", 128, 3, 2, 28), ("convT", 64, 3, 2, 56), ("convT", 32, 3, 2, 112), ("convT", 16, 3, 2, 224)] + [
        ("convT", 3, 3, 1, 224)
    ]
    assert activations(module) == [("ReLU", None)] * 13 + [("LeakyReLU", 0.1)] * 5  # VGG's ReLUs; the decoder's, its last layer linear
    encoder = sum(conv_parameters(3, VGG16_FEATURES[i : i + 2]) for i in range(13))
    decoder = conv_parameters(3, [512, 256, 128, 64, 32, 16, 3])
    assert encoder == 14_714_688 and encoder + decoder == 16_286_947
    assert parameters(module) == encoder + decoder and sum(p.numel() for p in module.parameters() if not p.requires_grad) == encoder
    assert (module.head, module.loss_kind, module.finetune_epochs, module.finetune_lr) == ("linear", "mse", 10, 1e-4)
    assert (cfg.data.image_size, cfg.data.batch_size, cfg.trainer.max_epochs) == (224, 32, 110)  # 100 frozen + 10 fine-tuning
    assert adam_settings(module) == [KERAS_ADAM]


UNET_ENCODER = [64, 128, 256, 512, 512, 512, 512]  # C64 (no norm) C128 C256 C512 x4, then the 1x1 bottleneck
UNET_DECODER = [512, 512, 512, 512, 256, 128, 64]  # the mirror; each block's output is joined to its encoder twin


def unet_table() -> list[tuple]:
    sides = [128, 64, 32, 16, 8, 4, 2]
    encoder = [("conv", width, 4, 2, side) for width, side in zip(UNET_ENCODER, sides, strict=True)] + [("conv", 512, 4, 2, 1)]
    return encoder + [("convT", width, 4, 2, side) for width, side in zip(UNET_DECODER, reversed(sides), strict=True)] + [("convT", 3, 4, 2, 256)]


def unet_parameters(biases_before_batchnorm: bool, batchnorm_per_channel: int) -> int:
    """The U-Net at 256 px by hand; BatchNorm follows every block but the first encoder block and the bottleneck."""
    encoder = conv_parameters(4, [3, 64]) + conv_parameters(4, [64, *UNET_ENCODER[1:]], biases_before_batchnorm) + conv_parameters(4, [512, 512])
    decoder_inputs = [512] + [2 * width for width in UNET_DECODER[:-1]]  # the bottleneck, then block + skip
    decoder = sum(16 * a * b + (b if biases_before_batchnorm else 0) for a, b in zip(decoder_inputs, UNET_DECODER, strict=True))
    head = conv_parameters(4, [2 * 64, 3])
    batchnorm = batchnorm_per_channel * (sum(UNET_ENCODER[1:]) + sum(UNET_DECODER))
    return encoder + decoder + head + batchnorm


def test_pix2pix_is_the_keras_tutorials_unet_and_discriminator() -> None:
    """The tutorial the study names, at 256 px: its U-Net (dropout 0.5 in the first three decoder blocks, a bias on
    every convolution) and its discriminator C64-C128-C256-C512 (stride 2), C512 and the output (stride 1), one logit
    per 16x16 cell; counted as Keras counts (BatchNorm's moving statistics included)."""
    module, cfg = composed("pix2pix")
    image = torch.zeros(1, 3, 256, 256, device="meta")
    assert layer_table(module.generator, image) == unet_table()
    # LeakyReLU(0.2) after each encoder block, a ReLU bottleneck, tanh out (the decoder's ReLUs follow each skip join)
    assert activations(module.generator) == [("LeakyReLU", 0.2)] * 7 + [("ReLU", None), ("Tanh", None)]
    assert keras_parameters(module.generator) == unet_parameters(True, 4) == 54_429_315
    dropouts = [[m.p for m in block.modules() if isinstance(m, nn.Dropout)] for block in module.generator.decoder]
    assert dropouts == [[0.5]] * 3 + [[]] * 4
    assert layer_table(module.discriminator, image, image) == [
        ("conv", 64, 4, 2, 128),
        ("conv", 128, 4, 2, 64),
        ("conv", 256, 4, 2, 32),
        ("conv", 512, 4, 2, 16),
        ("conv", 512, 4, 1, 16),
        ("conv", 1, 4, 1, 16),
    ]
    assert activations(module.discriminator) == [("LeakyReLU", 0.2)] * 5  # logits out: BCE is taken on them
    discriminator = conv_parameters(4, [6, 64, 128, 256, 512, 512, 1]) + 4 * (128 + 256 + 512 + 512)
    assert keras_parameters(module.discriminator) == discriminator == 6_968_257
    assert module.lambda_l1 == 100.0
    assert (cfg.data.image_size, cfg.data.batch_size, cfg.trainer.max_epochs) == (256, 1, 6)
    assert adam_settings(module) == [("Adam", 2e-4, (0.5, 0.999), 1e-7)] * 2


def test_pix2pix_paper_is_the_papers_unet_and_70x70_patchgan() -> None:
    """The pix2pix paper's code: the same U-Net without biases before BatchNorm, and the 70x70 PatchGAN (C64-C128-C256
    stride 2, C512 and the output stride 1, 4x4 kernels, padding 1): 30x30 logits at 256 px."""
    module, cfg = composed("pix2pix_paper")
    image = torch.zeros(1, 3, 256, 256, device="meta")
    assert layer_table(module.generator, image) == unet_table()
    assert parameters(module.generator) == unet_parameters(False, 2) == 54_414_531
    assert layer_table(module.discriminator, image, image) == [
        ("conv", 64, 4, 2, 128),
        ("conv", 128, 4, 2, 64),
        ("conv", 256, 4, 2, 32),
        ("conv", 512, 4, 1, 31),
        ("conv", 1, 4, 1, 30),
    ]
    discriminator = conv_parameters(4, [6, 64]) + conv_parameters(4, [64, 128, 256, 512], bias=False) + 2 * (128 + 256 + 512) + conv_parameters(4, [512, 1])
    assert parameters(module.discriminator) == discriminator == 2_768_705
    assert (module.lambda_l1, cfg.data.batch_size, cfg.trainer.max_epochs) == (100.0, 1, 6)
    assert adam_settings(module) == [("Adam", 2e-4, (0.5, 0.999), 1e-8)] * 2
