"""The models shipped in the package: checked on load, run without torch on the CPU, trained and chosen without a test
identity (the commands that use them by default: tests/commands/)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import matplotlib.cbook
import numpy as np
import pytest
import torch
from PIL import Image

import face2sketch.inference.api
from face2sketch.core.errors import ConfigError
from face2sketch.inference import shipped
from face2sketch.inference.files import OnnxTranslator, file_sha256
from face2sketch.inference.shipped import PRETRAINED_DIR, PRETRAINED_INDEX, load_pretrained, load_pretrained_weights, pretrained_index
from face2sketch.inference.spec import random_batch
from face2sketch.inference.torch_files import WeightsTranslator

DIRECTIONS = ("f2sk", "sk2f")
MAX_WEIGHTS_BYTES = 16_000_000


def portrait() -> Path:
    """A face photo that ships with matplotlib (Grace Hopper), so no CUHK file is needed or committed."""
    return Path(matplotlib.cbook.get_sample_data("grace_hopper.jpg", asfileobj=False))


def test_each_direction_ships_a_weights_file_and_its_onnx_twin_under_16_mb_whose_checksums_match() -> None:
    index = pretrained_index()
    assert sorted(index) == list(DIRECTIONS)
    for direction, entry in index.items():
        for record in (entry, entry["onnx"]):
            path = PRETRAINED_DIR / record["file"]
            assert path.stat().st_size == record["bytes"] <= MAX_WEIGHTS_BYTES
            assert file_sha256(path) == record["sha256"]
        weights = load_pretrained_weights(direction, "cpu")
        assert weights.spec.direction == direction
        assert all(p.dtype == torch.float32 for p in weights.network.parameters())  # stored in half precision, run in float32
        runtime = load_pretrained(direction, "cpu")
        assert isinstance(runtime, OnnxTranslator) and runtime.spec == weights.spec
        # the same network: the ONNX file holds the weights file's float16 values, and both compute in float32
        inputs = random_batch(weights.spec, 2, seed=11).numpy()
        assert np.abs(runtime.raw(inputs) - weights.raw(inputs)).max() <= 1e-4


def test_the_shipped_model_on_the_cpu_translates_through_the_api_without_importing_torch(tmp_path: Path) -> None:
    """An app's cold start: ONNX Runtime runs the shipped model, so neither torch nor Lightning is imported, and the
    sketch equals the weights file's within one grey level."""
    reference = tmp_path / "weights.png"
    face2sketch.inference.api.Model(load_pretrained_weights("f2sk", "cpu"))(portrait()).save(reference)
    script = (
        "import sys, face2sketch\n"
        "from face2sketch.inference.spec import gpu_driver_present\n"
        f"face2sketch.load('f2sk', device='cpu')({str(portrait())!r}).save({str(tmp_path / 'cpu.png')!r})\n"
        "assert 'torch' not in sys.modules and 'lightning' not in sys.modules, 'torch imported'\n"
        f"face2sketch.load('f2sk')({str(portrait())!r}).save({str(tmp_path / 'auto.png')!r})\n"
        "assert gpu_driver_present() or 'torch' not in sys.modules, 'torch imported for device=auto on a machine without a GPU driver'\n"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    expected = np.asarray(Image.open(reference), dtype=int)
    for name in ("cpu.png", "auto.png"):
        sketch = np.asarray(Image.open(tmp_path / name), dtype=int)
        assert sketch.shape == expected.shape and np.abs(sketch - expected).max() <= 1


@pytest.mark.parametrize("device", ["cpu", "cpu:0"])
def test_on_the_cpu_the_shipped_model_runs_from_its_onnx_file(device: str) -> None:
    assert isinstance(load_pretrained("f2sk", device), OnnxTranslator)


def test_a_damaged_shipped_file_is_named_in_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    shutil.copy(PRETRAINED_INDEX, tmp_path / PRETRAINED_INDEX.name)
    monkeypatch.setattr(shipped, "PRETRAINED_DIR", tmp_path)
    for name, load in (("f2sk.onnx", load_pretrained), ("f2sk.pth", load_pretrained_weights)):
        damaged_file = bytearray((PRETRAINED_DIR / name).read_bytes())
        damaged_file[len(damaged_file) // 2] ^= 0xFF
        (tmp_path / name).write_bytes(bytes(damaged_file))
        with pytest.raises(ConfigError, match=rf"model file '.*{name}' is damaged .*reinstall face2sketch") as raised:
            load("f2sk", "cpu")
        assert "\n" not in str(raised.value)
    damaged = bytearray((PRETRAINED_DIR / "f2sk.pth").read_bytes())
    (tmp_path / "truncated.pth").write_bytes(bytes(damaged[: len(damaged) // 3]))
    with pytest.raises(ConfigError, match=r"cannot load weights file '.*truncated\.pth'"):
        WeightsTranslator(tmp_path / "truncated.pth", torch.device("cpu"))


def test_no_test_identity_trained_or_chose_a_shipped_model(cuhk_root: Path) -> None:
    test_identities = {p.stem for p in (cuhk_root / "Testing photo").glob("*.jpg")}
    training_identities = {p.stem for p in (cuhk_root / "Training photo").glob("*.jpg")}
    assert len(test_identities) == 100 and len(training_identities) == 88
    for entry in pretrained_index().values():
        train, val = set(entry["identities"]["train"]), set(entry["identities"]["val"])
        assert not (train | val) & test_identities
        assert train | val == training_identities and not train & val and len(val) == 9
        assert entry["data"]["split"] == "standard" and entry["selection"].startswith("best by validation quality")
        assert entry["data"]["validation_conditions"] == "real" and entry["data"]["conditions"]["_target_"].endswith("RealWorldAugmentation")


@pytest.mark.parametrize("direction", DIRECTIONS)
def test_every_class_the_shipped_recipe_names_is_found_where_it_lives_now(direction: str) -> None:
    """Guards evaluate pretrained/<direction> failing after a module moves: each ``_target_`` of the recipe models.json
    recorded, read through ``with_current_targets``, names a class that imports."""
    from hydra.utils import get_class

    from face2sketch.core.run_folder import with_current_targets

    def targets(node: object) -> list[str]:
        if isinstance(node, dict):
            return [v for k, v in node.items() if k == "_target_"] + [t for v in node.values() for t in targets(v)]
        return [t for v in node for t in targets(v)] if isinstance(node, list) else []

    named = targets(with_current_targets(pretrained_index()[direction]["data"]))
    assert "face2sketch.realworld.augmentation.RealWorldAugmentation" in named
    assert all(isinstance(get_class(name), type) for name in named), named
