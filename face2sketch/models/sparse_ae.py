"""The study's sparse autoencoder: dense 512-256-128-64-128-256-512 with an L1 penalty on the 64-d code."""

from __future__ import annotations

import torch
from torch import nn

from face2sketch.models.base import AutoencoderModule, OptimizerFactory
from face2sketch.models.networks.layers import init_keras_default


class SparseAutoencoder(nn.Module):
    """Flatten -> dense encoder to a ReLU code -> symmetric dense decoder -> dense to H*W*C logits -> reshape.

    At 256x256x3 the two layers that touch the image hold almost all of its ~201.9 M parameters.
    """

    def __init__(self, image_size: int, in_channels: int, out_channels: int, hidden: tuple[int, ...] = (512, 256, 128), code_size: int = 64) -> None:
        super().__init__()
        self.out_shape = (out_channels, image_size, image_size)
        widths = [image_size * image_size * in_channels, *hidden, code_size]
        encoder: list[nn.Module] = [nn.Flatten()]
        for a, b in zip(widths[:-1], widths[1:], strict=False):
            encoder += [nn.Linear(a, b), nn.ReLU()]
        decoder: list[nn.Module] = []
        back = [code_size, *reversed(hidden)]
        for a, b in zip(back[:-1], back[1:], strict=False):
            decoder += [nn.Linear(a, b), nn.ReLU()]
        decoder.append(nn.Linear(back[-1], out_channels * image_size * image_size))
        self.encoder, self.decoder = nn.Sequential(*encoder), nn.Sequential(*decoder)
        self.apply(init_keras_default)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(logits shaped like the target, code)."""
        code = self.encoder(x)
        return self.decoder(code).view(x.shape[0], *self.out_shape), code


class SparseAE(AutoencoderModule):
    """Sparse autoencoder on [0, 1] images: a sigmoid head trained with binary cross-entropy (the study's choice) plus L1 on the code."""

    def __init__(
        self,
        in_channels: int = 3,
        out_channels: int = 3,
        image_size: int = 256,
        hidden: tuple[int, ...] = (512, 256, 128),
        code_size: int = 64,
        l1_weight: float = 1e-4,
        loss: str = "bce",
        head: str = "sigmoid",
        optimizer: OptimizerFactory | None = None,
        num_preview_images: int = 4,
        memory_format: str = "auto",
    ) -> None:
        super().__init__(loss=loss, head=head, optimizer=optimizer, num_preview_images=num_preview_images, memory_format=memory_format)
        self.save_hyperparameters(ignore=["optimizer"])
        self.net = SparseAutoencoder(image_size, in_channels, out_channels, tuple(hidden), code_size)
        self.l1_weight = l1_weight

    def raw_output(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)[0]

    def compute_losses(self, source: torch.Tensor, target: torch.Tensor) -> dict[str, torch.Tensor]:
        logits, code = self.net(source)
        reconstruction = self.reconstruction_loss(logits, target)
        # Keras' activity_regularizer: l1 * sum |code| per example, averaged over the batch (tf.keras divides by the batch size)
        sparsity = self.l1_weight * code.float().abs().sum(dim=1).mean()
        return {"loss": reconstruction + sparsity, "reconstruction": reconstruction, "sparsity": sparsity}
