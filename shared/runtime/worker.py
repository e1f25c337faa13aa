"""A thin main for a stream stage, in a fixed order: logging, check the
dependencies (wait with retry), build, run (Faust handles SIGTERM by finishing
the batch in hand, committing and exiting), close."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

import faust
from kafka.errors import KafkaError

from shared.contracts.models import Stage
from shared.contracts.topics import TopicSpec
from shared.runtime import metrics
from shared.runtime.article_status import StageName, StatusStore
from shared.runtime.kafka_admin import admin_client
from shared.runtime.logs import configure_logging
from shared.runtime.settings import WorkerSettings
from shared.runtime.streaming import BatchHandler, StageRunner, build_app

log = logging.getLogger(__name__)

READY_CHECK = Callable[[], Any]


def wait_for_topics(settings: WorkerSettings, names: list[str], timeout_s: float = 120) -> None:
    """Block until the broker answers and has the topics (created by
    `newsflow topics create`); fail loudly after `timeout_s`."""
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            admin = admin_client(settings.kafka_servers, client_id="newsflow-worker-check")
            try:
                missing = set(names) - set(admin.list_topics())
            finally:
                admin.close()
            if not missing:
                return
            problem = (
                f"topics missing on the broker: {sorted(missing)} (run `newsflow topics create`)"
            )
        except (KafkaError, OSError) as exc:
            problem = f"Kafka at {settings.kafka_bootstrap} unreachable: {exc}"
        if time.monotonic() > deadline:
            raise SystemExit(f"newsflow: {problem}")
        log.warning("waiting for Kafka", extra={"problem": problem})
        time.sleep(2)


def install_web_routes(app: faust.App, runner: StageRunner, status: StatusStore) -> None:
    """Health, readiness and metrics on the worker's own web port."""

    @app.page("/healthz")
    async def healthz(web: Any, request: Any) -> Any:
        return web.json({"status": "ok", "stage": runner.stage})

    @app.page("/readyz")
    async def readyz(web: Any, request: Any) -> Any:
        redis_ok = await status.ping()
        body = {
            "stage": runner.stage,
            "consuming": runner.ready,
            "last_batch_at": runner.last_batch_at,
            # Redis is optional: without it the stage runs degraded.
            "redis": "ok" if redis_ok else f"degraded: {status.last_error}",
        }
        return web.json(body, status=200 if runner.ready else 503)

    @app.page("/metrics")
    async def metrics_page(web: Any, request: Any) -> Any:
        payload, content_type = metrics.render()
        return web.bytes(payload, content_type=content_type.split(";")[0])


def run_stage(
    *,
    stage: Stage,
    settings: WorkerSettings,
    input_spec: TopicSpec,
    output_spec: TopicSpec | None,
    make_handler: Callable[[faust.App, StatusStore], BatchHandler],
    done_status: StageName,
    web_port: int,
) -> None:
    configure_logging(settings.log_level, service=f"newsflow-{stage}")
    ns = settings.namespace
    needed = [input_spec.full_name(ns), input_spec.full_dlq(ns) or ""]
    if output_spec:
        needed.append(output_spec.full_name(ns))
    wait_for_topics(settings, [n for n in needed if n])

    app = build_app(stage, settings, web_port)
    status = StatusStore.from_url(settings.redis_dsn, ns, settings.status_ttl_s)
    handler = make_handler(app, status)
    runner = StageRunner(
        app=app,
        stage=stage,
        input_spec=input_spec,
        output_spec=output_spec,
        settings=settings,
        handler=handler,
        status=status,
        done_status=done_status,
    )
    install_web_routes(app, runner, status)
    log.info("starting", extra={"stage": stage, "group": app.conf.id, "web_port": web_port})
    worker = faust.Worker(app, loglevel=settings.log_level.lower())
    worker.execute_from_commandline()
