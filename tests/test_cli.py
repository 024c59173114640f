"""The command-line main job on the bundled data and on a user's CSV / npz."""

import json
import os

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from skshapsae import load
from skshapsae._cli import main, run


def test_main_job_on_bundled_digits(tmp_path, capsys):
    rows = run(
        ["--max-iter", "3", "--n-explain", "20", "--n-background", "20", "--repeats", "2"]
        + ["--levels", "0.5,1.0", "--output", str(tmp_path), "--quiet"]
    )
    out = capsys.readouterr().out
    assert "eta" in out and "accuracy" in out and "+/-" in out and "<- chosen" in out
    assert [r["importance_level"] for r in rows] == [0.5, 1.0]
    assert rows[0]["sparsity"] > rows[1]["sparsity"]
    assert all(r["accuracy_sd"] >= 0 for r in rows)
    results = json.loads((tmp_path / "results.json").read_text())
    assert results["levels"] == rows and len(results["splits"]) == 2
    assert results["chosen_importance_level"] in (0.5, 1.0)
    # the saved model works on raw rows: scaler and autoencoder at the best level
    from sklearn.datasets import load_digits

    model = load(tmp_path / "model.npz")
    raw = load_digits().data
    assert model[-1].n_components_ == 32  # the library's default: 64 // 2
    assert model[-1].importance_level_ == results["chosen_importance_level"]
    codes = model.transform(raw)
    assert codes.shape == (len(raw), 32) and np.all(np.isfinite(codes))
    assert np.mean((model.inverse_transform(codes) - raw) ** 2) < np.var(raw)
    for name in ("feature_importances.png", "sparsity_accuracy.png", "input_masks.png"):
        assert (tmp_path / name).stat().st_size > 1000


def test_main_job_on_csv_and_npz(tmp_path, capsys):
    pd = pytest.importorskip("pandas")
    rng = np.random.default_rng(0)
    X = rng.uniform(size=(120, 6))
    y = (X[:, 0] > 0.5).astype(int)
    frame = pd.DataFrame(X, columns=[f"f{i}" for i in range(6)])
    frame["label"] = y
    frame.to_csv(tmp_path / "data.csv", index=False)
    args = ["--hidden", "4,2", "--max-iter", "2", "--levels", "0.8", "--quiet", "--n-explain", "20"]
    rows = run(
        [
            "--data",
            str(tmp_path / "data.csv"),
            "--target",
            "label",
            *args,
            "--output",
            str(tmp_path / "a"),
        ]
    )
    assert len(rows) == 1
    model = load(tmp_path / "a" / "model.npz")
    assert list(model[-1].feature_names_in_) == [f"f{i}" for i in range(6)]
    assert model.transform(frame.drop(columns="label")).shape == (120, 2)
    np.savez(tmp_path / "data.npz", X=X, y=y)
    rows = run(["--data", str(tmp_path / "data.npz"), *args, "--output", str(tmp_path / "b")])
    assert 0 <= rows[0]["accuracy"] <= 1
    for bad, message in [
        (["--data", str(tmp_path / "data.csv"), "--target", "nope"], "target column 'nope'"),
        (["--data", str(tmp_path / "missing.csv")], "does not exist"),
    ]:
        capsys.readouterr()
        assert main([*bad, *args]) == 2
        assert message in capsys.readouterr().err


def test_console_entry_point_exit_status(tmp_path):
    args = ["--max-iter", "2", "--n-explain", "10", "--n-background", "10", "--levels", "0.8"]
    assert main([*args, "--quiet", "--output", str(tmp_path)]) == 0


