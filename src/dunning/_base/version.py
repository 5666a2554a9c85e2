"""The package version (one place, read by the engine for decisions and by `dunning`)."""

__version__ = "0.1.0"
