"""Hostile conditions: model files, saving, exporting, inputs and the CLI (issue 22)."""

import io
import json
import os
import stat

import numpy as np
import pytest

from skshapsae import SHAPSparseAutoencoder, export, load, save
from skshapsae._cli import main as cli_main

from _models import fast_model


@pytest.fixture(scope="module")
def X():
    rng = np.random.default_rng(0)
    return 1 / (1 + np.exp(-rng.normal(size=(60, 2)) @ rng.normal(size=(2, 6))))


@pytest.fixture(scope="module")
def model(X):
    return fast_model(device="auto").fit(X)


def _rewrite(path, edit_header=None, edit_arrays=None):
    """Rewrite a model file with an edited header or arrays, re-signed (a valid checksum)."""
    from skshapsae.io._persistence import _HEADER_KEY, _digest

    with np.load(path) as data:
        arrays = {k: data[k] for k in data.files}
    header = json.loads(arrays.pop(_HEADER_KEY).tobytes().decode())
    header.pop("sha256")
    if edit_arrays:
        edit_arrays(arrays)
    if edit_header:
        edit_header(header)
    header["sha256"] = _digest(arrays, header)
    text = json.dumps(header) if not isinstance(header, str) else header
    arrays[_HEADER_KEY] = np.frombuffer(text.encode(), dtype=np.uint8)
    np.savez(path, **arrays)


# ------------------------------------------------------------------ loading
@pytest.mark.skipif(not os.path.exists("/dev/zero"), reason="needs /dev/zero")
def test_load_refuses_what_is_not_a_regular_file(tmp_path):
    link = tmp_path / "zero.npz"
    link.symlink_to("/dev/zero")
    with pytest.raises(ValueError, match="not a regular file"):
        load(link)
    with pytest.raises(ValueError, match="not a regular file"):
        load(tmp_path)
    if hasattr(os, "mkfifo"):
        fifo = tmp_path / "pipe.npz"
        os.mkfifo(fifo)
        with pytest.raises(ValueError, match="not a regular file"):
            load(fifo)  # must not block


def test_load_of_a_file_object_is_a_type_error(model, tmp_path):
    save(model, tmp_path / "m.npz")
    with pytest.raises(TypeError, match="path"):
        load(io.BytesIO((tmp_path / "m.npz").read_bytes()))


@pytest.mark.parametrize(
    "edit",
    [
        lambda a: a.update({"weights_/0/data": a["weights_/0/data"].astype(np.float16)}),
        lambda a: a.__setitem__(
            "feature_importances_", np.full_like(a["feature_importances_"], np.nan)
        ),
        lambda a: a.__setitem__("background_", np.full_like(a["background_"], np.inf)),
        lambda a: a.__setitem__("layer_sparsity_", np.full_like(a["layer_sparsity_"], np.nan)),
    ],
    ids=["float16", "nan importances", "inf background", "nan sparsity"],
)
def test_load_refuses_arrays_of_the_wrong_kind(model, tmp_path, edit):
    path = tmp_path / "m.npz"
    save(model, path)
    _rewrite(path, edit_arrays=edit)
    with pytest.raises(ValueError, match="Cannot load"):
        load(path)


def test_load_refuses_non_finite_settings_and_huge_integers(model, tmp_path):
    path = tmp_path / "m.npz"
    save(model, path)
    _rewrite(
        path,
        edit_header=lambda h: h["attributes"]["_training_config_"]["value"].update(
            learning_rate_init=float("nan")
        ),
    )
    with pytest.raises(ValueError, match="Cannot load.*_training_config_"):
        load(path)
    save(model, path)
    from skshapsae.io._persistence import _HEADER_KEY, _digest

    with np.load(path) as data:
        arrays = {k: data[k] for k in data.files}
    header = json.loads(arrays.pop(_HEADER_KEY).tobytes().decode())
    header.pop("sha256")
    header["sha256"] = _digest(arrays, header)
    text = json.dumps(header).replace('"n_iter_": {"kind": "json", "value": 3}', "")
    text = text.replace('"format_version": 1', '"format_version": ' + "9" * 5000)
    arrays[_HEADER_KEY] = np.frombuffer(text.encode(), dtype=np.uint8)
    np.savez(path, **arrays)
    with pytest.raises(ValueError, match="Cannot load") as info:
        load(path)
    assert "set_int_max_str_digits" not in str(info.value)