def _csv(tmp_path, text, name="data.csv"):
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def _bad_inputs(tmp_path):
    """(arguments, what the error line must say) for broken data and arguments."""
    pd = pytest.importorskip("pandas")
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(rng.uniform(size=(20, 3)), columns=["a", "b", "c"])
    frame["target"] = [0, 1] * 10
    good = _csv(tmp_path, frame.to_csv(index=False), "good.csv")
    text = frame.assign(colour=["red"] * 20).to_csv(index=False)
    nan = frame.copy()
    nan.loc[3, "b"] = np.nan
    single = frame.assign(target=range(20)).to_csv(index=False)
    ids = frame.assign(name=[f"row {i}" for i in range(20)]).to_csv(index=False)
    np.savez(tmp_path / "pickled.npz", X=np.array([{"a": 1}], dtype=object), y=np.zeros(1))
    (tmp_path / "afile").write_text("x")
    return [
        (["--data", _csv(tmp_path, "", "empty.csv")], "not a readable CSV"),
        (["--data", _csv(tmp_path, text, "text.csv"), "--no-preprocess"], "'colour'"),
        (
            ["--data", _csv(tmp_path, nan.to_csv(index=False), "nan.csv"), "--no-preprocess"],
            "'b'.*missing",
        ),
        (["--data", _csv(tmp_path, ids, "ids.csv")], "'name' \\(20\\).*--drop name"),
        (["--data", _csv(tmp_path, "target\n0\n1\n", "only.csv")], "only the target"),
        (["--data", _csv(tmp_path, single, "single.csv")], "at least 2 rows"),
        (["--data", good, "--hidden", "abc"], "--hidden"),
        (["--data", good, "--hidden", "8"], "wider than the data"),
        (["--data", str(tmp_path)], "not a file"),
        (["--data", good, "--output", str(tmp_path / "afile" / "out")], "is a file"),
        (["--data", str(tmp_path / "pickled.npz")], "without pickle"),
        (["--data", good, "--levels", "2.0"], r"\(0, 1\]"),
        (["--data", good, "--max-iter", "0"], "at least 1"),
        (
            ["--data", _csv(tmp_path, "a,b,target,target\n" + "1,2,0,0\n" * 8, "dup.csv")],
            "'target'.*more than once",
        ),
        (
            [
                "--data",
                _csv(tmp_path, "a,a_b,x,target\n" + "b_c,c,1,0\nd,e,2,1\n" * 6, "clash.csv"),
            ],
            "same name.*'a_b_c'",
        ),
        (["--data", _csv(tmp_path, "a,b\n1,2\n", "text.npz")], "not an .npz archive"),
        (["--data", str(tmp_path / "pickled.npz"), "--drop", "a"], "--drop names columns of a"),
    ]


def test_bad_inputs_are_one_error_line_with_status_2(tmp_path, capsys, monkeypatch):
    import skshapsae

    # every error is found before any training
    monkeypatch.setattr(skshapsae.SHAPSparseAutoencoder, "fit", pytest.fail)
    for args, message in _bad_inputs(tmp_path):
        out = tmp_path / "out"
        try:
            status = (
                main([*args, "--quiet", "--output", str(out)])
                if "--output" not in args
                else main([*args, "--quiet"])
            )
        except SystemExit as exc:  # argparse's own usage errors
            status = exc.code
        err = capsys.readouterr().err
        assert status == 2, args
        lines = [line for line in err.splitlines() if "error:" in line]
        assert len(lines) == 1 and __import__("re").search(message, lines[0]), (args, err)
        assert "Traceback" not in err
        assert not out.exists()


def test_csv_column_names_reach_the_model_and_figures(tmp_path, capsys):
    pd = pytest.importorskip("pandas")
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(rng.uniform(size=(60, 5)), columns=list("vwxyz"))
    frame["label"] = [0, 1] * 30
    path = _csv(tmp_path, frame.to_csv(index=False))
    args = ["--data", path, "--target", "label", "--max-iter", "2", "--levels", "0.8"]
    assert main([*args, "--n-explain", "10", "--quiet", "--output", str(tmp_path / "o")]) == 0
    assert "most important columns:" in capsys.readouterr().out
    model = load(tmp_path / "o" / "model.npz")
    assert list(model.feature_names_in_) == list("vwxyz")
    assert model[-1].layer_sizes_ == [5, 2, 5]  # the library's default on 5 columns
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".skshapsae-")]


