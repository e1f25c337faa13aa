"""1,000 hostile inputs, half through the ingestion API and half written
straight onto ``articles.raw``: empty bodies, 10 MB bodies, binary, invalid
UTF-8, deeply nested HTML, huge single lines, JSON of the wrong shape.

Each input has one expected fate, asserted exactly: the API answers it with
the status its rule gives (422 for what is not a valid article: bad JSON,
invalid UTF-8, NUL characters, wrong fields; 413 for what is too large;
202 for a valid article, however odd), and what is accepted ends up indexed
or in a dead-letter topic (a message that breaks the raw topic's contract
must be dead-lettered; one over Kafka's size limit is refused by the broker).
The counts must add up: nothing silently dropped, no worker crashed. Ordinary articles
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
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import orjson
import pytest
from kafka import KafkaProducer
from kafka.errors import KafkaError

from shared.contracts.models import RawArticleV1, read_message
from tests.conftest import KAFKA
from tests.faults.pipeline import STAGES, Pipeline, report, story

pytestmark = [pytest.mark.integration, pytest.mark.slow]

MB = 1_000_000


ACCEPTED = frozenset({"indexed", "dead-lettered"})
REFUSED = frozenset({"refused"})
DEAD = frozenset({"dead-lettered"})


@dataclass
class Hostile:
    """One hostile input, what must become of it, and what did."""

    kind: str
    via: str  # "api" or "raw"
    body: bytes | None
    key: str  # the Kafka key (raw) or "" until the API gives an article id
    status: int | None = None  # the API's answer it must get (api only)
    allowed: frozenset[str] = field(default=ACCEPTED)  # outcomes it may end in
    says: str = ""  # what the refusal message must contain
    outcome: str = "pending"  # refused | indexed | dead-lettered | pending
    answer: str = ""  # the API's status and message, for the failure report


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
    """500 hostile requests for POST /v1/articles, each with the status the
    API must answer."""
    out: list[Hostile] = []

    def add(kind: str, body: bytes, n: int = 1, status: int = 202, says: str = "") -> None:
        allowed = ACCEPTED if status == 202 else REFUSED
        out.extend(Hostile(kind, "api", body, "", status, allowed, says) for _ in range(n))

    def article(**fields: object) -> bytes:
        return json.dumps(
            {"source": "hostile.api", "url": f"https://hostile.api/{uuid.uuid4().hex}", **fields}
        ).encode()

    # Not an article: no JSON, or JSON without the required fields.
    for body in (b"", b" ", b"\n", b"\x00", b"{}", b"[]", b"null", b'""'):
        add("empty", body, 5, status=422)
    # 10 MB bodies: two real (compressible) pages, accepted (the cleaning
    # stage refuses pages over its HTML limit: a dead letter); one of random
    # text, under the API's limit but over Kafka's once compressed (413); one
    # of binary junk (not UTF-8: 422); one just over the API's limit (413).
    for _ in range(2):
        add("10mb", article(html="<p>" + "All work and no play. " * 450_000 + "</p>"))
    add(
        "10mb",
        article(text="".join(rng.choice("abcdefghij klmnopqrstuvwxyz.\n") for _ in range(10 * MB))),
        status=413,
        says="too large",
    )
    add("10mb", rng.randbytes(10 * MB), status=422, says="UTF-8")
    add("10mb", article(text="x" * 13 * MB), status=413, says="limit")
    # Random bytes: not UTF-8, or (a short run that happens to be) not JSON.
    for _ in range(60):
        add("binary", rng.randbytes(rng.randint(1, 5000)), status=422)
    for _ in range(60):
        raw = article(text=f"ok {uuid.uuid4().hex} ")
        cut = rng.randint(10, len(raw) - 5)
        add(
            "invalid-utf8",
            raw[:cut]
            + rng.choice([b"\xff", b"\xc3\x28", b"\xed\xa0\x80", b"\xf8\x88\x80\x80\x80"])
            + raw[cut:],
            status=422,
            says="not valid UTF-8",
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
        add("wrong-types", _wrong_types_body(rng), status=422)
    while len(out) < 500:
        text = _weird_text(rng)
        if "\x00" in text:  # NUL characters: binary data, refused since issue 11
            add("weird-text", article(text=text), status=422, says="NUL")
        else:
            add("weird-text", article(text=text))
    return out


def raw_inputs(rng: random.Random) -> list[Hostile]:
    """500 hostile messages for articles.raw, each keyed for tracing. What
    breaks the topic's contract must be dead-lettered; a valid raw article
    may be indexed or dead-lettered; one over Kafka's limit is refused."""
    out: list[Hostile] = []

    def add(kind: str, body: bytes | None) -> None:
        key = f"hostile-{len(out)}-{uuid.uuid4().hex[:8]}"
        if kind == "10mb":
            allowed = REFUSED
        elif _raw_article_id(body) is None:
            allowed = DEAD
        else:
            allowed = ACCEPTED
        out.append(Hostile(kind, "raw", body, key, allowed=allowed))

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
    """The article id a raw message carries if the stage can read it (its _id
    once indexed), read as the stage reads it: unknown fields are ignored
    (a rolling upgrade may add one), anything else wrong breaks the contract."""
    try:
        return read_message(RawArticleV1, orjson.loads(body or b"")).article_id
    except ValueError:  # orjson.JSONDecodeError and pydantic's ValidationError are ValueErrors
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
            h.answer = f"{response.status_code} {response.text[:200]}"
            if response.status_code == 202:
                h.key = response.json()["article_id"]
                assert response.json()["status"] == "accepted", (h.kind, response.text)
            elif 400 <= response.status_code < 500:
                h.outcome = "refused"
            else:
                raise AssertionError(f"{h.kind}: {h.answer}")
    api_done = time.monotonic()
    wrong = [
        (h.kind, h.status, h.answer)
        for h in hostile
        if h.via == "api" and (h.answer.split()[0] != str(h.status) or h.says not in h.answer)
    ]

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

    # Ceilings, not speed targets: ~2,500 articles go through five stages on a
    # 2-core machine; the loops end as soon as everything has an outcome.
    deadline = time.monotonic() + 480
    while (pending := settle()) and time.monotonic() < deadline:
        time.sleep(3)
    good_indexed = set(running.indexed_ids("hostile.good"))
    while not good <= good_indexed and time.monotonic() < deadline:
        time.sleep(3)
        good_indexed = set(running.indexed_ids("hostile.good"))

    outcomes = Counter(h.outcome for h in hostile)
    unexpected = [(h.via, h.kind, h.outcome) for h in hostile if h.outcome not in h.allowed]
    statuses = Counter(h.answer.split()[0] for h in hostile if h.via == "api")
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
        extra=f"refused={outcomes['refused']} "
        f"api-statuses={','.join(f'{k}:{v}' for k, v in sorted(statuses.items()))} "
        f"unexpected={len(wrong) + len(unexpected)} ordinary={len(good)} "
        f"ordinary-indexed={len(good & good_indexed)} "
        f"api={api_done - started:.0f}s total={time.monotonic() - started:.0f}s",
    )

    assert not wrong, f"{len(wrong)} inputs answered otherwise than their rule says: {wrong[:10]}"
    assert not pending, [(h.via, h.kind, h.key) for h in pending][:20]
    assert not unexpected, f"{len(unexpected)} inputs ended wrongly: {unexpected[:20]}"
    assert good <= good_indexed, f"{len(good - good_indexed)} ordinary articles not indexed"
    for name in ("ingestion", *STAGES):
        assert running.alive(name), f"{name} died:\n{running.services[name].log_tail(40)}"