def test_stored_device_is_a_preference(model, tmp_path, monkeypatch):
    path = tmp_path / "m.npz"
    save(model, path)

    def on_cuda(header):
        header["params"]["device"] = "cuda"
        header["attributes"]["_training_config_"]["value"]["device"] = "cuda"

    _rewrite(path, edit_header=on_cuda)
    import torch

    if torch.cuda.is_available():
        pytest.skip("CUDA present: the stored device is available")
    with pytest.warns(UserWarning, match="cuda"):
        loaded = load(path)
    assert loaded.device == "cpu"
    loaded.reprune(0.5, X=model.background_)  # fine-tuning runs on the CPU


# ------------------------------------------------------------------ saving and exporting
def test_save_long_name_mode_and_empty_path(model, tmp_path):
    name = "m" * 250 + ".npz"  # 254 characters: legal on Linux
    save(model, tmp_path / name)
    assert load(tmp_path / name).n_features_in_ == model.n_features_in_
    old = os.umask(0o022)
    try:
        save(model, tmp_path / "new.npz")
        assert stat.S_IMODE(os.stat(tmp_path / "new.npz").st_mode) == 0o644
        os.chmod(tmp_path / "new.npz", 0o640)
        save(model, tmp_path / "new.npz")
        assert stat.S_IMODE(os.stat(tmp_path / "new.npz").st_mode) == 0o640
    finally:
        os.umask(old)
    with pytest.raises(ValueError, match="file name"):
        save(model, "")
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_save_refuses_what_load_cannot_read(X, tmp_path):
    from sklearn.decomposition import PCA

    with pytest.raises(TypeError, match="SHAPSparseAutoencoder"):
        save(PCA(2).fit(X), tmp_path / "pca.npz")
    assert not (tmp_path / "pca.npz").exists()


@pytest.mark.parametrize("fmt", ["torch.export", "torchscript"])
def test_failed_export_keeps_the_previous_file(model, tmp_path, monkeypatch, fmt):
    import skshapsae.io._export as export_module

    path = tmp_path / "enc.bin"
    export(model, path, format=fmt)
    before = path.read_bytes()

    def full_disk(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setitem(export_module.FORMATS, fmt, full_disk)
    with pytest.raises(OSError, match="No space"):
        export(model, path, format=fmt)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["enc.bin"]


# ------------------------------------------------------------------ inputs
def test_negative_strides_and_grad_tensors(X):
    ae = fast_model(max_iter=2, device="auto")
    ae.partial_fit(X[::-1])
    ae.partial_fit(X[:, ::-1][:, ::-1][::-1])
    fast_model(max_iter=2, device="auto", random_state=None).fit(
        [X[::-1][:30], X[30:][:, ::-1][:, ::-1]]
    )
    assert ae.transform(X[::-1]).shape == (len(X), 2)
    import torch

    tensor = torch.tensor(X, requires_grad=True)
    np.testing.assert_allclose(ae.transform(tensor), ae.transform(X))


# ------------------------------------------------------------------ the CLI
def _cli(tmp_path, *args):
    return cli_main([*args, "--output", str(tmp_path / "out"), "--quiet", "--max-iter", "2"])


def _gz(path):
    path = path.with_suffix(".csv.gz")
    path.write_bytes(b"\x1f\x8b garbage, not gzip data")
    return str(path)


def _csv(path, text):
    path.write_text(text)
    return str(path)


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda p: _gz(p), "readable"),
        (lambda p: _csv(p, "a,b,target\n1,inf,0\n2,3,1\n3,4,0\n4,5,1\n5,6,0\n"), "infinite"),
        (lambda p: _csv(p, "a,b,target\n"), "no data rows"),
    ],
    ids=["corrupt gzip", "inf", "header only"],
)
def test_cli_reports_bad_files_in_one_line(tmp_path, capsys, make, message):
    path = make(tmp_path / "data.csv")
    assert _cli(tmp_path, "--data", path) == 2
    err = capsys.readouterr().err
    assert err.startswith("skshapsae: error:") and message in err and "Traceback" not in err


