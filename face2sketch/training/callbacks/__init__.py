"""The callbacks of a training run, one module per concern: exact resume (``resume``), the checkpoints (``checkpoints``),
the stops that keep a run's files good (``guards``), the progress bar (``progress``) and the validation quality a
checkpoint is chosen by (``quality``). ``face2sketch.train`` adds resume and the guards itself, because a run's
checkpoints and its exit status rely on them; the callbacks config group adds the rest.
"""
