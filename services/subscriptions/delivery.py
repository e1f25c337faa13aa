"""Webhook deliveries: signing, sending, and the Redis queue of attempts.

Signature (documented for receivers in the API description):

* ``X-Newsflow-Timestamp``: Unix seconds when the request was signed;
* ``X-Newsflow-Signature``: ``v1=`` + hex HMAC-SHA256, keyed with the
  subscription's webhook secret, over ``"<timestamp>." + body``. A receiver
  recomputes it, compares in constant time and refuses old timestamps
  (:func:`verify_signature`), which stops replays of a captured request;
* ``X-Newsflow-Delivery``: ``<subscription id>:<article id>``, the same for
  every attempt of one match: receivers deduplicate on it.

The body is the ``subscriptions.matched`` record itself (one match record
feeds Kafka, the webhook and the feed).

Requests go through the guarded transport of ``shared.runtime.netguard``
with the feed poller's address rules: the name is resolved once, every
address checked, and the socket opened to a checked address; no proxy, no
redirect followed (a redirect could lead anywhere), the response body is
never read (a receiver cannot make us download anything).

The queue (Redis, namespace prefix): ``subs:webhooks:due`` (zset job ->
when it is due), ``subs:webhooks:job:{sub}:{article}`` (the job),
``subs:pending:{sub}`` (a subscription's pending jobs) and
``subs:delivered:{sub}:{article}`` (delivered: never again, whatever replays).
"""

from __future__ import annotations

import hashlib
import hmac
import random
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, cast

import httpx
from pydantic import BaseModel
from redis.asyncio import Redis

from shared.runtime.addresses import AddressPolicy
from shared.runtime.netguard import AddressRefused, GuardedBackend, GuardedTransport, Resolver

SIGNATURE_HEADER = "X-Newsflow-Signature"
TIMESTAMP_HEADER = "X-Newsflow-Timestamp"
DELIVERY_HEADER = "X-Newsflow-Delivery"
SIGNATURE_TOLERANCE_S = 300


def signature(secret: str, timestamp: int, body: bytes) -> str:
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return "v1=" + mac.hexdigest()


def signed_headers(
    secret: str, body: bytes, delivery: str, attempt: int, now: float
) -> dict[str, str]:
    timestamp = int(now)
    return {
        "Content-Type": "application/json",
        TIMESTAMP_HEADER: str(timestamp),
        SIGNATURE_HEADER: signature(secret, timestamp, body),
        DELIVERY_HEADER: delivery,
        "X-Newsflow-Attempt": str(attempt),
    }


def verify_signature(
    secret: str,
    body: bytes,
    timestamp: str | None,
    given: str | None,
    now: float | None = None,
    tolerance_s: int = SIGNATURE_TOLERANCE_S,
) -> bool:
    """What a receiver does: the signature matches and is recent."""
    if not timestamp or not given or not timestamp.isdigit():
        return False
    if abs((time.time() if now is None else now) - int(timestamp)) > tolerance_s:
        return False
    return hmac.compare_digest(signature(secret, int(timestamp), body), given)


def backoff_s(
    attempts: int, initial_s: float, max_s: float, rng: random.Random | None = None
) -> float:
    """Delay before the next try after `attempts` failed ones: doubling from
    `initial_s` up to `max_s`, ±20 % jitter so that receivers coming back are
    not hit by every retry at once."""
    base = min(max_s, initial_s * 2 ** max(0, attempts - 1))
    return base * (rng or random).uniform(0.8, 1.2)


# ---------------------------------------------------------------- sending
@dataclass(frozen=True)
class Outcome:
    ok: bool
    error: str | None = None
    status: int | None = None


class WebhookSender:
    """POSTs signed bodies through the guarded transport."""

    def __init__(
        self,
        policy: AddressPolicy,
        *,
        user_agent: str,
        timeout_s: float,
        connect_timeout_s: float,
        max_connections: int,
        resolver: Resolver | None = None,
    ) -> None:
        limits = httpx.Limits(max_connections=max_connections)
        self.client = httpx.AsyncClient(
            transport=GuardedTransport(GuardedBackend(policy, resolver), limits),
            timeout=httpx.Timeout(timeout_s, connect=connect_timeout_s),
            follow_redirects=False,
            headers={"User-Agent": user_agent},
        )

    async def send(self, url: str, headers: dict[str, str], body: bytes) -> Outcome:
        try:
            async with self.client.stream("POST", url, content=body, headers=headers) as response:
                status = response.status_code
        except AddressRefused:
            return Outcome(False, "address not allowed")
        except httpx.TimeoutException:
            return Outcome(False, "timed out")
        except httpx.HTTPError as exc:
            return Outcome(False, f"request failed: {type(exc).__name__}")
        if 200 <= status < 300:
            return Outcome(True, status=status)
        if 300 <= status < 400:
            return Outcome(False, f"HTTP {status} (redirects are not followed)", status)
        return Outcome(False, f"HTTP {status}", status)

    async def close(self) -> None:
        await self.client.aclose()


