"""Users' pictures, torch-free: reading any file as upright RGB, fitting it to a model and finishing its output
(``images``), finding and aligning faces by the eyes (``alignment``, with CUHK's eye positions in ``cuhk_eyes.json``),
and the same picture rules for torch tensors (``tensors``)."""
