"""What a model needs and where it runs (``face2sketch.inference.spec``): device="auto" on machines with and without a
GPU driver, faked here (the driver files, the platform, and a stand-in torch whether or not torch was imported), the
spec's metadata round trip, and the random check batch."""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import json
import sys
import types
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest
import torch

from face2sketch.core.errors import ConfigError
from face2sketch.inference import spec
from face2sketch.inference.spec import GPU_DRIVER_FILES, ModelSpec, device_name, gpu_driver_present, pick_device, random_batch

# each file the code knows, and whose driver it is
DRIVER_FILE_KINDS = {
    "/proc/driver/nvidia/version": "NVIDIA",
    "/dev/nvidiactl": "NVIDIA (also inside containers)",
    "/dev/nvhost-ctrl-gpu": "NVIDIA Jetson",
    "/etc/nv_tegra_release": "NVIDIA Jetson",
    "/dev/dxg": "WSL 2's GPU bridge",
    "/dev/kfd": "AMD ROCm",
}


@dataclass
class StandInTorch(importlib.abc.Loader, importlib.abc.MetaPathFinder):
    """Answers ``import torch`` with a module whose ``cuda.is_available()`` says ``cuda``, and counts the imports."""

    cuda: bool
    imports: int = 0
    module: types.ModuleType = field(init=False)

    def __post_init__(self) -> None:
        self.module = types.ModuleType("torch")
        self.module.cuda = types.SimpleNamespace(is_available=lambda: self.cuda)  # type: ignore[attr-defined]

    def find_spec(self, name: str, path: object = None, target: object = None) -> importlib.machinery.ModuleSpec | None:
        return importlib.machinery.ModuleSpec("torch", self) if name == "torch" else None

    def create_module(self, module_spec: importlib.machinery.ModuleSpec) -> types.ModuleType:
        self.imports += 1
        return self.module

    def exec_module(self, module: types.ModuleType) -> None:
        pass


@dataclass
class FakeMachine:
    """The platform and driver files ``gpu_driver_present`` sees, and the torch ``device_name`` would import."""

    monkeypatch: pytest.MonkeyPatch

    def set(self, platform: str = "linux", driver_files: tuple[str, ...] = (), cuda: bool = True, torch_imported: bool = False) -> StandInTorch:
        existing = set(driver_files)

        class ProbedPath:
            def __init__(self, name: str) -> None:
                self.name = str(name)

            def exists(self) -> bool:
                return self.name in existing

        self.monkeypatch.setattr(spec, "Path", ProbedPath)
        self.monkeypatch.setattr(spec, "sys", types.SimpleNamespace(platform=platform, modules=sys.modules))
        stand_in = StandInTorch(cuda)
        self.monkeypatch.setitem(sys.modules, "torch", stand_in.module)  # put back whatever was there (or nothing) afterwards
        if not torch_imported:
            self.monkeypatch.delitem(sys.modules, "torch")
        self.monkeypatch.setattr(sys, "meta_path", [stand_in, *sys.meta_path])
        return stand_in


@pytest.fixture
def machine(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeMachine]:
    yield FakeMachine(monkeypatch)


def test_the_driver_files_probed_are_nvidia_s_jetson_s_wsl_2_s_and_rocm_s() -> None:
    """A file dropped from (or misspelt in) the list makes device=auto run on the CPU on that kind of machine."""
    assert tuple(DRIVER_FILE_KINDS) == GPU_DRIVER_FILES


@pytest.mark.parametrize("driver_file", list(DRIVER_FILE_KINDS), ids=[f"{kind}:{name}" for name, kind in DRIVER_FILE_KINDS.items()])
def test_auto_is_cuda_where_a_gpu_driver_is_loaded_even_before_torch_is_imported(machine: FakeMachine, driver_file: str) -> None:
    """Bug: "auto" answered "cpu" whenever torch was not imported yet (the driver check skipped or or-ed), so a GPU
    machine ran an app's model on the CPU; or a driver file kind no longer probed."""
    stand_in = machine.set(driver_files=(driver_file,), cuda=True, torch_imported=False)
    assert gpu_driver_present() is True
    assert device_name("auto") == "cuda"
    assert stand_in.imports == 1  # torch was imported to ask it


def test_auto_is_cpu_without_importing_torch_where_no_gpu_driver_is_loaded(machine: FakeMachine) -> None:
    """The stand-in torch would say cuda: "cpu" proves it was not asked (an app's start-up saves a second of import)."""
    stand_in = machine.set(driver_files=("/dev/nvidia0", "/proc/driver/nvidia"), cuda=True, torch_imported=False)  # near misses
    assert gpu_driver_present() is False
    assert device_name("auto") == "cpu" and device_name() == "cpu"
    assert stand_in.imports == 0 and "torch" not in sys.modules


