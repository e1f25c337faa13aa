"""Webhook attempts, apart from the stream: retries never hold up a batch.

The ``webhooks`` stage only records each match (feed entry, webhook job in
Redis) and moves on; this dispatcher takes due jobs from Redis and sends
them, many at once (``max_in_flight``), a few per subscription at most
(``per_subscription_in_flight``), so that one slow or failing receiver
delays nobody else. A failed attempt is retried later with exponential
backoff; after ``max_attempts`` the match goes to the dead-letter topic of
``subscriptions.matched`` with the reason; ``pause_after_failures`` failed
requests in a row pause the subscription, with the reason shown by
``GET /v1/subscriptions/{id}``.

It runs in a thread of the webhooks worker with its own event loop and
clients, started with the stage's handler, so that jobs left by a stopped
worker are taken up at start even when no new match arrives.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from collections import Counter
from collections.abc import Callable
from datetime import datetime
from typing import Protocol

import orjson
from aiokafka import AIOKafkaProducer
from redis.asyncio import Redis
from redis.exceptions import RedisError

from services.subscriptions import metrics
from services.subscriptions.delivery import Job, JobQueue, WebhookSender, backoff_s, signed_headers
from services.subscriptions.models import Subscription
from services.subscriptions.settings import WebhooksSettings
from services.subscriptions.store import SubscriptionStore
from shared.contracts.models import DeadLetterV1
from shared.contracts.topics import MATCHED
from shared.runtime.addresses import AddressPolicy
from shared.runtime.netguard import Resolver

log = logging.getLogger(__name__)


class DeadLetterSink(Protocol):
    async def send(self, letter: DeadLetterV1) -> None: ...


class KafkaDeadLetters:
    """Dead letters to ``subscriptions.matched.dlq``, by the dispatcher's own producer."""

    def __init__(self, settings: WebhooksSettings) -> None:
        self.topic = MATCHED.full_dlq(settings.namespace) or ""
        self.bootstrap = settings.kafka_bootstrap
        self._producer: AIOKafkaProducer | None = None

    async def send(self, letter: DeadLetterV1) -> None:
        if self._producer is None:
            producer = AIOKafkaProducer(bootstrap_servers=self.bootstrap, acks="all")
            await producer.start()
            self._producer = producer
        key = letter.key.encode() if letter.key else None
        await self._producer.send_and_wait(self.topic, letter.model_dump_json().encode(), key=key)

    async def close(self) -> None:
        if self._producer is not None:
            await self._producer.stop()


