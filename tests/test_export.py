"""Exported encoders and decoders run without skshapsae and give transform's output."""

import warnings

import numpy as np
import pytest
import torch

from skshapsae import SHAPSparseAutoencoder, export, save
from skshapsae.inference import _inference

from _models import fast_model, fit_fast


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


# -------------------------------------------------------- hostile conditions (issues 22, 32)
@pytest.mark.parametrize("fmt", ["torch.export", "torchscript"])
def test_failed_export_keeps_the_previous_file(logistic_model, tmp_path, monkeypatch, fmt):
    import skshapsae.io._export as export_module

    path = tmp_path / "enc.bin"
    export(logistic_model, path, format=fmt)
    before = path.read_bytes()

    def full_disk(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setitem(export_module.FORMATS, fmt, full_disk)
    with pytest.raises(OSError, match="No space"):
        export(logistic_model, path, format=fmt)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["enc.bin"]


def test_export_of_a_pipeline_is_a_type_error(logistic_X, tmp_path):
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import MinMaxScaler

    pipe = make_pipeline(MinMaxScaler(), SHAPSparseAutoencoder(max_iter=2, random_state=0)).fit(
        logistic_X
    )
    with pytest.raises(TypeError, match=r"SHAPSparseAutoencoder.*pipeline\[-1\]"):
        export(pipe, tmp_path / "p.pt2")
    assert not list(tmp_path.iterdir())


@pytest.mark.parametrize(
    "X_const, params",
    [
        (np.tile(np.linspace(0.2, 0.7, 5), (40, 1)), {}),
        (np.full((40, 5), 0.1), {"solver": "adam"}),
        (np.full((40, 5), 0.1), {}),
    ],
)
def test_all_constant_data_warn_prune_everything_and_export(X_const, params, tmp_path):
    import torch

    with pytest.warns(UserWarning, match="Constant feature"):
        est = fit_fast(X_const, max_iter=5, **params)
    assert est.sparsity_ == 1.0
    out = est.inverse_transform(est.transform(X_const))
    assert np.isfinite(out).all()
    for part, rows in (("encoder", X_const), ("decoder", est.transform(X_const))):
        path = export(est, tmp_path / f"{part}.pt2", part=part)
        module = torch.export.load(path).module()
        got = module(torch.tensor(rows, dtype=torch.float32)).numpy()
        want = est.transform(X_const) if part == "encoder" else out
        np.testing.assert_allclose(got, want, atol=1e-6)


def test_torchscript_export_under_deprecation_errors(logistic_model, tmp_path):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        export(logistic_model, tmp_path / "m.pt", format="torchscript")


def test_the_format_follows_the_file_name_and_a_contradiction_is_refused(
    logistic_model, logistic_X, tmp_path
):
    """``export(ae, "encoder.onnx")`` wrote a torch.export archive under an ONNX name,
    which onnxruntime could not open."""
    import zipfile

    onnx = pytest.importorskip("onnx")
    path = export(logistic_model, tmp_path / "encoder.onnx")
    assert not zipfile.is_zipfile(path)  # a protobuf, not a .pt2 archive
    onnx.checker.check_model(onnx.load(str(path)))
    assert zipfile.is_zipfile(export(logistic_model, tmp_path / "encoder.pt2"))
    with pytest.raises(ValueError, match="does not match the file name.*format='onnx'"):
        export(logistic_model, tmp_path / "other.onnx", format="torch.export")
    with pytest.raises(ValueError, match="'.pt2' means 'torch.export'"):
        export(logistic_model, tmp_path / "other.pt2", format="onnx")
    assert not (tmp_path / "other.onnx").exists() and not (tmp_path / "other.pt2").exists()


def test_export_into_a_missing_folder_names_the_folder(logistic_model, tmp_path):
    missing = tmp_path / "no" / "such"
    with pytest.raises(FileNotFoundError, match="folder .*no/such.* does not exist"):
        export(logistic_model, missing / "encoder.pt2")
    with pytest.raises(FileNotFoundError, match="does not exist"):
        save(logistic_model, missing / "model.npz")
