"""The Helm chart (deploy/helm/newsflow) lints, renders, and every object it
makes validates offline against the Kubernetes 1.31 and KEDA schemas; and the
structure that keeps the pipeline correct holds: one lag-scaled ScaledObject
per stage bounded by its partitions, probes everywhere, one poller, no secret
in a plain environment variable. No servers are needed (see conftest.py)."""

from __future__ import annotations

import base64
import json
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.deploy.conftest import CHART, EVERYTHING, REPO, Tools, parse

pytestmark = [pytest.mark.helm, pytest.mark.slow]

Objects = list[dict[str, Any]]
CORE_STAGES = {
    "cleaning": "articles.raw",
    "entities": "articles.clean",
    "stories": "articles.enriched",
    "indexer": "articles.grouped",
    "relabel": "identities.merged",
}


def of_kind(objects: Objects, kind: str) -> dict[str, dict[str, Any]]:
    return {o["metadata"]["name"]: o for o in objects if o["kind"] == kind}


def stage_name(obj: dict[str, Any]) -> str:
    return str(obj["metadata"]["labels"]["app.kubernetes.io/component"])


def containers(deployment: dict[str, Any]) -> list[dict[str, Any]]:
    return list(deployment["spec"]["template"]["spec"]["containers"])


# ---------------------------------------------------------------- lint and validate
@pytest.mark.parametrize("values", [None, EVERYTHING], ids=["defaults", "everything"])
def test_lint_strict(tools: Tools, values: Path | None) -> None:
    args = ["lint", "--strict", str(CHART)] + (["-f", str(values)] if values else [])
    proc = tools.run_helm(*args)
    assert "0 chart(s) failed" in proc.stdout


@pytest.mark.parametrize("values", [None, EVERYTHING], ids=["defaults", "everything"])
def test_every_object_validates_against_kubernetes_and_keda(
    tools: Tools, tmp_path: Path, values: Path | None
) -> None:
    text = tools.template(*([values] if values else [])).stdout
    manifests = tmp_path / "rendered.yaml"
    manifests.write_text(text)
    proc = tools.validate(manifests)
    summary = json.loads(proc.stdout)["summary"]
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert summary["invalid"] == summary["errors"] == summary["skipped"] == 0, summary
    assert summary["valid"] == len(parse(text)) > 0


@pytest.mark.parametrize(
    "broken",
    [
        # An unknown field in a core object, a wrong type, an unknown field in a
        # KEDA object, a kind nobody has a schema for.
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": "x"},
            "spec": {"replicass": 1, "selector": {}, "template": {}},
        },
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": "x"},
            "spec": {"ports": [{"port": "eighty"}]},
        },
        {
            "apiVersion": "keda.sh/v1alpha1",
            "kind": "ScaledObject",
            "metadata": {"name": "x"},
            "spec": {"scaleTargetRef": {"name": "x"}, "triggers": [], "maxReplicas": 3},
        },
        {"apiVersion": "example.org/v1", "kind": "Gadget", "metadata": {"name": "x"}},
    ],
    ids=["unknown-field", "wrong-type", "keda-unknown-field", "unknown-kind"],
)
def test_kubeconform_rejects_what_is_wrong(
    tools: Tools, tmp_path: Path, broken: dict[str, Any]
) -> None:
    """The validation above can fail: strict schemas are really loaded."""
    manifests = tmp_path / "broken.yaml"
    manifests.write_text(yaml.safe_dump(broken))
    proc = tools.validate(manifests)
    summary = json.loads(proc.stdout)["summary"]
    assert proc.returncode != 0
    assert summary["valid"] == 0 and summary["invalid"] + summary["errors"] == 1


@pytest.mark.parametrize(
    "bad",
    [
        "kafka.bootstrap=not a host list",
        "namespacePrefix=Prod",
        "stages.entities.autoscaling.minReplicas=0",
        "stages.entities.partitions=0",
        "poller.replicas=2",
        "apis.search.port=70000",
        "logLevel=TRACE",
        "env.BAD-NAME=1",
    ],
)
def test_values_schema_rejects(tools: Tools, bad: str) -> None:
    proc = tools.template(sets=[bad], check=False)
    assert proc.returncode != 0
    assert "schema" in proc.stderr.lower(), proc.stderr


