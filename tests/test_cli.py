"""The command-line main job on the bundled data and on a user's CSV / npz."""

import json

import numpy as np
import pytest

from skshapsae import load
from skshapsae._cli import main, run


def test_main_job_on_bundled_digits(tmp_path, capsys):
    rows = run(
        ["--max-iter", "3", "--n-explain", "20", "--n-background", "20"]
        + ["--levels", "0.5,1.0", "--output", str(tmp_path), "--quiet"]
    )
    out = capsys.readouterr().out
    assert "eta" in out and "accuracy" in out
    assert [r["importance_level"] for r in rows] == [0.5, 1.0]
    assert rows[0]["sparsity"] > rows[1]["sparsity"]
    assert json.loads((tmp_path / "results.json").read_text()) == rows
    assert load(tmp_path / "model.npz").n_components_ == 8
    for name in ("feature_importances.png", "sparsity_accuracy.png", "input_masks.png"):
        assert (tmp_path / name).stat().st_size > 1000


def test_main_job_on_csv_and_npz(tmp_path):
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
    np.savez(tmp_path / "data.npz", X=X, y=y)
    rows = run(["--data", str(tmp_path / "data.npz"), *args, "--output", str(tmp_path / "b")])
    assert 0 <= rows[0]["accuracy"] <= 1
    with pytest.raises(SystemExit, match="target column 'nope'"):
        main(["--data", str(tmp_path / "data.csv"), "--target", "nope", *args])
    with pytest.raises(SystemExit, match="does not exist"):
        main(["--data", str(tmp_path / "missing.csv"), *args])


def test_console_entry_point_exit_status(tmp_path):
    args = ["--max-iter", "2", "--n-explain", "10", "--n-background", "10", "--levels", "0.8"]
    assert main([*args, "--quiet", "--output", str(tmp_path)]) == 0
