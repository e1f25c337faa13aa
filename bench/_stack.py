"""Plumbing of the benchmark: the throwaway namespace, the Newsflow processes it
starts, and what ``/proc`` says about them.

Every service runs as the operator runs it (``python -m services.console.cli worker STAGE
--web-port N`` / ``api NAME --port N``) in a subprocess whose environment names
the bench namespace, so topics, consumer groups, the index and Redis keys are the
bench's own and are deleted at the end, whatever happens in between.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

REPO = Path(__file__).resolve().parents[1]
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_until(check: Callable[[], object], timeout: float, what: str, every: float = 0.25) -> Any:
    """Poll ``check`` until it returns something truthy; raise with the last error."""
    deadline = time.monotonic() + timeout
    last: Exception | None = None
    while time.monotonic() < deadline:
        try:
            value = check()
            if value:
                return value
        except Exception as exc:  # keep polling; the last error goes in the message
            last = exc
        time.sleep(every)
    raise TimeoutError(
        f"timed out after {timeout:.0f}s waiting for {what}" + (f": {last!r}" if last else "")
    )


# --------------------------------------------------------------------- /proc
def cpu_seconds(pid: int) -> float | None:
    """User + system CPU time of a process, all its threads, in seconds."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    # After the ")" closing the command name, utime and stime are fields 12 and 13.
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def memory_kib(pid: int) -> dict[str, int]:
    """VmHWM (peak resident set) and VmRSS of a process, in KiB."""
    out: dict[str, int] = {}
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            key, _, value = line.partition(":")
            if key in ("VmHWM", "VmRSS"):
                out[key] = int(value.split()[0])
    except OSError:
        pass
    return out


@dataclass
class MachineCpu:
    """Busy and total jiffies of the whole machine, from /proc/stat."""

    busy: int
    total: int

    @classmethod
    def now(cls) -> MachineCpu:
        values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
        idle = values[3] + values[4]  # idle + iowait
        total = sum(values[:8])  # user..steal; guest time is already in user
        return cls(total - idle, total)

    def busy_share_since(self, earlier: MachineCpu) -> float:
        """Share of all cores busy between ``earlier`` and this reading (0..1)."""
        return (self.busy - earlier.busy) / max(self.total - earlier.total, 1)

    def busy_cores_since(self, earlier: MachineCpu, seconds: float) -> float:
        return (self.busy - earlier.busy) / CLOCK_TICKS / max(seconds, 1e-9)


def listening_pid(port: int) -> int | None:
    """The pid of the process listening on a local TCP port (``ss -ltnp``), if visible."""
    if shutil.which("ss") is None:
        return None
    try:
        out = subprocess.run(
            ["ss", "-ltnpH", f"sport = :{port}"], capture_output=True, text=True, timeout=5
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    marker = "pid="
    at = out.find(marker)
    if at < 0:
        return None
    digits = out[at + len(marker) :].split(",", 1)[0]
    return int(digits) if digits.isdigit() else None


# --------------------------------------------------------------------- services
@dataclass
class Service:
    """One Newsflow process started by the bench, its output in a log file."""

    name: str
    args: list[str]
    env: dict[str, str]
    log_dir: Path
    port: int
    proc: subprocess.Popen[bytes] = field(init=False)
    peak: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.log_path = self.log_dir / f"{self.name}.log"
        self._log = self.log_path.open("wb")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "services.console.cli", *self.args],
            env=self.env,
            cwd=REPO,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )

    @property
    def pid(self) -> int:
        return self.proc.pid

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def alive(self) -> bool:
        return self.proc.poll() is None

    def cpu(self) -> float:
        return cpu_seconds(self.pid) or 0.0

    def sample_memory(self) -> dict[str, int]:
        """Read VmHWM now (it only grows), keeping the last good reading."""
        reading = memory_kib(self.pid)
        if reading:
            self.peak = reading
        return self.peak

    def log_tail(self, lines: int = 25) -> str:
        text = self.log_path.read_text(errors="replace").splitlines()
        return "\n".join(text[-lines:])

    def stop(self, timeout: float = 30) -> int | None:
        """SIGTERM (workers finish the batch in hand), then SIGKILL after ``timeout``."""
        if self.alive():
            self.sample_memory()
            self.proc.terminate()
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._log.close()
        # Faust keeps a data directory per worker process; ours are throwaway.
        datadir = (
            Path(tempfile.gettempdir()) / f"newsflow-faust-{self.name.split('-')[0]}-{self.pid}"
        )
        shutil.rmtree(datadir, ignore_errors=True)
        return self.proc.returncode


