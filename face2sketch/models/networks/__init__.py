"""The plain PyTorch networks the LightningModules in ``models/`` train: pix2pix's U-Net generator (``unet``) and the
Keras-geometry layers and initialisers the study's models share (``layers``)."""
