"""face2sketch: face photo <-> pencil sketch translation with PyTorch Lightning and Hydra.

import face2sketch
model = face2sketch.load("f2sk")   # the shipped face -> sketch model; or a run folder, .ckpt, .onnx, .pt, .pth
sketch = model("me.jpg")           # a PIL image; also a PIL image or a uint8 array in
"""

import os

from face2sketch.core.lazy import lazy_attributes

# albumentations checks PyPI for a newer release at import; a research tool should not phone home.
os.environ.setdefault("NO_ALBUMENTATIONS_UPDATE", "1")

__version__ = "0.1.0"

# the API's modules load on first use, so that ``import face2sketch.core.config`` and the like stay light
_NAMES = {
    "load": "face2sketch.inference.api",
    "Model": "face2sketch.inference.api",
    "Translation": "face2sketch.inference.api",
    "FollowSettings": "face2sketch.pictures.following",
}
__all__ = list(_NAMES)
__getattr__ = lazy_attributes(__name__, _NAMES)
