"""The project's files as the offline checks see them.

Every check reads the repository through a `Repo` rooted at a directory, so
the same check runs on the clone and on a broken copy in a temporary
directory (the seeded-fault tests).
"""

import re
import tomllib
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]

# The Kubernetes version of the kind node image in k8s/kind-config.yaml; the
# manifests are validated against its schemas.
KUBERNETES_VERSION = "1.34.0"

# The files the checks read, for copying a repository to break it.
CHECKED_PATHS = [
    ".dockerignore",
    ".gitignore",
    ".yamllint",
    "Cargo.toml",
    "Dockerfile",
    "Tiltfile",
    "rust-toolchain.toml",
    "components",
    "k8s",
    "runtime/go.mod",
    "runtime/slim/components.go",
    "src/api",
    "src/settings.rs",
]

WORKLOAD_KINDS = {"Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job", "CronJob", "Pod"}

# Routes as axum declares them in src/api: `.route(PATH, get(...))`, PATH a
# string literal or a constant of src/settings.rs; Swagger UI's pages.
ROUTE = re.compile(r'\.route\(\s*(?:"([^"]*)"|(\w+))\s*,\s*(get|post|put|patch|delete)\(')
SWAGGER_UI = re.compile(r'SwaggerUi::new\(\s*"([^"]+)"')
SWAGGER_PAGE = re.compile(r'(?:SwaggerUi::new|\.url)\(\s*"([^"]+)"')


@dataclass(frozen=True)
class Doc:
    """One YAML document and the file it came from."""

    path: Path
    body: dict

    @property
    def kind(self) -> str:
        return self.body.get("kind", "")

    @property
    def name(self) -> str:
        return (self.body.get("metadata") or {}).get("name", "")

    def __str__(self) -> str:
        return f"{self.path.name}: {self.kind}/{self.name}"


def load_docs(path: Path) -> list[Doc]:
    with path.open() as f:
        return [Doc(path, body) for body in yaml.safe_load_all(f) if body is not None]


def pod_spec(doc: Doc) -> dict | None:
    """The pod spec of a workload, or None for other kinds."""
    body = doc.body
    if doc.kind == "Pod":
        return body.get("spec")
    if doc.kind == "CronJob":
        return body["spec"]["jobTemplate"]["spec"]["template"].get("spec")
    if doc.kind in WORKLOAD_KINDS:
        return body["spec"]["template"].get("spec")
    return None


def pod_template_metadata(doc: Doc) -> dict:
    if doc.kind == "Pod":
        return doc.body.get("metadata") or {}
    if doc.kind == "CronJob":
        return doc.body["spec"]["jobTemplate"]["spec"]["template"].get("metadata") or {}
    return doc.body["spec"]["template"].get("metadata") or {}


class Repo:
    def __init__(self, root: Path = ROOT):
        self.root = root

    def path(self, relative: str) -> Path:
        return self.root / relative

    def text(self, relative: str) -> str:
        return self.path(relative).read_text()

    # --- Kubernetes and Dapr resources -----------------------------------

    @cached_property
    def k8s_files(self) -> list[Path]:
        return sorted(self.path("k8s").glob("*.yaml"))

    @cached_property
    def kind_config_files(self) -> list[Path]:
        """The files under k8s/ that configure a kind cluster."""
        return [
            p
            for p in self.k8s_files
            if any(d.body.get("apiVersion", "").startswith("kind.x-k8s.io/") for d in load_docs(p))
        ]

    @cached_property
    def manifests(self) -> list[Doc]:
        """Every Kubernetes object under k8s/ (the kind config excluded)."""
        return [d for p in self.k8s_files if p not in self.kind_config_files for d in load_docs(p)]

    @cached_property
    def component_files(self) -> list[Path]:
        return sorted(self.path("components").glob("*.yaml"))

    @cached_property
    def dapr_resources(self) -> list[Doc]:
        return [d for p in self.component_files for d in load_docs(p)]

    def manifests_of(self, kind: str) -> list[Doc]:
        return [d for d in self.manifests if d.kind == kind]

    def dapr_of(self, kind: str) -> list[Doc]:
        return [d for d in self.dapr_resources if d.kind == kind]

    def dapr_enabled_workloads(self) -> list[Doc]:
        return [
            d
            for d in self.manifests
            if d.kind in WORKLOAD_KINDS
            and pod_template_metadata(d).get("annotations", {}).get("dapr.io/enabled") == "true"
        ]

    # --- Everything else --------------------------------------------------

    @cached_property
    def settings_constants(self) -> dict[str, str]:
        """The `pub const NAME: &str = "value";` items of src/settings.rs."""
        pattern = re.compile(r'^pub const (\w+): &str = "([^"]*)";', re.MULTILINE)
        return dict(pattern.findall(self.text("src/settings.rs")))

    @cached_property
    def dapr_version(self) -> str | None:
        """The Dapr version runtime/go.mod requires."""
        match = re.search(
            r"^require github\.com/dapr/dapr v(\S+)$", self.text("runtime/go.mod"), re.MULTILINE
        )
        return match.group(1) if match else None

    @cached_property
    def rust_toolchain(self) -> str | None:
        match = re.search(
            r'^channel\s*=\s*"([^"]+)"', self.text("rust-toolchain.toml"), re.MULTILINE
        )
        return match.group(1) if match else None

    @cached_property
    def cargo_binaries(self) -> list[str]:
        """The binaries Cargo.toml builds: its [[bin]] names, else the
        package's name."""
        manifest = tomllib.loads(self.text("Cargo.toml"))
        names = [b["name"] for b in manifest.get("bin") or [] if "name" in b]
        return names or [manifest.get("package", {}).get("name", "")]

    @cached_property
    def app_routes(self) -> dict[str, set[str]]:
        """The paths the service serves (src/api/*.rs) → their methods."""
        routes: dict[str, set[str]] = {}
        for path in sorted(self.path("src/api").glob("*.rs")):
            source = path.read_text()
            for literal, constant, method in ROUTE.findall(source):
                route = literal or self.settings_constants.get(constant, constant)
                routes.setdefault(route, set()).add(method.upper())
            for page in SWAGGER_PAGE.findall(source):
                routes.setdefault(page, set()).add("GET")
        return routes

    @cached_property
    def swagger_ui(self) -> list[str]:
        """Where the service serves Swagger UI (SwaggerUi::new in src/api)."""
        return [
            page
            for path in sorted(self.path("src/api").glob("*.rs"))
            for page in SWAGGER_UI.findall(path.read_text())
        ]

    @cached_property
    def dockerfile(self) -> list[tuple[str, str]]:
        """The Dockerfile's instructions as (INSTRUCTION, arguments), with
        continuation lines joined and comments dropped."""
        instructions, pending = [], ""
        for line in self.text("Dockerfile").splitlines():
            stripped = line.strip()
            if not pending and (not stripped or stripped.startswith("#")):
                continue
            if stripped.endswith("\\"):
                pending += stripped[:-1] + " "
                continue
            whole = pending + stripped
            pending = ""
            word, _, rest = whole.partition(" ")
            instructions.append((word.upper(), rest.strip()))
        return instructions
