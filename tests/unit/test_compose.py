"""docker-compose.yml cannot run here (no Docker engine); at least check
that it declares every service with its port and a healthcheck, and that
services wait for healthy dependencies."""

from __future__ import annotations

from pathlib import Path

import yaml

from shared.runtime.ports import PORTS

REPO = Path(__file__).resolve().parents[2]
NEWSFLOW = {
    "ingestion",
    "cleaning",
    "entities",
    "stories",
    "indexer",
    "relabel",
    "search",
    "matcher",
    "webhooks",
}
SERVERS = {"kafka": "9092", "elasticsearch": "9200", "redis": "6379"}


def load() -> dict:
    return yaml.safe_load((REPO / "docker-compose.yml").read_text())


def test_every_service_is_declared_with_a_healthcheck() -> None:
    services = load()["services"]
    assert NEWSFLOW | set(SERVERS) <= set(services)
    for name in NEWSFLOW | set(SERVERS):
        check = services[name].get("healthcheck")
        assert check and check.get("test"), f"{name} has no healthcheck"


def test_servers_publish_their_ports_and_use_official_images() -> None:
    services = load()["services"]
    for name, port in SERVERS.items():
        assert any(str(p).endswith(f":{port}") for p in services[name]["ports"]), name
    assert services["kafka"]["image"].startswith("apache/kafka:4.")
    assert services["elasticsearch"]["image"].split(":")[-1].startswith("8.19")
    # Built FROM the official image, with our analysis plugin installed.
    dockerfile = (REPO / "deploy" / "elasticsearch" / "Dockerfile").read_text()
    assert "FROM docker.elastic.co/elasticsearch/elasticsearch:${ES_VERSION}" in dockerfile
    assert "ARG ES_VERSION=8.19" in dockerfile
    assert "elasticsearch-plugin install" in dockerfile


def test_newsflow_services_share_one_dockerfile_and_wait_for_healthy_servers() -> None:
    services = load()["services"]
    for name in NEWSFLOW:
        svc = services[name]
        assert svc["build"]["dockerfile"] == "deploy/Dockerfile"
        for server in SERVERS:
            assert svc["depends_on"][server]["condition"] == "service_healthy", (name, server)
    assert (REPO / "deploy" / "Dockerfile").exists()


def test_api_ports_are_published_on_loopback_only() -> None:
    services = load()["services"]
    assert services["search"]["ports"] == [f"127.0.0.1:{PORTS['search']}:{PORTS['search']}"]
    assert services["ingestion"]["ports"] == [
        f"127.0.0.1:{PORTS['ingestion']}:{PORTS['ingestion']}"
    ]


def test_no_port_is_published_on_every_interface() -> None:
    """Kafka, Elasticsearch and Redis run without auth here: publishing them
    on 0.0.0.0 would hand them to anyone on the network (issue 11, item 8)."""
    for name, svc in load()["services"].items():
        for mapping in svc.get("ports", []):
            assert str(mapping).startswith("127.0.0.1:"), (name, mapping)


def test_worker_and_poller_ports_follow_the_port_table() -> None:
    services = load()["services"]
    for name in ("cleaning", "entities", "stories", "indexer", "relabel", "matcher", "webhooks"):
        port = str(PORTS[name])
        assert services[name]["command"][-1] == port, name
        assert f"localhost:{port}/" in " ".join(services[name]["healthcheck"]["test"]), name
    assert services["poller"]["command"][-1] == str(PORTS["poller"])


def test_readme_states_the_port_table() -> None:
    readme = (REPO / "README.md").read_text()
    for name, port in PORTS.items():
        assert str(port) in readme, f"README does not mention the {name} port {port}"
