"""A PyTorch network behind the array interface of ``Translator``: what checkpoints, TorchScript and weights files share."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch

from face2sketch.inference.translator import Translator


class NetworkTranslator(Translator):
    """Runs ``network`` on ``device`` without gradients; arrays cross to and from the device here only."""

    network: Callable[[torch.Tensor], torch.Tensor]
    device: torch.device

    def raw(self, inputs: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            outputs = self.network(torch.from_numpy(np.require(inputs, np.float32, ["C", "W"])).to(self.device))
        return outputs.float().cpu().numpy()