def test_drop_id_warning_and_regression_refusal(tmp_path, capsys):
    pd = pytest.importorskip("pandas")
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(rng.uniform(size=(60, 4)), columns=list("abcd"))
    frame.insert(0, "id", np.arange(1000, 1060))
    frame["label"] = [0] * 30 + [1] * 30  # sorted by class: the id leaks it
    path = _csv(tmp_path, frame.to_csv(index=False))
    args = ["--data", path, "--target", "label", "--max-iter", "2", "--levels", "0.8"]
    args += ["--n-explain", "10", "--quiet", "--repeats", "1"]
    assert main([*args, "--output", str(tmp_path / "kept")]) == 0
    assert "looks like a row ID" in capsys.readouterr().err
    assert main([*args, "--drop", "id", "--output", str(tmp_path / "dropped")]) == 0
    assert "row ID" not in capsys.readouterr().err
    assert list(load(tmp_path / "dropped" / "model.npz").feature_names_in_) == list("abcd")
    assert main([*args, "--drop", "nope", "--output", str(tmp_path / "x")]) == 2
    assert "--drop ['nope'] not in" in capsys.readouterr().err
    frame["label"] = rng.normal(size=60) * 100
    path = _csv(tmp_path, frame.to_csv(index=False), "regression.csv")
    args[1] = path
    assert main([*args, "--output", str(tmp_path / "r")]) == 2
    assert "does not support regression" in capsys.readouterr().err


def _raw_table(tmp_path, n=80):
    """A CSV with missing numbers, a text column with missing values, and the target."""
    pd = pytest.importorskip("pandas")
    rng = np.random.default_rng(1)
    latent = rng.normal(size=n)
    frame = pd.DataFrame(
        {
            "a": latent + 0.1 * rng.normal(size=n),
            "b": -latent + 0.1 * rng.normal(size=n),
            "c": rng.normal(size=n),
            "colour": rng.choice(["red", "green", "blue"], n),
        }
    )
    frame.loc[[3, 7], "a"] = np.nan
    frame.loc[5, "colour"] = np.nan
    frame["label"] = (latent > 0).astype(int)
    return _csv(tmp_path, frame.to_csv(index=False), "raw.csv")


def test_missing_values_and_text_columns_become_steps_of_the_saved_model(tmp_path, capsys):
    pd = pytest.importorskip("pandas")
    path = _raw_table(tmp_path)
    args = ["--data", path, "--target", "label", "--max-iter", "5", "--levels", "0.8,1.0"]
    assert main([*args, "--repeats", "2", "--quiet", "--output", str(tmp_path / "o")]) == 0
    out = capsys.readouterr().out
    assert "filled 3 missing value(s)" in out and "one-hot encoded text column(s) ['colour']" in out
    results = json.loads((tmp_path / "o" / "results.json").read_text())
    prep = results["preprocessing"]
    assert prep["one_hot"] == {"colour": ["blue", "green", "red"]}
    assert prep["missing_values"] == {"a": 2, "colour": 1}
    model = load(tmp_path / "o" / "model.npz")
    assert [type(s).__name__ for s in model] == [
        "ColumnTransformer",
        "MinMaxScaler",
        "SHAPSparseAutoencoder",
    ]
    assert list(model[-1].feature_names_in_) == ["a", "b", "c"] + [
        f"colour_{v}" for v in ("blue", "green", "red")
    ]
    raw = pd.read_csv(path)  # the raw table as it is: target, gaps, text, any column order
    codes = model.transform(raw[raw.columns[::-1]])
    assert codes.shape == (len(raw), model[-1].n_components_) and np.all(np.isfinite(codes))
    unseen = raw.assign(colour="purple")  # an unseen value encodes as zeros
    assert np.all(np.isfinite(model.transform(unseen)))
    # a missing text cell is filled however it is spelt: NaN, None or pandas.NA
    gaps = raw.astype({"colour": object})
    filled = model.transform(gaps.assign(colour=np.nan))
    for missing in (None, pd.NA):
        spelt = gaps.assign(colour=pd.Series([missing] * len(raw), dtype=object))
        np.testing.assert_allclose(model.transform(spelt), filled)
    # --no-preprocess refuses the same table, naming the column
    assert main([*args, "--no-preprocess", "--output", str(tmp_path / "x")]) == 2
    assert "'colour'" in capsys.readouterr().err


