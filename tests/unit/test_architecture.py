"""The package rules of docs/architecture.md, enforced.

* ``shared`` is the library: it imports no service.
* No service imports the console (``services.console``), which sits on top.
* A service imports another service only through that service's declared
  public modules (``PUBLIC`` below), never its internals.
* No module of ``shared`` or ``services`` is over MAX_LINES lines.

Every import counts, including those inside functions (lazy imports).
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
MAX_LINES = 500

# What a service offers other services, and why.
PUBLIC: dict[str, str] = {
    "services.ingestion.core": "accepting articles without HTTP: the feed poller builds on it",
    "services.feeds.api": "the /v1/sources routes, mounted by the ingestion HTTP API",
    "services.search.models": "the search request: a subscription saves one",
    "services.search.query": "the query builder: a subscription matches what a search lists",
    "services.search.limits": "query cost rules, applied to saved searches too",
    "services.subscriptions.api": "the /v1/subscriptions routes, mounted by the search API",
    "services.subscriptions.settings": "the settings of those routes",
    "services.entities.directory": "entity names and cards by id, read by the search API",
}


def imports_of(path: Path, root: Path) -> Iterator[tuple[int, str]]:
    """(line, imported module) for every import in a file, relative ones resolved."""
    tree = ast.parse(path.read_text(), filename=str(path))
    package = ".".join(path.relative_to(root).with_suffix("").parts[:-1])
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                base = ".".join(parts[: len(parts) - node.level + 1] + ([base] if base else []))
            yield node.lineno, base
            for alias in node.names:  # `from services.x import module`
                yield node.lineno, f"{base}.{alias.name}"


def violations(root: Path) -> list[str]:
    """Every broken rule under `root` (a checkout), as readable lines."""
    found = []
    for path in sorted((root / "shared").rglob("*.py")) + sorted((root / "services").rglob("*.py")):
        module = ".".join(path.relative_to(root).with_suffix("").parts)
        owner = ".".join(module.split(".")[:2])
        for line, target in imports_of(path, root):
            problem = rule_broken(module, owner, target)
            if problem:
                found.append(f"{path.relative_to(root)}:{line}: imports {target}: {problem}")
    return found


def rule_broken(module: str, owner: str, target: str) -> str | None:
    if not target.startswith("services."):
        return None
    target_service = ".".join(target.split(".")[:2])
    if module.startswith("shared."):
        return "the library (shared) must not import a service"
    if target_service == owner or owner == "services.console":
        return None
    if target_service == "services.console":
        return "no service imports the console; the console imports services"
    if target == target_service:  # `from services.x import module`: judged by the module
        return None
    if not any(target == p or target.startswith(p + ".") for p in PUBLIC):
        return f"{target} is internal to {target_service} (public: {sorted(PUBLIC)})"
    return None


def test_the_import_rules_hold() -> None:
    assert violations(REPO) == []


def test_the_checker_sees_a_violation(tmp_path: Path) -> None:
    """The rule test would fail on a violation: plant one in a copy."""
    (tmp_path / "shared").mkdir()
    (tmp_path / "services" / "search").mkdir(parents=True)
    (tmp_path / "services" / "cleaning").mkdir(parents=True)
    (tmp_path / "shared" / "lib.py").write_text("from services.search import app\n")
    (tmp_path / "services" / "search" / "x.py").write_text(
        "def f():\n    from services.cleaning.extract import clean\n    from ..console import cli\n"
    )
    (tmp_path / "services" / "cleaning" / "y.py").write_text("import services.ingestion.core\n")
    found = violations(tmp_path)
    assert any("shared/lib.py:1" in v and "library" in v for v in found)
    assert any("services/search/x.py:2" in v and "internal" in v for v in found)
    assert any("services/search/x.py:3" in v and "console" in v for v in found)
    assert not any("services/cleaning/y.py" in v for v in found)  # a public module


@pytest.mark.parametrize("package", ["shared", "services"])
def test_no_module_is_over_the_size_limit(package: str) -> None:
    sizes = {
        str(p.relative_to(REPO)): len(p.read_text().splitlines())
        for p in (REPO / package).rglob("*.py")
    }
    assert {p: n for p, n in sizes.items() if n > MAX_LINES} == {}
