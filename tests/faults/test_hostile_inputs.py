"""1,000 hostile inputs, half through the ingestion API and half written
straight onto ``articles.raw``: empty bodies, 10 MB bodies, binary, invalid
UTF-8, deeply nested HTML, huge single lines, JSON of the wrong shape.

Each one must end up indexed, in a dead-letter topic, or refused (a 4xx from
the API, or Kafka refusing a message over its size limit), and the counts
must add up: nothing silently dropped, no worker crashed. Ordinary articles
are mixed into the raw topic, two for each hostile message, as in real
traffic (one after each hostile request, two before each hostile raw
message); otherwise the cleaning stage's DLQ cap would (rightly) stop it,
which is another test's subject.
"""

from __future__ import annotations

import json
import random
import time
import uuid
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from kafka import KafkaProducer
from kafka.errors import KafkaError

from shared.contracts.models import RawArticleV1
from tests.conftest import KAFKA
from tests.faults.conftest import STAGES, Pipeline, report, story

pytestmark = [pytest.mark.integration, pytest.mark.slow]

MB = 1_000_000


@dataclass
class Hostile:
    """One hostile input and what became of it."""

    kind: str
    via: str  # "api" or "raw"
    body: bytes | None
    key: str  # the Kafka key (raw) or "" until the API gives an article id
    outcome: str = "pending"  # refused | indexed | dead-lettered | pending


def _nested_html(depth: int, tag: str) -> str:
    return f"<{tag}>" * depth + f"<p>{story(uuid.uuid4().hex)}</p>" + f"</{tag}>" * depth


def _wrong_types(rng: random.Random) -> object:
    """JSON that parses but is not an article."""
    uid = uuid.uuid4().hex
    choices: list[object] = [
        None,
        [],
        {},
        1,
        -1.5,
        True,
        "a string",
        [{"source": "s", "text": uid}],
        {"source": 123, "text": uid},
        {"source": "s", "text": ["a", uid]},
        {"source": "s", "html": {"body": uid}},
        {"source": "s", "text": uid, "url": 42},
        {"source": "s", "text": uid, "published_at": "yesterday-ish"},
        {"source": "s", "text": uid, "language": "ENGLISH!"},
        {"source": "s", "text": uid, "title": ["t"]},
        {"source": "", "text": uid},
        {"source": "s" * 500, "text": uid},
        {"source": "s", "text": uid, "article_id": "not-yours"},
        {"source": "s", "text": uid, "schema_version": 2},
        {"source": "s", "text": "   \n\t  "},
        {"source": None, "text": None},
        {"SOURCE": "s", "TEXT": uid},
    ]
    return rng.choice(choices)


def _wrong_types_body(rng: random.Random) -> bytes:
    """JSON of the wrong shape, one time in ten nested deeper than parsers like
    (written by hand: Python's own encoder would refuse the depth)."""
    if rng.random() < 0.1:
        depth = rng.choice([100, 2_000, 100_000])
        return b'{"source": "s", "text": ' + b"[" * depth + b'"x"' + b"]" * depth + b"}"
    return json.dumps(_wrong_types(rng)).encode()


def _weird_text(rng: random.Random) -> str:
    uid = uuid.uuid4().hex
    return rng.choice(
        [
            f"\u0000\u0001\u0002 {uid} \u0007\u0008",
            f"{uid} " + "\u200b\u200e\u202e" * 2000,
            f"{uid} " + "🙂" * 5000,
            f"{uid}\n" + "\n" * 10000,
            f"<script>alert({uid!r})</script>" * 50,
            f"{uid} " + "\ufffd" * 3000,
            f"{uid} " + "ꙮ" * 1000 + " " + "ﷺ" * 1000,
        ]
    )


