"""Property-based test: any X either fits and transforms to finite output, or is refused cleanly."""

import warnings

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from _models import fast_model

dtypes = st.sampled_from([np.float64, np.float32, np.float16, np.int32, np.int64, np.bool_])
shapes = st.tuples(st.integers(0, 12), st.integers(0, 5))


@st.composite
def data(draw):
    dtype = draw(dtypes)
    shape = draw(shapes)
    if np.dtype(dtype).kind == "f":
        elements = st.floats(
            allow_nan=True, allow_infinity=True, width=np.dtype(dtype).itemsize * 8
        )
    elif dtype is np.bool_:
        elements = st.booleans()
    else:
        elements = st.integers(-(2**31), 2**31 - 1)
    return draw(arrays(dtype, shape, elements=elements))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(X=data())
def test_fit_transform_succeeds_finite_or_raises_value_or_type_error(X):
    ae = fast_model(None, max_iter=2, n_background=5, n_explain=5)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            Z = ae.fit_transform(X)
        except (ValueError, TypeError):
            return
    assert np.all(np.isfinite(Z))
    assert np.all(np.isfinite(ae.inverse_transform(Z)))