def test_cli_npz_problems_and_seed(tmp_path, capsys):
    good = tmp_path / "good.npz"
    np.savez(good, X=np.random.default_rng(0).uniform(size=(20, 4)), y=np.arange(20) % 2)
    truncated = tmp_path / "truncated.npz"
    truncated.write_bytes(good.read_bytes()[:100])
    scalar = tmp_path / "scalar.npz"
    np.savez(scalar, X=np.zeros((20, 4)), y=np.array(1))
    for path in (truncated, scalar):
        assert _cli(tmp_path, "--data", str(path)) == 2
    with pytest.raises(SystemExit) as exit_info:  # argparse's usage error: status 2
        _cli(tmp_path, "--data", str(good), "--seed", "-1")
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert err.count("skshapsae: error:") == 3 and "Traceback" not in err


@pytest.mark.skipif(not os.path.isdir("/proc/self"), reason="needs Linux's /proc")
def test_cli_checks_the_output_folder_before_training(tmp_path, capsys, monkeypatch):
    import skshapsae._estimator as estimator_module

    monkeypatch.setattr(estimator_module.SHAPSparseAutoencoder, "fit", pytest.fail)
    # /proc refuses new folders, even to root
    code = cli_main(["--output", "/proc/skshapsae-out", "--quiet", "--max-iter", "2"])
    assert code == 2 and "cannot be written" in capsys.readouterr().err


@pytest.mark.parametrize("scaler", ["minmax", "standard", "standard-no-mean"])
def test_a_pipeline_of_scalers_and_the_model_round_trips(X, tmp_path, scaler):
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import MinMaxScaler, StandardScaler

    first = {
        "minmax": MinMaxScaler(feature_range=(0, 2)),
        "standard": StandardScaler(),
        "standard-no-mean": StandardScaler(with_mean=False),
    }[scaler]
    raw = X * 50 + 7
    pipe = make_pipeline(
        first,
        fast_model(device="auto"),
    ).fit(raw)
    save(pipe, tmp_path / "pipe.npz")
    loaded = load(tmp_path / "pipe.npz")
    assert [name for name, _ in loaded.steps] == [name for name, _ in pipe.steps]
    np.testing.assert_allclose(loaded.transform(raw), pipe.transform(raw))
    np.testing.assert_allclose(
        loaded.inverse_transform(loaded.transform(raw)), pipe.inverse_transform(pipe.transform(raw))
    )


def test_save_refuses_other_pipeline_steps(X, tmp_path):
    from sklearn.decomposition import PCA
    from sklearn.pipeline import make_pipeline

    pipe = make_pipeline(PCA(3), SHAPSparseAutoencoder((2,), max_iter=2)).fit(X)
    with pytest.raises(TypeError, match="step 'pca' is a PCA"):
        save(pipe, tmp_path / "p.npz")


def test_fast_inference_path_keeps_the_checks(model, X):
    import sklearn

    wide = np.full((2, X.shape[1]), 1e39)
    with pytest.raises(ValueError, match="float32 range"):
        model.transform(wide)
    bad = X[:3].copy()
    bad[1, 2] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        model.transform(bad)
    with pytest.raises(ValueError, match="NaN"):
        model.transform(bad.astype(np.float32))
    with sklearn.config_context(assume_finite=True):  # float32: the check is skipped
        assert model.transform(bad.astype(np.float32)).shape == (3, 2)
    np.testing.assert_allclose(
        model.transform(X), model.transform(X.astype(np.float32)), rtol=1e-6, atol=1e-7
    )
