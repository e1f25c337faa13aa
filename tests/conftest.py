"""Shared fixtures. Integration tests talk to the real servers that
`make up` starts (deploy/local/stack.sh); each test module gets its own
namespace, so topics, consumer groups, indices and Redis keys never collide
between tests, and everything it made is deleted afterwards."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest

REPO = Path(__file__).resolve().parents[1]
# Everything a test reads is in the repository, so a clean clone runs the
# suite (tests/unit/test_no_outside_data.py keeps it so). samples/ is what
# `make run` loads: the seed article as scraped text, and 125 real pages
# (gzipped HTML, MIT, samples/pages/LICENSE).
SAMPLES = REPO / "samples"
SEED = SAMPLES / "text" / "000_e1ee1b6c240190f4.txt"
SAMPLE_PAGES = SAMPLES / "pages"
FIXTURES = REPO / "tests" / "fixtures"

KAFKA = os.environ.get("NEWSFLOW_KAFKA_BOOTSTRAP", "127.0.0.1:9092")
ES_URL = os.environ.get("NEWSFLOW_ELASTICSEARCH_URL", "http://127.0.0.1:9200")
REDIS_URL = os.environ.get("NEWSFLOW_REDIS_URL", "redis://127.0.0.1:6379/0")


def _port_open(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


@pytest.fixture(scope="session")
def stack() -> None:
    """Fail (not skip) when the servers are missing: a test that claims to
    use Kafka, Elasticsearch or Redis must have really used them."""
    missing = []
    for name, hostport in (
        ("kafka", KAFKA.split(",")[0]),
        ("elasticsearch", urlsplit(ES_URL).netloc),
        ("redis", urlsplit(REDIS_URL).netloc),
    ):
        host, port = hostport.rsplit(":", 1)
        if not _port_open(host, int(port)):
            missing.append(name)
    if missing:
        pytest.fail(f"servers not running: {missing}; start them with `make up`", pytrace=False)


def new_namespace() -> str:
    return f"test-{uuid.uuid4().hex[:10]}-"


@pytest.fixture(scope="module")
def namespace(stack: None) -> Iterator[str]:
    """A fresh namespace with the registry's topics created on the real broker;
    its topics, indices and Redis keys are deleted at the end."""
    from shared.runtime.kafka_admin import admin_client, create_topics, delete_namespace

    ns = new_namespace()
    admin = admin_client([KAFKA])
    create_topics(admin, ns)
    yield ns
    delete_namespace(admin, ns)
    admin.close()
    _delete_es_namespace(ns)
    _delete_redis_namespace(ns)


def _delete_es_namespace(ns: str) -> None:
    from elasticsearch import Elasticsearch

    es = Elasticsearch(ES_URL)
    es.options(ignore_status=404).indices.delete(index=f"{ns}articles-v*")
    es.options(ignore_status=404).indices.delete_index_template(name=f"{ns}newsflow-articles")
    es.close()


def _delete_redis_namespace(ns: str) -> None:
    import redis

    client = redis.Redis.from_url(REDIS_URL)
    keys = list(client.scan_iter(match=f"{ns}*", count=1000))
    if keys:
        client.delete(*keys)
    client.close()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def service_env(ns: str, **extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        {
            "NEWSFLOW_NAMESPACE": ns,
            "NEWSFLOW_KAFKA_BOOTSTRAP": KAFKA,
            "NEWSFLOW_ELASTICSEARCH_URL": ES_URL,
            "NEWSFLOW_REDIS_URL": REDIS_URL,
            "PYTHONUNBUFFERED": "1",
        }
    )
    env.update(extra)
    return env


def wait_until(
    check: Callable[[], object], timeout: float, what: str, interval: float = 0.25
) -> object:
    deadline = time.monotonic() + timeout
    last_error: Exception | None = None
    while time.monotonic() < deadline:
        try:
            value = check()
            if value:
                return value
        except Exception as exc:  # keep polling; report the last error
            last_error = exc
        time.sleep(interval)
    raise AssertionError(
        f"timed out after {timeout}s waiting for {what}"
        + (f" (last error: {last_error!r})" if last_error else "")
    )


class Service:
    """A Newsflow process started by a test, its output kept in a log file."""

    def __init__(self, name: str, args: list[str], env: dict[str, str], log_dir: Path) -> None:
        self.name = name
        self.log_path = log_dir / f"{name}.log"
        self._log = self.log_path.open("wb")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "services.console.cli", *args],
            env=env,
            cwd=REPO,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )

    def log_tail(self, lines: int = 40) -> str:
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    def stop(self, timeout: float = 30) -> int | None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._log.close()
        return self.proc.returncode


@pytest.fixture(scope="session")
def artifacts_dir() -> Path:
    path = REPO / "tests" / "artifacts"
    path.mkdir(parents=True, exist_ok=True)
    return path


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Everything under tests/integration needs the real servers."""
    for item in items:
        if "/integration/" in str(item.fspath):
            item.add_marker(pytest.mark.integration)
