"""generalbench: the General-Bench benchmark and General-Level scoring, end to end."""

__version__ = "0.1.0"

__all__ = ["__version__"]