def api_inputs(rng: random.Random) -> list[Hostile]:
    """500 hostile requests for POST /v1/articles."""
    out: list[Hostile] = []

    def add(kind: str, body: bytes, n: int = 1) -> None:
        out.extend(Hostile(kind, "api", body, "") for _ in range(n))

    def article(**fields: object) -> bytes:
        return json.dumps(
            {"source": "hostile.api", "url": f"https://hostile.api/{uuid.uuid4().hex}", **fields}
        ).encode()

    for body in (b"", b" ", b"\n", b"\x00", b"{}", b"[]", b"null", b'""'):
        add("empty", body, 5)
    # 10 MB bodies: two real (compressible) pages, one of random text, one of
    # binary junk, and one just over the API's limit.
    for _ in range(2):
        add("10mb", article(html="<p>" + "All work and no play. " * 450_000 + "</p>"))
    add(
        "10mb",
        article(text="".join(rng.choice("abcdefghij klmnopqrstuvwxyz.\n") for _ in range(10 * MB))),
    )
    add("10mb", rng.randbytes(10 * MB))
    add("10mb", article(text="x" * 13 * MB))
    for _ in range(60):
        add("binary", rng.randbytes(rng.randint(1, 5000)))
    for _ in range(60):
        raw = article(text=f"ok {uuid.uuid4().hex} ")
        cut = rng.randint(10, len(raw) - 5)
        add(
            "invalid-utf8",
            raw[:cut]
            + rng.choice([b"\xff", b"\xc3\x28", b"\xed\xa0\x80", b"\xf8\x88\x80\x80\x80"])
            + raw[cut:],
        )
    for _ in range(40):
        add(
            "nested-html",
            article(
                html=_nested_html(
                    rng.choice([500, 5_000, 50_000]), rng.choice(["div", "span", "b", "td"])
                )
            ),
        )
    # Huge lines cost the cleaner about a second per megabyte: few, but big.
    for size in (100_000, 500_000, 2 * MB, 100_000, 500_000, 2 * MB, 300_000, 50_000):
        add("huge-line", article(text=uuid.uuid4().hex + rng.choice("ab ") * size))
    for _ in range(200):
        add("wrong-types", _wrong_types_body(rng))
    while len(out) < 500:
        add("weird-text", article(text=_weird_text(rng)))
    return out


def raw_inputs(rng: random.Random) -> list[Hostile]:
    """500 hostile messages for articles.raw, each keyed for tracing."""
    out: list[Hostile] = []

    def add(kind: str, body: bytes | None) -> None:
        out.append(Hostile(kind, "raw", body, f"hostile-{len(out)}-{uuid.uuid4().hex[:8]}"))

    def contract(**fields: object) -> bytes:
        aid = uuid.uuid4().hex
        return json.dumps(
            {
                "schema_version": 1,
                "article_id": aid,
                "source": "hostile.raw",
                "received_at": "2025-01-01T00:00:00Z",
                **fields,
            }
        ).encode()

    for _ in range(30):
        add("empty", b"")
    for _ in range(20):
        add("tombstone", None)
    for _ in range(100):
        add("binary", rng.randbytes(rng.randint(1, 20_000)))
    for _ in range(60):
        add("invalid-utf8", b'{"source": "\xff\xfe", "text": "' + rng.randbytes(50) + b'"}')
    for _ in range(120):
        add("wrong-types", _wrong_types_body(rng))
    for _ in range(40):
        add("nested-html", contract(html=_nested_html(rng.choice([500, 5_000, 30_000]), "div")))
    for size in (100_000, 900_000, 100_000, 900_000, 300_000, 50_000):
        add("huge-line", contract(text="w" + rng.choice("ab ") * size))
    for _ in range(30):
        add("weird-text", contract(text=_weird_text(rng)))
    for _ in range(30):
        add("wrong-version", contract(text="hello", schema_version=2))
    for _ in range(30):
        add("extra-field", contract(text="hello", colour="blue"))
    for _ in range(5):
        add("10mb", contract(html="<p>" + rng.randbytes(5 * MB).hex() + "</p>"))
    while len(out) < 500:
        add("binary", rng.randbytes(64))
    return out


def _good_raw() -> tuple[str, bytes]:
    raw = RawArticleV1(
        article_id=uuid.uuid4().hex, source="hostile.good", text=story(uuid.uuid4().hex)
    )
    return raw.article_id, raw.model_dump_json().encode()


def _raw_article_id(body: bytes | None) -> str | None:
    """The article id a contract-valid raw message carries (its _id once indexed)."""
    try:
        return RawArticleV1.model_validate_json(body or b"").article_id
    except ValueError:
        return None


