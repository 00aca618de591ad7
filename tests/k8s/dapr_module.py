"""What the pinned Dapr release says, read from its Go module.

runtime/go.mod pins github.com/dapr/dapr; runtime/build.sh has put that
module in the Go module cache. It carries the Helm chart (values and CRDs)
and the sidecar injector's annotation keys, so the checks compare our files
with the release we run instead of with copies kept in this repository.
"""

import copy
import re
import subprocess
from functools import cached_property
from pathlib import Path

import yaml

from repo import ROOT


def go_module_dir(module: str, runtime: Path = ROOT / "runtime") -> Path:
    """`module`'s directory in the Go module cache, as runtime/go.mod resolves
    it, downloaded first if missing (a no-op after runtime/build.sh)."""
    subprocess.run(
        ["go", "mod", "download", module], cwd=runtime, check=True, capture_output=True
    )
    out = subprocess.run(
        ["go", "list", "-m", "-f", "{{.Dir}}", module],
        cwd=runtime,
        check=True,
        capture_output=True,
        text=True,
    )
    return Path(out.stdout.strip())


def module_dir(runtime: Path = ROOT / "runtime") -> Path:
    """The dapr module: its chart, CRDs and injector annotations."""
    path = go_module_dir("github.com/dapr/dapr", runtime)
    if not (path / "charts" / "dapr").is_dir():
        raise RuntimeError(f"no Dapr chart under {path!r}: is runtime/go.mod's module downloaded?")
    return path


def contrib_dir(runtime: Path = ROOT / "runtime") -> Path:
    """The components-contrib module: its `metadata.yaml` files list each
    component's metadata fields."""
    path = go_module_dir("github.com/dapr/components-contrib", runtime)
    if not path.is_dir():
        raise RuntimeError(f"components-contrib is not at {path!r}: run runtime/build.sh")
    return path


def closed(schema):
    """A copy of an OpenAPI v3 schema in which every object that lists its
    properties rejects the ones it does not list, as `kubectl apply` does with
    strict field validation. Objects that preserve unknown fields, or say what
    their extra properties are, are left open."""
    schema = copy.deepcopy(schema)

    def close(node):
        if isinstance(node, dict):
            if (
                "properties" in node
                and "additionalProperties" not in node
                and not node.get("x-kubernetes-preserve-unknown-fields")
            ):
                node["additionalProperties"] = False
            for value in node.values():
                close(value)
        elif isinstance(node, list):
            for value in node:
                close(value)

    close(schema)
    return schema


# Kubernetes checks `metadata` of a custom resource as ObjectMeta; the CRDs
# only say `type: object`. The fields a Dapr resource in this repo may use:
OBJECT_META = {
    "type": "object",
    "required": ["name"],
    "additionalProperties": False,
    "properties": {
        "name": {"type": "string", "pattern": r"^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$"},
        "namespace": {"type": "string"},
        "labels": {"type": "object", "additionalProperties": {"type": "string"}},
        "annotations": {"type": "object", "additionalProperties": {"type": "string"}},
    },
}


class DaprModule:
    def __init__(self, path: Path):
        self.path = path

    @cached_property
    def crd_files(self) -> list[Path]:
        return sorted((self.path / "charts" / "dapr" / "crds").glob("*.yaml"))

    @cached_property
    def crds(self) -> list[dict]:
        return [
            doc
            for p in self.crd_files
            for doc in yaml.safe_load_all(p.read_text())
            if doc and doc.get("kind") == "CustomResourceDefinition"
        ]

    @cached_property
    def schemas(self) -> dict[tuple[str, str], dict]:
        """(apiVersion, kind) → the closed schema of every served version."""
        out = {}
        for crd in self.crds:
            spec = crd["spec"]
            for version in spec["versions"]:
                if not version.get("served"):
                    continue
                schema = closed(version["schema"]["openAPIV3Schema"])
                schema["properties"]["metadata"] = OBJECT_META
                out[(f"{spec['group']}/{version['name']}", spec["names"]["kind"])] = schema
        return out

    @cached_property
    def annotation_keys(self) -> set[str]:
        """The `dapr.io/*` pod annotations the sidecar injector knows."""
        source = (self.path / "pkg" / "injector" / "annotations" / "annotations.go").read_text()
        keys = set(re.findall(r'^\s*Key\w+\s*=\s*"(dapr\.io/[^"]+)"', source, re.MULTILINE))
        if not keys:
            raise RuntimeError("no annotation keys found in annotations.go")
        return keys

    @cached_property
    def annotation_types(self) -> dict[str, str]:
        """`dapr.io/*` annotation → the Go type of the injector's field it
        sets (pkg/injector/patcher/sidecar.go): bool, int32, *string..."""
        source = (self.path / "pkg" / "injector" / "patcher" / "sidecar.go").read_text()
        fields = re.findall(
            r'^\s*\w+\s+(\*?\w+)\s+`annotation:"(dapr\.io/[^"]+)"', source, re.MULTILINE
        )
        if not fields:
            raise RuntimeError("no annotation fields found in sidecar.go")
        return {key: go_type for go_type, key in fields}

    @cached_property
    def chart_values(self) -> dict:
        """The chart's values as `helm --set` sees them: the parent chart's,
        and each subchart's under its name."""
        chart = self.path / "charts" / "dapr"
        values = yaml.safe_load((chart / "values.yaml").read_text())
        for sub in sorted((chart / "charts").iterdir()):
            values_file = sub / "values.yaml"
            if values_file.is_file():
                values[sub.name] = yaml.safe_load(values_file.read_text()) or {}
        return values