class DeliveryWorker:
    """Takes due jobs and runs their attempts."""

    def __init__(
        self,
        settings: WebhooksSettings,
        store: SubscriptionStore,
        queue: JobQueue,
        sender: WebhookSender,
        letters: DeadLetterSink,
    ) -> None:
        self.settings = settings
        self.store = store
        self.queue = queue
        self.sender = sender
        self.letters = letters
        self.per_subscription: Counter[str] = Counter()
        self.tasks: set[asyncio.Task[None]] = set()
        self.on_free: Callable[[], None] | None = None
        # A subscription read at most once a second per worker: at hundreds
        # of deliveries a second, one GET per attempt is most of the work.
        self._subs: dict[str, tuple[float, Subscription | None]] = {}
        self._depth_at = float("-inf")

    async def tick(self) -> int:
        """Start the attempts that are due and fit the limits; returns how many."""
        now = time.time()
        free = self.settings.max_in_flight - len(self.tasks)
        if free <= 0:
            return 0
        jobs = await self.queue.claim(now, free, self.settings.lease_s)
        started = 0
        for job in jobs:
            sid = job.subscription_id
            if self.per_subscription[sid] >= self.settings.per_subscription_in_flight:
                # Not now: give it back rather than hold it past its lease.
                await self.queue.retry_at(job, now + self.settings.tick_s)
                continue
            self.per_subscription[sid] += 1
            task = asyncio.create_task(self._attempt(job))
            self.tasks.add(task)
            task.add_done_callback(self._done(sid))
            started += 1
        if time.monotonic() - self._depth_at >= 1.0:  # a gauge: once a second is plenty
            self._depth_at = time.monotonic()
            metrics.QUEUE_DEPTH.set(await self.queue.depth())
        return started

    def _done(self, sid: str) -> Callable[[asyncio.Task[None]], None]:
        def done(task: asyncio.Task[None]) -> None:
            self.tasks.discard(task)
            self.per_subscription[sid] -= 1
            if self.per_subscription[sid] <= 0:
                del self.per_subscription[sid]
            if not task.cancelled() and task.exception() is not None:
                log.error("webhook attempt failed unexpectedly", exc_info=task.exception())
            if self.on_free is not None:
                self.on_free()

        return done

    async def drain(self) -> None:
        while self.tasks:
            await asyncio.gather(*list(self.tasks), return_exceptions=True)

    async def _subscription(self, sid: str) -> Subscription | None:
        cached = self._subs.get(sid)
        if cached is not None and time.monotonic() - cached[0] < 1.0:
            return cached[1]
        sub = await self.store.get(sid)
        if len(self._subs) > 10_000:
            self._subs.clear()
        self._subs[sid] = (time.monotonic(), sub)
        return sub

    async def _attempt(self, job: Job) -> None:
        sub = await self._subscription(job.subscription_id)
        if sub is None or not sub.webhook_url:
            # Deleted, or its webhook removed, since the match.
            await self.queue.finish(job, delivered=False)
            return
        if sub.paused:
            reason = f"subscription paused: {sub.paused_reason or 'by its owner'}"
            await self._dead_letter(job, reason, "SubscriptionPaused")
            return
        job = job.model_copy(update={"attempts": job.attempts + 1})
        body = job.value.encode()
        headers = signed_headers(sub.webhook_secret, body, job.id, job.attempts, time.time())
        outcome = await self.sender.send(sub.webhook_url, headers, body)
        metrics.ATTEMPTS.labels(metrics.outcome_label(outcome.status, outcome.error)).inc()
        if outcome.ok:
            sid = job.subscription_id
            # One round trip: the job done and the subscription's state.
            await self.queue.finish(
                job, delivered=True, also=lambda pipe: self.store.record_success(sid, pipe)
            )
            metrics.DELIVERY_LATENCY.observe(_age(job.value))
            return
        await self._failed(job, outcome.error or "failed")

    async def _failed(self, job: Job, error: str) -> None:
        failures = await self.store.record_failure(job.subscription_id, error)
        paused = failures >= self.settings.pause_after_failures
        if paused:
            self._subs.pop(job.subscription_id, None)
            reason = (
                f"webhook failed {failures} times in a row (last: {error}); "
                "resume the subscription to deliver again"
            )
            await self.store.set_paused(job.subscription_id, True, reason)
            metrics.AUTO_PAUSES.inc()
            log.warning("subscription paused", extra={"subscription": job.subscription_id})
        if paused or job.attempts >= self.settings.max_attempts:
            reason = f"webhook not delivered after {job.attempts} attempt(s); last error: {error}"
            await self._dead_letter(job, reason, "WebhookFailed")
            return
        delay = backoff_s(
            job.attempts, self.settings.backoff_initial_s, self.settings.backoff_max_s
        )
        await self.queue.retry_at(job, time.time() + delay)

    async def _dead_letter(self, job: Job, reason: str, error_type: str) -> None:
        letter = DeadLetterV1.from_bytes(
            stage="webhooks",
            reason=reason,
            error_type=error_type,
            topic=job.topic,
            partition=job.partition,
            offset=job.offset,
            key=job.key,
            value=job.value.encode(),
        )
        try:
            await self.letters.send(letter)
        except Exception:  # Kafka down: keep the job, try again shortly
            log.warning("could not dead-letter a webhook job; keeping it", exc_info=True)
            await self.queue.retry_at(job, time.time() + 5.0)
            return
        metrics.DEAD_LETTERS.labels(error_type).inc()
        await self.queue.finish(job, delivered=False)


def _age(record: str) -> float:
    try:
        indexed = datetime.fromisoformat(orjson.loads(record)["indexed_at"])
    except (ValueError, KeyError, TypeError):
        return 0.0
    return max(0.0, time.time() - indexed.timestamp())


class Dispatcher:
    """The delivery loop, in its own thread; `wake()` is safe from any thread."""

    def __init__(self, settings: WebhooksSettings, resolver: Resolver | None = None) -> None:
        self.settings = settings
        self.resolver = resolver
        self._loop: asyncio.AbstractEventLoop | None = None
        self._wakeup: asyncio.Event | None = None
        self._started = threading.Event()

    def start(self) -> None:
        thread = threading.Thread(target=self._main, name="webhook-dispatcher", daemon=True)
        thread.start()
        self._started.wait(10)

    def wake(self) -> None:
        if self._loop is not None and self._wakeup is not None:
            self._loop.call_soon_threadsafe(self._wakeup.set)

    def _main(self) -> None:
        asyncio.run(self.run())

    async def run(self) -> None:
        settings = self.settings
        self._loop, self._wakeup = asyncio.get_running_loop(), asyncio.Event()
        self._started.set()
        redis = Redis.from_url(settings.redis_dsn)
        worker = DeliveryWorker(
            settings,
            SubscriptionStore(redis, settings.namespace),
            JobQueue(redis, settings.namespace, settings.delivered_ttl_s),
            WebhookSender(
                AddressPolicy(tuple(settings.allowed_networks)),
                user_agent=settings.user_agent,
                timeout_s=settings.timeout_s,
                connect_timeout_s=settings.connect_timeout_s,
                max_connections=settings.max_in_flight,
                resolver=self.resolver,
            ),
            KafkaDeadLetters(settings),
        )
        worker.on_free = self._wakeup.set
        while True:
            await self._step(worker)

    async def _step(self, worker: DeliveryWorker) -> None:
        assert self._wakeup is not None
        # Cleared before looking: a wake-up during the tick is not lost.
        self._wakeup.clear()
        wait = self.settings.tick_s
        try:
            await worker.tick()
            due = await worker.queue.next_due()
            if due is not None:
                # Due already but no free slot: look again soon, not in a busy loop.
                wait = min(wait, max(0.05, due - time.time()))
        except (RedisError, OSError) as exc:
            log.warning("webhook queue unreachable", extra={"error": repr(exc)})
            wait = max(wait, 2.0)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wakeup.wait(), timeout=wait)
