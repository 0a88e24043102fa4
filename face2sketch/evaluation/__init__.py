"""Scoring trained and shipped models: what to score, inputs under conditions, scores, robustness, and the report's parts."""
