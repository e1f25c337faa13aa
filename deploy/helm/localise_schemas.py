"""Extract one Kubernetes version's JSON schemas from a kubernetes-validate wheel
so that kubeconform can use them offline.

The wheel's schemas carry ``$id: https://kubernetes.io/api/...`` and refer to
their shared definitions as ``/api/_definitions.json#/$defs/...``: resolved
against that ``$id``, every reference is a URL on kubernetes.io, which a
validator would have to download. Dropping the ``$id`` and making the
references relative (``_definitions.json#/$defs/...``) makes each file resolve
against its own path on disk instead. Nothing else is changed.

Usage: localise_schemas.py WHEEL SCHEMA-DIR-IN-WHEEL OUT-DIR
(e.g. ``v1.31.0-local-strict``; tools.sh calls it).
"""

from __future__ import annotations

import json
import sys
import zipfile
from pathlib import Path, PurePosixPath
from typing import Any

WHEEL_ROOT = "kubernetes_validate/kubernetes-json-schema"
REMOTE_DEFINITIONS = "/api/_definitions.json#"
LOCAL_DEFINITIONS = "_definitions.json#"


def localise(node: Any) -> Any:
    """The schema with remote references made local and ``$id`` removed, at
    every depth (refs sit inside properties, items, oneOf...)."""
    if isinstance(node, dict):
        out: dict[str, Any] = {}
        for key, value in node.items():
            if key == "$id":
                continue
            if key == "$ref" and isinstance(value, str):
                if value.startswith(REMOTE_DEFINITIONS):
                    value = LOCAL_DEFINITIONS + value.removeprefix(REMOTE_DEFINITIONS)
                elif not value.startswith("#"):
                    # A reference of another shape would silently go to the
                    # network at validation time: refuse it here instead.
                    raise ValueError(f"unexpected $ref {value!r}")
            out[key] = localise(value)
        return out
    if isinstance(node, list):
        return [localise(item) for item in node]
    return node


def extract(wheel: Path, schema_dir: str, out: Path) -> int:
    """Write the localised schemas of ``schema_dir`` into ``out``; the count."""
    prefix = f"{WHEEL_ROOT}/{schema_dir}/"
    written = 0
    with zipfile.ZipFile(wheel) as archive:
        for name in archive.namelist():
            if not name.startswith(prefix) or not name.endswith(".json"):
                continue
            # Flat names only: a wheel entry cannot write outside `out`.
            filename = PurePosixPath(name).name
            if name != prefix + filename or filename.startswith("."):
                continue
            schema = json.loads(archive.read(name))
            (out / filename).write_text(json.dumps(localise(schema)))
            written += 1
    if not written:
        raise SystemExit(f"no schemas under {prefix} in {wheel}")
    return written


def main(argv: list[str]) -> None:
    if len(argv) != 3:
        raise SystemExit(__doc__)
    wheel, schema_dir, out = Path(argv[0]), argv[1], Path(argv[2])
    out.mkdir(parents=True, exist_ok=True)
    count = extract(wheel, schema_dir, out)
    print(f"{count} schemas written to {out}")


if __name__ == "__main__":
    main(sys.argv[1:])