def test_hostile_inputs_are_indexed_dead_lettered_or_refused(
    running: Pipeline, artifacts_dir: Path
) -> None:
    rng = random.Random(20240607)
    hostile = api_inputs(rng) + raw_inputs(rng)
    assert len(hostile) == 1000
    started = time.monotonic()

    # -- through the API, an ordinary article after each hostile request
    good: set[str] = set()
    with httpx.Client(
        base_url=running.api, timeout=120, headers={"X-API-Key": running.http.headers["X-API-Key"]}
    ) as client:
        for h in (h for h in hostile if h.via == "api"):
            ordinary = client.post(
                "/v1/articles", json={"source": "hostile.good", "text": story(uuid.uuid4().hex)}
            )
            assert ordinary.status_code == 202, ordinary.text
            good.add(ordinary.json()["article_id"])
            response = client.post(
                "/v1/articles", content=h.body, headers={"Content-Type": "application/json"}
            )
            if 400 <= response.status_code < 500:
                h.outcome = "refused"
            else:
                assert response.status_code == 202, (
                    h.kind,
                    response.status_code,
                    response.text[:300],
                )
                h.key = response.json()["article_id"]
                assert response.json()["status"] == "accepted", (h.kind, response.text)
    api_done = time.monotonic()

    # -- straight onto the raw topic, two ordinary articles before each hostile one
    producer = KafkaProducer(
        bootstrap_servers=KAFKA, acks="all", linger_ms=5, enable_idempotence=False
    )
    topic = f"{running.ns}articles.raw"
    futures = []
    for h in (h for h in hostile if h.via == "raw" and h.kind != "10mb"):
        for _ in range(2):
            aid, value = _good_raw()
            good.add(aid)
            futures.append(producer.send(topic, key=aid.encode(), value=value))
        futures.append(producer.send(topic, key=h.key.encode(), value=h.body))
    for future in futures:
        future.get(60)
    producer.close()
    # Over Kafka's message size: sent alone, so that the broker's refusal of
    # one batch cannot take ordinary messages down with it.
    big = KafkaProducer(
        bootstrap_servers=KAFKA,
        acks="all",
        max_request_size=30 * MB,
        enable_idempotence=False,
        retries=0,
    )
    for h in (h for h in hostile if h.via == "raw" and h.kind == "10mb"):
        try:
            big.send(topic, key=h.key.encode(), value=h.body).get(60)
        except KafkaError:
            h.outcome = "refused"
    big.close()

    # -- wait until every accepted input has an outcome
    def settle() -> list[Hostile]:
        indexed = set(running.indexed_ids("hostile.api")) | set(running.indexed_ids("hostile.raw"))
        dead = {d.key for stage in STAGES for d in running.dead_letters(stage)}
        for h in hostile:
            if h.outcome != "pending" and h.outcome != "refused":
                h.outcome = "pending"
            if h.outcome == "refused":
                continue
            aid = h.key if h.via == "api" else _raw_article_id(h.body) or ""
            if aid in indexed:
                h.outcome = "indexed"
            elif h.key in dead or aid in dead:
                h.outcome = "dead-lettered"
        return [h for h in hostile if h.outcome == "pending"]

    deadline = time.monotonic() + 240
    while (pending := settle()) and time.monotonic() < deadline:
        time.sleep(3)
    good_indexed = set(running.indexed_ids("hostile.good"))

    outcomes = Counter(h.outcome for h in hostile)
    by_kind = Counter((h.via, h.kind, h.outcome) for h in hostile)
    for (via, kind, outcome), n in sorted(by_kind.items()):
        print(f"  {via:<4} {kind:<14} {outcome:<14} {n}")
    accepted = sum(1 for h in hostile if h.outcome != "refused")
    report(
        artifacts_dir,
        "1000 hostile inputs (API + raw topic)",
        sent=len(hostile),
        accepted=accepted,
        indexed=outcomes["indexed"],
        dead_lettered=outcomes["dead-lettered"],
        lost=outcomes["pending"],
        extra=f"refused={outcomes['refused']} ordinary={len(good)} "
        f"ordinary-indexed={len(good & good_indexed)} "
        f"api={api_done - started:.0f}s total={time.monotonic() - started:.0f}s",
    )

    assert not pending, [(h.via, h.kind, h.key) for h in pending][:20]
    assert good <= good_indexed, f"{len(good - good_indexed)} ordinary articles not indexed"
    for name in ("ingestion", *STAGES):
        assert running.alive(name), f"{name} died:\n{running.services[name].log_tail(40)}"
