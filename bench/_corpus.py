"""The benchmark corpus: thousands of distinct articles grown from the project's samples.

The samples are 125 real pages as served (``samples/pages/*.html.gz``), the same
125 pages as text someone already scraped (``../shared/eval/extraction/text``), and
the seed article. Sent as they are, 251 articles would collapse: the ingestion API
derives the id from the URL and drops repeats. So article ``i`` is base ``i % 251``
with

* its own URL on the base's real domain (a distinct id, so no dedup), and
* one short sentence of its own (a person, an organisation and a city drawn from
  small pools, plus the article number), placed among the body paragraphs, and for
  scraped text two adjacent body paragraphs swapped.

That keeps every article's cost what the real page costs (the same HTML to parse,
the same boilerplate to strip, about the same words for NER) while no two bodies
are equal and the entities vary a little. The bases are interleaved (html, text,
html, text, ..., the seed last), so any prefix of ``len(bases)`` articles holds each
base once: the limits are measured on exactly such a prefix.
"""

from __future__ import annotations

import gzip
import json
import random
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from shared.contracts.ids import article_id

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared"
PAGES_DIR = REPO / "samples" / "pages"
EVAL_DIR = SHARED_DATA / "eval" / "extraction"
SEED_PATH = SHARED_DATA / "seeds" / "000_e1ee1b6c240190f4.txt"

# Pools for the one distinct sentence per article: real-looking names give NER
# something to find, and the pools are small so the same entities recur across
# articles (facets get counts above one).
_PEOPLE = (
    "Maria Alvarez",
    "John Okafor",
    "Chen Wei",
    "Anna Kowalski",
    "David Cohen",
    "Fatima Haddad",
    "Lars Johansson",
    "Priya Raman",
    "Tomás Silva",
    "Elena Petrova",
    "Kenji Tanaka",
    "Grace Mensah",
    "Oliver Bennett",
    "Sofia Rossi",
    "Ahmed Farouk",
    "Hannah Schmidt",
)
_ORGS = (
    "the World Bank",
    "Reuters",
    "the European Commission",
    "Amnesty International",
    "the United Nations",
    "Goldman Sachs",
    "the Red Cross",
    "Microsoft",
    "the Federal Reserve",
    "UNICEF",
    "Siemens",
    "the African Union",
)
_CITIES = (
    "Berlin",
    "Nairobi",
    "Lisbon",
    "Chicago",
    "Seoul",
    "Lyon",
    "Toronto",
    "Warsaw",
    "Mumbai",
    "Santiago",
    "Oslo",
    "Melbourne",
    "Cairo",
    "Denver",
)
_DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")

# A scraped-text line this long is a body paragraph, not a menu item, a button or
# a site's one-line description.
_BODY_LINE_CHARS = 150


@dataclass(frozen=True)
class Base:
    """One sample: a page as served or as scraped text, with its site."""

    name: str
    kind: Literal["html", "text"]
    content: str
    domain: str


@dataclass(frozen=True)
class BenchArticle:
    """An article as the ingestion API takes it, with the id it will get."""

    article_id: str
    kind: Literal["html", "text"]
    payload: dict[str, str]

    def ndjson_line(self) -> bytes:
        return json.dumps(self.payload, ensure_ascii=False).encode()


def _domain(url: str) -> str:
    host = (urlsplit(url).hostname or "example.org").lower()
    return host.removeprefix("www.")


def load_bases() -> list[Base]:
    """The 251 samples, interleaved html/text so every prefix is a fair mix."""
    truth = json.loads((EVAL_DIR / "ground-truth.json").read_text())
    html: list[Base] = []
    text: list[Base] = []
    for path in sorted(PAGES_DIR.glob("*.html.gz")):
        page_id = path.name.removesuffix(".html.gz")
        domain = _domain(truth.get(page_id, {}).get("url") or "")
        content = gzip.decompress(path.read_bytes()).decode("utf-8", errors="replace")
        html.append(Base(page_id, "html", content, domain))
        text_path = EVAL_DIR / "text" / f"{page_id}.txt"
        if text_path.is_file():
            text.append(Base(page_id, "text", text_path.read_text(encoding="utf-8"), domain))
    if not html or not text:
        raise SystemExit(f"sample data missing: need {PAGES_DIR} and {EVAL_DIR / 'text'}")
    bases: list[Base] = []
    for pair in zip(html, text, strict=False):
        bases.extend(pair)
    bases.append(Base("seed", "text", SEED_PATH.read_text(encoding="utf-8"), "lemonde.fr"))
    return bases


