"""The embedded default: a config and the bundled real data it runs on."""
