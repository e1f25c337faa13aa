"""The one table of Newsflow's ports on a host.

Settings take their defaults from it, ``deploy/local/services.sh`` reads it
through ``newsflow ports``, and tests check that docker-compose.yml and the
README say the same. A stage's first worker listens on its port here; the
n-th worker of a stage started by ``services.sh`` on ``port + 10 * (n - 1)``
(cleaning 6101, 6111, 6121 …), so stages never collide.
"""

from __future__ import annotations

from typing import Final

PORTS: Final[dict[str, int]] = {
    # HTTP APIs
    "search": 8000,
    "ingestion": 8001,
    # health / readiness / metrics of the stream workers and the poller
    "cleaning": 6101,
    "entities": 6102,
    "indexer": 6103,
    "poller": 6104,
    "matcher": 6105,
    "webhooks": 6106,
    "stories": 6107,
    "relabel": 6108,
}

# Workers of one stage on one host are spaced by this much.
WORKER_PORT_STRIDE: Final = 10


def worker_port(name: str, n: int = 1) -> int:
    """The port of the n-th (1-based) worker of a stage on one host."""
    if n < 1:
        raise ValueError("workers are numbered from 1")
    return PORTS[name] + WORKER_PORT_STRIDE * (n - 1)
