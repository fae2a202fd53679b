"""The data layer: what kind of input or output a value is, its rows, its columns."""
