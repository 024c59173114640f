"""Warnings that point at the user's line, not at the library's."""

import os
import sys
import warnings

_INTERNAL = tuple(
    os.path.dirname(os.path.abspath(module.__file__)) + os.sep
    for module in (sys.modules[__package__],)
)


def _internal_prefixes():
    import sklearn

    return (*_INTERNAL, os.path.dirname(os.path.abspath(sklearn.__file__)) + os.sep)


def warn(message, category=UserWarning):
    """``warnings.warn`` with the stack level of the first caller outside skshapsae/sklearn."""
    prefixes = _internal_prefixes()
    frame, level = sys._getframe(1), 1
    while frame is not None and os.path.abspath(frame.f_code.co_filename).startswith(prefixes):
        frame, level = frame.f_back, level + 1
    warnings.warn(message, category, stacklevel=level + 1)
