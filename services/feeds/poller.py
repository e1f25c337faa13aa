"""The feed poller (``newsflow poller``): reads every source on its schedule
and sends the new articles down the pipeline.

A poll: fetch the feed conditionally (304: nothing to do), parse it, keep the
entries this source never listed (canonical URLs, so ``?utm_source=rss`` or a
``#comments`` is not a new article), fetch each new page once (robots.txt
permitting) and hand it to the ingestion ``Ingestor`` as HTML with the feed's
title, date and author as hints: same ids, same dedup and same status as the
HTTP API. A source that fails is retried with exponential backoff; its error
is recorded for ``GET /v1/sources`` while the other sources keep flowing.

One poller runs per namespace (a Redis lease): politeness towards a host is
kept in this process's memory.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Literal, Protocol

from pydantic import ValidationError
from redis.asyncio.lock import Lock
from redis.exceptions import LockError, RedisError

from services.feeds.fetch import (
    Disallowed,
    Fetcher,
    FetchError,
    HostBackingOff,
    PermanentFetchError,
    TemporaryFetchError,
    host_of,
)
from services.feeds.health import SilenceRule, backoff_delay, silence_threshold
from services.feeds.parse import Entry, FeedParseError, ParsedFeed, parse_feed
from services.feeds.registry import Source, SourceRegistry, SourceState
from services.feeds.settings import PollerSettings
from services.ingestion.core import ArticleAccepted, ArticleIn, TooLarge, Unavailable
from shared.contracts.ids import canonical_url

log = logging.getLogger(__name__)

# While Kafka is down nothing can be sent; look again this soon (not a
# failure of the source, so no backoff and no error on it).
_PIPELINE_RETRY_S = 15.0
_EPOCH = datetime.min.replace(tzinfo=UTC)


class ArticleSink(Protocol):
    """Where new articles go: the ingestion Ingestor (tests pass a fake)."""

    async def accept(self, articles: list[ArticleIn], reprocess: bool) -> list[ArticleAccepted]: ...


@dataclass
class PollReport:
    """What one poll did, for the log and the tests."""

    source_id: str
    status: str = ""  # HTTP status of the feed, or "error"
    entries: int = 0
    new_entries: int = 0
    sent: int = 0
    duplicates: int = 0
    fetched_elsewhere: int = 0
    disallowed: int = 0
    refused: int = 0  # entries on hosts whose address may not be reached
    page_errors: int = 0
    deferred: int = 0
    error: str | None = None


@dataclass(frozen=True)
class _Done:
    """An entry needs no more work; `aliases` are other canonical URLs of
    the same page (where redirects led), also marked as fetched."""

    aliases: tuple[str, ...] = ()


class Poller:
    """Schedules and runs polls. `clock` is wall time (stored timestamps)."""

    def __init__(
        self,
        settings: PollerSettings,
        registry: SourceRegistry,
        sink: ArticleSink,
        fetcher: Fetcher,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.settings = settings
        self.registry = registry
        self.sink = sink
        self.fetcher = fetcher
        self.clock = clock
        self.rule = SilenceRule(
            settings.silence_factor, settings.silence_min_s, settings.silence_default_s
        )
        # For /readyz: a standby poller (another one holds the lease) is alive
        # but not the one doing the work.
        self.holding_lease = False

    def interval_of(self, source: Source) -> float:
        return max(float(source.interval_s), self.settings.min_interval_s)

    # ------------------------------------------------------------ one poll
    async def poll(self, source: Source) -> PollReport:
        """Poll one source now. Records the outcome in its state; raises only
        for Redis errors and bugs."""
        report = PollReport(source.id)
        now = self.clock()
        state = await self.registry.state(source.id)
        interval = self.interval_of(source)
        await self.registry.save_state(source.id, last_poll_at=now)
        try:
            result = await self.fetcher.fetch_feed(
                str(source.url), etag=state.etag, last_modified=state.last_modified
            )
            report.status = str(result.status)
            if result.not_modified:
                await self._succeeded(source, state, report, now, interval)
                return report
            parsed = parse_feed(result.body, result.url, result.content_type)
            entries = await self._entries(parsed)
            report.entries = len(entries)
            complete = await self._process(source, parsed, entries, report, now)
        except (FetchError, FeedParseError) as exc:
            await self._failed(source, state, report, now, interval, exc)
            return report
        except Unavailable as exc:
            report.error = f"pipeline unavailable: {exc.reason}"
            log.warning(
                "pipeline unavailable, poll postponed",
                extra={"source_id": source.id, "error": exc.reason},
            )
            await self.registry.save_state(source.id, next_poll_at=now + _PIPELINE_RETRY_S)
            return report
        # The feed's validators are kept only once every entry is dealt with:
        # otherwise a 304 next time would hide the entries still to fetch.
        validators = (
            {"etag": result.etag, "last_modified": result.last_modified}
            if complete
            else {"etag": None, "last_modified": None}
        )
        await self._succeeded(
            source,
            state,
            report,
            now,
            interval,
            kind=parsed.kind,
            feed_title=parsed.title,
            **validators,
        )
        return report

    async def _entries(self, parsed: ParsedFeed) -> list[Entry]:
        """The entries of a feed; for a sitemap index, those of its most
        recent child sitemaps (one level: an index of indexes is not followed)."""
        if parsed.kind != "sitemap-index":
            return parsed.entries
        entries: list[Entry] = []
        for child_url in parsed.sitemaps[: self.settings.max_child_sitemaps]:
            child = await self.fetcher.fetch_feed(child_url)
            child_feed = parse_feed(child.body, child.url, child.content_type)
            entries.extend(child_feed.entries)
        return entries

    async def _process(
        self,
        source: Source,
        parsed: ParsedFeed,
        entries: list[Entry],
        report: PollReport,
        now: float,
    ) -> bool:
        """Fetch and send the entries this source never listed. Returns
        whether all of them were dealt with (some may wait for the next poll)."""
        by_url: dict[str, Entry] = {}
        for entry in entries:
            by_url.setdefault(canonical_url(entry.url), entry)
        known = await self.registry.known(
            source.id, list(by_url), now, self.settings.seen_retention_s
        )
        new = [(url, entry) for url, entry in by_url.items() if url not in known]
        report.new_entries = len(new)
        if not new:
            return True
        # Freshest first, so that a poll cut short by the budget gets the news.
        new.sort(
            key=lambda item: item[1].published_at or item[1].updated_at or _EPOCH, reverse=True
        )
        elsewhere = await self.registry.fetched_elsewhere([url for url, _ in new])
        budget = self.settings.max_entries_per_poll
        resting_hosts: set[str] = set()
        complete = True
        for url, entry in new:
            when = entry.published_at or entry.updated_at
            arrival = min(when.timestamp(), now) if when else now
            if url in elsewhere:
                # Another feed brought it in already: new to this source (its
                # rhythm counts it), but not fetched again.
                report.fetched_elsewhere += 1
                await self.registry.remember(source.id, url, now, arrival)
                continue
            host = host_of(entry.url)
            if budget <= 0 or host in resting_hosts:
                report.deferred += 1
                complete = False
                continue
            permission = await self.fetcher.permission(entry.url)
            if permission == "unreachable":
                # No verdict yet: the entry waits for a readable robots.txt.
                report.deferred += 1
                complete = False
                resting_hosts.add(host)
                continue
            if permission in ("disallowed", "refused"):
                # Remembered for this source, so it is not new again at every
                # poll; never marked as fetched, because it was not.
                _count_skipped(report, permission)
                await self.registry.remember(source.id, url, now, arrival, fetched=False)
                continue
            budget -= 1
            outcome = await self._fetch_and_send(source, parsed, url, entry, report, now)
            if isinstance(outcome, _Done):
                await self.registry.remember(source.id, url, now, arrival, aliases=outcome.aliases)
                continue
            complete = False
            if outcome == "host-resting":
                # The host asked for quiet: its other entries wait for the next poll.
                resting_hosts.add(host)
        return complete

    async def _fetch_and_send(
        self,
        source: Source,
        parsed: ParsedFeed,
        url: str,
        entry: Entry,
        report: PollReport,
        now: float,
    ) -> _Done | Literal["retry", "host-resting"]:
        """One entry: fetch its page and send it. Returns _Done when the
        entry needs no more work, "retry" or "host-resting" otherwise."""
        try:
            page = await self.fetcher.fetch_page(entry.url)
        except (Disallowed, PermanentFetchError) as exc:
            report.page_errors += 1
            log.info(
                "entry skipped", extra={"source_id": source.id, "url": entry.url, "error": str(exc)}
            )
            return _Done()
        except TemporaryFetchError as exc:
            report.page_errors += 1
            attempts = await self.registry.failed_attempt(source.id, url)
            give_up = attempts >= self.settings.page_max_attempts
            log.warning(
                "entry fetch failed" + (", giving up" if give_up else ""),
                extra={
                    "source_id": source.id,
                    "url": entry.url,
                    "error": str(exc),
                    "attempts": attempts,
                },
            )
            if isinstance(exc, HostBackingOff) or exc.status in (429, 503):
                return _Done() if give_up else "host-resting"
            return _Done() if give_up else "retry"
        try:
            article = ArticleIn(
                # The address after redirects: a feed's tracking redirector is
                # not the article's identity.
                url=page.url,
                source=source.name,
                html=page.html(),
                title=entry.title,
                author=entry.author,
                published_at=entry.published_at,
                # The operator's tag wins over what the feed claims.
                language=source.language or entry.language or parsed.language,
            )
        except ValidationError as exc:
            report.page_errors += 1
            log.info(
                "entry skipped: not a valid article",
                extra={"source_id": source.id, "url": entry.url, "error": str(exc)},
            )
            return _Done()
        try:
            answer = (await self.sink.accept([article], reprocess=False))[0]
        except TooLarge as exc:  # bigger than the pipeline carries: never will fit
            report.page_errors += 1
            log.warning(
                "entry skipped: page too large for the pipeline",
                extra={"source_id": source.id, "url": entry.url, "error": str(exc)},
            )
            return _Done()
        if answer.status == "accepted":
            report.sent += 1
            await self.registry.record_sent(source.id, answer.article_id, now)
        else:
            report.duplicates += 1
        final = canonical_url(page.url)
        return _Done(aliases=(final,) if final != url else ())

    async def _succeeded(
        self,
        source: Source,
        state: SourceState,
        report: PollReport,
        now: float,
        interval: float,
        **fields: str | None,
    ) -> None:
        arrivals = await self.registry.arrivals(source.id)
        await self.registry.save_state(
            source.id,
            last_success_at=now,
            last_status=report.status,
            failures=0,
            next_poll_at=now + interval,
            silent_after_s=silence_threshold(arrivals, self.rule),
            **({"last_new_at": now} if report.new_entries else {}),
            **fields,
        )
        # Polls that found nothing new are the common case: debug level, so
        # that the log shows what changed.
        level = logging.INFO if report.new_entries else logging.DEBUG
        log.log(level, "polled", extra={"source": source.name, **asdict(report)})

    async def _failed(
        self,
        source: Source,
        state: SourceState,
        report: PollReport,
        now: float,
        interval: float,
        exc: Exception,
    ) -> None:
        failures = state.failures + 1
        retry_after = exc.retry_after_s if isinstance(exc, FetchError) else None
        delay = backoff_delay(failures, interval, self.settings.backoff_max_s, retry_after)
        report.status = "error"
        report.error = str(exc)
        await self.registry.save_state(
            source.id,
            failures=failures,
            last_error=str(exc)[:500],
            last_error_at=now,
            last_status=str(exc.status) if isinstance(exc, FetchError) and exc.status else "error",
            next_poll_at=now + delay,
        )
        log.warning(
            "poll failed",
            extra={
                "source": source.name,
                "failures": failures,
                "retry_in_s": round(delay, 1),
                **asdict(report),
            },
        )

    # ------------------------------------------------------------ the schedule
    async def run(self, stop: asyncio.Event) -> None:
        """Poll due sources until `stop` is set, then let running polls
        finish (up to the grace period)."""
        lease = Lock(
            self.registry.redis,
            f"{self.registry.ns}feeds:poller-lease",
            timeout=self.settings.lease_ttl_s,
            thread_local=False,
        )
        holding = False
        running: dict[str, asyncio.Task[None]] = {}
        while not stop.is_set():
            try:
                holding = await self._keep_lease(lease, holding)
                self.holding_lease = holding
                if holding:
                    await self._start_due(running)
            except (RedisError, OSError) as exc:
                log.warning("redis unavailable; polls wait", extra={"error": repr(exc)})
            for sid in [sid for sid, task in running.items() if task.done()]:
                del running[sid]
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=self.settings.tick_s)
        if running:
            log.info("stopping: waiting for running polls", extra={"polls": len(running)})
            _done, pending = await asyncio.wait(
                running.values(), timeout=self.settings.shutdown_grace_s
            )
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
        if holding:
            # If this fails, the lease lapses by itself after its TTL.
            with contextlib.suppress(RedisError, OSError):
                await lease.release()

    async def _keep_lease(self, lease: Lock, holding: bool) -> bool:
        if holding:
            try:
                await lease.reacquire()
                return True
            except LockError:
                log.warning("lost the poller lease; another poller may be running")
                return False
        acquired = bool(await lease.acquire(blocking=False))
        if acquired:
            log.info("poller lease acquired; polling")
        return acquired

    async def _start_due(self, running: dict[str, asyncio.Task[None]]) -> None:
        sources = [s for s in await self.registry.all() if not s.paused and s.id not in running]
        states = await self.registry.states([s.id for s in sources])
        now = self.clock()
        for source in sources:
            due_at = states[source.id].next_poll_at
            if due_at is None or due_at <= now:
                running[source.id] = asyncio.create_task(
                    self._guarded_poll(source), name=f"poll-{source.id}"
                )

    async def _guarded_poll(self, source: Source) -> None:
        """A poll that cannot take the scheduler down. After an unexpected
        error (Redis gone mid-poll, a bug) the source waits its interval, so
        that a persistent bug does not become a request storm."""
        try:
            await self.poll(source)
            if not await self.registry.exists(source.id):
                # Removed while this poll ran: drop what the poll wrote since.
                await self.registry.remove(source.id)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.exception("poll crashed", extra={"source_id": source.id})
            with contextlib.suppress(RedisError, OSError):
                await self.registry.save_state(
                    source.id,
                    next_poll_at=self.clock() + self.interval_of(source),
                    last_error=f"internal error: {exc!r}"[:500],
                    last_error_at=self.clock(),
                )


def _count_skipped(report: PollReport, permission: str) -> None:
    """An entry not fetched: robots.txt said no, or its host's address is
    one the poller may not reach (a hostile feed pointing inside)."""
    if permission == "refused":
        report.refused += 1
    else:
        report.disallowed += 1
