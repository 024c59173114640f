"""Docs that cannot drift: cross-references resolve, the API page lists every public
name, and the Python snippets of the user guide name what they use."""

import ast
import re
from pathlib import Path

import pytest

import skshapsae

ROOT = Path(__file__).resolve().parents[1]
PAGES = sorted((ROOT / "docs").glob("*.rst"))


def _titles():
    titles = set()
    for page in [*PAGES, ROOT / "README.md"]:
        lines = page.read_text().splitlines()
        for line, under in zip(lines, lines[1:]):
            if line.strip() and re.fullmatch(r"([=\-~^\"'])\1{2,}", under.strip()):
                titles.add(line.strip().replace("``", ""))
        titles.update(m.group(1).strip() for m in map(re.compile(r"#+ (.*)").match, lines) if m)
    return titles


def test_docstring_references_name_existing_sections():
    titles = _titles()
    for source in sorted((ROOT / "skshapsae").glob("*.py")):
        for ref in re.findall(r'docs, "([^"]+)"', source.read_text()):
            ref = ref.replace("``", "")
            assert any(t.startswith(ref) for t in titles), f"{source.name}: no section {ref!r}"


def test_doc_references_name_existing_pages():
    names = {page.stem for page in PAGES}
    for page in PAGES:
        for ref in re.findall(r":doc:`(?:[^`<]*<)?([^`>]+)>?`", page.read_text()):
            assert ref.strip() in names, f"{page.name}: :doc:`{ref}` is not a page"


def test_the_api_page_lists_every_public_name():
    api = (ROOT / "docs" / "api.rst").read_text()
    listed = set(re.findall(r"^   (\w+)$", api, flags=re.M))
    assert set(skshapsae.__all__) - {"__version__"} <= listed


@pytest.mark.parametrize("page", [*PAGES, ROOT / "README.md"], ids=lambda p: p.name)
def test_snippets_import_the_library_names_they_use(page):
    """Every ``python`` block that uses a library name imports it (or sets it up)."""
    text = page.read_text()
    blocks = re.findall(r"```python\n(.*?)```", text, flags=re.S)
    blocks += [
        "\n".join(line[3:] if line.startswith("   ") else line for line in block.splitlines())
        for block in re.findall(r".. code-block:: python\n\n((?:   .*\n|\n)+)", text)
    ]
    public = set(skshapsae.__all__) | {"score_links", "prune_with_scores", "fit_trained_baseline"}
    for block in blocks:
        try:
            tree = ast.parse(block)
        except SyntaxError:
            continue  # a fragment, not a runnable snippet
        imported = {
            a.asname or a.name
            for n in ast.walk(tree)
            if isinstance(n, ast.ImportFrom)
            for a in n.names
        }
        assigned = {
            t.id
            for n in ast.walk(tree)
            if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)
            for t in [n]
        }
        used = {
            n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)
        }
        missing = (used & public) - imported - assigned
        assert not missing, f"{page.name}: a snippet uses {sorted(missing)} without importing it"


def test_the_scaling_page_gives_dask_explain_the_shapes_explain_has():
    """docs/scaling.rst's table of ``explain``'s shapes (the Dask values are those of
    ``explain`` in memory, block by block: tests/test_dask.py) against ``explain``."""
    import numpy as np

    from _models import fast_model

    text = (ROOT / "docs" / "scaling.rst").read_text()
    table = text[text.index("call                                             values") :]
    rows = re.findall(r"^``(explain\([^`]*\))``.*?``(\(n_samples[^`]*\))``", table, flags=re.M)
    assert len(rows) == 5, rows
    X = np.random.default_rng(0).uniform(size=(20, 5))
    ae = fast_model((4, 2)).fit(X)
    names = {
        "X": X[:2],
        "explain": ae.explain,
        "k": 1,
        "l": 1,
        "n_samples": 2,
        "n_features": 5,
        "n_components": 2,
        "n": lambda layer: ae.layer_sizes_[layer],
    }
    for call, shape in rows:
        got = eval(call, {}, names).values.shape
        assert got == eval(shape, {}, names), f"docs/scaling.rst: {call} is not {shape}"


def _rst_python_blocks(page):
    text = page.read_text()
    return [
        "\n".join(line[4:] for line in block.splitlines())
        for block in re.findall(r"\.\. code-block:: python\n\n((?:    .*\n|\n)+)", text)
    ]


def test_the_front_page_snippet_runs_as_written_on_a_table():
    """docs/index.rst's first snippet, exactly as written, without a warning."""
    import warnings

    (block,) = _rst_python_blocks(ROOT / "docs" / "index.rst")
    namespace = {}
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        exec(compile(block, "docs/index.rst", "exec"), namespace)
    X, Z, ae = namespace["X"], namespace["Z"], namespace["ae"]
    assert X.shape[1] < 256  # a table, not an image
    assert Z.shape == (len(X), ae.n_components_) and 0 < ae.sparsity_ < 1


def _readme_use():
    """README's "Use" section: its python block and the text block that follows it."""
    text = (ROOT / "README.md").read_text()
    use = text[text.index("## Use") :]
    found = re.match(
        r"## Use\n\n```python\n(.*?)```\n\n(?:(?!```).)*\n```text\n(.*?)```", use, re.S
    )
    assert found, "README's Use section: a python block, a line, then a text block"
    return found.group(1), found.group(2)


def test_the_readme_use_block_prints_what_the_readme_says(capsys):
    """The figures a user copies from README (best level, CV accuracy, sparsity, the most
    important pixels): the block run exactly as written prints exactly its text block,
    with no ConvergenceWarning."""
    import warnings

    from sklearn.exceptions import ConvergenceWarning

    code, printed = _readme_use()
    capsys.readouterr()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        exec(compile(code, "README.md", "exec"), {"__name__": "readme"})
    assert capsys.readouterr().out == printed
    assert not [w for w in caught if issubclass(w.category, ConvergenceWarning)]
