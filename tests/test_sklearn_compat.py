"""scikit-learn's estimator checks, including those not run by default."""

import pytest
from sklearn.utils.estimator_checks import (
    check_dataframe_column_names_consistency,
    check_param_validation,
    check_set_output_transform,
    check_set_output_transform_pandas,
    check_transformer_get_feature_names_out,
    check_transformer_get_feature_names_out_pandas,
    parametrize_with_checks,
)

from _models import fast_model


def _fast():
    return fast_model(None, n_background=8, n_explain=8, random_state=None)


# No expected failures: every check passes.
EXPECTED_FAILED_CHECKS = {}


def _baselines():
    """The trained baselines are public estimators too (KSparseAutoencoder failed two
    checks: it read X's width before validating it)."""
    from skshapsae.baselines import DropoutAutoencoder, KSparseAutoencoder

    from _models import FAST

    settings = {**FAST, "n_background": 8, "n_explain": 8, "random_state": None}
    return [KSparseAutoencoder(**settings), DropoutAutoencoder(**settings)]


@parametrize_with_checks(
    [_fast(), *_baselines()], expected_failed_checks=lambda est: EXPECTED_FAILED_CHECKS
)
def test_sklearn_checks(estimator, check):
    check(estimator)


@pytest.mark.parametrize(
    "check",
    [
        check_set_output_transform,
        check_set_output_transform_pandas,
        check_transformer_get_feature_names_out,
        check_transformer_get_feature_names_out_pandas,
        check_dataframe_column_names_consistency,
        check_param_validation,
    ],
)
def test_extra_checks(check):
    pytest.importorskip("pandas")
    check("SHAPSparseAutoencoder", _fast())
