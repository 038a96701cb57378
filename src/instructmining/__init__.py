"""instructmining: select instruction data by a quality rule fitted to measured fine-tuning outcomes."""

__version__ = "0.1.0"
