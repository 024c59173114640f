"""Exported encoders and decoders run without skshapsae and give transform's output."""

import warnings

import numpy as np
import pytest
import torch

from skshapsae import export
from skshapsae.inference import _inference

from _models import fast_model


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    X = rng.uniform(size=(80, 30))
    X[:, 20:] = X[:, :10] ** 2
    return X


@pytest.mark.parametrize(
    "activation, kernel", [("silu", "auto"), ("logistic", "csr"), ("leaky_relu", "csr")]
)
def test_torch_export_matches_transform(data, tmp_path, monkeypatch, activation, kernel):
    if kernel == "csr":  # transform multiplies every block as CSR; the export is dense
        monkeypatch.setattr(_inference, "CSR_MAX_DENSITY", 1.0)
    ae = fast_model(
        (12, 4),
        activation=activation,
        max_iter=5,
        n_background=20,
        n_explain=20,
        importance_level=0.7,
    ).fit(data)
    assert 0 < ae.sparsity_ < 1
    encoder = torch.export.load(export(ae, tmp_path / "enc.pt2")).module()
    decoder = torch.export.load(export(ae, tmp_path / "dec.pt2", part="decoder")).module()
    X32 = torch.tensor(data[:7], dtype=torch.float32)  # another batch size than traced
    Z = encoder(X32).numpy()
    np.testing.assert_allclose(Z, ae.transform(data[:7]), atol=1e-5)
    np.testing.assert_allclose(
        decoder(torch.tensor(Z)).numpy(), ae.inverse_transform(Z.astype(float)), atol=1e-5
    )


def test_onnx_export_runs_in_onnxruntime(data, tmp_path):
    ort = pytest.importorskip("onnxruntime")
    pytest.importorskip("onnx")
    pytest.importorskip("onnxscript")
    ae = fast_model((12, 4), max_iter=5, n_background=20, n_explain=20).fit(data)
    for part, rows, expected in [
        ("encoder", data[:9], ae.transform(data[:9])),
        ("decoder", ae.transform(data[:9]), ae.inverse_transform(ae.transform(data[:9]))),
    ]:
        path = export(ae, tmp_path / f"{part}.onnx", part=part, format="onnx")
        session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        (out,) = session.run(None, {"input": rows.astype(np.float32)})
        np.testing.assert_allclose(out, expected, atol=1e-5)


def test_export_arguments_are_validated(data, tmp_path):
    ae = fast_model(
        (4,), max_iter=2, n_background=5, n_explain=5, device="auto", random_state=None
    ).fit(data)
    with pytest.raises(ValueError, match="part"):
        export(ae, tmp_path / "x.pt", part="middle")
    with pytest.raises(ValueError, match="format"):
        export(ae, tmp_path / "x.pt", format="tflite")


def test_torchscript_export_still_works(data, tmp_path):
    ae = fast_model(
        (6,), max_iter=2, n_background=5, n_explain=5, device="auto", random_state=None
    ).fit(data)
    path = export(ae, tmp_path / "enc.pt", format="torchscript")
    with warnings.catch_warnings():  # torch.jit.load is deprecated in recent torch
        warnings.simplefilter("ignore", DeprecationWarning)
        encoder = torch.jit.load(path)
    X32 = torch.tensor(data[:5], dtype=torch.float32)
    np.testing.assert_allclose(encoder(X32).numpy(), ae.transform(data[:5]), atol=1e-5)
