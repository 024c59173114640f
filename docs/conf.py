"""Sphinx configuration for skshapsae."""

project = "skshapsae"
author = "skshapsae developers"
extensions = ["sphinx.ext.autodoc", "sphinx.ext.mathjax", "numpydoc"]
numpydoc_show_class_members = False
html_theme = "alabaster"
exclude_patterns = ["_build"]
