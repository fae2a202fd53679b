"""Delayed labels: prediction ids, the prediction store, the join, quality metrics and estimates."""
