"""Model files holding a ColumnTransformer (imputation, one-hot): round trip, and hostile
edits refused with a ValueError (never code, never unbounded memory)."""

import io
import json
import zipfile

import numpy as np
import pytest

import skshapsae.io._persistence as persistence
from skshapsae import load, save

from _models import fast_model

pd = pytest.importorskip("pandas")


@pytest.fixture(scope="module")
def frame():
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(rng.uniform(size=(40, 3)), columns=list("abc"))
    frame["colour"] = rng.choice(["red", "green", "blue"], 40)
    frame.loc[3, "a"] = np.nan
    frame.loc[5, "colour"] = np.nan
    return pd.read_csv(io.StringIO(frame.to_csv(index=False)))


def _pipeline(inner=None):
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import Pipeline, make_pipeline
    from sklearn.preprocessing import MinMaxScaler, OneHotEncoder

    text = make_pipeline(
        SimpleImputer(strategy="most_frequent"),
        inner or OneHotEncoder(handle_unknown="ignore", sparse_output=False),
    )
    columns = ColumnTransformer(
        [("numbers", SimpleImputer(strategy="median"), list("abc")), ("text", text, ["colour"])],
        verbose_feature_names_out=False,
    ).set_output(transform="pandas")
    scaler = MinMaxScaler(clip=True).set_output(transform="pandas")
    ae = fast_model(None, device="auto")
    return Pipeline([("columns", columns), ("scaler", scaler), ("ae", ae)])


@pytest.fixture(scope="module")
def fitted(frame):
    return _pipeline().fit(frame)


@pytest.fixture(scope="module")
def model_bytes(fitted, tmp_path_factory):
    path = tmp_path_factory.mktemp("m") / "model.npz"
    save(fitted, path)
    return path.read_bytes()


def test_round_trip_on_raw_rows(fitted, frame, model_bytes, tmp_path):
    path = tmp_path / "m.npz"
    path.write_bytes(model_bytes)
    loaded = load(path)
    assert np.allclose(loaded.transform(frame), fitted.transform(frame))
    assert loaded[0].get_params()["text"][-1].categories == "auto"  # as it was fitted
    rows = frame.assign(colour=["purple"] * len(frame), a=np.nan)  # unseen and missing
    assert np.allclose(loaded.transform(rows), fitted.transform(rows))


def test_save_refuses_other_column_transformers(frame, tmp_path):
    from sklearn.preprocessing import OrdinalEncoder

    with pytest.raises(TypeError, match="ColumnTransformer"):
        save(_pipeline(OrdinalEncoder()).fit(frame), tmp_path / "x.npz")


def _members(data):
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return {
            info.filename[:-4]: np.load(io.BytesIO(archive.read(info)), allow_pickle=False)
            for info in archive.infolist()
        }


def _resigned(data, edit):
    arrays = _members(data)
    header = json.loads(arrays.pop("__header__").tobytes().decode())
    header.pop("sha256")
    edit(header["pipeline"][0], arrays)
    header["sha256"] = persistence._digest(arrays, header)
    arrays["__header__"] = np.frombuffer(json.dumps(header).encode(), dtype=np.uint8)
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **arrays)
    return buffer.getvalue()


def _text(step):
    return step["branches"][1]


def _set(key, value):
    return lambda step, arrays: step.update({key: value})


STATS = "pipeline/0/numbers/statistics"

