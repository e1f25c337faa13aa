"""The decisions of the operator commands (shared/ops), without servers:
lag and rates, the status table, replay plans, which dead letters can be
replayed, and the reindex's last-pass rule."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta

import pytest

from services.console.dlq import (
    REPLAY_PREFIX,
    Listed,
    ReplaySummary,
    drop_record,
    judge,
    render_letter,
    render_list,
    requeued,
)
from services.console.lag import (
    PartitionLag,
    Rates,
    Sample,
    ServerHealth,
    StageStatus,
    as_json,
    pick_baseline,
    rates_between,
    render,
    sample_of,
)
from services.console.offsets import GroupInfo, Member
from services.console.reindex import next_version, settle_operation, swap_actions
from services.console.replay import (
    PlanRow,
    ReplayRefused,
    check_idle,
    parse_time,
    plan,
    render_plan,
)
from services.console.stages import STAGES
from shared.contracts.models import DeadLetterV1, RawArticleV1, Stage
from shared.runtime.dead_letters import (
    MAX_MESSAGE_BYTES,
    PAYLOAD_CUT_MARK,
    fit_message_limit,
    within_message_limit,
)
from shared.runtime.stage import Output, Result

NS = "ns-"
AID = "0123456789abcdef0123456789abcdef"


# ---------------------------------------------------------------- status
def _stage(
    name: str = "cleaning",
    committed: tuple[int | None, ...] = (5, None),
    members: int = 1,
    dlq: int = 2,
    unreplayed: int = 1,
) -> StageStatus:
    parts = tuple(PartitionLag(f"{NS}articles.raw", i, c, 2, 10) for i, c in enumerate(committed))
    return StageStatus(
        name,
        f"{NS}newsflow-{name}",
        "Stable",
        members,
        f"{NS}articles.raw",
        parts,
        f"{NS}articles.raw.dlq",
        dlq,
        unreplayed,
    )


def test_lag_counts_from_the_commit_else_from_the_log_start() -> None:
    assert PartitionLag("t", 0, 7, 2, 10).lag == 3
    # Never committed: the stage starts at the earliest offset still kept.
    assert PartitionLag("t", 0, None, 2, 10).lag == 8
    # Committed below what retention kept: it resumes at the log start.
    assert PartitionLag("t", 0, 1, 4, 10).position == 4
    assert PartitionLag("t", 0, 12, 0, 10).lag == 0
    stage = _stage(committed=(5, None))
    assert stage.lag == 5 + 8 and stage.done == 5 + 2 and stage.received == 20


def test_rates_are_deltas_over_the_window_and_none_when_offsets_went_back() -> None:
    before = Sample(100.0, {"cleaning": (10, 20), "entities": (50, 60)})
    after = Sample(110.0, {"cleaning": (30, 70), "entities": (40, 60), "indexer": (1, 1)})
    rates = rates_between(before, after)
    assert rates.window_s == 10
    assert rates.done["cleaning"] == 2.0 and rates.received["cleaning"] == 5.0
    assert rates.done["entities"] is None  # a replay moved the group back
    assert rates.done["indexer"] is None  # nothing to compare with
    assert rates_between(None, after) == Rates(None)


def test_baseline_is_the_oldest_sample_of_the_last_minute_old_enough() -> None:
    samples = [Sample(t, {}) for t in (10.0, 50.0, 80.0, 98.0)]
    baseline = pick_baseline(samples, now=100.0)
    assert baseline is not None and baseline.at == 50.0  # 10.0 is out of the minute
    assert pick_baseline(samples[-1:], now=100.0) is None  # 2 s old: too young
    assert pick_baseline([], now=100.0) is None
    round_trip = Sample.from_json(sample_of([_stage()], 5.0).to_json())
    assert round_trip == Sample(5.0, {"cleaning": (7, 20)})


def test_status_table_has_a_row_per_stage_totals_and_server_health() -> None:
    stages = [
        _stage("cleaning"),
        _stage("entities", committed=(10, 10), members=2, dlq=0, unreplayed=0),
    ]
    health = [ServerHealth("kafka", True, "1 broker"), ServerHealth("redis", False, "refused")]
    rates = Rates(58.0, {"cleaning": 1.25, "entities": None}, {"cleaning": 3.0})
    text = render(
        stages, health, rates, NS, datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC), partitions=True
    )
    lines = text.splitlines()
    assert "namespace ns-" in lines[0] and "rates over the last 58 s" in lines[0]
    assert "kafka ok (1 broker)" in lines[1] and "redis DOWN (refused)" in lines[1]
    header = lines[3].split()
    assert header == [
        "STAGE",
        "GROUP",
        "STATE",
        "MEMBERS",
        "INPUT",
        "LAG",
        "DONE/S",
        "IN/S",
        "DLQ",
        "UNREPLAYED",
    ]
    cleaning = next(line for line in lines if line.startswith("cleaning")).split()
    assert cleaning == [
        "cleaning",
        "ns-newsflow-cleaning",
        "Stable",
        "1",
        "articles.raw",
        "13",
        "1.2",
        "3.0",
        "2",
        "1",
    ]
    assert any("partition 1" in line and "at - of 10" in line for line in lines)
    assert lines[-1].split() == ["total", "3", "13", "2", "1"]
    # Columns line up: each value sits at its header's anchor (text columns
    # start where their header starts, numbers end where theirs ends), and
    # nothing else is on the line.
    columns = _anchors(lines[3], right={"MEMBERS", "LAG", "DONE/S", "IN/S", "DLQ", "UNREPLAYED"})
    partition = {"GROUP": "  partition 0", "INPUT": "at 5 of 10", "LAG": "5"}
    expected_rows = [
        dict(zip(header, cleaning, strict=True)),
        partition,
        {**partition, "GROUP": "  partition 1", "INPUT": "at - of 10", "LAG": "8"},
        dict(
            zip(
                header,
                [
                    "entities",
                    "ns-newsflow-entities",
                    "Stable",
                    "2",
                    "articles.raw",
                    "0",
                    "-",
                    "-",
                    "0",
                    "0",
                ],
                strict=True,
            )
        ),
        {**partition, "INPUT": "at 10 of 10", "LAG": "0"},
        {**partition, "GROUP": "  partition 1", "INPUT": "at 10 of 10", "LAG": "0"},
        {"STAGE": "total", "MEMBERS": "3", "LAG": "13", "DLQ": "2", "UNREPLAYED": "1"},
    ]
    assert len(lines[4:]) == len(expected_rows)
    for line, expected in zip(lines[4:], expected_rows, strict=True):
        assert _at_anchors(line, columns, expected) == expected, line
        assert line.split() == " ".join(expected[h] for h in header if h in expected).split()


def _anchors(header_line: str, right: set[str]) -> dict[str, tuple[int, bool]]:
    """Each header's anchor in a fixed-width table: where a left-aligned
    column starts, or where a right-aligned one ends (and which it is)."""
    anchors = {}
    for name in header_line.split():
        start = header_line.index(name)
        anchors[name] = (start + len(name), True) if name in right else (start, False)
    return anchors


def _at_anchors(
    line: str, anchors: dict[str, tuple[int, bool]], expected: dict[str, str]
) -> dict[str, str]:
    """What the line holds at each expected value's anchor, as long as that
    value, with a column gap (or the line's end) on its outer side; a value
    shifted by one character reads differently."""
    found = {}
    for name, value in expected.items():
        anchor, right = anchors[name]
        lo, hi = (anchor - len(value), anchor) if right else (anchor, anchor + len(value))
        outside = line[hi : hi + 1] if right else line[lo - 1 : lo] if lo else " "
        found[name] = line[lo:hi] if outside in ("", " ") else f"{line[lo:hi]}|{outside}"
    return found


def test_status_without_kafka_says_so() -> None:
    text = render(
        [],
        [ServerHealth("kafka", False, "unreachable")],
        Rates(None),
        "",
        datetime(2025, 1, 1, tzinfo=UTC),
    )
    assert "kafka DOWN" in text and "Kafka unreachable" in text and "no rates yet" in text
    assert "namespace (none)" in text


def test_status_json_carries_lag_and_rates() -> None:
    data = json.loads(
        as_json(
            [_stage()],
            [ServerHealth("kafka", True, "")],
            Rates(10.0, {"cleaning": 2.0}, {"cleaning": 1.0}),
            NS,
            datetime(2025, 1, 1, tzinfo=UTC),
        )
    )
    stage = data["stages"][0]
    assert stage["lag"] == 13 and stage["done_per_s"] == 2.0 and stage["dlq_depth"] == 2
    assert [p["lag"] for p in stage["partitions"]] == [5, 8]


# ---------------------------------------------------------------- replay
def test_parse_time_accepts_zones_and_takes_naive_times_as_utc() -> None:
    assert parse_time("2025-06-01T08:00:00Z") == datetime(2025, 6, 1, 8, tzinfo=UTC)
    assert parse_time("2025-06-01T10:00:00+02:00") == datetime(2025, 6, 1, 8, tzinfo=UTC)
    assert parse_time("2025-06-01T08:00:00") == datetime(2025, 6, 1, 8, tzinfo=UTC)
    with pytest.raises(ReplayRefused, match="ISO 8601"):
        parse_time("yesterday")


def test_replay_refuses_while_the_stage_has_workers() -> None:
    busy = GroupInfo("g", "Stable", (Member("m1", "10.0.0.5", "faust-0.15.3", ()),))
    with pytest.raises(ReplayRefused, match=r"1 running worker.*faust-0\.15\.3@10\.0\.0\.5"):
        check_idle(busy, "entities")
    check_idle(GroupInfo("g", "Empty", ()), "entities")
    check_idle(GroupInfo("g", "Dead", ()), "entities")


def test_replay_plan_counts_what_runs_again_and_clamps_to_the_end() -> None:
    rows = plan(committed={0: 40, 1: 10}, targets={0: 5, 1: 99, 2: 0}, ends={0: 50, 1: 12, 2: 3})
    assert rows == [PlanRow(0, 40, 5, 50), PlanRow(1, 10, 12, 12), PlanRow(2, None, 0, 3)]
    assert [r.again for r in rows] == [35, -2, 3]
    text = render_plan(rows, "cleaning", "g", "articles.raw")
    assert text.splitlines()[-1].strip() == "36 message(s) will be processed again"


# ---------------------------------------------------------------- dlq
def _letter(
    payload: bytes,
    stage: Stage = "cleaning",
    topic: str = f"{NS}articles.raw",
    reason: str = "cleaning failed: boom",
) -> DeadLetterV1:
    return DeadLetterV1.from_bytes(
        stage=stage,
        reason=reason,
        error_type="ExtractionError",
        topic=topic,
        partition=2,
        offset=17,
        key=AID.encode(),
        value=payload,
    )


def _raw() -> bytes:
    return RawArticleV1(article_id=AID, source="s", text="Some text.").model_dump_json().encode()


def test_a_letter_whose_payload_fits_the_contract_is_replayed() -> None:
    raw = _raw()
    verdict = judge(_letter(raw).model_dump_json().encode(), STAGES["cleaning"], NS)
    assert verdict.error is None and verdict.letter is not None
    assert verdict.letter.payload_bytes() == raw


@pytest.mark.parametrize(
    ("record", "expected"),
    [
        (b"not json", "not a dead letter"),
        (
            _letter(b"{bad json").model_dump_json().encode(),
            "still breaks the articles.raw contract",
        ),
        (_letter(b"\xff\xfe").model_dump_json().encode(), "still breaks"),
        (_letter(_raw(), stage="entities").model_dump_json().encode(), "belongs to stage entities"),
        (_letter(_raw(), topic="other-articles.raw").model_dump_json().encode(), "belongs to"),
        (
            _letter(_raw(), reason=f"x {PAYLOAD_CUT_MARK} to ...]").model_dump_json().encode(),
            "payload was cut",
        ),
    ],
)
def test_letters_that_cannot_help_are_refused_with_a_reason(record: bytes, expected: str) -> None:
    verdict = judge(record, STAGES["cleaning"], NS)
    assert verdict.error is not None and expected in verdict.error


def test_requeued_letter_keeps_its_origin_and_does_not_nest_reasons() -> None:
    now = datetime(2025, 1, 1, tzinfo=UTC)
    once = requeued(_letter(b"x"), "still bad", now)
    twice = requeued(once, "still bad again", now + timedelta(days=1))
    assert once.reason.startswith(REPLAY_PREFIX) and once.reason.endswith("cleaning failed: boom")
    assert twice.reason.count(REPLAY_PREFIX) == 1 and "still bad again" in twice.reason
    assert (twice.topic, twice.partition, twice.offset, twice.payload) == (
        f"{NS}articles.raw",
        2,
        17,
        "x",
    )
    assert twice.failed_at == now + timedelta(days=1)


def test_drop_record_keeps_the_whole_letter_or_the_raw_bytes() -> None:
    now = datetime(2025, 1, 1, tzinfo=UTC)
    letter = _letter(b"payload")
    kept = drop_record(b"...", letter, "why", "t.dlq", 1, 9, now)
    assert kept["letter"]["payload"] == "payload" and kept["raw_base64"] is None
    assert (kept["dlq_topic"], kept["dlq_partition"], kept["dlq_offset"]) == ("t.dlq", 1, 9)
    junk = drop_record(b"\x00junk", None, "not a dead letter", "t.dlq", 0, 1, now)
    assert base64.b64decode(junk["raw_base64"]) == b"\x00junk" and junk["letter"] is None
    assert json.loads(json.dumps([kept, junk])) == [kept, junk]  # one JSON line each


def test_dlq_texts() -> None:
    letter = _letter(_raw())
    listed = render_list([Listed(2, 17, letter, True), Listed(0, 3, None, False)], total=5)
    assert listed.splitlines()[0] == "5 dead letter(s); the last 2:"
    assert "2:17" in listed and "done" in listed and "(not a dead letter)" in listed
    shown = render_letter(2, 17, letter, payload_chars=20)
    assert f"from        {NS}articles.raw[2]@17" in shown and "chars)" in shown
    summary = ReplaySummary(read=3, replayed=1, requeued=1, dropped=1, stopped="0:5: x")
    assert "3 dead letter(s) read: 1 would be replayed" in summary.render(dry_run=True)


# ---------------------------------------------------------------- reindex
def test_next_version_skips_leftovers_and_other_namespaces() -> None:
    assert (
        next_version(
            NS, [f"{NS}articles-v1", f"{NS}articles-v3", "articles-v9", f"{NS}articles-vx"]
        )
        == 4
    )
    assert next_version(NS, []) == 1


def test_swap_is_one_call_removing_and_adding() -> None:
    assert swap_actions("a", "a-v1", "a-v2") == [
        {"remove": {"index": "a-v1", "alias": "a"}},
        {"add": {"index": "a-v2", "alias": "a", "is_write_index": True}},
    ]


def test_last_pass_never_overwrites_a_newer_document() -> None:
    old_hit = {"_id": "x", "_source": {"indexed_at": "2025-01-01T00:00:10+00:00", "title": "t"}}
    missing = settle_operation(old_hit, {"_id": "x", "found": False}, "v2")
    assert missing == [{"create": {"_index": "v2", "_id": "x"}}, old_hit["_source"]]
    older = {
        "_id": "x",
        "found": True,
        "_seq_no": 4,
        "_primary_term": 1,
        "_source": {"indexed_at": "2025-01-01T00:00:05+00:00"},
    }
    assert settle_operation(old_hit, older, "v2")[0] == {
        "index": {"_index": "v2", "_id": "x", "if_seq_no": 4, "if_primary_term": 1}
    }
    newer = {**older, "_source": {"indexed_at": "2025-01-01T00:00:20+00:00"}}
    assert settle_operation(old_hit, newer, "v2") == []


# ---------------------------------------------------------------- message size (streaming)
def test_an_output_over_the_kafka_limit_is_dead_lettered() -> None:
    from shared.contracts.models import IndexedArticleV1

    notice = IndexedArticleV1(
        article_id=AID,
        index="i",
        result="created",
        source="s",
        received_at=datetime(2025, 1, 1, tzinfo=UTC),
        title="t" * (MAX_MESSAGE_BYTES + 10),
    )
    result = within_message_limit(Result(AID, outputs=[Output(AID, notice)]))
    assert result.rejected is not None and result.error_type == "OutputTooLarge"
    small = Result(AID, outputs=[Output(AID, notice.model_copy(update={"title": "t"}))])
    assert within_message_limit(small) is small


@pytest.mark.parametrize(
    "payload",
    [
        b"a" * (3 * MAX_MESSAGE_BYTES),  # text
        b"\x00\x01" * MAX_MESSAGE_BYTES,  # control characters: JSON escapes make them 6 bytes
        b"\xff" * (2 * MAX_MESSAGE_BYTES),  # not UTF-8: base64
    ],
)
def test_a_dead_letter_over_the_limit_keeps_a_head_and_says_where_the_rest_is(
    payload: bytes,
) -> None:
    letter = _letter(payload)
    cut = fit_message_limit(letter)
    assert len(cut.model_dump_json()) <= MAX_MESSAGE_BYTES
    assert PAYLOAD_CUT_MARK in cut.reason and f"{NS}articles.raw[2]@17" in cut.reason
    assert cut.reason.startswith(letter.reason)
    assert payload.startswith(cut.payload_bytes()) and cut.payload_bytes()
    small = _letter(b"small")
    assert fit_message_limit(small) is small
