"""Run folders for inference tests: a model with random weights saved the way training saves it, without training."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from hydra.utils import instantiate
from omegaconf import OmegaConf
from PIL import Image

import face2sketch.pictures.alignment as alignment
from face2sketch.core.config import compose_config
from face2sketch.core.run_folder import EvaluationFolder, RunFolder
from face2sketch.pictures.face_detection import Face
from tests.conftest import compose_train


def make_run(folder: Path, *overrides: str, seed: int = 0) -> Path:
    """A run folder (its config and last checkpoint, where ``RunFolder`` puts them) for the composed config, with seeded
    random weights."""
    cfg = compose_train(folder, "trainer=cpu", "++for_model.vgg_ae.weights=none", *overrides)
    torch.manual_seed(seed)
    model = instantiate(cfg.model, _convert_="all")
    run = RunFolder(folder)
    run.checkpoints_dir.mkdir(parents=True, exist_ok=True)
    run.config_file.write_text(OmegaConf.to_yaml(cfg, resolve=True))
    checkpoint = {"state_dict": model.state_dict(), "epoch": 0}
    model.on_save_checkpoint(checkpoint)  # what Lightning adds through the model's hook: the checkpoint format
    torch.save(checkpoint, run.last_checkpoint)
    return folder


def faceless_picture(width: int, height: int, seed: int = 0) -> np.ndarray:
    """A smooth uint8 RGB picture with some structure (no face: alignment falls back to the whole image)."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width] / max(width, height)
    channels = [np.sin(6 * x + rng.uniform(0, 6)) + np.cos(5 * y + rng.uniform(0, 6)) for _ in range(3)]
    return ((np.stack(channels, axis=2) + 2) / 4 * 255).astype(np.uint8)


def save_picture(path: Path, array: np.ndarray, **params: object) -> Path:
    Image.fromarray(array).save(path, **params)
    return path


def assert_predict_reproduces_evaluate(run: Path, photos: Path, output: Path, expected_count: int) -> None:
    """``evaluate`` at the original resolution and ``predict align=false`` on the same test photos write the same PNGs."""
    from face2sketch.evaluate import evaluate
    from face2sketch.predict import predict

    evaluate(compose_config("evaluate", [f"runs=[{run}]", "resolution=original", "device=cpu", "save_predictions=true", "num_samples=0"]))
    predict(compose_config("predict", [f"ckpt={run}", f"input={photos}", f"output={output}", "align=false", "device=cpu"]))
    folder = RunFolder(run)
    by_evaluate = sorted(EvaluationFolder(folder.evaluation_dir(folder.checkpoint_to_score())).predictions_dir.glob("*.png"))  # last.ckpt: no best
    assert len(by_evaluate) == expected_count
    for path in by_evaluate:
        expected = np.asarray(Image.open(path))
        produced = np.asarray(Image.open(output / path.name))
        assert produced.shape == expected.shape == (250, 200, 3) and np.array_equal(produced, expected), path.name


def stub_detector(monkeypatch: pytest.MonkeyPatch, faces_by_size: dict[tuple[int, int], list[Face]]) -> None:
    """Replace face detection: a picture of (width, height) in ``faces_by_size`` holds those faces (largest first),
    others none; the landmark model's second look keeps the eyes as given."""
    monkeypatch.setattr(alignment, "detect_faces", lambda image: faces_by_size.get((image.shape[1], image.shape[0]), []))
    monkeypatch.setattr(alignment, "refine", lambda image, face, colour: face)
