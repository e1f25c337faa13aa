"""Fixtures of the Helm chart tests: the pinned tools (installed once by
deploy/helm/tools.sh into .stack/tools/, which needs Go and, the first time
only, the Go module proxy and PyPI), and rendering the chart.

None of these tests needs Kafka, Elasticsearch or Redis: they render the
chart and validate the objects offline. They carry the ``helm`` marker
(``pytest -m helm``) and ``slow`` (the first run builds helm and kubeconform).
"""

from __future__ import annotations

import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
HELM_DIR = REPO / "deploy" / "helm"
CHART = HELM_DIR / "newsflow"
TOOLS_SH = HELM_DIR / "tools.sh"
EVERYTHING = Path(__file__).resolve().parent / "values-everything.yaml"
RELEASE = "nf"
K8S_NAMESPACE = "news"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "helm: renders and validates the Helm chart offline (needs Go; no servers)"
    )


@dataclass(frozen=True)
class Tools:
    helm: Path
    kubeconform: Path
    k8s_schemas: Path
    keda_schemas: Path
    k8s_version: str

    def run_helm(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        proc = subprocess.run([str(self.helm), *args], capture_output=True, text=True, timeout=300)
        if check and proc.returncode != 0:
            pytest.fail(f"helm {' '.join(args)} failed:\n{proc.stdout}\n{proc.stderr}")
        return proc

    def template(
        self, *value_files: Path, sets: Sequence[str] = (), check: bool = True
    ) -> subprocess.CompletedProcess[str]:
        """`helm template` of the chart, as `helm install` would render it
        (hooks included)."""
        args = ["template", RELEASE, str(CHART), "--namespace", K8S_NAMESPACE]
        args += ["--kube-version", self.k8s_version]
        for path in value_files:
            args += ["-f", str(path)]
        for item in sets:
            args += ["--set", item]
        return self.run_helm(*args, check=check)

    def render(self, *value_files: Path, sets: Sequence[str] = ()) -> list[dict[str, Any]]:
        return parse(self.template(*value_files, sets=sets).stdout)

    def validate(self, manifests: Path) -> subprocess.CompletedProcess[str]:
        """Validate strictly against the pinned Kubernetes schemas and the
        KEDA CRD schemas only: a kind with no schema is an error, not a skip,
        and nothing is fetched."""
        # KindSuffix is "-<first part of the group>-<version>": deployment-apps-v1,
        # scaledobject-keda-v1alpha1 (tools.sh names the KEDA schemas so).
        name = "{{ .ResourceKind }}{{ .KindSuffix }}.json"
        return subprocess.run(
            [
                str(self.kubeconform),
                "-strict",
                "-summary",
                "-output",
                "json",
                "-schema-location",
                f"{self.k8s_schemas}/{name}",
                "-schema-location",
                f"{self.keda_schemas}/{name}",
                str(manifests),
            ],
            capture_output=True,
            text=True,
            timeout=300,
        )


def parse(text: str) -> list[dict[str, Any]]:
    return [doc for doc in yaml.safe_load_all(text) if doc]


@pytest.fixture(scope="session")
def tools() -> Tools:
    """Install the pinned tools if missing (idempotent, cached in .stack/tools/)."""
    proc = subprocess.run(["bash", str(TOOLS_SH)], capture_output=True, text=True, timeout=1800)
    if proc.returncode != 0:
        pytest.fail(f"deploy/helm/tools.sh failed:\n{proc.stdout}\n{proc.stderr}", pytrace=False)
    env = subprocess.run(
        ["bash", str(TOOLS_SH), "env"], capture_output=True, text=True, check=True
    ).stdout
    paths = dict(line.split("=", 1) for line in env.splitlines() if "=" in line)
    found = Tools(
        helm=Path(paths["HELM"]),
        kubeconform=Path(paths["KUBECONFORM"]),
        k8s_schemas=Path(paths["K8S_SCHEMAS"]),
        keda_schemas=Path(paths["KEDA_SCHEMAS"]),
        k8s_version=paths["K8S_VERSION"],
    )
    for path in (found.helm, found.kubeconform, found.k8s_schemas, found.keda_schemas):
        assert path.exists(), f"tools.sh reported success but {path} is missing"
    return found


@pytest.fixture(scope="session")
def default_objects(tools: Tools) -> list[dict[str, Any]]:
    return tools.render()


@pytest.fixture(scope="session")
def everything_objects(tools: Tools) -> list[dict[str, Any]]:
    return tools.render(EVERYTHING)