def test_auto_is_torch_s_answer_where_a_driver_is_loaded_but_torch_sees_no_gpu(machine: FakeMachine) -> None:
    stand_in = machine.set(driver_files=("/dev/kfd",), cuda=False, torch_imported=False)
    assert device_name("auto") == "cpu" and stand_in.imports == 1


@pytest.mark.parametrize("cuda", [True, False])
def test_once_torch_is_imported_auto_asks_it_whatever_the_driver_files_say(machine: FakeMachine, cuda: bool) -> None:
    machine.set(driver_files=(), cuda=cuda, torch_imported=True)
    assert device_name("auto") == ("cuda" if cuda else "cpu")


def test_on_macos_no_driver_file_counts_and_torch_is_not_imported(machine: FakeMachine) -> None:
    """No CUDA builds of torch for macOS: "cpu" at once, even where a file of the same name exists."""
    stand_in = machine.set(platform="darwin", driver_files=GPU_DRIVER_FILES, cuda=True, torch_imported=False)
    assert gpu_driver_present() is False and device_name("auto") == "cpu" and stand_in.imports == 0


def test_on_windows_torch_is_always_asked(machine: FakeMachine) -> None:
    """No driver files to probe there: the answer is torch's."""
    stand_in = machine.set(platform="win32", driver_files=(), cuda=True, torch_imported=False)
    assert gpu_driver_present() is True and device_name("auto") == "cuda" and stand_in.imports == 1


@pytest.mark.parametrize("name", ["cpu", "cpu:0", "cuda", "cuda:1", "mps"])
def test_a_named_device_is_kept_as_named_without_importing_torch(machine: FakeMachine, name: str) -> None:
    stand_in = machine.set(driver_files=GPU_DRIVER_FILES, cuda=False, torch_imported=False)
    assert device_name(name) == name and stand_in.imports == 0


def test_pick_device_gives_the_torch_device_or_refuses_an_unknown_name_in_one_line() -> None:
    assert pick_device("cpu") == torch.device("cpu") and pick_device("cuda:1") == torch.device("cuda", 1)
    with pytest.raises(ConfigError, match=r"^unknown device 'gpu': use auto, cpu or cuda$"):
        pick_device("gpu")


def a_spec(direction: str = "f2sk", value_range: tuple[float, float] = (-1.0, 1.0)) -> ModelSpec:
    return ModelSpec("conv_ae", direction, 64, "bicubic", 3, 1, 1, value_range)


def test_a_spec_s_source_and_target_kinds_follow_its_direction() -> None:
    assert (a_spec("f2sk").source_kind, a_spec("f2sk").target_kind) == ("photo", "sketch")
    assert (a_spec("sk2f").source_kind, a_spec("sk2f").target_kind) == ("sketch", "photo")


def test_a_spec_s_metadata_is_each_field_as_json_and_reads_back_as_the_same_spec() -> None:
    metadata = a_spec().to_metadata()
    assert metadata == {
        "model": '"conv_ae"',
        "direction": '"f2sk"',
        "image_size": "64",
        "interpolation": '"bicubic"',
        "in_channels": "3",
        "out_channels": "1",
        "sketch_channels": "1",
        "value_range": "[-1.0, 1.0]",
    }
    read = ModelSpec.from_metadata({**metadata, "value_range": json.dumps([0, 1]), "other": '"kept out"'}, "model.onnx")
    assert read == a_spec(value_range=(0.0, 1.0)) and read.value_range == (0.0, 1.0) and isinstance(read.value_range, tuple)


def test_metadata_without_the_spec_s_fields_is_refused_naming_the_missing_ones() -> None:
    metadata = a_spec().to_metadata()
    del metadata["direction"], metadata["value_range"]
    message = r"^'m\.onnx' has no face2sketch metadata \(direction, value_range missing\): export it with python -m face2sketch\.export$"
    with pytest.raises(ConfigError, match=message):
        ModelSpec.from_metadata(metadata, "m.onnx")


@pytest.mark.parametrize("value_range", [(-1.0, 1.0), (0.0, 1.0)])
def test_the_random_check_batch_is_seeded_uniform_noise_spread_over_the_model_s_value_range(value_range: tuple[float, float]) -> None:
    """Bug guarded: a batch outside the model's range (a dropped offset or width) checks files on inputs the model never sees."""
    low, high = value_range
    batch = random_batch(a_spec(value_range=value_range), 2, seed=5)
    unit = torch.rand(2, 3, 64, 64, generator=torch.Generator().manual_seed(5))
    assert torch.equal(batch, unit * (high - low) + low)
    assert torch.equal(random_batch(a_spec(value_range=value_range), 2), random_batch(a_spec(value_range=value_range), 2, seed=0))
    assert not torch.equal(random_batch(a_spec(), 1, seed=1), random_batch(a_spec(), 1, seed=2))
