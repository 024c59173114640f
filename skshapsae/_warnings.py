"""Warnings that point at the user's line, not at the library's."""

import os
import sys
import warnings

_INTERNAL = tuple(
    os.path.dirname(os.path.abspath(module.__file__)) + os.sep
    for module in (sys.modules[__package__],)
)


def _internal_prefixes():
    """skshapsae, and the libraries that call it on the user's behalf (searches, caching)."""
    import joblib
    import sklearn

    return (
        *_INTERNAL,
        *(os.path.dirname(os.path.abspath(m.__file__)) + os.sep for m in (sklearn, joblib)),
    )


def warn(message, category=UserWarning):
    """``warnings.warn`` at the first caller outside skshapsae, scikit-learn and joblib."""
    prefixes = _internal_prefixes()
    frame, level = sys._getframe(1), 1
    while frame is not None and os.path.abspath(frame.f_code.co_filename).startswith(prefixes):
        frame, level = frame.f_back, level + 1
    warnings.warn(message, category, stacklevel=level + 1)
