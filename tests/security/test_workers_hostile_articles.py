"""Issue 11, worker side, on the real pipeline (ingestion API and the three
workers as real processes, Kafka, Elasticsearch and Redis real, a private
namespace): what a caller with a key can do to the stages.

* finding 5: junk sent under a URL is dead-lettered; the real article sent
  later under that URL is accepted and indexed (old: "duplicate" for 30 days).
* finding 6: one huge article (10 MB of text on one line, a page of 50,000
  links) is bounded; a normal article sent right behind it gets through. The
  canary's delay is measured and printed, never asserted (shared machine).
* finding 7: 150 bad-but-accepted articles among 200 do not stop cleaning
  (old: its dead-letter cap stopped it with exit code 3, halting everything).
* low: bidi controls never reach the index; Faust's own pages are gone.

The cleaning worker runs with a dead-letter window of 20 messages per
partition (default 200) so that the 200 articles of finding 7 fill it: with
the old rule, where every dead letter counted, it would trip.
"""

from __future__ import annotations

import re
import time
import uuid
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis

from tests.conftest import REDIS_URL, wait_until
from tests.faults.pipeline import STAGES, Pipeline, report, story

pytestmark = [pytest.mark.integration, pytest.mark.slow]

DLQ_WINDOW = 20
DLQ_MAX_RATIO = 0.5
BIDI = re.compile("[\u202a-\u202e\u2066-\u2069\u200e\u200f\u061c]")
MAX_BODY_CHARS = 200_000  # the cleaning stage's default max_body_chars
# Quiet time before each huge article of finding 6 (see the test).
SETTLE_S = 20

# Accepted by the API (valid fields, content present) but nothing is left
# once cleaned: each is a dead letter of the cleaning stage, never systemic.
NAV_ONLY = (
    "<html><head><title>Example Media</title></head><body><nav><a href='/'>Home</a> "
    "<a href='/news'>News</a> <a href='/sport'>Sport</a></nav><footer>&copy; 2024 Example "
    "Media. All rights reserved.</footer></body></html>"
)
EMPTY_PAGE = "<html><head></head><body>   </body></html>"
SCRIPT_ONLY = "<html><body><script>var tracking = 1;</script><style>p{}</style></body></html>"
MENU_TEXT = "\n".join(
    ["Home", "News", "Sport", "Business", "Culture", "Opinion", "Contact us", "Privacy policy"] * 3
)


@pytest.fixture(scope="module")
def pipeline(namespace: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pipeline]:
    cleaning = {
        "NEWSFLOW_CLEANING_DLQ_WINDOW": str(DLQ_WINDOW),
        "NEWSFLOW_CLEANING_DLQ_MAX_RATIO": str(DLQ_MAX_RATIO),
    }
    pipe = Pipeline(namespace, tmp_path_factory.mktemp("security-logs"), {"cleaning": cleaning})
    try:
        pipe.ensure_running()
        warm = pipe.send_accepted([{"source": "warmup.security", "text": story("warm-up")}])
        pipe.wait_indexed("warmup.security", set(warm), timeout=180)
        yield pipe
    finally:
        pipe.stop_all()
        pipe.close()


@pytest.fixture
def running(pipeline: Pipeline) -> Iterator[Pipeline]:
    pipeline.ensure_running()
    yield pipeline
    for name in ("ingestion", *STAGES):
        assert pipeline.alive(name), f"{name} died:\n{pipeline.services[name].log_tail(40)}"


def _post(pipe: Pipeline, article: dict[str, Any]) -> str:
    """Send one article that must be accepted as new; its id."""
    response = pipe.http.post("/v1/articles", json=article)
    assert response.status_code == 202, response.text
    assert response.json()["status"] == "accepted", response.text
    return str(response.json()["article_id"])


def _dead_letter(pipe: Pipeline, stage: str, aid: str, timeout: float = 120) -> Any:
    found = wait_until(
        lambda: [d for d in pipe.dead_letters(stage) if d.key == aid],
        timeout,
        f"a dead letter for {aid} at {stage}",
        interval=1,
    )
    return found[0]  # type: ignore[index]


