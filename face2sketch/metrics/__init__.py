"""Image-quality metrics, one implementation for training-time validation and for ``evaluate``.

All functions take batches (N, C, H, W) in [0, 1] and return one value per image unless said
otherwise. Definitions: SSIM with an 11-wide Gaussian window
(sigma 1.5, data range 1), SSIM as the study most likely computed it (``ssim_study``: scikit-image,
7x7 uniform window, data range 2), MSE on [0, 1], PSNR, MS-SSIM (where the size allows), FSIM
(luminance for sketches, FSIMc for photos, via piq), SCOOT (Fan et al. 2018) for sketches,
and LPIPS (VGG) and FID where their network weights are available locally.
"""
