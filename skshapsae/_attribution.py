"""Input attribution from link importances (pure numpy): what ``feature_importances_`` is.

Eq. 4 of the paper (``unit_importances_[0]``) averages a column's link importances over
the first layer's units, every unit alike. Measured on real tables
(``benchmarks/bench_attribution.py``), that ranks a column the network merely copies
through a unit of its own as high as columns that carry shared structure.
:func:`input_relevance` weighs each unit by what the layers after it draw from it
instead, from the reconstruction back to the inputs:

* the relevance of reconstructed column ``o`` is its total link importance in the last
  layer, times ``sqrt(w_o)`` (the square root of its loss weight: the importances are
  mean absolute changes, in the column's units, and the loss weighs squares);
* every layer below passes a unit's relevance to its inputs in proportion to their link
  importances (row ``i`` of ``link_importances_[l]`` normalised to sum 1), as
  layer-wise relevance propagation does, with the Shapley importances as the shares.

The relevance of the inputs sums to the relevance of the reconstruction; a unit that
the decoder does not use passes nothing on, however strongly it reads its inputs.
"""

import numpy as np


def input_relevance(link_importances, output_weights=None):
    """Relevance of each input column for the (weighted) reconstruction.

    Parameters
    ----------
    link_importances : list of ndarray
        ``[l]`` of shape ``(n(l+1), n(l))``, non-negative (``link_importances_``).
    output_weights : ndarray of shape (n(2L),) or None
        Loss weights of the reconstructed columns (``column_weights_``); None is 1.

    Returns
    -------
    relevance : ndarray of shape (n(0),)
    """
    last = np.asarray(link_importances[-1], dtype=np.float64)
    relevance = last.sum(axis=1)
    if output_weights is not None:
        relevance = relevance * np.sqrt(np.asarray(output_weights, dtype=np.float64))
    for imp in reversed(link_importances):
        imp = np.asarray(imp, dtype=np.float64)
        totals = imp.sum(axis=1, keepdims=True)
        shares = np.divide(imp, totals, out=np.zeros_like(imp), where=totals > 0)
        relevance = relevance @ shares
    return relevance