def test_min_replicas_above_partitions_is_refused(tools: Tools) -> None:
    proc = tools.template(
        EVERYTHING, sets=["stages.matcher.autoscaling.minReplicas=4"], check=False
    )
    assert proc.returncode != 0
    assert "above the topic's 3 partitions" in proc.stderr


# ---------------------------------------------------------------- structure
def test_defaults_render_each_service_once_without_optional_parts(
    default_objects: Objects,
) -> None:
    deployments = of_kind(default_objects, "Deployment")
    assert sorted(stage_name(d) for d in deployments.values()) == sorted(
        ["ingestion", "search", "poller", *CORE_STAGES]
    )
    assert not of_kind(default_objects, "ScaledObject")
    assert not of_kind(default_objects, "Ingress")
    # The chart makes the Secret when none is named.
    assert len(of_kind(default_objects, "Secret")) == 1
    services = of_kind(default_objects, "Service")
    assert {stage_name(s): s["spec"]["ports"][0]["port"] for s in services.values()} == {
        "ingestion": 8001,
        "search": 8000,
    }


def test_one_scaled_object_per_stage_bounded_by_partitions(everything_objects: Objects) -> None:
    values = yaml.safe_load(EVERYTHING.read_text())
    prefix = values["namespacePrefix"]
    deployments = of_kind(everything_objects, "Deployment")
    scaled = {stage_name(o): o for o in of_kind(everything_objects, "ScaledObject").values()}
    # indexer opted out; the coming stages are in.
    assert sorted(scaled) == ["cleaning", "entities", "matcher", "relabel", "stories", "webhooks"]
    expected_partitions = {
        "cleaning": 6,
        "entities": 12,
        "stories": 6,
        "relabel": 1,
        "matcher": 3,
        "webhooks": 6,
    }
    expected_topic = {
        **CORE_STAGES,
        "matcher": "articles.indexed",
        "webhooks": "subscriptions.matched",
    }
    for stage, obj in scaled.items():
        spec = obj["spec"]
        assert spec["maxReplicaCount"] == expected_partitions[stage]
        assert spec["minReplicaCount"] >= 1
        target = deployments[spec["scaleTargetRef"]["name"]]
        assert stage_name(target) == stage
        # KEDA owns the replica count: the Deployment must not fight it.
        assert "replicas" not in target["spec"]
        [trigger] = spec["triggers"]
        assert trigger["type"] == "kafka"
        meta = trigger["metadata"]
        assert meta["consumerGroup"] == f"{prefix}newsflow-{stage}"
        assert meta["topic"] == f"{prefix}{expected_topic[stage]}"
        assert meta["bootstrapServers"] == values["kafka"]["bootstrap"]
        assert int(meta["lagThreshold"]) >= 1
        assert trigger["authenticationRef"] == {"name": "kafka-sasl"}
    assert scaled["entities"]["spec"]["minReplicaCount"] == 2
    # The stage that opted out keeps a fixed count.
    [indexer] = [d for d in deployments.values() if stage_name(d) == "indexer"]
    assert indexer["spec"]["replicas"] == 2


def test_commands_ports_and_groups_match_the_code(everything_objects: Objects) -> None:
    """Each process runs as the CLI expects, on its port of the one port
    table (shared/runtime/ports.py), and a stage's group is the code's
    {namespace}newsflow-{stage} (shared/runtime/stage.py: group_name)."""
    from shared.runtime.ports import PORTS

    runtime = REPO / "shared" / "runtime"
    code = "".join(p.read_text() for p in runtime.glob("*.py"))
    assert "namespace}newsflow-{stage}" in code, "the group name changed: update the chart"
    commands = {}
    for dep in of_kind(everything_objects, "Deployment").values():
        [c] = containers(dep)
        port = c["ports"][0]["containerPort"]
        assert port == PORTS.get(stage_name(dep), port), stage_name(dep)
        commands[stage_name(dep)] = c["command"]
    assert commands["ingestion"] == ["newsflow", "api", "ingestion", "--port", "8001"]
    assert commands["search"] == ["newsflow", "api", "search", "--port", "8000"]
    assert commands["poller"] == ["newsflow", "poller", "--web-port", str(PORTS["poller"])]
    for stage in CORE_STAGES:
        assert commands[stage] == ["newsflow", "worker", stage, "--web-port", str(PORTS[stage])]


