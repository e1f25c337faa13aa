"""Unit tests for the search-latency bench's figures and table with ``--against``
(bench/search_latency.py): the JSON keys and the printed columns of each side."""

from __future__ import annotations

import importlib
from pathlib import Path
from types import ModuleType

import pytest


@pytest.fixture
def bench(monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    # The bench's scripts import their siblings by name (``from _stack import``).
    monkeypatch.syspath_prepend(Path(__file__).resolve().parents[2] / "bench")
    return importlib.import_module("bench.search_latency")


def test_against_figures_are_none_when_not_measured(bench: ModuleType) -> None:
    found = bench.figures([bench.Row("story", 20.0, 10.0, 8.0)])
    assert found["against_ms"] is None
    assert found["against_ratio"] is None
    assert "floor_ms" not in found
    assert "against" not in bench.table({"all": found})


def test_against_side_gets_its_percentiles_ratio_and_columns(bench: ModuleType) -> None:
    rows = [bench.Row("story", 20.0, 10.0, 8.0, floor=11.0, against=30.0)] * 4
    found = bench.figures(rows)
    assert found["against_ms"] == {"p50": 30.0, "p95": 30.0, "p99": 30.0}
    assert found["against_ratio"] == {"p50": 3.0, "p95": 3.0, "p99": 3.0}
    header, rule, line = bench.table({"all": found}).splitlines()
    assert header.endswith("| against p50 / p95 ms | against ratio p50 / p95 |")
    assert header.count("|") == rule.count("|") == line.count("|")
    # The floor's cells, then the against side's.
    assert line.endswith("| 11.0 / 11.0 | 1.10 / 1.10 | 30.0 / 30.0 | 3.00 / 3.00 |")