def test_report_names_the_classifier_baseline_sizes_file_and_importances(tmp_path, capsys):
    path = _raw_table(tmp_path)
    args = ["--data", path, "--target", "label", "--max-iter", "5", "--levels", "0.7,1.0"]
    assert main([*args, "--repeats", "2", "--quiet", "--output", str(tmp_path / "o")]) == 0
    out = capsys.readouterr().out
    assert "LogisticRegression(max_iter=1000) on the codes" in out
    assert "majority class alone scores" in out and "model: 6 -> 3 -> 6 units" in out
    assert "most important columns: " in out and "(0." in out
    results = json.loads((tmp_path / "o" / "results.json").read_text())
    assert results["data"]["file"].endswith("raw.csv") and results["data"]["rows"] == 80
    assert results["data"]["model_inputs"] == 6
    assert "LogisticRegression" in results["accuracy_means"]
    assert 0.4 <= results["majority_baseline_accuracy"] <= 0.6
    assert results["model"]["layer_sizes"] == [6, 3, 6]
    # one importance per column of the table (the colour's dummies scored together) ...
    importances = results["feature_importances"]
    assert set(importances) == {"a", "b", "c", "colour"}
    assert list(importances.values()) == sorted(importances.values(), reverse=True)
    np.testing.assert_allclose(sum(importances.values()), 1.0)
    # ... and one per model input beside them
    per_input = results["feature_importances_per_model_input"]
    assert len(per_input) == 6 and {"colour_red", "colour_green", "colour_blue"} <= set(per_input)
    # per-column reconstruction of the chosen level and of the dense model
    reconstruction = results["reconstruction"]
    assert set(reconstruction["chosen"]) == set(reconstruction["dense"]) == set(per_input)
    chosen = next(
        r for r in results["levels"] if r["importance_level"] == results["chosen_importance_level"]
    )
    assert chosen["column_relative_error"] == reconstruction["chosen"]
    assert "within 0.25 of the dense model" in results["choice"]["rule"]


def test_cli_builds_the_model_with_the_library_defaults(tmp_path):
    from skshapsae import SHAPSparseAutoencoder

    path = _raw_table(tmp_path)
    args = ["--data", path, "--target", "label", "--levels", "1.0", "--repeats", "1"]
    assert main([*args, "--max-iter", "4", "--quiet", "--output", str(tmp_path / "o")]) == 0
    ae = load(tmp_path / "o" / "model.npz")[-1]
    defaults = SHAPSparseAutoencoder().get_params()
    given = {"max_iter": 4, "random_state": 0, "verbose": 0, "importance_level": 1.0}
    differing = {k for k, v in ae.get_params().items() if v != defaults[k]}
    assert differing <= set(given), differing
    results = json.loads((tmp_path / "o" / "results.json").read_text())
    assert results["model"]["parameters_set_by_the_cli"] == {"max_iter": 4}
    assert ae.layer_sizes_ == [6, 3, 6]  # one layer of n_features // 2, as the library


@pytest.mark.parametrize("flags", [[], ["--hidden", "auto"]])
def test_hidden_auto_or_absent_leaves_the_library_default(flags):
    from skshapsae._cli import _autoencoder, _overrides, build_parser

    args = build_parser().parse_args([*flags, "--quiet"])
    assert "hidden_layer_sizes" not in _overrides(args)
    assert _autoencoder(args, 0).hidden_layer_sizes is None  # the library's default


