"""Drift and data quality against a training-time reference."""