# ---------------------------------------------------------------- the queue
class Job(BaseModel):
    """One match to deliver, with what a dead letter needs."""

    subscription_id: str
    article_id: str
    attempts: int = 0
    first_at: float
    topic: str
    partition: int
    offset: int
    key: str | None
    value: str  # the subscriptions.matched record (UTF-8 JSON)

    @property
    def id(self) -> str:
        return f"{self.subscription_id}:{self.article_id}"


# Enqueue once: not if delivered already, not if already pending.
_ENQUEUE = """
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
if redis.call('SET', KEYS[2], ARGV[2], 'NX') == false then return 0 end
redis.call('ZADD', KEYS[3], ARGV[3], ARGV[1])
redis.call('SADD', KEYS[4], ARGV[1])
return 1
"""
# Take due jobs, moving each one's due time past its lease: a worker that
# dies with it in hand leaves it to be taken again when the lease ends.
_CLAIM = """
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, ARGV[2])
for _, id in ipairs(due) do redis.call('ZADD', KEYS[1], ARGV[3], id) end
return due
"""


class JobQueue:
    """The webhook jobs of one namespace."""

    def __init__(self, redis: Redis, namespace: str, delivered_ttl_s: int) -> None:
        self.redis = redis
        self.prefix = f"{namespace}subs:"
        self.due = self.prefix + "webhooks:due"
        self.delivered_ttl_s = delivered_ttl_s
        self._enqueue = redis.register_script(_ENQUEUE)
        self._claim = redis.register_script(_CLAIM)

    def _job_key(self, job_id: str) -> str:
        return f"{self.prefix}webhooks:job:{job_id}"

    def _delivered_key(self, job_id: str) -> str:
        return f"{self.prefix}delivered:{job_id}"

    def _pending_key(self, sid: str) -> str:
        return f"{self.prefix}pending:{sid}"

    def _enqueue_keys(self, job: Job) -> list[str]:
        keys = [self._delivered_key(job.id), self._job_key(job.id), self.due]
        return [*keys, self._pending_key(job.subscription_id)]

    async def enqueue(self, job: Job, due: float) -> bool:
        return (await self.enqueue_many([job], due))[0]

    async def enqueue_many(self, jobs: Sequence[Job], due: float) -> list[bool]:
        """Queue each job once (not if delivered or pending already): one
        round trip for a batch; True for those queued now."""
        if not jobs:
            return []
        async with self.redis.pipeline(transaction=False) as pipe:
            for job in jobs:
                args: list[str | float] = [job.id, job.model_dump_json(), due]
                await self._enqueue(keys=self._enqueue_keys(job), args=args, client=pipe)
            answers = await pipe.execute()
        return [bool(a) for a in answers]

    async def claim(self, now: float, limit: int, lease_s: float) -> list[Job]:
        ids = await self._claim(keys=[self.due], args=[now, limit, now + lease_s])
        if not ids:
            return []
        raw = await self.redis.mget([self._job_key(_text(i)) for i in ids])
        jobs = [Job.model_validate_json(r) for r in raw if r]
        missing = [_text(i) for i, r in zip(ids, raw, strict=True) if not r]
        if missing:  # finished by another worker meanwhile
            await self.redis.zrem(self.due, *missing)
        return jobs

    async def retry_at(self, job: Job, due: float) -> None:
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.set(self._job_key(job.id), job.model_dump_json(), xx=True)
            pipe.zadd(self.due, {job.id: due}, xx=True)
            await pipe.execute()

    async def finish(
        self, job: Job, delivered: bool, also: Callable[[Any], Awaitable[None]] | None = None
    ) -> None:
        """The job is done; `also` adds the caller's own writes to the same
        round trip (the subscription's delivery state)."""
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.delete(self._job_key(job.id))
            pipe.zrem(self.due, job.id)
            pipe.srem(self._pending_key(job.subscription_id), job.id)
            if delivered:
                pipe.set(self._delivered_key(job.id), b"1", ex=self.delivered_ttl_s)
            if also is not None:
                await also(pipe)
            await pipe.execute()

    async def depth(self) -> int:
        return int(await self.redis.zcard(self.due))

    async def next_due(self) -> float | None:
        first = await self.redis.zrange(self.due, 0, 0, withscores=True)
        return float(first[0][1]) if first else None


def _text(value: bytes | str) -> str:
    return cast(bytes, value).decode() if isinstance(value, bytes) else value