def _row(level, sparsity, accuracy, errors, dense, sd=0.0):
    return {
        "importance_level": level,
        "sparsity": sparsity,
        "accuracy": accuracy,
        "accuracy_sd": sd,
        "_errors": np.array(errors, dtype=float),
        "_dense": np.array(dense, dtype=float),
    }


@pytest.mark.parametrize(
    "errors, expected",
    [
        # the sparsest level loses a column the dense model reconstructs (0.2 -> 0.9)
        ([[0.9, 0.5], [0.3, 0.6], [0.2, 0.5]], 0.7),
        # a column the dense model already loses (1.2) may stay there, not beyond
        ([[0.2, 1.3], [0.2, 1.2], [0.2, 1.2]], 0.7),
        # a column worse than its mean (1.1 > 1) although within 0.25 of the dense 0.9
        ([[0.2, 1.1], [0.2, 1.05], [0.2, 0.9]], 1.0),
        # every level faithful: the sparsest
        ([[0.3, 0.6], [0.25, 0.55], [0.2, 0.5]], 0.5),
    ],
)
def test_level_choice_keeps_every_column_faithful(errors, expected):
    from skshapsae._cli import _choose

    dense = errors[-1]  # the level 1.0 is the dense model
    summary = [
        _row(level, 1 - level, 0.9, e, dense)
        for level, e in zip((0.5, 0.7, 1.0), errors, strict=True)
    ]
    best, rule = _choose(summary, None, 5, 0.25)
    assert best["importance_level"] == expected, [r["faithful"] for r in summary]
    # accuracy still comes first: a faithful level outside one SE is not chosen
    summary = [
        _row(0.5, 0.5, 0.5, [0.2, 0.5], [0.2, 0.5]),
        _row(1.0, 0.0, 0.9, [0.2, 0.5], [0.2, 0.5]),
    ]
    assert _choose(summary, None, 5, 0.25)[0]["importance_level"] == 1.0


def test_no_faithful_level_falls_back_to_the_densest_and_says_so():
    from skshapsae._cli import _choose

    summary = [
        _row(0.5, 0.6, 0.9, [2.0, 0.5], [0.2, 0.5]),
        _row(0.9, 0.3, 0.9, [1.5, 0.5], [0.2, 0.5]),
    ]
    best, rule = _choose(summary, None, 5, 0.25)
    assert best["importance_level"] == 0.9 and "densest level" in rule


def test_logs_get_no_progress_bars_and_the_saved_model_its_own_sparsity(tmp_path, capsys):
    # stderr is captured, not a terminal: no bars even without --quiet
    args = ["--max-iter", "3", "--n-explain", "20", "--n-background", "20", "--repeats", "1"]
    assert main([*args, "--levels", "0.7", "--output", str(tmp_path)]) == 0
    captured = capsys.readouterr()
    assert "\r" not in captured.err and "it/s" not in captured.err
    model = load(tmp_path / "model.npz")
    assert model[-1].verbose == 0  # the saved model is quiet too
    results = json.loads((tmp_path / "results.json").read_text())
    saved = results["saved_model"]
    assert saved["sparsity"] == pytest.approx(model[-1].sparsity_)
    assert saved["splits_mean_sparsity"] == results["levels"][0]["sparsity"]
    # printed beside the chosen level, saying which number is which
    assert f"sparsity eta {model[-1].sparsity_:.3f}" in captured.out
    assert "mean over the splits' models" in captured.out


