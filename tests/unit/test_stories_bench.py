"""Unit tests for the dev-set bench's ``--set NAME=VALUE`` parsing (bench/eval_stories.py)."""

from __future__ import annotations

import pytest

from bench.eval_stories import overrides
from services.stories.scoring import Params


def test_overrides_cast_each_value_to_its_field_type() -> None:
    params = overrides(["threshold=0.3", "heads=7", "copies_in_centroid=true"])
    assert params.threshold == 0.3
    assert params.heads == 7
    assert params.copies_in_centroid is True
    assert params.link_weight == Params().link_weight  # untouched fields keep defaults


def test_overrides_refuse_an_unknown_field() -> None:
    with pytest.raises(SystemExit):
        overrides(["no_such_field=1"])
