"""The export command: its printed check, the shipped model without ckpt, half-precision weights."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from face2sketch.core.errors import ConfigError
from face2sketch.export import export
from face2sketch.inference.loading import load_translator
from face2sketch.inference.shipped import PRETRAINED_DIR, load_pretrained
from face2sketch.inference.spec import random_batch
from tests.conftest import run_cli
from tests.helpers.inference import make_run
from tests.test_export import export_config


def test_the_command_prints_its_check_and_an_exported_file_is_refused(runs: dict[str, Path], tmp_path: Path) -> None:
    done = run_cli("face2sketch.export", f"ckpt={runs['conv_ae']}", "format=onnx", f"output={tmp_path / 'm.onnx'}", f"paths.output_root={tmp_path / 'logs'}")
    assert done.returncode == 0, done.stderr[-2000:]
    assert "export check: max |onnx - pytorch| = " in done.stdout and "(limit 0.0001): ok" in done.stdout
    with pytest.raises(ConfigError, match="cannot be exported again"):
        export(export_config(tmp_path / "m.onnx", tmp_path / "again.onnx"))
    assert not (tmp_path / "again.onnx").exists()


def test_export_without_ckpt_exports_the_shipped_model(tmp_path: Path) -> None:
    result = run_cli("face2sketch.export", "direction=sk2f", "format=onnx", f"output={tmp_path / 'sk2f.onnx'}", f"paths.output_root={tmp_path / 'logs'}")
    assert result.returncode == 0, result.stderr[-2000:]
    assert "from " + str(PRETRAINED_DIR / "sk2f.pth") in result.stdout
    exported = load_translator(tmp_path / "sk2f.onnx", "cpu")
    assert exported.spec == load_pretrained("sk2f", "cpu").spec


def test_half_precision_weights_predict_within_two_grey_levels_of_the_trained_model(tmp_path: Path) -> None:
    run = make_run(tmp_path / "run", "model=pix2pix", "data=synthetic", "data.image_size=64", "model.ngf=8", "model.ndf=8", seed=3)
    result = run_cli("face2sketch.export", f"ckpt={run}", "format=weights", f"output={tmp_path / 'g.pth'}", f"paths.output_root={tmp_path / 'logs'}")
    assert result.returncode == 0, result.stderr[-2000:]
    full, half = load_translator(run, "cpu"), load_translator(tmp_path / "g.pth", "cpu")
    float32_bytes = sum(p.numel() * 4 for p in full.network.generator.parameters())
    assert (tmp_path / "g.pth").stat().st_size < 0.6 * float32_bytes  # half precision
    inputs = random_batch(full.spec, 4, seed=5).numpy()
    difference = np.abs(full.translate(inputs) - half.translate(inputs)).max()
    assert 0 < difference <= 2 / 255
