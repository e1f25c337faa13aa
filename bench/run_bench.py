"""Newsflow benchmark (``make bench``): how fast, how close to the limit, how it scales.

Runs on the real local stack (Kafka, Elasticsearch, Redis from ``make up``) in a
throwaway namespace ``bench-<uuid>-`` whose topics, consumer groups, indices and
Redis keys are deleted at the end, and measures, in this order:

1. **Limits**: articles/s of the bare cleaning step and of the bare NER step (the
   worker's own functions, one process, the worker's batch size) on one article of
   each of the 251 samples, NER reading what cleaning produced.
2. **Pipeline throughput**, one worker per stage: first POST to the ingestion API
   (``/v1/articles:batch``) to last article searchable, and its ratio to the NER limit.
3. **POST -> searchable latency** at a steady offered load of half of (2).
4. **Scaling**: (2) again with a second entities worker, and its ratio to (2).
5. **Search**: ``/v1/search`` with all facets over 100,000 synthetic articles,
   beside the same query sent straight to Elasticsearch.
6. **Memory**: peak resident memory (VmHWM) of every worker and API process.

The corpus (``--articles``, 5,000 by default) is split between the two throughput
runs, so every article of it goes through the pipeline once and the runs see the
same mix; see docs/benchmarks.md for why and how to read the figures. Prints one
markdown table and writes ``bench/results/bench.json``. It measures; it asserts
nothing (timings on a shared machine are not test material).
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import platform
import shutil
import signal
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
# Run as a script, only bench/ is on the path; the project may not be installed.
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

import httpx  # noqa: E402 (path set up above)
from _corpus import build_corpus, load_bases  # noqa: E402
from _limits import measure_limits  # noqa: E402
from _pipeline import Pipeline, entity_group_stable, start_profilers  # noqa: E402
from _stack import Services, delete_namespace, listening_pid, wait_until  # noqa: E402
from elasticsearch import Elasticsearch  # noqa: E402

from services.cleaning.settings import CleaningSettings  # noqa: E402
from services.entities.settings import EntitySettings  # noqa: E402
from services.indexer.settings import IndexerSettings  # noqa: E402
from services.stories.settings import StoriesSettings  # noqa: E402
from shared.runtime.settings import (  # noqa: E402
    CommonSettings,
)

RESULTS = REPO / "bench" / "results" / "bench.json"
WARM_UP_ARTICLES = 12
TARGETS = {
    "pipeline_1_over_ner_limit": 0.8,
    "pipeline_2_over_ner_limit": 1.6,
    "latency_p95_s": 2.5,
    "search_api_over_direct_p95": 1.2,
}


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument(
        "--articles",
        type=int,
        default=5000,
        help="corpus size, split between the one- and two-entity-worker runs (default 5000)",
    )
    parser.add_argument(
        "--search-docs", type=int, default=100_000, help="documents in the search index"
    )
    parser.add_argument("--search-queries", type=int, default=200, help="timed search queries")
    parser.add_argument("--skip-search", action="store_true", help="skip the search phase")
    parser.add_argument(
        "--latency-seconds", type=float, default=30, help="how long the steady load is offered"
    )
    parser.add_argument(
        "--latency-rate",
        type=float,
        default=0,
        help="offered articles/s for the latency run (default: half of run 1's throughput)",
    )
    parser.add_argument(
        "--limit-articles",
        type=int,
        default=0,
        help="articles for the bare-step limits (default: one per sample, 251)",
    )
    parser.add_argument(
        "--profile",
        type=Path,
        default=None,
        help="record py-spy profiles (raw collapsed stacks) of every service during the "
        "first throughput run into this folder (needs py-spy in the venv)",
    )
    parser.add_argument(
        "--max-minutes",
        type=float,
        default=14,
        help="wall-time budget: run 2 is cut short (and says so) when a busy machine "
        "would push the bench past it; 0 turns the guard off (default 14)",
    )
    parser.add_argument("--output", type=Path, default=RESULTS)
    parser.add_argument("--keep-logs", action="store_true", help="keep the services' logs")
    return parser.parse_args(argv)


# --------------------------------------------------------------------- context
def _pkg(name: str) -> str | None:
    try:
        return version(name)
    except PackageNotFoundError:
        return None


def machine_info() -> dict[str, Any]:
    meminfo = Path("/proc/meminfo").read_text().splitlines()
    total_kib = int(next(line for line in meminfo if line.startswith("MemTotal")).split()[1])
    model = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    return {
        "cores": os.cpu_count(),
        "memory_gib": round(total_kib / 2**20, 1),
        "cpu": model,
        "kernel": platform.release(),
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
    }


def versions(common: CommonSettings, es: Elasticsearch, model: str) -> dict[str, Any]:
    from kafka import KafkaConsumer

    out: dict[str, Any] = {"python": platform.python_version()}
    try:
        consumer = KafkaConsumer(bootstrap_servers=common.kafka_servers)
        api = consumer.config["api_version"]
        consumer.close()
        out["kafka_api_inferred"] = ".".join(map(str, api))
    except Exception as exc:  # a version we cannot read is recorded, not fatal
        out["kafka_api_inferred"] = repr(exc)
    pom = (REPO / "deploy" / "local" / "pom.xml").read_text()
    marker = "<kafka.version>"
    if marker in pom:
        out["kafka"] = pom.split(marker, 1)[1].split("<", 1)[0]
    nodes = es.nodes.info(node_id="_local", metric="jvm")["nodes"]
    node = next(iter(nodes.values()))
    out["elasticsearch"] = node["version"]
    out["elasticsearch_jvm"] = node.get("jvm", {}).get("version")
    import spacy

    out["spacy"] = spacy.__version__
    out["spacy_model"] = f"{model.replace('_', '-')}=={_pkg(model.replace('_', '-'))}"
    for name in (
        "faust-streaming",
        "aiokafka",
        "kafka-python",
        "elasticsearch",
        "fastapi",
        "uvicorn",
        "pydantic",
        "trafilatura",
    ):
        out[name + ("-client" if name == "elasticsearch" else "")] = _pkg(name)
    return out


def stage_settings() -> dict[str, Any]:
    """The defaults the workers start with (the bench sets none of them)."""
    out: dict[str, Any] = {}
    for name, cls in (
        ("cleaning", CleaningSettings),
        ("entities", EntitySettings),
        ("stories", StoriesSettings),
        ("indexer", IndexerSettings),
    ):
        s = cls()
        out[name] = {"batch_size": s.batch_size, "batch_within_s": s.batch_within_s}
    return out


def server_pids(common: CommonSettings, es: Elasticsearch) -> dict[str, int]:
    """Pids of the shared servers, to read their CPU time (they also serve other
    users of the stack, so their share is an upper bound of ours)."""
    pids: dict[str, int] = {}
    try:
        nodes = es.nodes.info(node_id="_local", metric="process")["nodes"]
        pids["elasticsearch"] = int(next(iter(nodes.values()))["process"]["id"])
    except Exception:
        pass
    kafka_port = int(common.kafka_servers[0].rsplit(":", 1)[1])
    for name, port in (("kafka", kafka_port), ("redis", common.redis_url.port or 6379)):
        pid = listening_pid(port)
        if pid:
            pids[name] = pid
    return pids


# --------------------------------------------------------------------- phases
def run(args: argparse.Namespace) -> dict[str, Any]:
    common = CommonSettings()
    es = Elasticsearch(common.es_url, request_timeout=120)
    base_ns = f"bench-{uuid.uuid4().hex[:8]}-"
    pipe_ns, search_ns = f"{base_ns}pipe-", f"{base_ns}search-"
    log_dir = Path(tempfile.mkdtemp(prefix="newsflow-bench-"))
    api_key = f"bench-{uuid.uuid4().hex}"
    env = {
        **os.environ,
        "NEWSFLOW_KAFKA_BOOTSTRAP": common.kafka_bootstrap,
        "NEWSFLOW_ELASTICSEARCH_URL": common.es_url,
        "NEWSFLOW_REDIS_URL": common.redis_dsn,
        "NEWSFLOW_INGESTION_API_KEYS": api_key,
        "PYTHONUNBUFFERED": "1",
    }
    services = Services({**env, "NEWSFLOW_NAMESPACE": pipe_ns}, log_dir)
    entity_settings = EntitySettings()
    out: dict[str, Any] = {
        "run": {
            "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "namespace": base_ns,
            "arguments": {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()},
            "logs": str(log_dir),
        },
        "machine": machine_info(),
        "versions": versions(common, es, entity_settings.spacy_model),
        "settings": stage_settings(),
    }
    groups = [
        f"{pipe_ns}newsflow-{stage}"
        for stage in ("cleaning", "entities", "stories", "indexer", "relabel")
    ]
    started = time.monotonic()
    try:
        _phases(args, out, common, es, services, pipe_ns, search_ns, api_key)
    except BaseException as exc:
        out["error"] = f"{type(exc).__name__}: {exc}"
        print(f"bench failed: {out['error']}\nlogs kept in {log_dir}", file=sys.stderr)
        args.keep_logs = True
        if not isinstance(exc, Exception):
            raise
    finally:
        services.stop_all()
        out["memory_mib"] = {
            s.name: {
                "peak": round(s.peak.get("VmHWM", 0) / 1024),
                "last_rss": round(s.peak.get("VmRSS", 0) / 1024),
            }
            for s in services.all
        }
        problems = delete_namespace(
            base_ns,
            [pipe_ns, search_ns],
            common.kafka_bootstrap,
            common.es_url,
            common.redis_dsn,
            groups,
        )
        out["run"]["cleanup_problems"] = problems
        out["run"]["wall_seconds"] = round(time.monotonic() - started, 1)
        es.close()
        if not args.keep_logs:
            shutil.rmtree(log_dir, ignore_errors=True)
            out["run"]["logs"] = None
    return out


def _phases(
    args: argparse.Namespace,
    res: dict[str, Any],
    common: CommonSettings,
    es: Elasticsearch,
    services: Services,
    pipe_ns: str,
    search_ns: str,
    api_key: str,
) -> None:
    """Run the phases in order, filling ``res`` as they complete (a failure
    half-way still reports what was measured)."""
    from shared.runtime.kafka_admin import admin_client, create_topics

    bases = load_bases()
    half = max(args.articles // 2, 1)
    corpus = build_corpus(bases, 2 * half, "run")
    limit_count = args.limit_articles or len(bases)
    res["corpus"] = {
        "articles": len(corpus),
        "per_throughput_run": half,
        "samples": len(bases),
        "html": sum(a.kind == "html" for a in corpus),
        "text": sum(a.kind == "text" for a in corpus),
        "mib": round(sum(len(a.ndjson_line()) for a in corpus) / 2**20),
    }
    say(f"corpus: {len(corpus)} articles from {len(bases)} samples, {res['corpus']['mib']} MiB")

    # 1. limits ---------------------------------------------------------------
    say(f"limits: bare cleaning and NER on {limit_count} articles (one per sample)")
    limits = measure_limits(corpus[:limit_count])
    res["limits"] = {
        "cleaning": limits.cleaning,
        "ner": limits.ner,
        "per_article_ms": limits.per_article_ms,
        "spacy_parts_ms": limits.spacy_parts_ms,
    }
    ner_limit = float(limits.ner["articles_per_s"])
    say(
        f"  cleaning {limits.cleaning['articles_per_s']}/s, NER {ner_limit}/s "
        f"(model load {limits.ner['model_load_s']} s)"
    )

    # 2. pipeline, one worker per stage ---------------------------------------
    admin = admin_client(common.kafka_servers, client_id="newsflow-bench")
    try:
        create_topics(admin, pipe_ns)
    finally:
        admin.close()
    ingestion = services.start_api("ingestion")
    workers = [
        services.start_worker(s) for s in ("cleaning", "entities", "stories", "indexer", "relabel")
    ]
    services.wait_ready([ingestion, *workers])
    pipeline = Pipeline(pipe_ns, ingestion, services, api_key, es, common.kafka_bootstrap)
    pipeline.extra_pids = server_pids(common, es)
    warm = pipeline.warm_up(build_corpus(bases, WARM_UP_ARTICLES, "warm1"))
    say(f"pipeline up (warm-up {warm:.1f} s); run 1: {half} articles, one entities worker")
    profile: Callable[[], Callable[[], None]] | None = None
    if args.profile:
        profile_dir: Path = args.profile
        profile = lambda: start_profilers(services.all, profile_dir)  # noqa: E731 (short closure)
    p1 = pipeline.throughput(corpus[:half], profile)
    p1["over_ner_limit"] = round(p1["articles_per_s"] / ner_limit, 2)
    p1["over_ner_limit_cpu"] = round(p1["articles_per_s"] / limits.ner["articles_per_cpu_s"], 2)
    p1["entities_efficiency"] = _efficiency(p1, limits.ner)
    res["pipeline_1"] = p1
    say(f"  {p1['articles_per_s']}/s = {p1['over_ner_limit']} x NER limit")

    # 3. latency at half load -----------------------------------------------
    rate = args.latency_rate or p1["articles_per_s"] / 2
    count = max(20, round(rate * args.latency_seconds))
    say(f"latency: {count} articles at {rate:.2f}/s")
    lat = pipeline.latency(build_corpus(bases, count, "latency"), rate)
    res["latency"] = lat
    say(f"  POST->searchable {lat['post_to_searchable_s']}")

    # 4. scaling: a second entities worker ------------------------------------
    second = services.start_worker("entities", name="entities-2")
    services.wait_ready([second])
    wait_until(
        lambda: entity_group_stable(common.kafka_bootstrap, f"{pipe_ns}newsflow-entities", 2),
        120,
        "the entities group to settle with two members",
        every=1,
    )
    pipeline.warm_up(build_corpus(bases, WARM_UP_ARTICLES, "warm2"))
    run2 = _run2_size(args, half, p1["articles_per_s"])
    if run2 < half:
        res["run"]["budget_note"] = (
            f"run 2 cut to {run2} of {half} articles to end within --max-minutes "
            f"{args.max_minutes:g} (run 1 went at {p1['articles_per_s']}/s)"
        )
        say(res["run"]["budget_note"])
    say(f"run 2: {run2} articles, two entities workers")
    p2 = pipeline.throughput(corpus[half : half + run2])
    p2["over_pipeline_1"] = round(p2["articles_per_s"] / p1["articles_per_s"], 2)
    p2["over_ner_limit"] = round(p2["articles_per_s"] / ner_limit, 2)
    p2["over_ner_limit_cpu"] = round(p2["articles_per_s"] / limits.ner["articles_per_cpu_s"], 2)
    p2["entities_efficiency"] = _efficiency(p2, limits.ner)
    res["pipeline_2"] = p2
    pipeline.close()
    say(f"  {p2['articles_per_s']}/s = {p2['over_pipeline_1']} x run 1")
    for service in list(services.all):
        service.stop()  # free the cores before the search phase; VmHWM is kept

    # 5. search -----------------------------------------------------------------
    if args.skip_search:
        res["search"] = {"skipped": True}
    else:
        res["search"] = _search_phase(args, common, es, services, search_ns, limits)


# What the search phase needs after run 2 (index load, API start, queries) and
# the final cleanup, measured on the 2-core machine with some margin.
SEARCH_PHASE_S = 170.0
CLEANUP_S = 20.0
MIN_RUN2_ARTICLES = 500


def _run2_size(args: argparse.Namespace, half: int, run1_rate: float) -> int:
    """Articles for run 2: its half of the corpus, unless the machine is so busy
    (other people's jobs share the cores) that the bench would overrun
    ``--max-minutes``; then as many as fit at run 1's pace (two workers are never
    slower than one on a machine to themselves), but at least 500."""
    if args.max_minutes <= 0:
        return half
    left = args.max_minutes * 60 - (time.monotonic() - _STARTED) - CLEANUP_S
    if not args.skip_search:
        left -= SEARCH_PHASE_S
    fits = int(max(left, 0) * run1_rate)
    return max(min(half, fits), min(half, MIN_RUN2_ARTICLES))


def _efficiency(run: dict[str, Any], ner: dict[str, Any]) -> dict[str, float]:
    """Split the gap to the NER limit in two: throughput / NER limit (CPU) is
    (share of cores the entities workers got) x (bare NER CPU per article /
    the workers' CPU per article). The second factor is what the stage adds to
    NER (stream, messages, Kafka, Redis); the first is CPU contention."""
    bare_ms = 1000 / ner["articles_per_cpu_s"]
    worker_ms = sum(v for k, v in run["cpu_ms_per_article"].items() if k.startswith("entities"))
    return {
        "entities_cores": run["entities_cores"],
        "bare_ner_cpu_ms_per_article": round(bare_ms, 1),
        "worker_cpu_ms_per_article": round(worker_ms, 1),
        "ner_share_of_worker_cpu": round(bare_ms / worker_ms, 2) if worker_ms else 0.0,
    }


def _search_phase(
    args: argparse.Namespace,
    common: CommonSettings,
    es: Elasticsearch,
    services: Services,
    search_ns: str,
    limits: Any,
) -> dict[str, Any]:
    import _search

    try:
        # Only checks that the search API is there (the module name would
        # shadow the `services` argument if imported with `import`).
        importlib.import_module("services.search.app")
    except ImportError as exc:
        return {"skipped": True, "reason": f"search API not importable: {exc}"}
    m = _search.material(limits.cleaned, limits.entities)
    say(f"search: loading {args.search_docs} synthetic documents")
    loaded = _search.load_index(es, common.es_url, search_ns, m, args.search_docs)
    say(f"  {loaded['documents']} documents in {loaded['load_seconds']} s")
    api = services.start_api(
        "search", {"NEWSFLOW_NAMESPACE": search_ns, "NEWSFLOW_SEARCH_CACHE_TTL_S": "0"}
    )
    services.wait_ready([api])
    wait_until(
        lambda: httpx.get(api.url + "/readyz", timeout=5).status_code == 200,
        60,
        "the search API ready",
    )
    say(f"  {args.search_queries} queries, API and direct")
    stop_profile = start_profilers([api], args.profile) if args.profile else None
    measured = _search.measure(api.url, common.es_url, search_ns, m, args.search_queries)
    if stop_profile:
        stop_profile()
    api.stop()
    return {"index": loaded, "settings": {"cache_ttl_s": 0}, **measured}


_STARTED = time.monotonic()


def say(message: str) -> None:
    """Progress on stderr, so stdout keeps only the report."""
    print(f"[{time.monotonic() - _STARTED:5.0f}s] {message}", file=sys.stderr, flush=True)


# --------------------------------------------------------------------- report
def targets(out: dict[str, Any]) -> dict[str, Any]:
    checks: dict[str, Any] = {}
    p1, p2 = out.get("pipeline_1", {}), out.get("pipeline_2", {})
    lat, search = out.get("latency", {}), out.get("search", {})
    if "over_ner_limit" in p1:
        value = p1["over_ner_limit"]
        checks["pipeline_1_over_ner_limit"] = {
            "value": value,
            "target": ">= 0.8",
            "met": value >= 0.8,
        }
    if "over_ner_limit" in p2:
        value = p2["over_ner_limit"]
        checks["pipeline_2_over_ner_limit"] = {
            "value": value,
            "target": ">= 1.6",
            "met": value >= 1.6,
        }
    p95 = lat.get("post_to_searchable_s", {}).get("p95")
    if p95 is not None:
        checks["latency_p95_s"] = {"value": p95, "target": "<= 2.5", "met": p95 <= 2.5}
    ratio = search.get("api_over_direct", {}).get("p95")
    if ratio is not None:
        checks["search_api_over_direct_p95"] = {
            "value": ratio,
            "target": "<= 1.2",
            "met": ratio <= 1.2,
        }
    return checks


def _pct(p: dict[str, Any], unit: str = "s", scale: float = 1.0, digits: int = 2) -> str:
    if not p or p.get("p50") is None:
        return "n/a"
    return " / ".join(f"{p[k] * scale:.{digits}f}" for k in ("p50", "p95", "p99")) + f" {unit}"


def table(out: dict[str, Any]) -> str:
    rows: list[tuple[str, str, str]] = []
    limits = out.get("limits", {})
    ner, cleaning = limits.get("ner", {}), limits.get("cleaning", {})
    if ner:
        rows.append(
            (
                "1. NER limit (bare step, 1 process)",
                f"{ner['articles_per_s']:.1f} articles/s",
                f"batch {ner['batch_size']}, {ner['chars_per_article']:,} chars/article, "
                f"{ner['articles']} articles",
            )
        )
    if cleaning:
        rows.append(
            (
                "1. cleaning limit (bare step, 1 process)",
                f"{cleaning['articles_per_s']:.1f} articles/s",
                f"html {cleaning['html_per_s']}/s, scraped text {cleaning['text_per_s']}/s",
            )
        )
    checks = out.get("targets", {})

    def mark(key: str) -> str:
        check = checks.get(key)
        return "" if check is None else (" (met)" if check["met"] else " (missed)")

    p1 = out.get("pipeline_1")
    if p1:
        rows.append(
            (
                "2. pipeline, 1 worker per stage",
                f"{p1['articles_per_s']:.1f} articles/s",
                f"{p1['over_ner_limit']:.2f} x NER limit, target >= 0.8"
                f"{mark('pipeline_1_over_ner_limit')}; "
                f"{p1['searchable']} articles in {p1['seconds']:.0f} s",
            )
        )
    p2 = out.get("pipeline_2")
    if p2:
        rows.append(
            (
                "3. pipeline, 2 entities workers",
                f"{p2['articles_per_s']:.1f} articles/s",
                f"{p2['over_pipeline_1']:.2f} x run 1; {p2['over_ner_limit']:.2f} x NER limit, "
                f"target >= 1.6{mark('pipeline_2_over_ner_limit')}",
            )
        )
    lat = out.get("latency")
    if lat:
        rows.append(
            (
                f"4. POST -> searchable at {lat['offered_per_s']:.1f}/s (p50/p95/p99)",
                _pct(lat["post_to_searchable_s"]),
                f"p95 target <= 2.5 s{mark('latency_p95_s')}; {lat['searchable']} articles",
            )
        )
    search = out.get("search", {})
    if search.get("api_ms"):
        docs = search["index"]["documents"]
        rows.append(
            (
                f"5. /v1/search, all facets, {docs:,} docs (p50/p95/p99)",
                _pct(search["api_ms"], "ms", digits=1),
                f"{search['queries']} queries, cache off",
            )
        )
        rows.append(
            (
                "5. same query direct to Elasticsearch",
                _pct(search["direct_es_ms"], "ms", digits=1),
                f"API / direct p95 = {search['api_over_direct']['p95']:.2f}, "
                f"target <= 1.2{mark('search_api_over_direct_p95')}",
            )
        )
    elif search:
        rows.append(("5. search", "skipped", search.get("reason", "--skip-search")))
    for name, mem in out.get("memory_mib", {}).items():
        rows.append((f"6. peak RSS {name}", f"{mem['peak']} MiB", "VmHWM"))
    head = "| measure | value | notes |\n|---|---|---|\n"
    return head + "\n".join(f"| {a} | {b} | {c} |" for a, b, c in rows)


def _stop_on_signal(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    # SIGTERM (and SIGINT, which a shell leaves ignored for background jobs)
    # must unwind through the cleanup: stop the services, delete the namespace.
    signal.signal(signal.SIGTERM, _stop_on_signal)
    signal.signal(signal.SIGINT, _stop_on_signal)
    started = time.monotonic()
    out = run(args)
    out["targets"] = targets(out)
    out["run"]["wall_seconds"] = round(time.monotonic() - started, 1)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(out, indent=2, ensure_ascii=False) + "\n")
    machine, vers = out["machine"], out["versions"]
    print(
        f"\nNewsflow bench, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC: {machine['cores']} cores, "
        f"{machine['memory_gib']} GiB, load {machine['load_average_at_start']} at start; "
        f"Python {vers['python']}, Kafka {vers.get('kafka')}, Elasticsearch "
        f"{vers['elasticsearch']}, spaCy {vers['spacy']}, {vers['spacy_model']}\n"
    )
    print(table(out))
    if out["run"].get("budget_note"):
        print(f"\nnote: {out['run']['budget_note']}")
    print(f"\nwall time {out['run']['wall_seconds']:.0f} s; results in {args.output}")
    if out.get("error"):
        print(f"INCOMPLETE: {out['error']}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
