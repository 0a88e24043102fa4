"""The values each model setting may take, as plain data: the settings check (``face2sketch.training.validation``) refuses any
other before a model is built, and reads them here without importing Lightning, which the demo does not otherwise load.
The model classes take these values as given."""

from __future__ import annotations

# the autoencoders' output heads
HEADS = ("linear", "sigmoid")

# 'mse' is the study's choice (Keras, linear head: MSE on the raw output); 'bce' is binary cross-entropy, which compares
# probabilities, so it needs a sigmoid head and is computed on its logits (numerically safe, also under bf16 autocast).
LOSS_HEADS: dict[str, tuple[str, ...]] = {"mse": HEADS, "bce": ("sigmoid",)}

# model.memory_format: channels_last keeps activations NHWC; auto: channels_last on CUDA, contiguous on the CPU
MEMORY_FORMATS = ("auto", "channels_last", "contiguous")

# pix2pix: the discriminator's architecture, where its fakes come from, and whose layer defaults the networks take
DISCRIMINATOR_NAMES = ("tutorial", "patchgan70")
DISCRIMINATOR_FAKES = ("predict", "detached")
LAYER_DEFAULTS = ("keras", "pytorch")
# pix2pix's generator at inference: BatchNorm's running averages, or each picture's own statistics (as at batch 1 in training)
NORM_STATISTICS = ("running", "picture")

# vgg_ae's encoder weights (model.weights), besides a path to a state_dict file
ENCODER_WEIGHTS = ("imagenet", "imagenet_features", "none")
