"""Score the entity facets on the sample corpus (``make eval-entities``).

Cleans the 126 samples (``samples/pages/*.html.gz`` and ``samples/text/*.txt``) with
the cleaning stage (cached under ``/tmp``: cleaning is most of the CPU), runs the
entities step over them as the stage does (batches, one resolver for the run) and
judges the three facets an analyst sees against the hand-made labels in
``samples/entities.labels.yaml``:

* junk share in the top 50 of each facet by article count (ties by name, as the
  search facets order them): values that are no entity, or an entity of another
  type ("Twitter" under people);
* entities split under two or more names in one facet's top 50;
* values the labels do not know (they are neither counted good nor bad: label them);
* how many of the articles naming Trump the "Donald Trump" value finds;
* facet values from articles in a language without a model, and values in a
  non-Latin script (fragments of text the model could not read);
* articles per second of the entities step beside the bare models (``nlp.pipe``
  only, same texts, same routing), best of ``--repeats`` runs, in the same process:
  CPU time of this process (the machine's cores are shared, wall time is noisy), and
  wall time too, which is what the Redis registry adds (its round trips wait);
* the step with the registry in Redis (the worker's default; a fresh namespace,
  deleted afterwards) beside the step with it in memory: same facets expected,
  its speed, its round trips per batch and the Redis memory it took.

Facets are read as the registry has them at the end of the run (ids mapped to
their current name and type), which is what the indexer shows after it updates
earlier articles on a merge. ``--snapshot FILE`` scores a saved run instead (the
code before issue 13 was saved that way); ``--save-snapshot FILE`` saves this one.
``--draft`` prints the top values the labels lack, with snippets, for labelling.

Usage::

    .venv/bin/python bench/eval_entities.py [--before FILE] [--repeats 3] [--no-redis]
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import re
import sys
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

import yaml  # noqa: E402

from services.cleaning.extract import clean  # noqa: E402
from services.entities.corrections import default_corrections  # noqa: E402
from services.entities.enrich import (  # noqa: E402
    article_entities,
    enrich_batch,
    ner_text,
    run_models,
)
from services.entities.filters import ner_input  # noqa: E402
from services.entities.normalize import Entity  # noqa: E402
from services.entities.pipelines import PipelineSet  # noqa: E402
from services.entities.registry import EntityStore, MemoryStore  # noqa: E402
from services.entities.registry_redis import RedisStore  # noqa: E402
from services.entities.resolve import Resolver  # noqa: E402
from services.entities.settings import EntitySettings  # noqa: E402
from shared.contracts.models import CleanArticleV1  # noqa: E402

SAMPLES = REPO_ROOT / "samples"
LABELS = SAMPLES / "entities.labels.yaml"
CACHE_DIR = Path("/tmp/newsflow-eval-entities")
FACETS = ("people", "organisations", "places")
TOP = 50
BATCH = 8  # the stage's default batch (EntitySettings.batch_size)
MAX_NER_CHARS = 100_000
_TRUMP = re.compile(r"\bTrump\b")
_NON_LATIN = re.compile(r"[^\W\d_A-Za-z\u00c0-\u024f\u1e00-\u1eff]")


# --------------------------------------------------------------------- corpus
def _cache_key() -> str:
    """Key of the samples only: the cleaning code changes often and re-cleaning costs
    ~25 s of CPU, so pass ``--refresh`` after a change to it that matters here."""
    digest = hashlib.sha256()
    for path in sorted(SAMPLES.glob("pages/*.html.gz")) + sorted(SAMPLES.glob("text/*.txt")):
        digest.update(path.name.encode() + path.read_bytes())
    return digest.hexdigest()[:16]


def _clean_all() -> list[dict[str, Any]]:
    inputs: list[tuple[str, str | None, str | None]] = []
    for path in sorted(SAMPLES.glob("pages/*.html.gz")):
        html = gzip.decompress(path.read_bytes()).decode("utf-8", errors="replace")
        inputs.append((path.name.removesuffix(".html.gz"), html, None))
    for path in sorted(SAMPLES.glob("text/*.txt")):
        inputs.append((path.stem, None, path.read_text(encoding="utf-8")))
    out = []
    for name, page, scraped in inputs:
        e = clean(html=page, text=scraped)
        out.append(
            {
                "name": name,
                "title": e.title,
                "text": e.text,
                "language": e.language,
                "related": e.related,
                "input_format": e.input_format,
            }
        )
    return out


def load_corpus(refresh: bool = False) -> list[CleanArticleV1]:
    """The cleaned samples as the entities stage receives them (cached)."""
    path = CACHE_DIR / f"cleaned-{_cache_key()}.json"
    if path.is_file() and not refresh:
        rows = json.loads(path.read_text())
    else:
        print(f"cleaning the samples (cached in {path}) ...", file=sys.stderr)
        rows = _clean_all()
        CACHE_DIR.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(rows, ensure_ascii=False))
    now = datetime.now(UTC)
    return [
        CleanArticleV1(
            article_id=hashlib.sha256(r["name"].encode()).hexdigest()[:32],
            source=r["name"],  # the sample's id, to find it again
            title=r["title"],
            text=r["text"],
            language=r["language"],
            related=r["related"],
            word_count=len(r["text"].split()),
            fingerprint="0" * 16,
            input_format=r["input_format"],
            received_at=now,
        )
        for r in rows
    ]


# --------------------------------------------------------------------- runs
@dataclass
class Run:
    """Facet values per article (value, facet), plus speeds if measured."""

    facets: dict[str, list[tuple[str, str]]]
    languages: dict[str, str | None]
    rates: dict[str, float] = field(default_factory=dict)


@dataclass
class Pass:
    """One pass of the entities step: its two views and what it cost."""

    registry: Run
    streamed: Run
    cpu: float
    wall: float
    round_trips: int  # to the registry during the timed part (Redis only)


def run_step(articles: list[CleanArticleV1], pipelines: PipelineSet, store: EntityStore) -> Pass:
    """One pass of the entities step over the corpus, resolving against ``store``:
    the registry view (ids mapped to their final name and type), the view as each
    article was first enriched, and the CPU and wall seconds of the pass."""
    resolver = Resolver(store)
    started, wall = time.process_time(), time.perf_counter()
    results = []
    for i in range(0, len(articles), BATCH):
        results += enrich_batch(
            articles[i : i + BATCH],
            pipelines,
            resolver,
            max_ner_chars=MAX_NER_CHARS,
            batch_size=BATCH,
        )
    elapsed, wall = time.process_time() - started, time.perf_counter() - wall
    trips = store.round_trips if isinstance(store, RedisStore) else 0
    facets: dict[str, list[tuple[str, str]]] = {}
    streamed: dict[str, list[tuple[str, str]]] = {}
    for article, result in zip(articles, results, strict=True):
        values = []
        for entity, entity_id in zip(result.article.entities, result.entity_ids, strict=True):
            record = resolver.current(entity_id)
            name, group = (record.name, record.type) if record else (entity.canonical, entity.group)
            values.append((name, group))
        facets[article.source] = values
        streamed[article.source] = [(e.canonical, e.group) for e in result.article.entities]
    languages = {a.source: a.language for a in articles}
    return Pass(Run(facets, languages), Run(streamed, languages), elapsed, wall, trips)


def run_bare(articles: list[CleanArticleV1], pipelines: PipelineSet) -> tuple[float, float]:
    """CPU and wall seconds for the bare models over the same routed texts."""
    started, wall = time.process_time(), time.perf_counter()
    by_language: dict[str, list[str]] = {}
    for article in articles:
        model = pipelines.get(article.language)
        if model is not None:
            text = ner_input(ner_text(article, MAX_NER_CHARS))
            by_language.setdefault(model.language, []).append(text)
    for language, texts in by_language.items():
        model = pipelines.get(language)
        assert model is not None
        for doc in model.nlp.pipe(texts, batch_size=BATCH):
            _ = [(e.start_char, e.end_char, e.label_) for e in doc.ents]
    return time.process_time() - started, time.perf_counter() - wall


@dataclass
class RedisRegistry:
    """Fresh registries in Redis for the passes, and what they cost there."""

    url: str
    namespaces: list[str] = field(default_factory=list)
    round_trips: int = 0
    batches: int = 0
    memory: int = 0  # bytes used by the last pass's keys
    entities: int = 0  # live records of the last pass
    resolution_ms: dict[str, float] = field(default_factory=dict)  # per batch, by store

    def store(self) -> RedisStore:
        namespace = f"bench-entities-{uuid.uuid4().hex[:8]}-"
        self.namespaces.append(namespace)
        return RedisStore.from_url(self.url, namespace)

    def account(self, store: RedisStore, one: Pass, articles: int) -> None:
        self.round_trips, self.batches = one.round_trips, -(-articles // BATCH)
        keys = list(store.client.scan_iter(match=f"{store.layout.prefix}*", count=1000))
        pipe = store.client.pipeline(transaction=False)
        for key in keys:
            pipe.memory_usage(key, samples=0)
        self.memory = sum(int(n or 0) for n in pipe.execute())
        self.entities = int(store.client.hlen(store.layout.names))

    def clean_up(self, store: RedisStore) -> None:
        for namespace in self.namespaces:
            keys = list(store.client.scan_iter(match=f"{namespace}*", count=1000))
            if keys:
                store.client.delete(*keys)


def resolution_cost(
    articles: list[CleanArticleV1], pipelines: PipelineSet, redis: RedisRegistry, repeats: int
) -> dict[str, float]:
    """Wall milliseconds per batch of the cross-article resolution alone (NER done
    beforehand), memory against Redis: what the shared registry adds, without the
    noise of NER on a busy machine. Best of ``repeats``."""
    table = default_corrections()
    models = [pipelines.get(a.language) for a in articles]
    texts = [ner_text(a, MAX_NER_CHARS) if m else "" for a, m in zip(articles, models, strict=True)]
    found: list[list[Entity]] = [
        article_entities(t, mentions, table) if m else []
        for m, t, mentions in zip(models, texts, run_models(texts, models, BATCH), strict=True)
    ]
    batches = [found[i : i + BATCH] for i in range(0, len(found), BATCH)]
    best: dict[str, float] = {}
    for _ in range(max(1, repeats)):
        for name, store in (("memory", MemoryStore()), ("redis", redis.store())):
            resolver = Resolver(store)
            started = time.perf_counter()
            for batch in batches:
                resolver.resolve_batch(batch)
            ms = 1000 * (time.perf_counter() - started) / len(batches)
            best[name] = min(best.get(name, ms), ms)
            if isinstance(store, RedisStore):
                redis.clean_up(store)
    return best


def measure(
    articles: list[CleanArticleV1], repeats: int, redis: RedisRegistry | None
) -> dict[str, Pass]:
    """The last pass of each registry, with the best speeds of ``repeats``
    alternated passes of the bare models and the step (memory, then Redis)."""
    pipelines = PipelineSet()
    pipelines.preload()
    run_step(articles[:BATCH], pipelines, MemoryStore())  # warm-up: first calls allocate
    stores: dict[str, Callable[[], EntityStore]] = {"memory": MemoryStore}
    if redis is not None:
        stores["redis"] = redis.store
    best: dict[str, list[float]] = {k: [float("inf")] * 2 for k in ["bare", *stores]}
    passes: dict[str, Pass] = {}
    for _ in range(max(1, repeats)):
        bare = run_bare(articles, pipelines)
        best["bare"] = [min(b, x) for b, x in zip(best["bare"], bare, strict=True)]
        for name, make in stores.items():
            store = make()
            passes[name] = one = run_step(articles, pipelines, store)
            best[name] = [min(b, x) for b, x in zip(best[name], (one.cpu, one.wall), strict=True)]
            if isinstance(store, RedisStore) and redis is not None:
                redis.account(store, one, len(articles))
                redis.clean_up(store)
    if redis is not None:
        redis.resolution_ms = resolution_cost(articles, pipelines, redis, repeats)
    n = len(articles)
    for name, one in passes.items():
        one.registry.rates = {
            "step": n / best[name][0],
            "bare": n / best["bare"][0],
            "step_wall": n / best[name][1],
            "bare_wall": n / best["bare"][1],
        }
    return passes


def load_snapshot(path: Path) -> Run:
    data = json.loads(path.read_text())
    facets = {
        a["name"]: [(e["canonical"], e["group"]) for e in a["entities"]] for a in data["articles"]
    }
    languages = {a["name"]: a.get("language") for a in data["articles"]}
    return Run(facets, languages, data.get("rates", {}))


def save_snapshot(run: Run, path: Path) -> None:
    articles = [
        {
            "name": name,
            "language": run.languages.get(name),
            "entities": [{"canonical": v, "group": g} for v, g in values],
        }
        for name, values in run.facets.items()
    ]
    path.write_text(json.dumps({"rates": run.rates, "articles": articles}, ensure_ascii=False))


# --------------------------------------------------------------------- scoring
@dataclass(frozen=True)
class Labels:
    form_to_entity: dict[str, str]
    entity_type: dict[str, str]
    junk: frozenset[str]


def load_labels(path: Path = LABELS) -> Labels:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    forms: dict[str, str] = {}
    types: dict[str, str] = {}
    for entry in data["entities"]:
        types[entry["name"]] = entry["type"]
        for form in entry["forms"]:
            if forms.get(form, entry["name"]) != entry["name"]:
                raise SystemExit(f"{path}: {form!r} is a form of two entities")
            forms[form] = entry["name"]
    return Labels(forms, types, frozenset(data.get("junk") or []))


def top_values(run: Run, facet: str, n: int = TOP) -> list[tuple[str, int]]:
    counts: Counter[str] = Counter()
    for values in run.facets.values():
        counts.update({v for v, g in values if g == facet})
    return sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:n]


def judge(value: str, facet: str, labels: Labels) -> str:
    """ "ok", "junk" or "unlabelled" for a value shown under ``facet``."""
    if value in labels.junk:
        return "junk"
    entity = labels.form_to_entity.get(value)
    if entity is None:
        return "unlabelled"
    return "ok" if labels.entity_type[entity] == facet else "junk"


def score(
    run: Run, labels: Labels, texts: dict[str, str], models: frozenset[str]
) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for facet in FACETS:
        top = top_values(run, facet)
        verdicts = Counter(judge(v, facet, labels) for v, _ in top)
        forms_per_entity = Counter(
            labels.form_to_entity[v] for v, _ in top if v in labels.form_to_entity
        )
        out[facet] = {
            "junk": verdicts["junk"],
            "unlabelled": verdicts["unlabelled"],
            "size": len(top),
            "split": sum(1 for c in forms_per_entity.values() if c >= 2),
        }
    trump_articles = {name for name, text in texts.items() if _TRUMP.search(text)}
    found = {name for name, values in run.facets.items() if ("Donald Trump", "people") in values}
    out["trump"] = (len(found & trump_articles), len(trump_articles), len(found - trump_articles))
    unread = [
        v
        for name, values in run.facets.items()
        for v, g in values
        if g in FACETS and run.languages.get(name) not in models
    ]
    out["no_model_values"] = len(unread)
    out["non_latin_values"] = sum(
        1
        for values in run.facets.values()
        for v, g in values
        if g in FACETS and _NON_LATIN.search(v)
    )
    out["rates"] = run.rates
    return out


# --------------------------------------------------------------------- output
def _rows(s: dict[str, Any]) -> list[str]:
    rows = []
    for facet in FACETS:
        f = s[facet]
        share = 100 * f["junk"] / max(1, f["size"])
        rows.append(f"{share:.0f}% ({f['junk']}/{f['size']}, {f['unlabelled']} unlabelled)")
    rows += [str(s[f]["split"]) for f in FACETS]
    found, total, extra = s["trump"]
    rows.append(f"{found}/{total}" + (f" (+{extra} without Trump)" if extra else ""))
    rows.append(str(s["no_model_values"]))
    rows.append(str(s["non_latin_values"]))
    rates = s["rates"]
    for step, bare in (("step", "bare"), ("step_wall", "bare_wall")):
        if step in rates:
            ratio = rates[step] / rates[bare]
            rows.append(f"{rates[step]:.2f} / {rates[bare]:.2f} ({ratio:.2f}x)")
        else:
            rows.append("n/a")
    return rows


ROW_NAMES = [
    *(f"junk in top {TOP} {f}" for f in FACETS),
    *(f"entities split in top {TOP} {f}" for f in FACETS),
    '"Donald Trump" finds, of the articles naming Trump',
    "facet values from articles with no model",
    "facet values in a non-Latin script",
    "articles/s (CPU): entities step / bare model",
    "articles/s (wall): entities step / bare model",
]


def print_table(columns: dict[str, dict[str, Any]]) -> None:
    print("| measure | " + " | ".join(columns) + " |")
    print("|---|" + "---|" * len(columns))
    cells = [_rows(s) for s in columns.values()]
    for i, name in enumerate(ROW_NAMES):
        print(f"| {name} | " + " | ".join(c[i] for c in cells) + " |")


def print_draft(run: Run, labels: Labels, articles: list[CleanArticleV1]) -> None:
    """Unlabelled values in each facet's top 50, with where they come from."""
    by_name = {a.source: ner_text(a, MAX_NER_CHARS) for a in articles}
    for facet in FACETS:
        for value, count in top_values(run, facet):
            if judge(value, facet, labels) != "unlabelled":
                continue
            names = [n for n, vs in run.facets.items() if (value, facet) in vs][:3]
            print(f"## {value}  [{facet}:{count}]")
            for name in names:
                text = by_name.get(name, "")
                word = value.split()[-1]
                i = text.find(word)
                print(f"    {name[:6]}: {text[max(0, i - 60) : i + 60]!r}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--before", type=Path, help="snapshot of an earlier run to compare")
    parser.add_argument("--snapshot", type=Path, help="score this snapshot instead of running")
    parser.add_argument("--save-snapshot", type=Path)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--draft", action="store_true", help="print unlabelled top values")
    parser.add_argument("--refresh", action="store_true", help="clean the samples again")
    parser.add_argument("--no-redis", action="store_true", help="skip the Redis registry")
    parser.add_argument(
        "--redis",
        default=EntitySettings().redis_dsn,
        help="Redis for the registry passes (NEWSFLOW_REDIS_URL by default)",
    )
    args = parser.parse_args()

    articles = load_corpus(args.refresh)
    texts = {a.source: ner_text(a, MAX_NER_CHARS) for a in articles}
    labels = load_labels()
    models = PipelineSet().languages
    passes: dict[str, Pass] = {}
    redis = None if args.no_redis or args.snapshot else RedisRegistry(args.redis)
    if args.snapshot:
        run = load_snapshot(args.snapshot)
    else:
        passes = measure(articles, args.repeats, redis)
        run = passes["memory"].registry
    if args.save_snapshot:
        save_snapshot(run, args.save_snapshot)
    if args.draft:
        print_draft(run, labels, articles)
        return
    columns: dict[str, dict[str, Any]] = {}
    if args.before:
        before = load_snapshot(args.before)
        columns["before"] = score(before, labels, texts, models)
    columns["now"] = score(run, labels, texts, models)
    if "memory" in passes:
        columns["now, as first enriched"] = score(passes["memory"].streamed, labels, texts, models)
    if "redis" in passes:
        columns["now, registry in Redis"] = score(passes["redis"].registry, labels, texts, models)
    print(
        f"{len(articles)} sample articles; languages: "
        f"{dict(Counter(a.language for a in articles).most_common())}"
    )
    print_table(columns)
    if "redis" in passes and redis is not None:
        same = passes["redis"].registry.facets == passes["memory"].registry.facets
        print(
            f"\nRedis registry: facets {'identical to' if same else 'DIFFERENT from'} memory's; "
            f"{redis.round_trips / max(1, redis.batches):.1f} round trips per batch of {BATCH}; "
            f"{redis.entities} entities in {redis.memory / 1024:.0f} KiB "
            f"({redis.memory / max(1, redis.entities):.0f} B per entity, all keys)"
        )
        ms = redis.resolution_ms
        print(
            f"resolution alone (NER excluded), wall ms per batch of {BATCH}: "
            f"memory {ms['memory']:.1f}, Redis {ms['redis']:.1f}"
        )


if __name__ == "__main__":
    main()
