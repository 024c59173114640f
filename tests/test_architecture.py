"""The package's import graph, read from the source with ``ast``: no cycles, the modules
below the estimator never import it (nor the package, which imports it), and each stage
folder imports only the stages below it.

The folders, bottom to top, in the order the data flows through a fit::

    network <- scoring <- pruning <- inference <- conductor <- _estimator <- io <- the rest

(``io`` builds and reads fitted estimators, so it sits above the estimator; the rest is
the package itself, ``__main__``, ``_cli`` and the public ``baselines``, ``datasets`` and
``plotting``). ``_version`` is a leaf that the package, model files and the build read.
"""

import ast
from pathlib import Path

import skshapsae

PACKAGE = Path(skshapsae.__file__).parent


def _dotted(path):
    """``skshapsae.scoring._shapley`` for ``scoring/_shapley.py``; a folder's
    ``__init__.py`` is the folder itself (``skshapsae.scoring``)."""
    parts = ["skshapsae", *path.relative_to(PACKAGE).with_suffix("").parts]
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_dotted(path): path for path in sorted(PACKAGE.rglob("*.py"))}

#: each stage folder's level, bottom first: a folder imports only folders of a lower level
STAGES = ("network", "scoring", "pruning", "inference", "conductor")
#: what sits above the stages: the estimator, then the files that build and read it, then
#: the package and what drives fitted estimators (the CLI, the public modules)
LEVEL = {
    **{f"skshapsae.{stage}": level for level, stage in enumerate(STAGES)},
    "skshapsae._version": 0,
    "skshapsae._estimator": len(STAGES),
    "skshapsae.io": len(STAGES) + 1,
}
TOP = len(STAGES) + 2


def level(name):
    """The level of a module: its stage folder's, or its own; the top one otherwise."""
    for prefix in sorted(LEVEL, key=len, reverse=True):
        if name == prefix or name.startswith(prefix + "."):
            return LEVEL[prefix]
    return TOP


def _package_of(name):
    """The package that a relative import in ``name`` starts from."""
    is_package = MODULES[name].name == "__init__.py"
    return name if is_package else name.rpartition(".")[0]


def _resolve(target, names):
    """The modules that ``from target import names`` imports: ``target`` when it is a
    module, else each name that is a module of the package ``target`` (a name the
    package exports counts as the package)."""
    if target in MODULES and MODULES[target].name != "__init__.py":
        return {target}
    return {f"{target}.{n}" if f"{target}.{n}" in MODULES else target for n in names}


def _imports(name):
    """The package's modules that ``name`` imports, at the top or inside a function."""
    found = set()
    for node in ast.walk(ast.parse(MODULES[name].read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            if node.level == 0:
                if not (node.module or "").split(".")[0] == "skshapsae":
                    continue
                target = node.module
            else:
                base = _package_of(name).split(".")
                base = base[: len(base) - (node.level - 1)]
                target = ".".join([*base, *([node.module] if node.module else [])])
            found |= _resolve(target, [alias.name for alias in node.names])
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == "skshapsae":
                    found.add(alias.name)
    found.discard(name)
    return found


GRAPH = {name: _imports(name) for name in MODULES}


def test_the_graph_reads_the_imports():
    assert {"skshapsae._estimator", "skshapsae.io._persistence", "skshapsae.io._export"} <= (
        GRAPH["skshapsae"]
    )
    # an import inside a function counts; ``..`` climbs out of the folder
    assert "skshapsae.inference._kernels" in GRAPH["skshapsae.inference._inference"]
    assert "skshapsae.network._activations" in GRAPH["skshapsae.scoring._shapley"]
    # ``from .conductor import _dask``: the module, not the folder
    assert "skshapsae.conductor._dask" in GRAPH["skshapsae._estimator"]
    assert all(deps <= set(MODULES) for deps in GRAPH.values())


def test_every_module_is_in_a_stage_folder_or_on_top():
    # a new private module goes into the folder of the stage it serves
    flat = {name for name in MODULES if name.count(".") == 1 and name.split(".")[1].startswith("_")}
    assert flat == {
        "skshapsae.__main__",
        "skshapsae._cli",
        "skshapsae._estimator",
        "skshapsae._version",
    }
    folders = {name.split(".")[1] for name in MODULES if name.count(".") == 2}
    assert folders == {*STAGES, "io"}


def test_no_import_cycles():
    done, path = set(), []

    def visit(name):
        if name in path:
            raise AssertionError(" -> ".join([*path[path.index(name) :], name]))
        if name in done:
            return
        path.append(name)
        for dep in sorted(GRAPH[name]):
            visit(dep)
        path.pop()
        done.add(name)

    for name in sorted(GRAPH):
        visit(name)


def test_modules_below_the_estimator_do_not_import_it():
    below = {name for name in GRAPH if level(name) < LEVEL["skshapsae._estimator"]}
    assert "skshapsae.conductor._stages" in below and "skshapsae.io._persistence" not in below
    offenders = {
        name: GRAPH[name] & {"skshapsae", "skshapsae._estimator"}
        for name in below
        if GRAPH[name] & {"skshapsae", "skshapsae._estimator"}
    }
    assert not offenders


def test_each_stage_imports_only_the_stages_below_it():
    offenders = {
        f"{name} -> {dep}"
        for name, deps in GRAPH.items()
        for dep in deps
        if level(dep) > level(name)
        or (level(dep) == level(name) < TOP and _folder(dep) != _folder(name))
    }
    assert not offenders


def _folder(name):
    return name.split(".")[1] if name.count(".") == 2 else None


def test_pickles_made_before_the_folders_still_load():
    import pickle

    from skshapsae import _MOVED
    from skshapsae.io._persistence import MissingAsNaN

    # every flat private module of 0.1 before the move, and the folders' merged modules
    flat = {old for old in _MOVED if "." not in old}
    assert set(_MOVED) - flat == {
        "conductor._checks",
        "io._files",
        "io._persistence_columns",
        "network._threads",
        "scoring._shapley_params",
    }
    assert flat == {
        *("_activations _attribution _checks _config _dask _export _files _fitted".split()),
        *("_game_kernels _inference _kernels _memory _missing _network _persistence".split()),
        *("_persistence_columns _pruning _refusal _renamed _score_func _scoring".split()),
        *("_selection _shapley _shapley_params _stages _streaming _threads _warnings".split()),
    }
    assert all(f"skshapsae.{new}" in MODULES for new in _MOVED.values())
    for old, name, obj in [
        ("_shapley_params", "PermutationEstimator", skshapsae.PermutationEstimator),
        ("scoring._shapley_params", "AutoEstimator", skshapsae.AutoEstimator),
        ("_score_func", "shap_importances", skshapsae.shap_importances),
        ("_missing", "MissingAsNaN", MissingAsNaN),
        ("io._persistence_columns", "MissingAsNaN", MissingAsNaN),
        ("_network", "TrainingDivergenceError", skshapsae.TrainingDivergenceError),
        ("_estimator", "SHAPSparseAutoencoder", skshapsae.SHAPSparseAutoencoder),
    ]:
        assert pickle.loads(f"cskshapsae.{old}\n{name}\n.".encode()) is obj
    # the old paths are the same module object, whose own name and spec are kept
    import skshapsae._threads as old
    import skshapsae.network._threads as older

    import skshapsae.network._network as new

    assert old is older is new
    assert new.__spec__.name == new.__name__ == "skshapsae.network._network"
    assert pickle.loads(b"cskshapsae.network._threads\nexclusive\n.") is new.exclusive