# ---------------------------------------------------------------- low: worker pages
@pytest.mark.parametrize("stage", STAGES)
def test_faust_own_pages_are_off_and_health_answers(running: Pipeline, stage: str) -> None:
    """Old: /router/ and /table/ answered 200 with the app's routing and
    tables to anyone reaching the port; graph and stats pages too."""
    for path in ("/router/", "/router/topics", "/table/", "/graph/", "/assignment/"):
        response = httpx.get(running.worker_url(stage, path), timeout=10)
        assert response.status_code == 404, (stage, path, response.status_code, response.text)
    assert httpx.get(running.worker_url(stage, "/healthz"), timeout=10).status_code == 200
    assert httpx.get(running.worker_url(stage, "/readyz"), timeout=10).status_code == 200
    metrics = httpx.get(running.worker_url(stage, "/metrics"), timeout=10)
    assert metrics.status_code == 200 and "newsflow_messages_in_total" in metrics.text


# ---------------------------------------------------------------- low: bidi
def test_bidi_controls_in_hints_never_reach_the_index(running: Pipeline) -> None:
    """Old: the title showed reversed ("…exe.jpg"), and the source facet had
    an invisible variant of a publisher's name."""
    # No URL: with one, the document's source is the URL's registrable domain,
    # and the caller's `source` would not be what the index shows.
    aid = _post(
        running,
        {
            "source": "bidi\u202e.security\u2069",
            "title": "Invoice \u202egpj.exe\u202c for the \u2066summit\u2069",
            "author": "Jane \u200fDoe\u200e",
            "text": story(f"bidi {uuid.uuid4().hex}"),
        },
    )
    doc = wait_until(lambda: running.doc(aid), 90, "the bidi article indexed")
    assert isinstance(doc, dict)
    assert doc["source"] == "bidi.security"
    assert doc["title"] == "Invoice gpj.exe for the summit"
    assert doc["authors"] == ["Jane Doe"]


def test_bidi_controls_in_a_page_never_reach_the_index(running: Pipeline) -> None:
    paragraphs = "".join(
        f"<p>Paragraph {i}: ministers from across Europe met in Berlin on Monday to discuss "
        "the budget, and several asked for more time before any vote was held.</p>"
        for i in range(6)
    )
    html = (
        "<html><head><title>Summit \u202egpj.exe\u202c ends</title>"
        '<meta name="author" content="Jane \u2066Doe\u2069"></head><body><article>'
        f"<h1>Summit \u202egpj.exe\u202c ends</h1><p>By Jane \u2066Doe\u2069</p>{paragraphs}"
        "</article></body></html>"
    )
    aid = _post(
        running,
        {
            "source": "bidi-page.security",
            "url": f"https://bidi.security/p/{uuid.uuid4().hex}",
            "html": html,
        },
    )
    doc = wait_until(lambda: running.doc(aid), 90, "the bidi page indexed")
    assert isinstance(doc, dict)
    fields = [doc["title"] or "", *doc["authors"], doc["source"]]
    assert not [f for f in fields if BIDI.search(f)], fields


# ---------------------------------------------------------------- finding 5
def _junk_then_real(pipe: Pipeline) -> tuple[str, str, str]:
    """Junk sent under a URL, dead-lettered; then the real article under the
    same URL, accepted and indexed. (article id, URL, the real one's tag)"""
    url = f"https://claim.security/news/{uuid.uuid4().hex}"
    junk = _post(pipe, {"source": "claim.security", "url": url, "html": NAV_ONLY})
    letter = _dead_letter(pipe, "cleaning", junk)
    assert "no article text" in letter.reason, letter.reason
    # The stage records the failure, then drops the claim (in that order).
    claims = redis.Redis.from_url(REDIS_URL)
    try:
        wait_until(lambda: not claims.exists(f"{pipe.ns}dedup:{junk}"), 30, "the claim released")
    finally:
        claims.close()
    failed = pipe.http.get(f"/v1/articles/{junk}/status").json()["failed"]
    assert failed and failed["stage"] == "cleaning", failed
    # The real article under the same URL: same id, accepted (old: "duplicate",
    # and never indexed while the 30-day claim lasted), then searchable.
    tag = uuid.uuid4().hex
    real = _post(pipe, {"source": "claim.security", "url": url, "text": story(tag)})
    assert real == junk
    doc = wait_until(lambda: pipe.doc(real), 90, "the real article indexed")
    assert isinstance(doc, dict) and tag in doc["body"]
    return real, url, tag


