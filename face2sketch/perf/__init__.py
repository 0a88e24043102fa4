"""Measuring face2sketch: its training against a bare PyTorch loop, its data pipeline, inference and memory."""
