"""Developer actions that write the package's own data: the shipped models and their record, and CUHK's eye positions.

``python -m face2sketch.release action=ship|scores|eyes`` (conf/release.yaml). Nothing a user runs (train, evaluate,
predict, export, report, demo) writes inside the package; these actions do, and only from a source checkout, so an
installed package stays as it was installed.
"""
