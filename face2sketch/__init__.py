"""face2sketch: face photo <-> pencil sketch translation with PyTorch Lightning and Hydra."""

import os

# albumentations checks PyPI for a newer release at import; a research tool should not phone home.
os.environ.setdefault("NO_ALBUMENTATIONS_UPDATE", "1")

__version__ = "0.1.0"
