"""Cost of the stories step: CPU per article and the memory of its state.

    .venv/bin/python bench/stories_cost.py [--articles 10000] [--per-day 10000] [--redis N]

Synthesises articles by recombining dev texts (../shared/eval/stories): each one takes
the sentences of one dev article, shuffled, a few sentences of another article of the
same event and some of a random one, so the stream holds near-copies, same-event
rewrites and unrelated texts, like a news feed. Articles are spread over time at
``--per-day`` a day, so the 7-day window fills and then slides.

Prints, for the in-memory state (pure logic): CPU ms per article (mean and per 10%
slice, to see whether cost grows with the window), tracemalloc size of the state and
process RSS after N articles, and the state's table sizes. With ``--redis N`` it also
runs the first N articles against the real Redis (a throwaway namespace, deleted
afterwards) and prints CPU and wall ms per article and the Redis memory of the keys.
"""

from __future__ import annotations

import argparse
import random
import re
import resource
import sys
import time
import tracemalloc
import uuid
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from services.stories.clustering import StoryClusterer
from services.stories.evaluate import load_jsonl
from services.stories.models import ArticleIn
from services.stories.state import MemoryState, StoryState

DATA = Path(__file__).resolve().parents[2] / "shared" / "eval" / "stories" / "documents.jsonl"
BATCH = 64
T0 = datetime(2024, 1, 1, tzinfo=UTC)
_SENTENCE = re.compile(r"(?<=[.!?])\s+")


def synthesise(count: int, per_day: int, seed: int = 7) -> list[ArticleIn]:
    """``count`` articles recombined from the dev texts, ``per_day`` a day."""
    docs = load_jsonl(DATA)
    by_event: dict[str, list[list[str]]] = defaultdict(list)
    for doc in docs:
        by_event[doc.event].append(_SENTENCE.split(doc.article.text))
    events = sorted(by_event)
    rng = random.Random(seed)
    out = []
    for i in range(count):
        event = rng.choice(events)
        own = list(rng.choice(by_event[event]))
        rng.shuffle(own)
        mate = rng.choice(by_event[event])
        other = rng.choice(by_event[rng.choice(events)])
        sentences = (
            own + rng.sample(mate, min(2, len(mate))) + rng.sample(other, min(2, len(other)))
        )
        when = T0 + timedelta(seconds=i * 86_400 / per_day)
        out.append(
            ArticleIn(
                article_id=f"{i:032x}",
                text=" ".join(sentences),
                title=sentences[0][:120],
                published_at=when,
                received_at=when,
                source=f"site{rng.randrange(500)}.example",
            )
        )
    return out


def rss_mb() -> float:
    """Peak resident set size of this process so far, in MB (Linux: KB units)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_memory(articles: list[ArticleIn]) -> None:
    tracemalloc.start()
    base = tracemalloc.get_traced_memory()[0]
    state = MemoryState()
    clusterer = StoryClusterer(state)
    slices: list[float] = []
    slice_size = max(BATCH, len(articles) // 10)
    cpu_total = 0.0
    for start in range(0, len(articles), slice_size):
        chunk = articles[start : start + slice_size]
        t = time.process_time()
        for b in range(0, len(chunk), BATCH):
            clusterer.process(chunk[b : b + BATCH])
        spent = time.process_time() - t
        cpu_total += spent
        slices.append(spent / len(chunk) * 1000)
    # tracemalloc slows Python down; the per-article figures below include that
    # overhead, so they are an upper bound (see the untraced run in the report).
    state_bytes = tracemalloc.get_traced_memory()[0] - base
    tracemalloc.stop()
    n = len(articles)
    print(f"in-memory state, {n} articles ({n / max(1, _days(articles)):.0f}/day):")
    print(f"  CPU per article (traced): {cpu_total / n * 1000:.2f} ms")
    print(f"  per 10% slice (ms/article): {' '.join(f'{s:.2f}' for s in slices)}")
    print(f"  state memory (tracemalloc): {state_bytes / 2**20:.1f} MB; peak RSS {rss_mb():.0f} MB")
    print(f"  state tables: {state.size()}")


def _days(articles: list[ArticleIn]) -> float:
    first, last = articles[0].published_at, articles[-1].published_at
    assert first is not None and last is not None
    return max(1.0, (last - first).total_seconds() / 86_400)


def run_untraced(articles: list[ArticleIn]) -> None:
    clusterer = StoryClusterer(MemoryState())
    t = time.process_time()
    for b in range(0, len(articles), BATCH):
        clusterer.process(articles[b : b + BATCH])
    print(
        f"  CPU per article (untraced): {(time.process_time() - t) / len(articles) * 1000:.2f} ms"
    )


def run_redis(articles: list[ArticleIn], url: str) -> None:
    import redis

    from services.stories.redis_state import RedisState

    namespace = f"bench-{uuid.uuid4().hex[:8]}-"
    state: StoryState = RedisState.from_url(url, namespace)
    clusterer = StoryClusterer(state)
    client = redis.Redis.from_url(url)
    try:
        t, w = time.process_time(), time.perf_counter()
        for b in range(0, len(articles), BATCH):
            clusterer.process(articles[b : b + BATCH])
        cpu, wall = time.process_time() - t, time.perf_counter() - w
        keys = list(client.scan_iter(match=f"{namespace}*", count=1000))
        used = sum(client.memory_usage(k) or 0 for k in keys)
        n = len(articles)
        print(f"Redis state, {n} articles:")
        print(
            f"  client CPU {cpu / n * 1000:.2f} ms/article, wall {wall / n * 1000:.2f} ms/article"
        )
        print(f"  {len(keys)} keys, {used / 2**20:.1f} MB (MEMORY USAGE), {used / n:.0f} B/article")
    finally:
        keys = list(client.scan_iter(match=f"{namespace}*", count=1000))
        for i in range(0, len(keys), 1000):
            client.delete(*keys[i : i + 1000])
        client.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=10_000)
    parser.add_argument("--per-day", type=int, default=2_000)
    parser.add_argument("--redis", type=int, default=0, help="also run N articles on Redis")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/0")
    args = parser.parse_args()
    articles = synthesise(args.articles, args.per_day)
    run_memory(articles)
    run_untraced(articles[: min(len(articles), 5_000)])
    if args.redis:
        run_redis(articles[: args.redis], args.redis_url)


if __name__ == "__main__":
    main()