def test_codes_without_signal_are_said_to_be_so(tmp_path, capsys):
    pd = pytest.importorskip("pandas")
    rng = np.random.default_rng(3)
    frame = pd.DataFrame(rng.normal(size=(80, 4)), columns=list("abcd"))
    frame["label"] = (rng.uniform(size=80) < 0.2).astype(int)  # noise, 80 % one class
    path = _csv(tmp_path, frame.to_csv(index=False), "noise.csv")
    args = ["--data", path, "--target", "label", "--max-iter", "3", "--levels", "0.8,1.0"]
    assert main([*args, "--repeats", "3", "--quiet", "--output", str(tmp_path / "o")]) == 0
    out = capsys.readouterr().out
    results = json.loads((tmp_path / "o" / "results.json").read_text())
    assert results["codes_beat_majority"] is False
    assert "no signal" in results["codes_vs_majority"]
    assert "warning: no level's accuracy is above the majority class alone" in out
    assert (tmp_path / "o" / "sparsity_accuracy.png").stat().st_size > 1000


@pytest.mark.parametrize(
    "accuracies, expected",
    [
        ([(0.60, 0.0), (0.80, 0.0)], False),  # at the majority's 0.8: not above it
        ([(0.85, 0.10), (0.70, 0.0)], False),  # above it by less than its sd
        ([(0.85, 0.01), (0.70, 0.0)], True),
    ],
)
def test_codes_beat_majority_only_beyond_the_split_noise(accuracies, expected):
    from skshapsae._cli import _beats_majority

    summary = [
        {"importance_level": m, "accuracy": a, "accuracy_sd": sd}
        for m, (a, sd) in zip((0.5, 1.0), accuracies)
    ]
    assert _beats_majority(summary, 0.8)["codes_beat_majority"] is expected


@pytest.mark.parametrize(
    "terminal, quiet, verbose", [(True, False, 1), (True, True, 0), (False, False, 0)]
)
def test_progress_bars_only_on_a_terminal(monkeypatch, terminal, quiet, verbose):
    import io
    import sys

    from skshapsae._cli import _autoencoder, build_parser

    stream = io.StringIO()
    stream.isatty = lambda: terminal
    monkeypatch.setattr(sys, "stderr", stream)
    args = build_parser().parse_args(["--quiet"] if quiet else [])
    assert _autoencoder(args, 0).verbose == verbose


# -------------------------------------------------------- hostile conditions (issues 22, 32)
def _cli(tmp_path, *args):
    return main([*args, "--output", str(tmp_path / "out"), "--quiet", "--max-iter", "2"])


def _gz(path):
    path = path.with_suffix(".csv.gz")
    path.write_bytes(b"\x1f\x8b garbage, not gzip data")
    return str(path)


def _write_csv(path, text):
    path.write_text(text)
    return str(path)


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda p: _gz(p), "readable"),
        (lambda p: _write_csv(p, "a,b,target\n1,inf,0\n2,3,1\n3,4,0\n4,5,1\n5,6,0\n"), "infinite"),
        (lambda p: _write_csv(p, "a,b,target\n"), "no data rows"),
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
    code = main(["--output", "/proc/skshapsae-out", "--quiet", "--max-iter", "2"])
    assert code == 2 and "cannot be written" in capsys.readouterr().err


def _table(tmp_path, n_rows, n_classes, extra=None, name="t.csv"):
    pd = pytest.importorskip("pandas")
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(rng.uniform(size=(n_rows, 3)), columns=["a", "b", "c"])
    frame["y"] = np.arange(n_rows) % n_classes
    for column, values in (extra or {}).items():
        frame[column] = values
    frame.to_csv(tmp_path / name, index=False)
    return str(tmp_path / name)


@settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck))
@given(n_classes=st.integers(2, 15), per_class=st.integers(2, 5))
def test_cli_tables_too_small_for_the_split_are_one_line(tmp_path_factory, n_classes, per_class):
    from skshapsae._cli import _check_data

    n_rows = n_classes * per_class
    y = np.arange(n_rows) % n_classes
    X = np.random.default_rng(0).uniform(size=(n_rows, 3))
    try:
        _check_data(X.shape, y, [2])
    except Exception as exc:
        assert type(exc).__name__ == "UsageError" and "split" in str(exc)
        return
    from sklearn.model_selection import train_test_split

    train_test_split(X, y, test_size=0.25, stratify=y, random_state=0)  # must not fail