def _sentence(rng: random.Random, number: int) -> str:
    return (
        f"{rng.choice(_PEOPLE)} told {rng.choice(_ORGS)} in {rng.choice(_CITIES)} on "
        f"{rng.choice(_DAYS)} that the review, file {number}, would go on for weeks."
    )


def _vary_text(content: str, sentence: str, rng: random.Random) -> str:
    """Insert the sentence after a body paragraph and swap two adjacent ones
    (paragraphs from the middle half of the long lines: the article, not the
    header or the footer)."""
    lines = content.split("\n")
    long_lines = [i for i, line in enumerate(lines) if len(line) >= _BODY_LINE_CHARS]
    if not long_lines:
        return content + "\n\n" + sentence
    quarter = len(long_lines) // 4
    body = long_lines[quarter : max(quarter + 1, len(long_lines) - quarter)]
    adjacent = [i for i in body if i + 2 in body or i + 1 in body]
    if adjacent:
        first = rng.choice(adjacent)
        second = first + 1 if first + 1 in body else first + 2
        lines[first], lines[second] = lines[second], lines[first]
    at = rng.choice(body)
    lines.insert(at + 1, "")
    lines.insert(at + 2, sentence)
    return "\n".join(lines)


_P_END = re.compile(r"</p\s*>", re.IGNORECASE)


def _vary_html(content: str, sentence: str, rng: random.Random) -> str:
    """Insert the sentence as a paragraph after one of the page's paragraphs
    (middle third, where the article body usually is)."""
    ends = [m.end() for m in _P_END.finditer(content)]
    if not ends:
        at = content.lower().rfind("</body")
        at = at if at >= 0 else len(content)
    else:
        third = len(ends) // 3
        at = rng.choice(ends[third : max(third + 1, 2 * third)])
    return f"{content[:at]}<p>{sentence}</p>{content[at:]}"


def make_article(bases: list[Base], number: int, tag: str) -> BenchArticle:
    """Article ``number`` of the corpus; ``tag`` keeps runs and warm-ups apart."""
    base = bases[number % len(bases)]
    rng = random.Random(f"{tag}-{number}")
    sentence = _sentence(rng, number)
    url = f"https://{base.domain}/newsflow-bench/{tag}/{base.name[:16]}-{number}"
    payload = {"source": base.domain, "url": url}
    if base.kind == "html":
        payload["html"] = _vary_html(base.content, sentence, rng)
    else:
        payload["text"] = _vary_text(base.content, sentence, rng)
    return BenchArticle(article_id(url), base.kind, payload)


def build_corpus(bases: list[Base], count: int, tag: str, start: int = 0) -> list[BenchArticle]:
    return [make_article(bases, n, tag) for n in range(start, start + count)]


def ndjson_batches(
    articles: list[BenchArticle], max_items: int = 100, max_bytes: int = 4_000_000
) -> list[bytes]:
    """Request bodies for ``POST /v1/articles:batch``, like ``newsflow import``
    makes them: at most ``max_items`` articles and about ``max_bytes`` each."""
    batches: list[bytes] = []
    pending: list[bytes] = []
    size = 0
    for article in articles:
        line = article.ndjson_line()
        if pending and (len(pending) >= max_items or size + len(line) > max_bytes):
            batches.append(b"\n".join(pending))
            pending, size = [], 0
        pending.append(line)
        size += len(line) + 1
    if pending:
        batches.append(b"\n".join(pending))
    return batches
