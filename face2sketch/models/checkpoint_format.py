"""The checkpoint format: what a face2sketch checkpoint carries beside Lightning's own keys, and how one is read back
for a model (resume, evaluate, export), refused in one line when it cannot hold that model's weights."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from torch import nn

from face2sketch.core.errors import ConfigError

# Saved in every checkpoint. 2: linear autoencoder heads, Keras 'same' geometry and the tutorial's pix2pix
# discriminator; checkpoints without it (format 1) hold weights trained for other layers and are refused.
CHECKPOINT_FORMAT_KEY = "face2sketch_checkpoint_format"
CHECKPOINT_FORMAT = 2


def stamp_format(checkpoint: dict[str, Any]) -> None:
    """Record the format in a checkpoint Lightning is about to save (``on_save_checkpoint``)."""
    checkpoint[CHECKPOINT_FORMAT_KEY] = CHECKPOINT_FORMAT


def load_checkpoint_state(path: str | Path, model: nn.Module, fix: str) -> dict[str, torch.Tensor]:
    """A checkpoint's state dict, or a one-line ConfigError (ending in ``fix``) if it is missing, too old or does not fit ``model``."""
    if not Path(path).is_file():
        raise ConfigError(f"checkpoint '{path}' not found: {fix}")
    checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    saved_format = checkpoint.get(CHECKPOINT_FORMAT_KEY, 1)
    if saved_format != CHECKPOINT_FORMAT:
        raise ConfigError(
            f"checkpoint '{path}' has face2sketch checkpoint format {saved_format}, this version reads format {CHECKPOINT_FORMAT} "
            "(format 1 predates the study's linear output heads and Keras layer geometry, so its weights would mean something else): retrain the run"
        )
    state = checkpoint.get("state_dict", {})
    saved = {k: tuple(v.shape) for k, v in state.items()}
    expected = {k: tuple(v.shape) for k, v in model.state_dict().items()}
    mismatched = set(saved.items()) ^ set(expected.items())
    if mismatched:
        raise ConfigError(f"checkpoint '{path}' was saved by a different model or configuration ({len(mismatched)} mismatched weights): {fix}")
    return state
