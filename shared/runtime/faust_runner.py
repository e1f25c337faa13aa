"""Runs a :class:`StageDefinition` as a Faust worker: the production edge of
the stream runtime. A thin main in a fixed order: logging, wait for the
broker and the topics, build, run (SIGTERM finishes the batch in hand,
commits and exits), close.

When the engine raises — the dead-letter limit, or an unexpected error while
delivering (a bug) — the process stops at once with a distinct exit code and
without acknowledging the batch, so nothing of it is lost: the supervisor
(services.sh, Docker, Kubernetes) restarts it, and the operator sees why in
the log.
"""

from __future__ import annotations

import asyncio
import logging
import os
import tempfile
import time
from collections.abc import Sequence
from typing import Any, NoReturn

import faust
from faust.types import EventT
from kafka.errors import KafkaError

from shared.runtime import metrics
from shared.runtime.article_status import ArticleStatusStore
from shared.runtime.batches import finish_despite_cancel
from shared.runtime.engine import Outgoing, StageEngine
from shared.runtime.kafka_admin import admin_client
from shared.runtime.logs import configure_logging, logging_config
from shared.runtime.policies import DlqLimitExceeded, DlqPolicy, RetryPolicy
from shared.runtime.settings import WorkerSettings
from shared.runtime.stage import Record, StageDefinition

log = logging.getLogger(__name__)

DLQ_LIMIT_EXIT_CODE = 3
BUG_EXIT_CODE = 4


def build_app(stage: StageDefinition, settings: WorkerSettings, web_port: int) -> faust.App:
    """A Faust app for one stage. Its id is the stage's consumer group, so
    operators scale a stage by starting more workers of it."""
    datadir = os.path.join(tempfile.gettempdir(), f"newsflow-faust-{stage.name}-{os.getpid()}")
    return faust.App(
        stage.group(settings.namespace),
        broker=settings.kafka_broker_url,
        datadir=datadir,
        web_enabled=True,
        web_bind=settings.web_bind,
        web_port=web_port,
        # Only our /healthz, /readyz and /metrics: Faust's own pages (routing
        # to table owners, table contents, stats, graph) serve nothing here
        # and would be open to anyone who reaches the port.
        web_router_enabled=False,
        web_tables_enabled=False,
        web_graph_enabled=False,
        web_stats_enabled=False,
        web_metrics_enabled=False,
        # Topics are created from the registry (`newsflow topics create`), not
        # by whichever worker happens to start first.
        topic_allow_declare=False,
        # No tables, no need for Faust's leader-election topic.
        topic_disable_leader=True,
        consumer_auto_offset_reset="earliest",
        broker_commit_interval=1.0,
        # acks=all: acknowledged once every in-sync replica has it
        # (min.insync.replicas=2 on a cluster). Not idempotent: faust-streaming
        # offers it only with processing_guarantee=exactly_once (avoided, see
        # DESIGN.md), and aiokafka's idempotent producer wedges a partition after
        # one refused batch; outputs are keyed by article_id, so the duplicates
        # of a retried batch are harmless.
        producer_acks=-1,
        producer_max_request_size=8_000_000,
        consumer_max_fetch_size=8_000_000,
        key_serializer="raw",
        value_serializer="raw",
        logging_config=logging_config(settings.log_level, f"newsflow-{stage.name}"),
        worker_redirect_stdouts=False,
    )


def raw_topic(app: faust.App, name: str) -> faust.TopicT:
    return app.topic(
        name, key_type=bytes, value_type=bytes, key_serializer="raw", value_serializer="raw"
    )


class FaustProducer:
    """Sends through the Faust app's producer; returns once all are acknowledged."""

    def __init__(self, app: faust.App) -> None:
        self.app = app
        self._topics: dict[str, faust.TopicT] = {}

    async def send_batch(self, messages: Sequence[Outgoing]) -> None:
        futures = []
        for message in messages:
            if message.topic not in self._topics:
                self._topics[message.topic] = raw_topic(self.app, message.topic)
            topic = self._topics[message.topic]
            futures.append(await topic.send(key=message.key, value=message.value))
        await asyncio.gather(*futures)


