"""The HTML drift report."""
