"""The autoencoders' output heads and the reconstruction losses each is defined on, as plain data: the settings check
(``face2sketch.validation``) reads them without importing Lightning, which the demo does not otherwise load."""

from __future__ import annotations

HEADS = ("linear", "sigmoid")

# 'mse' is the study's choice (Keras, linear head: MSE on the raw output); 'bce' is binary cross-entropy, which compares
# probabilities, so it needs a sigmoid head and is computed on its logits (numerically safe, also under bf16 autocast).
LOSS_HEADS: dict[str, tuple[str, ...]] = {"mse": HEADS, "bce": ("sigmoid",)}