@pytest.mark.parametrize("which", ["defaults", "everything"])
def test_every_deployment_is_probed_limited_and_unprivileged(
    which: str, default_objects: Objects, everything_objects: Objects
) -> None:
    objects = default_objects if which == "defaults" else everything_objects
    pdbs = of_kind(objects, "PodDisruptionBudget").values()
    for dep in of_kind(objects, "Deployment").values():
        pod = dep["spec"]["template"]["spec"]
        labels = dep["spec"]["template"]["metadata"]["labels"]
        assert pod["securityContext"]["runAsNonRoot"] is True
        assert pod["enableServiceLinks"] is False
        assert pod["automountServiceAccountToken"] is False
        for c in containers(dep):
            assert probe_path(c["livenessProbe"]) == "/healthz", dep["metadata"]["name"]
            assert probe_path(c["startupProbe"]) == "/healthz"
            assert probe_path(c["readinessProbe"]) == "/readyz"
            assert c["resources"]["requests"]["cpu"] and c["resources"]["limits"]["memory"]
            sc = c["securityContext"]
            assert sc["readOnlyRootFilesystem"] is True
            assert sc["allowPrivilegeEscalation"] is False
            assert sc["capabilities"]["drop"] == ["ALL"]
            assert {"name": "tmp", "mountPath": "/tmp"} in c["volumeMounts"]
        # Exactly one PDB selects this Deployment's pods.
        matching = [
            p for p in pdbs if p["spec"]["selector"]["matchLabels"].items() <= labels.items()
        ]
        assert len(matching) == 1, dep["metadata"]["name"]
        assert matching[0]["spec"]["maxUnavailable"] >= 1


def probe_path(probe: dict[str, Any]) -> str:
    """The path a probe asks for, whether kubelet's httpGet or curl in the pod."""
    if "httpGet" in probe:
        return str(probe["httpGet"]["path"])
    url = probe["exec"]["command"][-1]
    assert url.startswith("http://127.0.0.1:")
    return "/" + url.split("/", 3)[3]


def test_poller_is_single_and_recreated(everything_objects: Objects) -> None:
    [poller] = [
        d for d in of_kind(everything_objects, "Deployment").values() if stage_name(d) == "poller"
    ]
    assert poller["spec"]["replicas"] == 1
    assert poller["spec"]["strategy"] == {"type": "Recreate"}
    targets = {
        o["spec"]["scaleTargetRef"]["name"]
        for o in of_kind(everything_objects, "ScaledObject").values()
    }
    assert poller["metadata"]["name"] not in targets


def test_topics_job_runs_before_install_and_upgrade(default_objects: Objects) -> None:
    [job] = of_kind(default_objects, "Job").values()
    assert job["metadata"]["annotations"]["helm.sh/hook"] == "pre-install,pre-upgrade"
    [c] = job["spec"]["template"]["spec"]["containers"]
    assert c["command"] == ["newsflow", "topics", "create"]
    env = {e["name"]: e.get("value") for e in c["env"]}
    assert env["NEWSFLOW_KAFKA_BOOTSTRAP"] == "kafka:9092"


def test_ingress_routes_to_the_api_services(everything_objects: Objects) -> None:
    [ingress] = of_kind(everything_objects, "Ingress").values()
    services = of_kind(everything_objects, "Service")
    hosts = {}
    for rule in ingress["spec"]["rules"]:
        backend = rule["http"]["paths"][0]["backend"]["service"]
        assert backend["name"] in services
        hosts[rule["host"]] = stage_name(services[backend["name"]])
    assert hosts == {"search.example.org": "search", "ingest.example.org": "ingestion"}


def test_a_new_stage_is_a_values_change(tools: Tools, tmp_path: Path) -> None:
    extra = tmp_path / "extra.yaml"
    extra.write_text(
        yaml.safe_dump(
            {
                "stageDefaults": {"autoscaling": {"enabled": True}},
                "stages": {"summaries": {"webPort": 6110, "inputTopic": "articles.indexed"}},
            }
        )
    )
    objects = tools.render(extra)
    for kind in ("Deployment", "PodDisruptionBudget", "ScaledObject"):
        assert any(stage_name(o) == "summaries" for o in of_kind(objects, kind).values()), kind
    [so] = [o for o in of_kind(objects, "ScaledObject").values() if stage_name(o) == "summaries"]
    assert so["spec"]["triggers"][0]["metadata"]["consumerGroup"] == "newsflow-summaries"
    assert so["spec"]["maxReplicaCount"] == 6


