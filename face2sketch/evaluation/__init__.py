"""Scoring trained and shipped models: the metrics, what to score, inputs under conditions, robustness, reports."""