def test_cli_refusals_create_no_folders_and_list_every_column(tmp_path, capsys):
    from skshapsae._cli import main as cli_main

    out = tmp_path / "deep" / "er" / "out"
    small = _table(tmp_path, 4, 2)
    assert cli_main(["--data", small, "--target", "y", "--output", str(out), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert err.count("skshapsae: error:") == 1 and "split" in err
    assert not (tmp_path / "deep").exists()
    nan = {f"n{j}": [np.nan] + [0.5] * 39 for j in range(12)}
    text = {"city": ["x"] * 40}
    for extra, message in ((nan, "and 2 more"), (text, "--drop city")):
        path = _table(tmp_path, 40, 2, extra, name="bad.csv")
        args = ["--data", path, "--target", "y", "--output", str(out), "--quiet"]
        assert cli_main([*args, "--no-preprocess"]) == 2  # by default: filled, one-hot
        err = capsys.readouterr().err
        assert err.count("skshapsae: error:") == 1 and message in err, err
    assert not (tmp_path / "deep").exists()


def test_a_text_column_of_numbers_matches_its_categories_in_new_rows(tmp_path):
    """Categories read as text ("1", "2", "x") at fit time; a new file without "x" is read
    by pandas as integers, which matched no category (every dummy 0, no warning)."""
    pd = pytest.importorskip("pandas")
    from skshapsae._cli import _load, _preprocessor

    path = _csv(tmp_path, "grade,b,label\n" + "1,0.5,0\n2,0.1,1\nx,0.3,0\n3,0.9,1\n" * 5)
    frame, _, _, columns = _load(path, "label")
    prep = _preprocessor(columns).fit(frame)
    new = pd.DataFrame({"grade": [1, 2, 3, None], "b": [0.5, 0.1, 0.9, 0.3]})
    as_text = pd.DataFrame({"grade": ["1", "2", "3", None], "b": new["b"]})
    encoded = prep.transform(new)
    pd.testing.assert_frame_equal(encoded, prep.transform(as_text))
    assert encoded.filter(like="grade_").sum(axis=1).tolist() == [1, 1, 1, 1]  # one each


def test_a_split_without_a_columns_values_keeps_the_column(tmp_path):
    """A split's training rows can miss every value of a column: its preprocessing keeps
    the column (0), so every split has the same columns and per-column figures stay on
    their names (the imputer dropped it: a shape mismatch, or errors on the wrong names)."""
    pytest.importorskip("pandas")
    from skshapsae._cli import _load, _preprocessor

    text = "m,a,t,label\n" + ",0.5,u,0\n,0.1,v,1\n" * 10 + "3.0,0.2,w,0\n"
    path = _csv(tmp_path, text.replace(",0.1,v,1\n,0.5,u,0", ",0.1,,1\n,0.5,u,0", 1))
    frame, _, _, columns = _load(path, "label")
    train = frame.iloc[:-1]  # neither m's value nor t's "w"
    prep = _preprocessor(columns, keep_empty=True).fit(train)
    out = prep.transform(frame)
    assert list(out.columns) == ["m", "a", "t_u", "t_v", "t_w"]
    assert out["m"].tolist()[:-1] == [0.0] * (len(frame) - 1) and out["m"].iloc[-1] == 3.0


def test_a_target_of_a_few_fractional_codes_is_classes():
    from skshapsae._cli import UsageError, _check_data

    _check_data((40, 3), np.array([0.5, 1.5] * 20), None)  # no error: two classes
    with pytest.raises(UsageError, match="continuous"):
        _check_data((40, 3), np.linspace(0, 1, 40) + 0.01, None)
