"""No test reads data from outside the repository.

A user who clones Newsflow must be able to run its tests: whatever a test
needs lives under ``tests/`` (fixtures) or ``samples/``. The evaluation data
beside the repository (``../shared``) is for the scripts under ``bench/``
only. Once, five unit tests failed and ten errored in a clean clone because
``tests/conftest.py`` pointed at ``../shared/eval``.

The check reads the code of every test module (strings and path arithmetic,
not comments or docstrings, which may well mention where data came from):
a path string naming the data folder outside the repo, or a walk up from a
file or from the repository root that leaves the repository, fails it.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
TESTS = REPO / "tests"

# Path fragments that only ever name the data folder beside the repository.
OUTSIDE_FRAGMENTS = ("/work/shared", "../shared", "shared/eval", "shared/seeds", "shared/hooks")
# Names the tests give the repository root: `<name>.parent` is outside it.
ROOT_NAMES = {"REPO", "REPO_ROOT", "ROOT", "ROOT_DIR"}


def _docstrings(tree: ast.AST) -> set[int]:
    """ids of the string nodes that are docstrings."""
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            body = node.body
            if (
                body
                and isinstance(body[0], ast.Expr)
                and isinstance(body[0].value, ast.Constant)
                and isinstance(body[0].value.value, str)
            ):
                found.add(id(body[0].value))
    return found


def _is_this_file(node: ast.AST) -> bool:
    """`Path(__file__)`, possibly `.resolve()`d or `.absolute()`d."""
    while (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr in ("resolve", "absolute")
    ):
        node = node.func.value
    return (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id == "Path"
        and len(node.args) == 1
        and isinstance(node.args[0], ast.Name)
        and node.args[0].id == "__file__"
    )


def _levels_up_from_file(node: ast.AST) -> int | None:
    """How many folders `node` climbs from the file's own, when it is
    `Path(__file__).parent…` or `Path(__file__).parents[k]`; else None."""
    up = 0
    while True:
        if isinstance(node, ast.Attribute) and node.attr == "parent":
            up, node = up + 1, node.value
        elif (
            isinstance(node, ast.Subscript)
            and isinstance(node.value, ast.Attribute)
            and node.value.attr == "parents"
            and isinstance(node.slice, ast.Constant)
            and isinstance(node.slice.value, int)
        ):
            up, node = up + node.slice.value + 1, node.value.value
        else:
            break
    return up if up and _is_this_file(node) else None


def outside_references(source: str, path_in_repo: Path) -> list[str]:
    """What in this module's code points outside the repository, one line each.
    `path_in_repo` is the module's path relative to the repository root."""
    tree = ast.parse(source)
    docstrings = _docstrings(tree)
    # Levels from the module's folder up to the repository root.
    depth = len(path_in_repo.parts) - 1
    found = []
    for node in ast.walk(tree):
        where = f"{path_in_repo}:{getattr(node, 'lineno', '?')}"
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            if id(node) in docstrings:
                continue
            hits = [f for f in OUTSIDE_FRAGMENTS if f in node.value]
            if hits:
                found.append(f"{where}: path string {node.value!r}")
        elif (
            isinstance(node, ast.Attribute)
            and node.attr == "parent"
            and isinstance(node.value, ast.Name)
            and node.value.id in ROOT_NAMES
        ):
            found.append(f"{where}: {node.value.id}.parent is outside the repository")
        elif isinstance(node, ast.Attribute | ast.Subscript):
            up = _levels_up_from_file(node)
            # Counted from the file: one level for its folder, then `depth` to the root.
            if up is not None and up > depth + 1:
                found.append(f"{where}: climbs {up} levels from the file, out of the repository")
    return sorted(set(found))


def test_no_test_reads_data_from_outside_the_repository() -> None:
    problems = []
    for path in sorted(TESTS.rglob("*.py")):
        if path == Path(__file__).resolve():  # names the paths it looks for
            continue
        rel = path.relative_to(REPO)
        problems += outside_references(path.read_text(encoding="utf-8"), rel)
    assert not problems, "tests must use data in the repository:\n" + "\n".join(problems)


@pytest.mark.parametrize(
    "code",
    [
        'EVAL = Path("/work/shared/eval/extraction")',
        'SEED = REPO.parent / "shared" / "seeds" / "x.txt"',
        'TRUTH = Path(__file__).resolve().parents[3] / "shared/eval/x.json"',
        'DATA = Path(__file__).parents[3] / "data"',
        'DATA = Path(__file__).resolve().parent.parent.parent.parent / "x"',
        'open("../shared/eval/ground-truth.json")',
    ],
)
def test_the_check_finds_paths_out_of_the_repository(code: str) -> None:
    # As if in tests/search/corpus.py: parents[2] is the repository root.
    assert outside_references(code, Path("tests/search/corpus.py"))


@pytest.mark.parametrize(
    "code",
    [
        '"""Copied from /work/shared/seeds, verbatim."""\nX = 1',
        "# the seed of /work/shared/seeds\nX = 1",
        'def f():\n    """Reads ../shared/eval? No: samples/."""\n    return 1',
        'REPO = Path(__file__).resolve().parents[2]\nS = REPO / "samples" / "text"',
        'RUNTIME = REPO / "shared" / "runtime"',  # the library inside the repository
        'P = Path(__file__).parent / "fixtures"',
    ],
)
def test_the_check_leaves_the_repository_alone(code: str) -> None:
    assert outside_references(code, Path("tests/search/corpus.py")) == []
