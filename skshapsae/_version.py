"""The library's version: one line that the package, model files and the build read."""

__version__ = "0.1.0"
