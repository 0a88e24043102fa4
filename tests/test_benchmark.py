"""The benchmark's bare loop trains exactly as face2sketch does (the command itself: tests/commands/test_benchmark.py)."""

from __future__ import annotations

from pathlib import Path

import lightning as L
import pytest
import torch
from hydra.utils import instantiate

from face2sketch.perf.bare import bare_training_step
from face2sketch.perf.measure import collect_batches
from tests.conftest import compose_train, one_batch_trainer


def _model_and_data(tmp_path: Path, model: str, *extra: str):
    cfg = compose_train(tmp_path / model, f"model={model}", "data=synthetic", "data.image_size=32", "data.batch_size=4", "trainer=cpu", *extra)
    L.seed_everything(0, verbose=False)
    net = instantiate(cfg.model, _convert_="all")
    data = instantiate(cfg.data, value_range=net.value_range)
    data.setup("fit")
    return cfg, net, data


@pytest.mark.parametrize("model", ["conv_ae", "pix2pix"])
def test_the_bare_step_updates_the_weights_exactly_as_a_face2sketch_training_step(tmp_path: Path, model: str) -> None:
    """One batch through Lightning and one bare step from the same weights, batch and random state end in the same weights."""
    # without dropout: its masks depend on whatever drew from the global random stream before the step
    extra = ("model.dropout=0",) if model == "pix2pix" else ()
    cfg, lightning_model, data = _model_and_data(tmp_path, model, *extra)
    _, bare_model, _ = _model_and_data(tmp_path, model, *extra)
    bare_model.load_state_dict(lightning_model.state_dict())
    initial = {name: value.clone() for name, value in bare_model.state_dict().items()}
    ((source, target),) = collect_batches(data, torch.device("cpu"), 1)

    trainer = one_batch_trainer()
    L.seed_everything(5, verbose=False)
    trainer.fit(lightning_model, datamodule=data)

    step = bare_training_step(bare_model, "32-true")
    L.seed_everything(5, verbose=False)
    step(source, target)

    lightning_weights, bare_weights = lightning_model.state_dict(), bare_model.state_dict()
    changed = [name for name, value in bare_weights.items() if value.is_floating_point() and not torch.equal(value, initial[name])]
    assert changed, "the step must have trained something"
    for name, value in bare_weights.items():
        assert torch.allclose(value.float(), lightning_weights[name].float(), atol=1e-6), name
