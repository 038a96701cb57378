"""instructmining: select instruction data by a rule fitted to measured fine-tuning outcomes."""

__version__ = "0.1.0"
