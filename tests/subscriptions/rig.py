"""What the subscription tests (and bench/subscriptions_bench.py) run: a
webhook receiver, the subscriptions router on a real HTTP server, and the
indexer/matcher/webhooks workers as processes, in one namespace."""

from __future__ import annotations

import hashlib
import os
import random
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import uvicorn
from fastapi import FastAPI

from services.subscriptions.api import subscriptions_router
from services.subscriptions.settings import SubscriptionsSettings
from shared.contracts.models import EnrichedArticleV1, EntityV1

REPO = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    at: float  # time.time() when it arrived


@dataclass
class Receiver:
    """Webhook receiver on 127.0.0.1: paths starting with /fail answer 500,
    the others 204; every request is kept."""

    requests: list[Received] = field(default_factory=list)
    on_request: Callable[[Received], None] | None = None

    def __post_init__(self) -> None:
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                size = int(self.headers.get("content-length") or 0)
                got = Received(self.path, dict(self.headers), self.rfile.read(size), time.time())
                owner.requests.append(got)
                if owner.on_request is not None:
                    owner.on_request(got)
                self.send_response(500 if self.path.startswith("/fail") else 204)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def to(self, path: str) -> list[Received]:
        return [r for r in self.requests if r.path == path]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class ApiServer:
    """The subscriptions router on a small app, served by uvicorn in a thread."""

    def __init__(
        self, settings: SubscriptionsSettings, port: int, dependencies: Sequence[Any] = ()
    ) -> None:
        app = FastAPI()
        app.include_router(subscriptions_router(settings, dependencies=dependencies))
        self.url = f"http://127.0.0.1:{port}"
        self.server = uvicorn.Server(
            uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
        )
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("the API server did not start")
            time.sleep(0.05)

    def close(self) -> None:
        self.server.should_exit = True
        self.thread.join(10)


def listen_ports(count: int) -> list[int]:
    """Ports for servers started later (worker processes bind theirs after
    seconds of imports). Taken below the kernel's ephemeral range: a port
    the kernel handed out (bind to port 0) is soon reused by some outgoing
    connection (Kafka clients make many), and the server's bind then fails.
    Distinct, and free when chosen."""
    low = int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    found: list[int] = []
    for port in random.sample(range(max(1024, low - 12_000), low), 400):
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
        found.append(port)
        if len(found) == count:
            return found
    raise RuntimeError("no free port below the ephemeral range")


STAGES = {
    "stories": "services.stories.stage:STORIES",
    "indexer": "services.indexer.stage:INDEXER",
    "matcher": "services.subscriptions.stage:MATCHER",
    "webhooks": "services.subscriptions.stage:WEBHOOKS",
}


def indexing_stages() -> tuple[str, ...]:
    """The workers that take an article of ``articles.enriched`` into the
    index: the indexer, and the stages between (the stories stage, when the
    indexer reads its ``articles.grouped``)."""
    from services.indexer.stage import INDEXER

    return ("indexer",) if INDEXER.input.name == "articles.enriched" else ("stories", "indexer")


class Worker:
    """A stage as a worker process (what `newsflow worker NAME` will run)."""

    def __init__(self, stage: str, port: int, env: dict[str, str], log_dir: Path) -> None:
        module, name = STAGES[stage].split(":")
        code = (
            f"import sys; sys.argv = ['newsflow-{stage}', 'worker']\n"
            "from shared.runtime.faust_runner import run_stage\n"
            f"from {module} import {name}\n"
            f"run_stage({name}, {port})\n"
        )
        self.stage = stage
        self.log_path = log_dir / f"{stage}.log"
        self._log = self.log_path.open("wb")
        self.proc = subprocess.Popen(
            [sys.executable, "-c", code],
            env={**env, "PYTHONPATH": str(REPO)},
            cwd=REPO,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )

    def pid(self) -> int:
        return self.proc.pid

    def cpu_seconds(self) -> float:
        """User + system CPU time of the process so far (Linux /proc)."""
        fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        ticks = os.sysconf("SC_CLK_TCK")
        return (int(fields[11]) + int(fields[12])) / ticks

    def log_tail(self, lines: int = 30) -> str:
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    def stop(self, timeout: float = 30) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._log.close()


def enriched(
    title: str,
    text: str,
    *,
    n: int | str,
    people: list[str] | None = None,
    people_ids: list[str] | None = None,
    source: str = "example.org",
    published_at: datetime | None = None,
) -> EnrichedArticleV1:
    aid = hashlib.sha256(f"subs-{n}".encode()).hexdigest()[:32]
    ids: list[str | None] = list(people_ids) if people_ids else [None] * len(people or [])
    now = datetime.now(UTC)
    return EnrichedArticleV1(
        article_id=aid,
        url=f"https://{source}/news/{aid}",
        source=source,
        title=title,
        text=text,
        published_at=published_at or now,
        language="en",
        word_count=len(text.split()),
        fingerprint=aid[:16],
        input_format="text",
        received_at=now,
        entities=[
            EntityV1(canonical=p, id=i, label="PERSON", group="people", count=1)
            for p, i in zip(people or [], ids, strict=True)
        ],
        ner_model="test",
    )
