"""The HTTP service for apps (``python -m face2sketch.serve``): a client of ``face2sketch.load`` like predict and the
demo, with bounded admission, plain HTTP and JSON errors."""
