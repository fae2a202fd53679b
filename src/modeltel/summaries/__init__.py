"""Input and output summaries on prediction spans."""
