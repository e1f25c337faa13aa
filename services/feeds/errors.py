"""Why a fetch did not give us the resource, in the two kinds the poller
treats differently: ``TemporaryFetchError`` (try again later, with backoff)
and ``PermanentFetchError`` (this URL will not work; do not insist)."""

from __future__ import annotations


class FetchError(Exception):
    """A request that did not give us the resource."""

    def __init__(
        self,
        url: str,
        reason: str,
        *,
        status: int | None = None,
        retry_after_s: float | None = None,
    ) -> None:
        super().__init__(f"{reason} ({url})")
        self.url = url
        self.reason = reason
        self.status = status
        self.retry_after_s = retry_after_s


class TemporaryFetchError(FetchError):
    """Timeouts, refused connections, 5xx, 408, 429: the same request may
    work later; retry with backoff."""


class PermanentFetchError(FetchError):
    """4xx, too large, not HTML, redirect loops: asking again will not help."""


class Disallowed(PermanentFetchError):
    """robots.txt forbids this URL to our user agent."""


class AddressNotAllowed(PermanentFetchError):
    """The URL's host is (or resolved to) an internal address, or the URL
    cannot be requested at all; nothing was sent."""


class HostBackingOff(TemporaryFetchError):
    """The host asked us (Retry-After) to stay away for longer than a poll
    should wait; the request was not sent."""


__all__ = [
    "AddressNotAllowed",
    "Disallowed",
    "FetchError",
    "HostBackingOff",
    "PermanentFetchError",
    "TemporaryFetchError",
]
