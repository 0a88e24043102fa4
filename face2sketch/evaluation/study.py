"""The study's numbers (its Tables III and IV) and the order and labels the report's tables and figures use."""

from __future__ import annotations

MODEL_ORDER = ["sparse_ae", "conv_ae", "pix2pix", "vgg_ae"]


METRIC_ORDER = ["ssim", "ssim_study", "mse", "psnr", "ms_ssim", "fsim", "scoot", "lpips", "fid"]


METRIC_LABEL = {
    "ssim": "SSIM",
    "ssim_study": "SSIM as the study computed it",
    "mse": "MSE",
    "psnr": "PSNR (dB)",
    "ms_ssim": "MS-SSIM",
    "fsim": "FSIM",
    "scoot": "SCOOT",
    "lpips": "LPIPS (vgg)",
    "fid": "FID",
}


DIRECTION_LABEL = {"f2sk": "face to sketch (F2SK)", "sk2f": "sketch to face (SK2F)"}


PROTOCOL_ORDER = ["standard", "paper"]


# The study's Tables III and IV: SSIM and MSE over 300 test images of its leaky split, at model resolution
STUDY = {
    "f2sk": {
        "ssim": {"sparse_ae": 0.699, "conv_ae": 0.768, "pix2pix": 0.744, "vgg_ae": 0.746},
        "mse": {"sparse_ae": 0.034, "conv_ae": 0.022, "pix2pix": 0.029, "vgg_ae": 0.028},
    },
    "sk2f": {
        "ssim": {"sparse_ae": 0.760, "conv_ae": 0.782, "pix2pix": 0.774, "vgg_ae": 0.807},
        "mse": {"sparse_ae": 0.028, "conv_ae": 0.020, "pix2pix": 0.021, "vgg_ae": 0.015},
    },
}


# which of the study's numbers stands beside each row: its SSIM beside both SSIM rows, since the study does not name
# its SSIM call and ssim_study is the most likely reading of it (docs/fidelity.md)
STUDY_CELL = {"ssim": "ssim", "ssim_study": "ssim", "mse": "mse"}


SPREAD_METRICS = ["ssim", "ssim_study", "mse", "fsim", "scoot"]


def models_in_order(runs: list[dict]) -> list[str]:
    """The models of ``runs`` in the study's order, any others after them by name."""
    present = {r["model"] for r in runs}
    return [m for m in MODEL_ORDER if m in present] + sorted(present - set(MODEL_ORDER))
