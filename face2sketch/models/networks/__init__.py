"""The plain PyTorch networks the LightningModules in ``models/`` train: pix2pix's U-Net generator (``unet``) and
discriminators (``discriminators``), the VGG-16 encoder and its decoder (``vgg``), and the Keras-geometry layers and
initialisers the study's models share (``layers``)."""