def test_a_dead_lettered_article_does_not_block_its_url(running: Pipeline) -> None:
    _, url, _ = _junk_then_real(running)
    # A success keeps its claim: the same URL again is a duplicate.
    again = running.http.post(
        "/v1/articles", json={"source": "claim.security", "url": url, "html": NAV_ONLY}
    )
    assert (again.status_code, again.json()["status"]) == (202, "duplicate")


def test_a_resent_article_no_longer_reports_its_old_failure(running: Pipeline) -> None:
    aid, _, _ = _junk_then_real(running)
    status = wait_until(
        lambda: (
            (s := running.http.get(f"/v1/articles/{aid}/status").json())["stages"][-1]["stage"]
            == "indexed"
            and s
        ),
        30,
        "the status says indexed",
    )
    assert isinstance(status, dict) and status["failed"] is None, status


# ---------------------------------------------------------------- finding 7
def _bad_article(i: int) -> dict[str, Any]:
    url = f"https://bad-input.security/{i}/{uuid.uuid4().hex}"
    kind = i % 4
    if kind == 0:
        return {"source": "bad-input.security", "url": url, "html": NAV_ONLY}
    if kind == 1:
        return {"source": "bad-input.security", "url": url, "html": EMPTY_PAGE}
    if kind == 2:
        return {"source": "bad-input.security", "url": url, "html": SCRIPT_ONLY}
    return {"source": "bad-input.security", "url": url, "text": MENU_TEXT}


def _windows_over_ratio(pipe: Pipeline, bad: set[str], ours: set[str]) -> int:
    """Partitions of articles.raw where some DLQ_WINDOW consecutive messages of
    this test were more than DLQ_MAX_RATIO bad: where the old rule (every dead
    letter counts) would have stopped the stage."""
    by_partition: dict[int, list[tuple[int, bool]]] = defaultdict(list)
    for record in pipe.read_records("articles.raw"):
        key = record.key.decode() if record.key else ""
        if key in ours:
            by_partition[record.partition].append((record.offset, key in bad))
    tripped = 0
    for outcomes in by_partition.values():
        flags = [b for _, b in sorted(outcomes)]
        windows = (flags[i : i + DLQ_WINDOW] for i in range(len(flags) - DLQ_WINDOW + 1))
        if any(sum(w) / DLQ_WINDOW > DLQ_MAX_RATIO for w in windows):
            tripped += 1
    return tripped


def test_bad_articles_from_callers_never_stop_cleaning(
    running: Pipeline, artifacts_dir: Path
) -> None:
    source = "bad-input.security"
    batch: list[dict[str, Any]] = []
    is_bad: list[bool] = []
    for i in range(200):
        if i % 4 == 3:  # one good for three bad
            batch.append(
                {
                    "source": source,
                    "url": f"https://{source}/good/{uuid.uuid4().hex}",
                    "text": story(f"good {i}"),
                }
            )
            is_bad.append(False)
        else:
            batch.append(_bad_article(i))
            is_bad.append(True)
    ids = running.send_accepted(batch)
    bad = {aid for aid, b in zip(ids, is_bad, strict=True) if b}
    good = set(ids) - bad
    assert (len(bad), len(good)) == (150, 50)

    found = running.wait_indexed(source, good, timeout=240)
    wait_until(
        lambda: bad <= {d.key for d in running.dead_letters("cleaning")},
        120,
        "every bad article dead-lettered",
        interval=1,
    )
    letters = [d for d in running.dead_letters("cleaning") if d.key in bad]
    would_have_tripped = _windows_over_ratio(running, bad, set(ids))
    report(
        artifacts_dir,
        "security: 150 bad-but-accepted among 200 (cleaning DLQ window 20)",
        sent=200,
        accepted=len(ids),
        indexed=len(set(found) & good),
        dead_lettered=len({d.key for d in letters}),
        lost=len(good - set(found)),
        extra=f"partitions-where-old-rule-trips={would_have_tripped} "
        f"cleaning-alive={running.alive('cleaning')}",
    )

    assert running.alive("cleaning"), running.services["cleaning"].log_tail(40)
    log = running.log_text("cleaning")
    assert "stopping instead of draining" not in log and '"exit_code"' not in log
    assert httpx.get(running.worker_url("cleaning", "/readyz"), timeout=10).status_code == 200
    assert not set(found) & bad, "a bad article was indexed"
    assert {d.error_type for d in letters} == {"ExtractionError"}, {d.error_type for d in letters}
    assert all(d.reason.startswith("cleaning failed:") for d in letters)
    # The scenario is one the old rule would not have survived.
    assert would_have_tripped >= 1


