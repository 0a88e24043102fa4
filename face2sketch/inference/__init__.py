"""Use a trained model: load it from a run folder, a checkpoint, an ONNX, TorchScript or weights file, or the
models shipped in the package, and run it on pictures.

- ``spec``: what a caller must know to feed a model (``ModelSpec``), stored with every exported file;
- ``translator``: the one interface every loaded model has (prepare a picture, translate a batch: numpy arrays);
- ``networks``: a PyTorch network behind that interface;
- ``checkpoints``: a run's checkpoint rebuilt as its LightningModule, and the network export writes;
- ``files``: which suffix is which format, checksums, and ONNX files (read by ONNX Runtime, without torch);
- ``torch_files``: TorchScript and weights files, each read and written in one place;
- ``shipped``: the models installed with the package (read only: ``face2sketch.release`` writes them);
- ``loading``: any of those from a path; ``api``: ``face2sketch.load`` and ``Model`` for apps.

evaluate, predict, export and demo all load models here, so a picture is treated the same way whichever command
sees it. Lightning, Hydra's instantiation and torchmetrics are imported only where a checkpoint is loaded, and torch
only where a PyTorch network is, so that the shipped models on the CPU and any .onnx file run without them.
"""
