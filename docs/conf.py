"""Sphinx configuration for skshapsae (numpydoc + sphinx-gallery + pydata theme)."""

import os
import warnings

import skshapsae

project = "skshapsae"
author = "skshapsae developers"
copyright = "2026, skshapsae developers"
release = version = skshapsae.__version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    # MathJax served from the built site: no page loads scripts from elsewhere
    "sphinx-mathjax-offline",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
]
autosummary_generate = True
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
exclude_patterns = ["_build", "auto_examples/*.ipynb", "auto_examples/*.py", "vs_pca_table*.rst"]
html_theme = "pydata_sphinx_theme"
html_theme_options = {"navigation_with_keys": False, "secondary_sidebar_items": ["page-toc"]}
html_static_path = []
html_title = "skshapsae"

os.environ.setdefault("MPLBACKEND", "Agg")
warnings.filterwarnings("ignore", category=UserWarning)
sphinx_gallery_conf = {
    "examples_dirs": "../examples",
    "gallery_dirs": "auto_examples",
    "filename_pattern": "/plot_",
    "download_all_examples": False,
    "remove_config_comments": True,
    "within_subsection_order": "FileNameSortKey",
    # no sg_execution_times.rst: it rewrote a tracked file on every build and its page
    # loaded jQuery / DataTables from the internet
    "write_computation_times": False,
}