HOSTILE = {
    "class named by the file": _set("class", "os.system"),
    "unknown branch kind": lambda s, a: s["branches"][0].update(kind="function"),
    "numeric strategy": lambda s, a: s["branches"][0].update(strategy="constant"),
    "NaN statistics": lambda s, a: a.update({STATS: np.full(3, np.nan)}),
    "statistics of a wrong shape": lambda s, a: a.update({STATS: np.zeros(30)}),
    "integer statistics": lambda s, a: a.update({STATS: np.zeros(3, dtype=np.int64)}),
    "missing statistics": lambda s, a: a.pop(STATS),
    "column not an input": lambda s, a: s["branches"][0].update(columns=["a", "b", "zz"]),
    "column selected twice": lambda s, a: _text(s).update(columns=["a"]),
    "category of an object": lambda s, a: _text(s)["categories"][0].append({"x": 1}),
    "long category": lambda s, a: _text(s)["categories"][0].append("x" * 5000),
    "repeated category": lambda s, a: _text(s).update(categories=[["red", "red", "blue"]]),
    "mixed kinds": lambda s, a: _text(s).update(categories=[["red", 1, "blue"]]),
    "fill not a category": lambda s, a: _text(s).update(fill=["purple"]),
    "infinite category": lambda s, a: _text(s).update(categories=[[1.0, 1e999]], fill=[1.0]),
    "width of a million": lambda s, a: _text(s).update(
        categories=[[f"c{i}" for i in range(10**6)]], fill=["c0"]
    ),
    "no categories": lambda s, a: _text(s).update(categories=[[]]),
    "steps of one name": lambda s, a: _text(s).update(steps=["x", "x"]),
    "names not a list": _set("feature_names_in", "abc"),
    "duplicate names": _set("feature_names_in", ["a", "a", "b", "c", "colour"]),
    "branches empty": _set("branches", []),
    "unknown output": _set("output", "arrow"),
    "double-underscore name": _set("name", "a__b"),
    "not first": None,
}


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_hostile_column_steps_are_refused(model_bytes, tmp_path, case):
    edit = HOSTILE[case]
    if edit is None:  # the ColumnTransformer after the scaler
        arrays = _members(model_bytes)
        header = json.loads(arrays.pop("__header__").tobytes().decode())
        header.pop("sha256")
        header["pipeline"][0], header["pipeline"][1] = header["pipeline"][1], header["pipeline"][0]
        header["sha256"] = persistence._digest(arrays, header)
        arrays["__header__"] = np.frombuffer(json.dumps(header).encode(), dtype=np.uint8)
        buffer = io.BytesIO()
        np.savez_compressed(buffer, **arrays)
        data = buffer.getvalue()
    else:
        data = _resigned(model_bytes, edit)
    path = tmp_path / "hostile.npz"
    path.write_bytes(data)
    with pytest.raises(ValueError, match="Cannot load"):
        load(path)


#: hand edits that keep every value well-formed but no longer match what the next step
#: was fitted on: refused at load, naming the columns (not at transform, by scikit-learn)
EDITED = {
    "categories as numbers": lambda s, a: _text(s).update(categories=[[1, 2, 3]], fill=[1]),
    "categories as booleans": lambda s, a: _text(s).update(categories=[[False, True]], fill=[True]),
    "category renamed": lambda s, a: _text(s).update(
        categories=[["blue", "green", "purple"]], fill=["blue"]
    ),
    "categories reordered": lambda s, a: _text(s).update(
        categories=[["red", "green", "blue"]], fill=["red"]
    ),
    "empty category": lambda s, a: _text(s).update(categories=[["", "green", "red"]], fill=["red"]),
    "input columns swapped": _set("feature_names_in", ["b", "a", "c", "colour"]),
    "branch columns swapped": lambda s, a: s["branches"][0].update(columns=["b", "a", "c"]),
}


@pytest.mark.parametrize("case", sorted(EDITED))
def test_edited_columns_are_refused_at_load_with_a_clear_message(
    model_bytes, frame, tmp_path, case
):
    path = tmp_path / "edited.npz"
    path.write_bytes(_resigned(model_bytes, EDITED[case]))
    with pytest.raises(ValueError, match="Cannot load") as caught:
        load(path)
    assert "feature names should match" not in str(caught.value)
    assert "column" in str(caught.value)


def test_save_refuses_a_branch_out_of_the_tables_order(frame, tmp_path):
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import Pipeline

    columns = ColumnTransformer([("numbers", SimpleImputer(), ["b", "a"])])
    model = Pipeline([("columns", columns), ("ae", fast_model(None))]).fit(frame[["a", "b"]])
    with pytest.raises(TypeError, match="order"):
        save(model, tmp_path / "x.npz")


def test_a_resigned_pipeline_file_restores_no_memory_path(model_bytes, frame, tmp_path):
    arrays = _members(model_bytes)
    header = json.loads(arrays.pop("__header__").tobytes().decode())
    header.pop("sha256")
    header["params"]["memory"] = str(tmp_path / "cache")
    header["sha256"] = persistence._digest(arrays, header)
    arrays["__header__"] = np.frombuffer(json.dumps(header).encode(), dtype=np.uint8)
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **arrays)
    path = tmp_path / "m.npz"
    path.write_bytes(buffer.getvalue())
    loaded = load(path)
    assert loaded[-1].memory is None and loaded.memory is None


def _cli_pipeline():
    """The CLI's preprocessing (None and pandas.NA in a text column are missing), a
    scaler and the autoencoder."""
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import MinMaxScaler

    from skshapsae._cli import _preprocessor

    columns = {
        "numeric": list("abc"),
        "text": {"colour": ["blue", "green", "red"]},
        "missing": {},
        "left_out": [],
        "rows_left_out": 0,
    }
    scaler = MinMaxScaler(clip=True).set_output(transform="pandas")
    return Pipeline(
        [("columns", _preprocessor(columns)), ("scaler", scaler), ("ae", fast_model(None))]
    )