# ---------------------------------------------------------------- finding 6
def _single_line_text(size: int) -> str:
    sentence = "The committee met again on Tuesday to discuss the budget of the city. "
    return (sentence * (size // len(sentence) + 1))[:size]


def _links_page(count: int) -> str:
    links = "".join(
        f'<li><a href="https://links.security/p/{i}">Link number {i}</a></li>' for i in range(count)
    )
    return f"<html><head><title>Links</title></head><body><ul>{links}</ul></body></html>"


def _outcome(pipe: Pipeline, aid: str, timeout: float = 240) -> tuple[str, str]:
    """('indexed', body length) or ('dead-lettered', stage: reason) for a big article."""

    def look() -> tuple[str, str] | None:
        doc = pipe.doc(aid)
        if doc is not None:
            return "indexed", str(len(doc["body"]))
        for stage in STAGES:
            for d in pipe.dead_letters(stage):
                if d.key == aid:
                    return "dead-lettered", f"{stage}: {d.reason[:120]}"
        return None

    return wait_until(look, timeout, f"an outcome for {aid}", interval=1)  # type: ignore[return-value]


def test_one_huge_article_lets_the_next_one_through(running: Pipeline, artifacts_dir: Path) -> None:
    """Old: the 10 MB text held cleaning for 23 s (a canary behind it: 26 s),
    the links page was indexed as 150,017 words. The delays are printed and
    appended to tests/artifacts/fault-counts.txt, not asserted."""
    big_inputs = {
        "text-10MB-one-line": {"text": _single_line_text(10_000_000)},
        "page-50k-links": {"html": _links_page(50_000)},
    }

    def canary() -> float:
        since = time.monotonic()
        aid = _post(running, {"source": "canary.security", "text": story(uuid.uuid4().hex)})
        return running.seconds_until_searchable(aid, since, timeout=180)

    def send_big(name: str) -> str:
        url = f"https://huge.security/{uuid.uuid4().hex}"
        return _post(running, {"source": "huge.security", "url": url, **big_inputs[name]})

    measured = {"alone": canary()}
    outcomes: dict[str, tuple[str, str]] = {}
    for name in big_inputs:
        # A pause first, so each measure starts as a quiet stage would (a
        # stopped cleaner's replacement has had time to start).
        time.sleep(SETTLE_S)
        big = send_big(name)
        measured[f"after-{name}"] = canary()
        outcomes[name] = _outcome(running, big)
    # Both at once: the worst case for the replacement of a stopped cleaner.
    time.sleep(SETTLE_S)
    both = [send_big(name) for name in big_inputs]
    measured["after-both-back-to-back"] = canary()
    for name, aid in zip(big_inputs, both, strict=True):
        outcomes[f"{name}-again"] = _outcome(running, aid)

    for name, (fate, detail) in outcomes.items():
        print(f"  {name}: {fate} ({detail})")
    report(
        artifacts_dir,
        "security: canary behind huge articles",
        sent=len(outcomes) + len(measured),
        accepted=len(outcomes) + len(measured),
        indexed=len(measured) + sum(o[0] == "indexed" for o in outcomes.values()),
        dead_lettered=sum(o[0] == "dead-lettered" for o in outcomes.values()),
        lost=0,
        extra=" ".join(f"canary-{n}={s:.1f}s" for n, s in measured.items()),
    )
    for name, (fate, detail) in outcomes.items():
        if fate == "indexed":  # bounded: at most max_body_chars of body
            assert int(detail) <= MAX_BODY_CHARS, (name, detail)
        else:
            assert detail.split(": ", 1)[1], (name, "a dead letter without a reason")