def to_record(event: EventT) -> Record:
    m = event.message
    value = m.value if isinstance(m.value, bytes) else bytes(m.value or b"")
    key = m.key if isinstance(m.key, bytes) or m.key is None else None
    return Record(m.topic, m.partition, m.offset, key, value)


class FaustStage:
    """A stage's engine behind a Faust agent, with health and metrics pages."""

    def __init__(
        self, app: faust.App, stage: StageDefinition, settings: WorkerSettings, engine: StageEngine
    ) -> None:
        self.app = app
        self.stage = stage
        self.settings = settings
        self.engine = engine
        self.ready = False
        topic = raw_topic(app, stage.input.full_name(settings.namespace))
        app.agent(topic, name=f"{stage.name}-agent")(self._agent)

    async def _agent(self, stream: faust.StreamT) -> None:
        self.ready = True
        # take_events exists on faust-streaming's Stream but not on its StreamT protocol.
        async for events in stream.take_events(  # type: ignore[attr-defined]
            self.settings.batch_size, within=self.settings.batch_within_s
        ):
            records = [to_record(e) for e in events]
            try:
                await finish_despite_cancel(self.engine.process(records), self.stage.name)
            except DlqLimitExceeded as exc:
                stop_now(DLQ_LIMIT_EXIT_CODE, f"{self.stage.input.name}: {exc}", self.stage.name)
            except Exception:
                log.exception(
                    "unexpected error in the stage runtime", extra={"stage": self.stage.name}
                )
                stop_now(BUG_EXIT_CODE, "unexpected error (a bug): see above", self.stage.name)

    def install_web_routes(self, status: ArticleStatusStore) -> None:
        """Health, readiness and metrics on the worker's own web port."""
        app, stage = self.app, self.stage.name

        @app.page("/healthz")
        async def healthz(web: Any, request: Any) -> Any:
            return web.json({"status": "ok", "stage": stage})

        @app.page("/readyz")
        async def readyz(web: Any, request: Any) -> Any:
            redis_ok = await status.ping()
            body = {
                "stage": stage,
                "consuming": self.ready,
                "last_batch_at": self.engine.last_batch_at,
                # Redis is optional: without it the stage runs degraded.
                "redis": "ok" if redis_ok else f"degraded: {status.last_error}",
            }
            return web.json(body, status=200 if self.ready else 503)

        @app.page("/metrics")
        async def metrics_page(web: Any, request: Any) -> Any:
            payload, content_type = metrics.render()
            return web.bytes(payload, content_type=content_type.split(";")[0])


def stop_now(code: int, reason: str, stage: str) -> NoReturn:
    """Exit without acknowledging the batch in hand: its offsets are not
    committed, so nothing of it is lost when the worker comes back."""
    log.critical(reason, extra={"stage": stage, "exit_code": code})
    logging.shutdown()
    os._exit(code)


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


def run_stage(stage: StageDefinition, web_port: int | None = None) -> None:
    """The main of a stage's worker process."""
    settings = stage.settings()
    port = web_port or settings.web_port
    configure_logging(settings.log_level, service=f"newsflow-{stage.name}")
    wait_for_topics(settings, stage.topics(settings.namespace))
    app = build_app(stage, settings, port)
    status = ArticleStatusStore.from_url(
        settings.redis_dsn, settings.namespace, settings.status_ttl_s
    )
    engine = StageEngine(
        stage=stage,
        namespace=settings.namespace,
        handler=stage.make_handler(settings),
        producer=FaustProducer(app),
        retry=RetryPolicy(settings.retry_initial_backoff_s, settings.retry_max_backoff_s),
        dlq=DlqPolicy(settings.dlq_max_ratio, settings.dlq_window),
        status=status,
    )
    FaustStage(app, stage, settings, engine).install_web_routes(status)
    log.info("starting", extra={"stage": stage.name, "group": app.conf.id, "web_port": port})
    worker = faust.Worker(app, loglevel=settings.log_level.lower())
    worker.execute_from_commandline()