@pytest.fixture(scope="module")
def cli_model_bytes(frame, tmp_path_factory):
    path = tmp_path_factory.mktemp("cli") / "model.npz"
    save(_cli_pipeline().fit(frame), path)
    return path.read_bytes()


@pytest.mark.parametrize("spelling", ["None", "pandas.NA"])
def test_none_and_pandas_na_in_a_text_column_are_missing_after_load(
    frame, cli_model_bytes, tmp_path, spelling
):
    path = tmp_path / "m.npz"
    path.write_bytes(cli_model_bytes)
    loaded = load(path)
    missing = None if spelling == "None" else pd.NA
    rows = frame.head(6).astype({"colour": object})
    blank = rows.assign(colour=pd.Series([missing] * 6, index=rows.index, dtype=object))
    nan = rows.assign(colour=np.nan)
    # filled with the most frequent colour, as NaN is: not an unseen category (zeros)
    assert np.allclose(loaded.transform(blank), loaded.transform(nan))
    assert np.allclose(
        loaded[:-1].transform(blank)[["colour_blue", "colour_green", "colour_red"]].sum(axis=1), 1
    )
    # and at fit time: a None in the training table is filled like a NaN
    trained = _cli_pipeline().fit(frame.astype({"colour": object}).replace({np.nan: None}))
    assert np.allclose(trained[0].transform(frame), _cli_pipeline().fit(frame)[0].transform(frame))


@pytest.mark.parametrize(
    "edit",
    [
        lambda s, a: _text(s).update(none_as_missing="yes"),
        lambda s, a: _text(s).pop("none_as_missing"),  # three steps, no flag
        lambda s, a: _text(s).update(steps=["x", "y", "x"]),
    ],
    ids=["flag not a boolean", "flag removed", "steps of one name"],
)
def test_hostile_missing_flag_is_refused(cli_model_bytes, tmp_path, edit):
    path = tmp_path / "hostile.npz"
    path.write_bytes(_resigned(cli_model_bytes, edit))
    with pytest.raises(ValueError, match="Cannot load"):
        load(path)


def _user_pipeline(frame):
    """An ordinary user pipeline: columns picked by dtype, binary columns one-hot encoded
    to one dummy, the autoencoder, then a classifier."""
    from sklearn.compose import ColumnTransformer, make_column_selector
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import MinMaxScaler, OneHotEncoder

    text = make_pipeline(
        SimpleImputer(strategy="most_frequent"),
        OneHotEncoder(drop="if_binary", handle_unknown="ignore", sparse_output=False),
    )
    columns = ColumnTransformer(
        [
            (
                "numbers",
                make_pipeline(SimpleImputer(), MinMaxScaler()),
                make_column_selector(dtype_include="number"),
            ),
            ("text", text, make_column_selector(dtype_exclude="number")),
        ]
    )
    model = make_pipeline(columns, fast_model(None), LogisticRegression())
    return model.fit(frame, (frame["a"].fillna(0.5) > 0.5).astype(int))


@pytest.mark.parametrize("cut", [None, -1], ids=["with a classifier", "ending in the autoencoder"])
def test_save_refuses_ordinary_pipelines_and_says_how_to_save_them_with_skops(frame, tmp_path, cut):
    model = _user_pipeline(frame)
    model = model if cut is None else model[:cut]
    with pytest.raises(TypeError) as caught:
        save(model, tmp_path / "x.npz")
    message = str(caught.value)
    assert "skops.io.dump(pipeline, 'model.skops')" in message
    assert "skops.io.load('model.skops', trusted=" in message
    assert "skops.io.get_untrusted_types(file='model.skops')" in message
    assert "pip install 'skshapsae[skops]'" in message
    assert not (tmp_path / "x.npz").exists()


def test_a_pipeline_with_the_autoencoder_round_trips_through_skops(frame, tmp_path):
    sio = pytest.importorskip("skops.io")
    model = _user_pipeline(frame)
    path = tmp_path / "model.skops"
    sio.dump(model, path)
    types = sio.get_untrusted_types(file=path)
    assert "skshapsae._estimator.SHAPSparseAutoencoder" in types
    loaded = sio.load(path, trusted=types)
    np.testing.assert_array_equal(loaded[:-1].transform(frame), model[:-1].transform(frame))
    np.testing.assert_array_equal(loaded.predict_proba(frame), model.predict_proba(frame))
