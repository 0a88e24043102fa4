"""The report's figures: sample predictions of every model side by side, and training curves from TensorBoard logs."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from PIL import Image  # noqa: E402

from face2sketch.core.io import atomic_path  # noqa: E402
from face2sketch.core.run_folder import EvaluationFolder, RunFolder  # noqa: E402
from face2sketch.evaluation.study import MODEL_ORDER, models_in_order  # noqa: E402


def samples_figure(runs: list[dict], path: Path, rows: int = 3) -> bool:
    """Rows = the same test identities for every model; columns = input, each model, ground truth."""
    models = models_in_order(runs)
    by_model = {r["model"]: EvaluationFolder(Path(r["evaluation_dir"])) for r in runs}
    names = sorted(set.intersection(*[set(by_model[m].sample_names()) for m in models]))[:rows]
    if not names:
        return False
    first = by_model[models[0]]
    columns = ["input", *models, "ground truth"]
    fig, axes = plt.subplots(len(names), len(columns), figsize=(1.6 * len(columns), 2.0 * len(names)), squeeze=False)
    for r, name in enumerate(names):
        images = [
            first.sample_input(name),
            *[by_model[m].prediction(name) for m in models],
            first.sample_target(name),
        ]
        for c, image_path in enumerate(images):
            ax = axes[r][c]
            ax.imshow(Image.open(image_path).convert("RGB"))
            ax.set_xticks([]), ax.set_yticks([])
            if r == 0:
                ax.set_title(columns[c], fontsize=9)
        axes[r][0].set_ylabel(name, fontsize=8)
    fig.tight_layout()
    with atomic_path(path) as partial:
        fig.savefig(partial, dpi=110)
    plt.close(fig)
    return True


def read_scalars(run_dir: Path) -> dict[str, list[float]]:
    """Per-epoch scalars of a run's TensorBoard events."""
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    events = EventAccumulator(str(RunFolder(run_dir).tensorboard_dir), size_guidance={"scalars": 0})
    events.Reload()
    tags = events.Tags().get("scalars", [])
    return {tag: [e.value for e in events.Scalars(tag)] for tag in tags}


def curves_figure(runs: list[dict], path: Path) -> bool:
    """Validation SSIM and training loss per epoch, one line per model."""
    fig, (ax_ssim, ax_loss) = plt.subplots(1, 2, figsize=(10, 3.6))
    drawn = False
    for run in sorted(runs, key=lambda r: MODEL_ORDER.index(r["model"]) if r["model"] in MODEL_ORDER else 99):
        scalars = read_scalars(Path(run["run"]))
        if "val/ssim" in scalars:
            ax_ssim.plot(range(1, len(scalars["val/ssim"]) + 1), scalars["val/ssim"], label=run["model"], marker=".")
            drawn = True
        loss_tag = next((t for t in ("train/loss_epoch", "train/g_loss_epoch") if t in scalars), None)
        if loss_tag:
            drawn = True
            ax_loss.plot(
                range(1, len(scalars[loss_tag]) + 1), scalars[loss_tag], label=f"{run['model']} ({loss_tag.split('/')[1].removesuffix('_epoch')})", marker="."
            )
    if not ax_ssim.lines:
        ax_ssim.text(0.5, 0.5, "no validation split\n(data.val_fraction=0)", ha="center", va="center", transform=ax_ssim.transAxes)
    ax_ssim.set(xlabel="epoch", ylabel="validation SSIM", title="validation SSIM")
    ax_loss.set(xlabel="epoch", ylabel="training loss", title="training loss (own objective per model)", yscale="log")
    for ax in (ax_ssim, ax_loss):
        ax.grid(alpha=0.3)
        if ax.lines:
            ax.legend(fontsize=7)
    fig.tight_layout()
    with atomic_path(path) as partial:
        fig.savefig(partial, dpi=110)
    plt.close(fig)
    return drawn
