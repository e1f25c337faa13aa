"""robots.txt as RFC 9309 and the big crawlers read it.

Parsed by Protego (what Scrapy uses) rather than ``urllib.robotparser``,
which ignores the ``*`` and ``$`` wildcards and applies the first matching
rule instead of the longest: ``Disallow: /*?print=`` went unenforced and
``Allow: /news/public/`` after ``Disallow: /news/`` was refused. Protego
matches without regular expressions, so a hostile robots.txt cannot make a
pattern backtrack for minutes.
"""

from __future__ import annotations

from dataclasses import dataclass

from protego import Protego

# RFC 9309 asks crawlers to read at least 500 KiB of a robots.txt.
MAX_ROBOTS_BYTES = 512 * 1024


@dataclass(frozen=True)
class RobotsRules:
    """A host's robots.txt. `rules` is None when the answer was not a file:
    then everything is allowed (4xx: "unavailable") or nothing is (5xx, 429,
    no answer: "unreachable")."""

    rules: Protego | None
    allow_all: bool = False

    @property
    def unreachable(self) -> bool:
        return self.rules is None and not self.allow_all

    def can_fetch(self, agent: str, url: str) -> bool:
        if self.rules is None:
            return self.allow_all
        return self.rules.can_fetch(url, agent)

    def crawl_delay(self, agent: str) -> float | None:
        if self.rules is None:
            return None
        delay = self.rules.crawl_delay(agent)
        return float(delay) if delay is not None else None


def robots_from_response(status: int | None, body: bytes) -> RobotsRules:
    """Read a robots.txt answer (`status` None: no answer at all)."""
    if status is not None and 200 <= status < 300:
        text = body[:MAX_ROBOTS_BYTES].decode("utf-8", errors="replace")
        return RobotsRules(Protego.parse(text))
    return RobotsRules(None, allow_all=status is not None and 400 <= status < 500 and status != 429)


__all__ = ["MAX_ROBOTS_BYTES", "RobotsRules", "robots_from_response"]
