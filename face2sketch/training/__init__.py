"""What every training run gets beside its model and data: the check of its settings before any data is read
(``validation``), the callbacks (``callbacks/``: exact resume, checkpoints, guards, progress, validation quality) and
the TensorBoard logger (``loggers``)."""