class Services:
    """The processes of one bench run, stopped together at the end."""

    def __init__(self, env: dict[str, str], log_dir: Path) -> None:
        self.env = env
        self.log_dir = log_dir
        self.all: list[Service] = []

    def start_worker(
        self, stage: str, name: str | None = None, extra_env: dict[str, str] | None = None
    ) -> Service:
        port = free_port()
        service = Service(
            name or stage,
            ["worker", stage, "--web-port", str(port)],
            {**self.env, **(extra_env or {})},
            self.log_dir,
            port,
        )
        self.all.append(service)
        return service

    def start_api(self, name: str, extra_env: dict[str, str] | None = None) -> Service:
        port = free_port()
        service = Service(
            name,
            ["api", name, "--port", str(port)],
            {**self.env, **(extra_env or {})},
            self.log_dir,
            port,
        )
        self.all.append(service)
        return service

    def wait_ready(self, services: list[Service], timeout: float = 180) -> None:
        """Until every service answers its readiness page (workers: consuming)."""
        for service in services:
            path = "/healthz" if service.args[0] == "api" else "/readyz"

            def ready(s: Service = service, p: str = path) -> bool:
                if not s.alive():
                    raise RuntimeError(f"{s.name} exited ({s.proc.returncode}):\n{s.log_tail()}")
                return httpx.get(s.url + p, timeout=2).status_code == 200

            try:
                wait_until(ready, timeout, f"{service.name} ready", every=0.5)
            except TimeoutError as exc:
                raise RuntimeError(
                    f"{exc}\n--- {service.name} log:\n{service.log_tail()}"
                ) from None

    def sample_memory(self) -> None:
        for service in self.all:
            if service.alive():
                service.sample_memory()

    def check_alive(self) -> None:
        for service in self.all:
            if not service.alive():
                raise RuntimeError(
                    f"{service.name} exited ({service.proc.returncode}):\n{service.log_tail()}"
                )

    def tails(self) -> str:
        return "\n".join(f"--- {s.name}\n{s.log_tail(12)}" for s in self.all)

    def stop_all(self) -> None:
        for service in reversed(self.all):
            with contextlib.suppress(Exception):
                service.stop()


# --------------------------------------------------------------------- namespace
def delete_namespace(
    base: str, namespaces: list[str], kafka: str, es_url: str, redis_url: str, groups: list[str]
) -> list[str]:
    """Delete every topic, consumer group, index, template and Redis key of the
    bench namespaces. Returns what could not be deleted (best effort: a failing
    cleanup must not hide the results)."""
    from elasticsearch import Elasticsearch

    problems: list[str] = []
    if not base.startswith("bench-"):
        raise ValueError(f"refusing to clean a namespace that is not the bench's: {base!r}")
    try:
        from shared.runtime.kafka_admin import admin_client
        from shared.runtime.kafka_admin import delete_namespace as delete_topics

        admin = admin_client([kafka], client_id="newsflow-bench-cleanup")
        try:
            delete_topics(admin, base)
            if groups:
                # Unknown groups come back as per-group errors, not exceptions.
                admin.delete_groups(groups)
        finally:
            admin.close()
    except Exception as exc:  # report, keep cleaning the rest
        problems.append(f"kafka: {exc!r}")
    try:
        es = Elasticsearch(es_url)
        for ns in namespaces:
            es.options(ignore_status=404).indices.delete(index=f"{ns}articles-v*")
            es.options(ignore_status=404).indices.delete_index_template(
                name=f"{ns}newsflow-articles"
            )
        es.close()
    except Exception as exc:
        problems.append(f"elasticsearch: {exc!r}")
    try:
        import redis

        client = redis.Redis.from_url(redis_url)
        keys = list(client.scan_iter(match=f"{base}*", count=1000))
        for start in range(0, len(keys), 1000):
            client.delete(*keys[start : start + 1000])
        client.close()
    except Exception as exc:
        problems.append(f"redis: {exc!r}")
    return problems