# ---------------------------------------------------------------- secrets
CANARIES = {
    "secret.ingestionApiKeys": "canary-api-key-1,canary-api-key-2",
    "secret.elasticsearchUrl": "https://newsflow:canary-es-password@es:9200",
    "secret.redisUrl": "redis://:canary-redis-password@redis:6379/0",
}


def test_no_secret_value_is_rendered_in_plain_text(tools: Tools) -> None:
    sets = [f"{k}={v.replace(',', chr(92) + ',')}" for k, v in CANARIES.items()]
    sets += ["elasticsearch.urlFromSecret=true", "redis.urlFromSecret=true"]
    text = tools.template(sets=sets).stdout
    for secret in CANARIES.values():
        assert secret not in text
        assert "canary" not in text
    objects = parse(text)
    [secret_obj] = of_kind(objects, "Secret").values()
    decoded = {k: base64.b64decode(v).decode() for k, v in secret_obj["data"].items()}
    assert decoded == {
        "ingestion-api-keys": CANARIES["secret.ingestionApiKeys"],
        "elasticsearch-url": CANARIES["secret.elasticsearchUrl"],
        "redis-url": CANARIES["secret.redisUrl"],
    }
    assert_secrets_by_reference(objects, secret_obj["metadata"]["name"])


def test_an_existing_secret_is_referenced_not_made(everything_objects: Objects) -> None:
    assert not of_kind(everything_objects, "Secret")
    assert_secrets_by_reference(everything_objects, "newsflow-operator-secrets")


def assert_secrets_by_reference(objects: Objects, secret_name: str) -> None:
    sensitive = {"NEWSFLOW_INGESTION_API_KEYS", "NEWSFLOW_ELASTICSEARCH_URL", "NEWSFLOW_REDIS_URL"}
    seen_keys = False
    for obj in objects:
        if obj["kind"] not in ("Deployment", "Job"):
            continue
        for c in obj["spec"]["template"]["spec"]["containers"]:
            for env in c.get("env", []):
                name = env["name"]
                looks_secret = any(w in name for w in ("KEY", "PASSWORD", "TOKEN", "SECRET"))
                if (name in sensitive and obj["kind"] == "Deployment") or looks_secret:
                    assert "value" not in env, (obj["metadata"]["name"], name)
                    assert env["valueFrom"]["secretKeyRef"]["name"] == secret_name
                    seen_keys = seen_keys or name == "NEWSFLOW_INGESTION_API_KEYS"
            assert "envFrom" not in c
    assert seen_keys, "the ingestion API gets no keys"


# ---------------------------------------------------------------- NOTES.txt
def render_notes(tools: Tools, tmp_path: Path, *sets: str) -> str:
    """NOTES.txt as `helm install` would print it. `helm template` skips it,
    so a copy of the chart wraps it in a ConfigMap and renders that alone."""
    chart = tmp_path / "chart"
    shutil.copytree(CHART, chart)
    notes = (chart / "templates" / "NOTES.txt").read_text()
    (chart / "templates" / "_notes_test.tpl").write_text(
        '{{- define "test.notes" -}}\n' + notes + "{{- end }}\n"
    )
    (chart / "templates" / "zz_notes_test.yaml").write_text(
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: notes}\ndata:\n  notes: |\n"
        '    {{- include "test.notes" . | nindent 4 }}\n'
    )
    args = ["template", "nf", str(chart), "--show-only", "templates/zz_notes_test.yaml"]
    for item in sets:
        args += ["--set", item]
    [config_map] = parse(tools.run_helm(*args).stdout)
    return str(config_map["data"]["notes"])


def test_notes_say_where_things_are_and_warn_of_idle_workers(tools: Tools, tmp_path: Path) -> None:
    notes = render_notes(tools, tmp_path, "stages.indexer.replicas=9", "namespacePrefix=qa-")
    assert "port-forward svc/nf-newsflow-search 8000" in notes
    assert "get secret nf-newsflow-secrets" in notes
    assert "group qa-newsflow-entities on qa-articles.clean" in notes
    assert "indexer has more replicas (9) than partitions (6)" in notes
    assert "WARNING" not in render_notes(tools, tmp_path / "again")
