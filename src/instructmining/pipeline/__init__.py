"""Run the whole loop from one YAML config."""
