"""The package's import graph, read from the source with ``ast``: no cycles, and the
modules below the estimator never import it (nor the package, which imports it)."""

import ast
from pathlib import Path

import skshapsae

PACKAGE = Path(skshapsae.__file__).parent
MODULES = {path.stem: path for path in PACKAGE.glob("*.py")}

#: the modules above the estimator: the package, the estimator, and what builds, saves,
#: exports or drives fitted estimators; every other private module is below it
ABOVE = {"__init__", "__main__", "_estimator", "_cli", "_export", "_persistence", "_score_func"}


def _imports(name):
    """The package's modules that ``name`` imports, at the top or inside a function."""
    found = set()
    for node in ast.walk(ast.parse(MODULES[name].read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            if node.level == 0 and not (node.module or "").startswith("skshapsae"):
                continue
            parts = (node.module or "").split(".")
            parts = parts[1:] if node.level == 0 else parts
            if parts and parts[0]:
                found.add(parts[0] if parts[0] in MODULES else "__init__")
            else:  # from . import x, y: modules, or names the package exports
                found |= {a.name if a.name in MODULES else "__init__" for a in node.names}
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == "skshapsae":
                    rest = alias.name.split(".")[1:]
                    found.add(rest[0] if rest else "__init__")
    found.discard(name)
    return found


GRAPH = {name: _imports(name) for name in MODULES}


def test_the_graph_reads_the_imports():
    assert {"_estimator", "_persistence", "_export"} <= GRAPH["__init__"]
    assert "_checks" in GRAPH["_inference"]  # an import inside a function counts


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
    below = {name for name in GRAPH if name.startswith("_") and name not in ABOVE}
    offenders = {
        name: GRAPH[name] & {"__init__", "_estimator"}
        for name in below
        if GRAPH[name] & {"__init__", "_estimator"}
    }
    assert not offenders
