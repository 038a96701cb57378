"""`instructmining pool ...` and `instructmining sample` (filled in by the data stage)."""
