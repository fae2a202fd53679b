"""Opt-in, sampled and redacted prediction logs."""
