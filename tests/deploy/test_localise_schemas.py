"""deploy/helm/localise_schemas.py: the Kubernetes schemas of kubernetes-validate
made usable offline (no reference may still point at kubernetes.io)."""

from __future__ import annotations

import importlib.util
import json
import zipfile
from pathlib import Path
from types import ModuleType

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "deploy" / "helm" / "localise_schemas.py"


def load() -> ModuleType:
    spec = importlib.util.spec_from_file_location("localise_schemas", SCRIPT)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


ls = load()

DEPLOYMENT = {
    "$id": "https://kubernetes.io/api/deployment/apps/v1",
    "properties": {
        "metadata": {"$ref": "/api/_definitions.json#/$defs/io.k8s.ObjectMeta"},
        "spec": {"oneOf": [{"$ref": "/api/_definitions.json#/$defs/io.k8s.DeploymentSpec"}]},
        "local": {"$ref": "#/$defs/x"},
    },
}


def test_references_become_local_and_ids_go() -> None:
    out = ls.localise(DEPLOYMENT)
    assert "$id" not in out
    assert out["properties"]["metadata"]["$ref"] == "_definitions.json#/$defs/io.k8s.ObjectMeta"
    assert out["properties"]["spec"]["oneOf"][0]["$ref"].startswith("_definitions.json#")
    assert out["properties"]["local"] == {"$ref": "#/$defs/x"}
    assert "kubernetes.io" not in json.dumps(out)


@pytest.mark.parametrize("ref", ["https://example.org/schema.json", "/api/other.json#/x"])
def test_any_other_remote_reference_is_refused(ref: str) -> None:
    with pytest.raises(ValueError, match="unexpected"):
        ls.localise({"properties": {"a": {"$ref": ref}}})


def test_extract_takes_one_version_and_flat_names_only(tmp_path: Path) -> None:
    wheel = tmp_path / "kv.whl"
    root = "kubernetes_validate/kubernetes-json-schema"
    with zipfile.ZipFile(wheel, "w") as zf:
        zf.writestr(f"{root}/v1.31.0-local-strict/deployment-apps-v1.json", json.dumps(DEPLOYMENT))
        zf.writestr(f"{root}/v1.31.0-local-strict/sub/../../evil.json", "{}")
        zf.writestr(f"{root}/v1.30.0-local-strict/service-v1.json", "{}")
    out = tmp_path / "out"
    out.mkdir()
    assert ls.extract(wheel, "v1.31.0-local-strict", out) == 1
    assert [p.name for p in out.iterdir()] == ["deployment-apps-v1.json"]
    assert not (tmp_path / "evil.json").exists()
    with pytest.raises(SystemExit):
        ls.extract(wheel, "v1.99.0-local-strict", out)
