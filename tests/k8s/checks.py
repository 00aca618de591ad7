"""The offline checks of the cluster files.

Each check takes a `Repo` (and what else it compares against) and returns a
list of problems, one readable line each; an empty list means it passed.
The tests run every check on the repository, and again on a copy broken on
purpose, to show that the check notices.
"""

import fnmatch
import json
import posixpath
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

import jsonschema
import kubernetes_validate
import yaml
from kubernetes_validate.utils import SchemaNotFoundError, ValidationError

import tilt
from dapr_module import DaprModule
from repo import (
    KUBERNETES_VERSION,
    WORKLOAD_KINDS,
    Doc,
    Repo,
    load_docs,
    pod_spec,
    pod_template_metadata,
)

APP_ID_ANNOTATION = "dapr.io/app-id"
DAPR_RESOURCE = "dapr"


def tool(name: str) -> str:
    """A tool installed next to the Python running the checks (the
    virtualenv of scripts/setup.sh --checks), else from PATH."""
    local = Path(sys.executable).parent / name
    found = str(local) if local.exists() else shutil.which(name)
    if not found:
        raise RuntimeError(f"{name} not found: install tests/k8s/requirements.txt")
    return found


def run_tool(args: list[str], cwd: Path) -> list[str]:
    """Runs a linter; its output lines are the problems when it fails."""
    result = subprocess.run(args, cwd=cwd, capture_output=True, text=True)
    if result.returncode == 0:
        return []
    lines = (result.stdout + result.stderr).strip().splitlines()
    return lines or [f"{args[0]} exited with {result.returncode}"]


# --- Schemas ------------------------------------------------------------------


def check_k8s_schemas(repo: Repo, version: str = KUBERNETES_VERSION) -> list[str]:
    """Every object under k8s/ validates against the Kubernetes schemas of
    `version`, unknown fields rejected."""
    problems = []
    if not repo.manifests:
        problems.append("no Kubernetes objects under k8s/")
    for doc in repo.manifests:
        try:
            kubernetes_validate.validate(doc.body, version, strict=True)
        except ValidationError as error:
            path = ".".join(str(p) for p in error.path)
            problems.append(f"{doc}: {path}: {error.message}")
        except SchemaNotFoundError as error:
            problems.append(f"{doc}: {error.message}")
    return problems


def check_dapr_schemas(repo: Repo, dapr: DaprModule) -> list[str]:
    """Every Dapr resource in components/ validates against the CRD schema of
    the pinned Dapr release, unknown fields rejected."""
    problems = []
    if not repo.dapr_resources:
        problems.append("no Dapr resources under components/")
    for doc in repo.dapr_resources:
        schema = dapr.schemas.get((doc.body.get("apiVersion"), doc.kind))
        if schema is None:
            problems.append(f"{doc}: no Dapr CRD serves {doc.body.get('apiVersion')} {doc.kind}")
            continue
        validator = jsonschema.Draft202012Validator(schema)
        for error in sorted(validator.iter_errors(doc.body), key=lambda e: list(e.path)):
            path = ".".join(str(p) for p in error.path)
            problems.append(f"{doc}: {path}: {error.message}")
    return problems


def check_kind_config(repo: Repo, kindconfig: Path, version: str = KUBERNETES_VERSION) -> list[str]:
    """The kind config decodes strictly into kind's own types and runs the
    node image of the Kubernetes version the manifests are checked against."""
    files = repo.kind_config_files
    if len(files) != 1:
        return [f"want one kind cluster config under k8s/, found {len(files)}"]
    result = subprocess.run([str(kindconfig), str(files[0])], capture_output=True, text=True)
    if result.returncode != 0:
        return result.stderr.strip().splitlines()
    cluster = json.loads(result.stdout)
    problems = []
    for node in cluster.get("nodes") or [{}]:
        image = node.get("image", "")
        if not image.startswith(f"kindest/node:v{version}@sha256:"):
            problems.append(
                f"{files[0].name}: node image {image!r} is not kindest/node:v{version} "
                "pinned by digest"
            )
    return problems


def kind_port_mappings(repo: Repo, kindconfig: Path) -> list[dict]:
    result = subprocess.run(
        [str(kindconfig)] + [str(p) for p in repo.kind_config_files],
        capture_output=True,
        text=True,
        check=True,
    )
    cluster = json.loads(result.stdout)
    return [m for node in cluster.get("nodes") or [] for m in node.get("extraPortMappings") or []]


# --- Linters ------------------------------------------------------------------


def check_yamllint(repo: Repo) -> list[str]:
    """yamllint, with the repository's .yamllint, on every YAML file that is
    not git-ignored; warnings count."""
    return run_tool([tool("yamllint"), "--strict", "--format", "parsable", "."], cwd=repo.root)


def yamllint_files(repo: Repo) -> list[str]:
    out = subprocess.run(
        [tool("yamllint"), "--list-files", "."],
        cwd=repo.root,
        capture_output=True,
        text=True,
        check=True,
    )
    return sorted(line.removeprefix("./") for line in out.stdout.splitlines())


def check_hadolint(repo: Repo) -> list[str]:
    return run_tool([tool("hadolint"), "--no-color", "Dockerfile"], cwd=repo.root)


def check_shellcheck(repo: Repo) -> list[str]:
    scripts = sorted(str(p.relative_to(repo.root)) for p in repo.path("k8s").glob("*.sh"))
    return run_tool([tool("shellcheck"), *scripts], cwd=repo.root) if scripts else []


# --- The Tiltfile ---------------------------------------------------------------


def check_tiltfile(repo: Repo, run: tilt.TiltRun) -> list[str]:
    """What the Tiltfile names exists, and its resources fit together."""
    resources = run.resources
    problems = run.problems + run.grouping_problems

    if not any(args["contexts"] == run.context for args in run.called("allow_k8s_contexts")):
        problems.append("allow_k8s_contexts() is not given the kind context")

    for path in referenced_files(run):
        if not path.exists():
            problems.append(f"names {path.relative_to(repo.root)}, which does not exist")

    for name, resource in resources.items():
        if name == "uncategorized":
            problems.append(
                "objects no resource claims (Tilt's 'uncategorized'): "
                + ", ".join(str(d) for d in resource.objects)
            )
            continue
        for dep in resource.resource_deps:
            if dep not in resources:
                problems.append(f"resource {name!r} depends on {dep!r}, which is not a resource")
            elif on_demand(resources[dep]):
                problems.append(
                    f"resource {name!r} depends on {dep!r}, which Tilt deploys only when "
                    "asked (auto_init=False or a manual trigger)"
                )
        if not resource.labels:
            problems.append(f"resource {name!r} has no label")

    problems += dependency_cycles(resources)

    used = {c.get("image", "").split(":")[0] for d in run.objects for c in tilt.containers(d)}
    for image in run.images:
        if image not in used:
            problems.append(f"image {image!r} is built but no workload runs it")
    return problems


def on_demand(resource: tilt.Resource) -> bool:
    """Whether Tilt deploys `resource` only when someone asks in its UI."""
    return (
        resource.options.get("auto_init") is False
        or resource.options.get("trigger_mode") == tilt.TRIGGER_MODE_MANUAL
    )


def dependency_cycles(resources: dict[str, tilt.Resource]) -> list[str]:
    """Each cycle of resource_deps, once: Tilt would wait on it forever."""
    found: dict[frozenset, list[str]] = {}

    def visit(name: str, path: list[str]) -> None:
        if name in path:
            cycle = path[path.index(name) :]
            found.setdefault(frozenset(cycle), cycle + [name])
            return
        for dep in resources[name].resource_deps if name in resources else []:
            visit(dep, path + [name])

    for name in resources:
        visit(name, [])
    return [f"resource_deps cycle: {' -> '.join(cycle)}" for cycle in found.values()]


def referenced_files(run: tilt.TiltRun) -> list[Path]:
    paths = list(run.yaml_files)
    for args in run.called("docker_build"):
        context = run.resolve(args["context"])
        paths += [context, context / args.get("dockerfile", "Dockerfile")]
    for args in run.called("k8s_custom_deploy"):
        deps = args["deps"] if isinstance(args["deps"], list) else [args["deps"]]
        paths += [run.resolve(d) for d in deps]
        for cmd in (args["apply_cmd"], args["delete_cmd"]):
            if isinstance(cmd, list) and len(cmd) > 1 and cmd[0] in ("bash", "sh"):
                paths.append(run.resolve(cmd[1]))
    for name, key in (
        ("read_file", "file_path"),
        ("read_yaml", "path"),
        ("watch_file", "file_path"),
    ):
        paths += [
            run.resolve(args[key]) for args in run.called(name) if args.get("default") is None
        ]
    return paths


def check_no_load(repo: Repo) -> list[str]:
    """The Tiltfile loads no other file: an `ext://` extension is fetched from
    the network the first time the Tiltfile loads."""
    ast = tilt.parse(repo.path("Tiltfile"))
    return [
        f"Tiltfile: load({load.module_id!r}): use Tilt's builtins, not extensions"
        for load in ast.loads()
    ]


# Contexts that are not a kind cluster's: clouds, the local clusters of other
# tools, and names that only look like kind's (`kind-<cluster>`).
FOREIGN_CONTEXTS = (
    "gke_company_europe-west1_prod",
    "arn:aws:eks:eu-west-1:123456789012:cluster/prod",
    "docker-desktop",
    "minikube",
    "kind",
    "prod-kind-order-outbox",
)


def kind_context(repo: Repo) -> str:
    """The kubectl context `kind create cluster` makes from the kind config."""
    names = [d.body.get("name", "kind") for p in repo.kind_config_files for d in load_docs(p)]
    return f"kind-{names[0] if names else 'kind'}"


def check_context_guard(repo: Repo) -> list[str]:
    """The Tiltfile refuses every context that is not a kind cluster's, and
    loads with the context of the cluster k8s/ configures."""
    problems = []
    for context in FOREIGN_CONTEXTS:
        try:
            tilt.evaluate(repo.path("Tiltfile"), context=context)
        except tilt.TiltfileFailed:
            continue
        problems.append(
            f"the Tiltfile loads with context {context!r}: it must fail() "
            "unless the context starts with 'kind-'"
        )
    try:
        tilt.evaluate(repo.path("Tiltfile"), context=kind_context(repo))
    except tilt.TiltfileFailed as failure:
        problems.append(f"the Tiltfile refuses the kind cluster's context: {failure}")
    return problems


def helm_install(args: dict) -> dict:
    """The Helm release a k8s_custom_deploy installs through k8s/helm-release.sh:
    namespace, release, chart and flags (`--flag value` or `--flag=value`)."""
    cmd = list(args["apply_cmd"])
    if "install" not in cmd:
        return {}
    i = cmd.index("install")
    namespace, release, chart = cmd[i + 1 : i + 4]
    flags: dict[str, list[str]] = {}
    rest = cmd[i + 4 :]
    while rest:
        word = rest.pop(0)
        if "=" in word:
            key, value = word.split("=", 1)
        else:
            key, value = word, rest.pop(0) if rest else ""
        flags.setdefault(key, []).append(value)
    return {"namespace": namespace, "release": release, "chart": chart, "flags": flags}


def check_helm_releases(run: tilt.TiltRun) -> list[str]:
    """Every Helm release a k8s_custom_deploy installs names its chart
    repository (--repo: nothing depends on the laptop's `helm repo` list),
    and its delete command uninstalls that release from that namespace."""
    problems = []
    for args in run.called("k8s_custom_deploy"):
        release = helm_install(args)
        if not release:
            continue
        name = args["name"]
        if not any(release["flags"].get("--repo", [])):
            problems.append(f"resource {name!r}: the Helm install has no --repo")
        delete = list(args["delete_cmd"])
        i = delete.index("uninstall") if "uninstall" in delete else len(delete)
        deleted = tuple(delete[i + 1 : i + 3])
        if deleted != (release["namespace"], release["release"]):
            problems.append(
                f"resource {name!r}: installs release {release['release']!r} in namespace "
                f"{release['namespace']!r}, but its delete command uninstalls {deleted}"
            )
    return problems


GO_DURATION_UNITS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1, "m": 60, "h": 3600}


def duration_seconds(value: str) -> float | None:
    """A Go duration (`8m`, `1m30s`, `500ms`) in seconds; None if it is not one."""
    if not GO_DURATION.match(value):
        return None
    parts = re.findall(r"(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)", value)
    return sum(float(number) * GO_DURATION_UNITS[unit] for number, unit in parts)


def check_dapr_install(repo: Repo, run: tilt.TiltRun, dapr: DaprModule) -> list[str]:
    """The `dapr` resource installs the pinned Dapr chart with values the
    chart has, and `tilt down` removes it with its CRDs."""
    deploys = {args["name"]: args for args in run.called("k8s_custom_deploy")}
    if DAPR_RESOURCE not in deploys:
        return [f"no k8s_custom_deploy named {DAPR_RESOURCE!r} installs the Dapr control plane"]
    args = deploys[DAPR_RESOURCE]
    release = helm_install(args)
    if not release or release["chart"] != "dapr":
        return [f"{DAPR_RESOURCE!r} does not install the chart 'dapr' through k8s/helm-release.sh"]
    flags = release["flags"]
    problems = []

    versions = flags.get("--version", [])
    if versions != [repo.dapr_version]:
        problems.append(
            f"Dapr chart version {versions} is not runtime/go.mod's {repo.dapr_version}"
        )
    if release["namespace"] != "dapr-system":
        problems.append(f"Dapr goes to namespace {release['namespace']!r}, not dapr-system")

    for setting in flags.get("--set", []):
        key = setting.split("=", 1)[0]
        node = dapr.chart_values
        for part in key.split("."):
            if not isinstance(node, dict) or part not in node:
                problems.append(
                    f"--set {key}: the Dapr {repo.dapr_version} chart has no such value"
                )
                break
            node = node[part]
    # The 1.18 chart always runs three scheduler replicas. In-memory storage
    # would leave a replaced pod unable to rejoin its two peers' etcd
    # cluster, so a laptop gets small volumes instead of 16Gi ones.
    sets = flags.get("--set", [])
    if "dapr_scheduler.cluster.storageSize=1Gi" not in sets:
        problems.append("the scheduler's volumes are not sized for a laptop (storageSize=1Gi)")
    if any(s.startswith("dapr_scheduler.cluster.inMemoryStorage=true") for s in sets):
        problems.append(
            "in-memory scheduler storage: with three replicas a replaced pod cannot rejoin"
        )

    upsert = [a.get("k8s_upsert_timeout_secs") for a in run.called("update_settings")]
    helm_timeout = duration_seconds((flags.get("--timeout") or ["5m"])[-1]) or 0
    if not upsert or not upsert[-1] or upsert[-1] <= helm_timeout:
        problems.append(
            f"Tilt's k8s_upsert_timeout_secs {upsert} must exceed Helm's --timeout "
            f"({helm_timeout:g}s), or Tilt kills the install it waits for"
        )

    delete = list(args["delete_cmd"])
    selector = delete[delete.index("--crds") + 1] if "--crds" in delete[:-1] else None
    if selector is None:
        problems.append("the delete command leaves Dapr's CRDs behind (no --crds selector)")
    else:
        key, _, value = selector.partition("=")
        missed = [
            c["metadata"]["name"]
            for c in dapr.crds
            if (c["metadata"].get("labels") or {}).get(key) != value
        ]
        if missed:
            problems.append(f"--crds {selector} misses the chart's CRDs {missed}")
    return problems


def check_tilt_order(repo: Repo, run: tilt.TiltRun) -> list[str]:
    """Dapr resources wait for the control plane; the app waits for the
    control plane, the Dapr resources and Redis; every file in components/
    is applied as it is."""
    resources = run.resources
    problems = []

    applied = set(run.yaml_files)
    for path in repo.component_files:
        if path.resolve() not in applied:
            problems.append(f"components/{path.name} is not applied by the Tiltfile")

    def owner(doc_filter) -> set[str]:
        return {name for name, r in resources.items() if any(doc_filter(d) for d in r.objects)}

    dapr_holders = owner(lambda d: d.body.get("apiVersion", "").startswith("dapr.io/"))
    for name in dapr_holders:
        if DAPR_RESOURCE not in resources[name].resource_deps:
            problems.append(
                f"resource {name!r} applies Dapr resources without waiting for "
                f"{DAPR_RESOURCE!r} (their CRDs)"
            )

    app_names = owner(
        lambda d: (
            d.kind in WORKLOAD_KINDS
            and pod_template_metadata(d).get("annotations", {}).get("dapr.io/enabled") == "true"
        )
    )
    redis_names = owner(lambda d: d.kind == "Service" and d.name in redis_hosts(repo))
    for name in app_names:
        deps = set(resources[name].resource_deps)
        for needed in {DAPR_RESOURCE} | dapr_holders | redis_names:
            if needed not in deps:
                problems.append(f"resource {name!r} (a Dapr app) does not wait for {needed!r}")
    if not app_names:
        problems.append("no Tilt resource runs a Dapr-enabled workload")
    return problems


# --- Cross-checks ---------------------------------------------------------------


def dapr_env(annotation: str) -> dict[str, str]:
    """The `dapr.io/env` list the way the sidecar injector splits it: at each
    comma followed by `NAME=`, so a value may itself contain commas."""
    parts = re.split(r",\s*(?=[A-Za-z_][A-Za-z0-9_]*=)", annotation.strip())
    env = {}
    for part in parts:
        name, sep, value = part.strip().partition("=")
        if sep:
            env[name] = value
    return env


def redis_hosts(repo: Repo) -> set[str]:
    hosts = set()
    for doc in repo.dapr_enabled_workloads():
        env = dapr_env(pod_template_metadata(doc).get("annotations", {}).get("dapr.io/env", ""))
        hosts |= {value.split(":")[0] for value in env.values()}
    return hosts


def service_port(service: Doc, port: int) -> dict | None:
    return next((p for p in service.body["spec"].get("ports", []) if p.get("port") == port), None)


def container_port(container: dict, ref) -> int | None:
    """A probe's or Service's port (a number or a port name) as a number."""
    if isinstance(ref, int):
        return ref
    return next(
        (p["containerPort"] for p in container.get("ports", []) if p.get("name") == ref), None
    )


def selected_workloads(repo: Repo, service: Doc) -> list[Doc]:
    selector = service.body["spec"].get("selector") or {}
    return [
        d
        for d in repo.manifests
        if d.kind in WORKLOAD_KINDS
        and selector
        and all(
            (pod_template_metadata(d).get("labels") or {}).get(k) == v for k, v in selector.items()
        )
    ]


def app_container(repo: Repo, run: tilt.TiltRun) -> tuple[Doc, dict] | None:
    """The Dapr-enabled workload's container that runs the image Tilt builds."""
    for doc in repo.dapr_enabled_workloads():
        for container in tilt.containers(doc):
            if container.get("image", "").split(":")[0] in run.images:
                return doc, container
    return None


def check_ports(repo: Repo, run: tilt.TiltRun, kind_mappings: list[dict]) -> list[str]:
    """One app port: APP_PORT = containerPort = dapr.io/app-port = the
    Service's targetPort = the Dockerfile's EXPOSE and APP_PORT; the Service's
    NodePort is mapped by kind to the same host port the Tiltfile links to;
    the probes reach the app's health routes on that port."""
    found = app_container(repo, run)
    if not found:
        return ["no Dapr-enabled workload runs the image the Tiltfile builds"]
    doc, container = found
    annotations = pod_template_metadata(doc).get("annotations", {})
    env = {e["name"]: e.get("value") for e in container.get("env", [])}
    ports = {
        "APP_PORT env": env.get("APP_PORT"),
        "dapr.io/app-port": annotations.get("dapr.io/app-port"),
        "containerPort": [str(p["containerPort"]) for p in container.get("ports", [])],
    }
    problems = []
    app_port = ports["APP_PORT env"]
    if app_port is None:
        return [f"{doc}: container {container['name']!r} does not set APP_PORT"]
    if ports["dapr.io/app-port"] != app_port:
        problems.append(
            f"{doc}: dapr.io/app-port {ports['dapr.io/app-port']} != APP_PORT {app_port}"
        )
    if ports["containerPort"] != [app_port]:
        problems.append(f"{doc}: container ports {ports['containerPort']} != [APP_PORT {app_port}]")
    if env.get("APP_HOST") not in (None, "0.0.0.0"):
        problems.append(
            f"{doc}: APP_HOST {env['APP_HOST']} is not 0.0.0.0; the sidecar and the "
            "kubelet could not reach the app"
        )

    for instruction, arguments in repo.dockerfile:
        if instruction == "EXPOSE" and arguments.split("/")[0] != app_port:
            problems.append(f"Dockerfile: EXPOSE {arguments} != APP_PORT {app_port}")
        if instruction == "ENV" and (m := re.search(r"\bAPP_PORT=(\d+)", arguments)):
            if m.group(1) != app_port:
                problems.append(f"Dockerfile: ENV APP_PORT={m.group(1)} != {app_port}")

    for probe, path in (("readinessProbe", "/readyz"), ("livenessProbe", "/healthz")):
        get = (container.get(probe) or {}).get("httpGet") or {}
        if get.get("path") != path or str(container_port(container, get.get("port"))) != app_port:
            problems.append(f"{doc}: {probe} is not GET {path} on the app port {app_port}")

    services = [s for s in repo.manifests_of("Service") if doc in selected_workloads(repo, s)]
    if not services:
        problems.append(f"{doc}: no Service selects its pods")
    node_ports = set()
    for service in services:
        for port in service.body["spec"].get("ports", []):
            target = container_port(container, port.get("targetPort", port.get("port")))
            if str(target) != app_port:
                problems.append(
                    f"{service}: targetPort {port.get('targetPort')} is not the app port {app_port}"
                )
            if "nodePort" in port:
                node_ports.add(port["nodePort"])
    mapped = {m.get("containerPort"): m.get("hostPort") for m in kind_mappings}
    if not node_ports:
        problems.append(f"{doc}: no NodePort Service exposes it")
    for node_port in node_ports:
        if node_port not in mapped:
            problems.append(f"NodePort {node_port} is not mapped to the host by the kind config")
    host_ports = {mapped[p] for p in node_ports if p in mapped}
    for args in run.called("link"):
        m = re.match(r"https?://localhost:(\d+)", args["url"])
        if m and int(m.group(1)) not in host_ports:
            problems.append(
                f"Tiltfile links to {args['url']}, but kind maps host ports "
                f"{sorted(host_ports)} to the service"
            )
    return problems


def check_tilt_access(repo: Repo, run: tilt.TiltRun, kind_mappings: list[dict]) -> list[str]:
    """The service is reached one way: kind maps its NodePort to the host, so
    its resource has no port_forwards (both would want the same host port).
    The Tiltfile's links to it are GET routes the service serves, and one of
    them is Swagger UI."""
    problems = []
    mapped = {m.get("containerPort") for m in kind_mappings}
    for name, resource in run.resources.items():
        node_ports = {
            port.get("nodePort")
            for doc in resource.objects
            if doc.kind == "Service"
            for port in doc.body["spec"].get("ports") or []
        } & mapped
        if node_ports and resource.options.get("port_forwards"):
            problems.append(
                f"resource {name!r}: port_forwards beside kind's mapping of NodePort "
                f"{sorted(node_ports)}: use one or the other"
            )
    host_ports = {m.get("hostPort") for m in kind_mappings}
    links = [urlparse(args["url"]) for args in run.called("link")]
    app_links = [url for url in links if url.hostname == "localhost" and url.port in host_ports]
    routes = repo.app_routes
    for url in app_links:
        if "GET" not in routes.get(url.path or "/", set()):
            problems.append(f"Tiltfile links to {url.geturl()}: the service serves no GET there")
    if not any(url.path in repo.swagger_ui for url in app_links):
        problems.append(
            f"no Tiltfile link to Swagger UI (the service serves it at {repo.swagger_ui})"
        )
    return problems


def check_dapr_annotations(repo: Repo, dapr: DaprModule) -> list[str]:
    """Every dapr.io/* annotation is a key the sidecar injector knows, with a
    string value; the sidecar gets its configuration and resources."""
    problems = []
    workloads = repo.dapr_enabled_workloads()
    if not workloads:
        problems.append('no workload under k8s/ has dapr.io/enabled: "true"')
    for doc in repo.manifests:
        for where, meta in (
            ("metadata", doc.body.get("metadata") or {}),
            ("pod template", pod_template_metadata(doc) if doc.kind in WORKLOAD_KINDS else {}),
        ):
            for key, value in (meta.get("annotations") or {}).items():
                if not key.startswith("dapr.io/"):
                    continue
                if where == "metadata" and doc.kind in WORKLOAD_KINDS:
                    problems.append(f"{doc}: {key} is on the {doc.kind}, not its pod template")
                if key not in dapr.annotation_keys:
                    problems.append(
                        f"{doc}: {key} is not a dapr.io annotation of Dapr "
                        f"(pkg/injector/annotations)"
                    )
                if not isinstance(value, str):
                    problems.append(f"{doc}: {key} is {value!r}, not a string")
    configs = {d.name for d in repo.dapr_of("Configuration")}
    for doc in workloads:
        annotations = pod_template_metadata(doc).get("annotations", {})
        if annotations.get("dapr.io/config") not in configs:
            problems.append(
                f"{doc}: dapr.io/config {annotations.get('dapr.io/config')!r} is not "
                f"a Configuration in components/ ({sorted(configs)})"
            )
        for key in (
            "dapr.io/app-id",
            "dapr.io/app-port",
            "dapr.io/app-protocol",
            "dapr.io/sidecar-cpu-request",
            "dapr.io/sidecar-cpu-limit",
            "dapr.io/sidecar-memory-request",
            "dapr.io/sidecar-memory-limit",
        ):
            if key not in annotations:
                problems.append(f"{doc}: {key} is not set")
    return problems


def check_dapr_env(repo: Repo) -> list[str]:
    """Every variable a component reads with envRef is set on the sidecar by
    dapr.io/env, as host:port of a Service under k8s/ that has that port
    and selects a workload."""
    problems = []
    env_refs = {
        item["envRef"]: doc
        for doc in repo.dapr_of("Component")
        for item in doc.body["spec"].get("metadata", [])
        if "envRef" in item
    }
    for name, component in env_refs.items():
        if name.upper().startswith("DAPR_") or name.upper() == "APP_API_TOKEN":
            problems.append(
                f"{component}: envRef {name}: daprd refuses to read DAPR_* and APP_API_TOKEN"
            )
    services = {s.name: s for s in repo.manifests_of("Service")}
    for doc in repo.dapr_enabled_workloads():
        env = dapr_env(pod_template_metadata(doc).get("annotations", {}).get("dapr.io/env", ""))
        for name, component in env_refs.items():
            if name not in env:
                problems.append(f"{doc}: dapr.io/env does not set {name} ({component} reads it)")
                continue
            host, _, port = env[name].partition(":")
            service = services.get(host)
            if service is None:
                problems.append(
                    f"{doc}: dapr.io/env {name}={env[name]}: no Service {host!r} under k8s/"
                )
            elif not port.isdigit() or service_port(service, int(port)) is None:
                problems.append(
                    f"{doc}: dapr.io/env {name}={env[name]}: Service {host!r} has no port {port}"
                )
            elif not selected_workloads(repo, service):
                problems.append(f"{service}: selects no workload under k8s/")
    return problems


def check_secrets(repo: Repo) -> list[str]:
    """Every secretKeyRef of a component names a Secret under k8s/ that has
    the key; no password is written in a component."""
    problems = []
    secrets = {}
    for doc in repo.manifests_of("Secret"):
        secrets[doc.name] = set(doc.body.get("stringData") or {}) | set(doc.body.get("data") or {})
    for doc in repo.dapr_of("Component"):
        for item in doc.body["spec"].get("metadata", []):
            if "password" in str(item.get("name")).lower() and item.get("value"):
                problems.append(
                    f"{doc}: {item['name']} is a literal value: name a Secret with secretKeyRef"
                )
            ref = item.get("secretKeyRef")
            if not ref:
                continue
            key = ref.get("key", ref["name"])
            if ref["name"] not in secrets:
                problems.append(f"{doc}: secret {ref['name']!r} is not a Secret under k8s/")
            elif key not in secrets[ref["name"]]:
                problems.append(f"{doc}: Secret {ref['name']!r} has no key {key!r}")
    return problems


# Kinds that live in no namespace (those a repository like this may hold).
CLUSTER_SCOPED_KINDS = {
    "Namespace",
    "ClusterRole",
    "ClusterRoleBinding",
    "CustomResourceDefinition",
    "PersistentVolume",
    "StorageClass",
    "PriorityClass",
    "IngressClass",
}


def namespace_of(doc: Doc) -> str:
    return (doc.body.get("metadata") or {}).get("namespace") or "default"


def check_namespaces(repo: Repo) -> list[str]:
    """Every namespaced object under k8s/ and components/ is in the app's
    namespace (none set is `default`): the operator gives a sidecar only
    the Dapr resources of its pod's namespace, and daprd's Kubernetes secret
    store reads the Secrets of that namespace."""
    apps = repo.dapr_enabled_workloads()
    namespaces = {namespace_of(d) for d in apps}
    if len(namespaces) != 1:
        return [f"want the Dapr-enabled workloads in one namespace, found {sorted(namespaces)}"]
    app_namespace = namespaces.pop()
    problems = []
    for doc in repo.manifests + repo.dapr_resources:
        if doc.kind not in CLUSTER_SCOPED_KINDS and namespace_of(doc) != app_namespace:
            problems.append(
                f"{doc}: namespace {namespace_of(doc)!r}, not the app's {app_namespace!r} "
                f"({apps[0]})"
            )
    secrets = {d.name: d for d in repo.manifests_of("Secret")}
    for doc in repo.dapr_of("Component"):
        for item in doc.body["spec"].get("metadata", []):
            secret = secrets.get((item.get("secretKeyRef") or {}).get("name"))
            if secret and namespace_of(secret) != namespace_of(doc):
                problems.append(
                    f"{doc}: its Secret {secret.name!r} is in namespace {namespace_of(secret)!r}, "
                    f"the component in {namespace_of(doc)!r}"
                )
    return problems


def check_names(repo: Repo) -> list[str]:
    """The store, pub/sub, topic and route names in components/ are the
    constants of src/settings.rs."""
    consts = repo.settings_constants
    problems = []
    missing = [n for n in ("ORDER_STORE", "PUBSUB", "TOPIC", "EVENT_ROUTE") if n not in consts]
    if missing:
        return [f"src/settings.rs has no constant {', '.join(missing)}"]

    components = {d.name: d for d in repo.dapr_of("Component")}
    store = components.get(consts["ORDER_STORE"])
    if store is None or not store.body["spec"]["type"].startswith("state."):
        problems.append(
            f"ORDER_STORE {consts['ORDER_STORE']!r} is not a state store in components/"
        )
    else:
        meta = {m["name"]: m.get("value") for m in store.body["spec"].get("metadata", [])}
        if meta.get("outboxPublishPubsub") != consts["PUBSUB"]:
            problems.append(
                f"{store}: outboxPublishPubsub {meta.get('outboxPublishPubsub')!r} "
                f"!= PUBSUB {consts['PUBSUB']!r}"
            )
        if meta.get("outboxPublishTopic") != consts["TOPIC"]:
            problems.append(
                f"{store}: outboxPublishTopic {meta.get('outboxPublishTopic')!r} "
                f"!= TOPIC {consts['TOPIC']!r}"
            )
    pubsub = components.get(consts["PUBSUB"])
    if pubsub is None or not pubsub.body["spec"]["type"].startswith("pubsub."):
        problems.append(f"PUBSUB {consts['PUBSUB']!r} is not a pub/sub in components/")

    subscriptions = [
        d for d in repo.dapr_of("Subscription") if d.body["spec"].get("topic") == consts["TOPIC"]
    ]
    if not subscriptions:
        problems.append(f"no Subscription to TOPIC {consts['TOPIC']!r}")
    for sub in subscriptions:
        spec = sub.body["spec"]
        route = (spec.get("routes") or {}).get("default", spec.get("route"))
        if spec.get("pubsubname") != consts["PUBSUB"]:
            problems.append(
                f"{sub}: pubsubname {spec.get('pubsubname')!r} != PUBSUB {consts['PUBSUB']!r}"
            )
        if route != consts["EVENT_ROUTE"]:
            problems.append(f"{sub}: route {route!r} != EVENT_ROUTE {consts['EVENT_ROUTE']!r}")

    actor_stores = [
        d
        for d in components.values()
        if any(
            m["name"] == "actorStateStore" and str(m.get("value")).lower() == "true"
            for m in d.body["spec"].get("metadata", [])
        )
    ]
    if len(actor_stores) != 1:
        problems.append(f"want exactly one actorStateStore component, found {len(actor_stores)}")
    return problems


def check_scopes(repo: Repo) -> list[str]:
    """The app id is the one dapr.io/app-id, the service's APP_ID, and every
    component, subscription and resiliency policy is scoped to it;
    resiliency targets are components that exist."""
    problems = []
    ids = {
        pod_template_metadata(d).get("annotations", {}).get(APP_ID_ANNOTATION)
        for d in repo.dapr_enabled_workloads()
    }
    if len(ids) != 1 or None in ids:
        return [f"want one dapr.io/app-id under k8s/, found {sorted(map(str, ids))}"]
    app_id = ids.pop()
    for doc in repo.dapr_enabled_workloads():
        for container in tilt.containers(doc):
            env = {e["name"]: e.get("value") for e in container.get("env", [])}
            if env.get("APP_ID", app_id) != app_id:
                problems.append(
                    f"{doc}: container {container['name']!r} has APP_ID "
                    f"{env['APP_ID']!r}, not the app id {app_id!r}"
                )
    for doc in repo.dapr_resources:
        if doc.kind not in ("Component", "Subscription", "Resiliency"):
            continue
        scopes = doc.body.get("scopes")
        if not isinstance(scopes, list) or app_id not in scopes:
            problems.append(f"{doc}: scopes {scopes!r} do not list the app id {app_id!r}")
    components = {d.name for d in repo.dapr_of("Component")}
    for doc in repo.dapr_of("Resiliency"):
        targets = (doc.body["spec"].get("targets") or {}).get("components") or {}
        for name in targets:
            if name not in components:
                problems.append(f"{doc}: targets component {name!r}, which is not in components/")
    return problems


OFFICIAL_REDIS = re.compile(r"^(docker\.io/library/)?redis[:@]")
REDIS_DEFAULT_PORT = "6379"


def flag_value(words: list[str], flag: str) -> str | None:
    """The value of `flag value` or `flag=value` in a command line."""
    for i, word in enumerate(words):
        if word == flag and i + 1 < len(words):
            return words[i + 1]
        if word.startswith(flag + "="):
            return word.split("=", 1)[1]
    return None


def check_redis(repo: Repo) -> list[str]:
    """The Redis the components reach (the Services dapr.io/env names) runs
    the official image; its containerPort and the Service's targetPort are
    the port redis-server listens on (--port, else 6379); --requirepass is
    $(VAR) of an env variable from a Secret, never the password itself."""
    services = [s for s in repo.manifests_of("Service") if s.name in redis_hosts(repo)]
    if not services:
        return ["no Service under k8s/ is a Redis host that dapr.io/env names"]
    problems = []
    for service in services:
        for doc in selected_workloads(repo, service):
            for container in (pod_spec(doc) or {}).get("containers") or []:
                where = f"{doc}: container {container.get('name')!r}"
                image = container.get("image", "")
                if not OFFICIAL_REDIS.match(image):
                    problems.append(
                        f"{where}: image {image!r} is not the official redis:<tag> "
                        "(or docker.io/library/redis:<tag>)"
                    )
                words = [str(w) for w in (container.get("command") or [])]
                words += [str(w) for w in (container.get("args") or [])]
                listen = flag_value(words, "--port") or REDIS_DEFAULT_PORT
                ports = [str(p.get("containerPort")) for p in container.get("ports") or []]
                if listen not in ports:
                    problems.append(
                        f"{where}: containerPort {ports} is not the port redis-server "
                        f"listens on ({listen})"
                    )
                for port in service.body["spec"].get("ports") or []:
                    target = container_port(container, port.get("targetPort", port.get("port")))
                    if str(target) != listen:
                        problems.append(
                            f"{service}: targetPort {port.get('targetPort')!r} is port {target}, "
                            f"not the one redis-server listens on ({listen})"
                        )
                password = flag_value(words, "--requirepass")
                env = {e.get("name"): e.get("valueFrom") or {} for e in container.get("env") or []}
                variable = re.fullmatch(r"\$\((\w+)\)", password or "")
                if password is not None and not (
                    variable and "secretKeyRef" in env.get(variable.group(1), {})
                ):
                    problems.append(
                        f"{where}: --requirepass {password!r} is not $(VAR) of an env "
                        "variable from a Secret"
                    )
    return problems


def check_image(repo: Repo, run: tilt.TiltRun) -> list[str]:
    """The Dapr-enabled workload runs the image the Tiltfile builds, never
    pulled (Tilt loads it into kind)."""
    found = app_container(repo, run)
    if not found:
        images = [c.get("image") for d in repo.dapr_enabled_workloads() for c in tilt.containers(d)]
        return [
            f"no Dapr-enabled workload runs an image the Tiltfile builds: workloads run "
            f"{images}, the Tiltfile builds {run.images}"
        ]
    doc, container = found
    if container.get("imagePullPolicy") == "Always":
        return [f"{doc}: imagePullPolicy Always would pull the image Tilt loaded into kind"]
    return []


def check_hardening(repo: Repo) -> list[str]:
    """Every container runs as non-root, read-only, without privilege
    escalation or capabilities, with resource requests and limits and
    probes; every object is labelled as part of order-outbox; selectors match
    their pod templates."""
    problems = []
    for doc in repo.manifests:
        labels = (doc.body.get("metadata") or {}).get("labels") or {}
        if labels.get("app.kubernetes.io/part-of") != "order-outbox":
            problems.append(f"{doc}: no label app.kubernetes.io/part-of: order-outbox")
        spec = pod_spec(doc)
        if spec is None:
            continue
        template_labels = pod_template_metadata(doc).get("labels") or {}
        match = ((doc.body.get("spec") or {}).get("selector") or {}).get("matchLabels") or {}
        if any(template_labels.get(k) != v for k, v in match.items()):
            problems.append(f"{doc}: selector {match} does not match its pod labels")
        pod_security = spec.get("securityContext") or {}
        for container in tilt.containers(doc):
            where = f"{doc}: container {container['name']!r}"
            security = container.get("securityContext") or {}
            if not (security.get("runAsNonRoot") or pod_security.get("runAsNonRoot")):
                problems.append(f"{where}: runAsNonRoot is not set")
            if security.get("readOnlyRootFilesystem") is not True:
                problems.append(f"{where}: root filesystem is writable")
            if security.get("allowPrivilegeEscalation") is not False:
                problems.append(f"{where}: allowPrivilegeEscalation is not false")
            if "ALL" not in ((security.get("capabilities") or {}).get("drop") or []):
                problems.append(f"{where}: capabilities are not dropped (drop: [ALL])")
            resources = container.get("resources") or {}
            for part in ("requests", "limits"):
                for resource in ("cpu", "memory"):
                    if resource not in (resources.get(part) or {}):
                        problems.append(f"{where}: no {resource} {part[:-1]}")
            for probe in ("readinessProbe", "livenessProbe"):
                if probe not in container:
                    problems.append(f"{where}: no {probe}")
    return problems


def check_dockerfile(repo: Repo) -> list[str]:
    """The build stage's Rust is rust-toolchain.toml's; the final stage runs
    as a numeric non-root user; .dockerignore keeps what COPY needs."""
    problems = []
    froms = [args for instruction, args in repo.dockerfile if instruction == "FROM"]
    rust = [f for f in froms if f.startswith("rust:")]
    if not rust:
        problems.append("Dockerfile: no stage FROM rust:<version>")
    for image in rust:
        tag = image.split()[0].split(":", 1)[1]
        if not tag.startswith(f"{repo.rust_toolchain}-"):
            problems.append(
                f"Dockerfile: {image.split()[0]} is not rust-toolchain.toml's {repo.rust_toolchain}"
            )
    users = [args for instruction, args in repo.dockerfile if instruction == "USER"]
    if not users or not re.fullmatch(r"[1-9]\d*(:\d+)?", users[-1]):
        problems.append(
            f"Dockerfile: the final USER {users[-1:] or None} is not a numeric non-root user"
        )

    patterns = [
        line.strip()
        for line in repo.text(".dockerignore").splitlines()
        if line.strip() and not line.strip().startswith("#")
    ]
    for instruction, args in repo.dockerfile:
        if instruction != "COPY" or args.startswith("--from"):
            continue
        for source in args.split()[:-1]:
            if dockerignored(patterns, source.rstrip("/")):
                problems.append(
                    f"Dockerfile: COPY {source}, but .dockerignore leaves it out "
                    "of the build context"
                )
    return problems


def dockerignored(patterns: list[str], path: str) -> bool:
    """Whether .dockerignore `patterns` leave `path` out (the last matching
    pattern decides; `!` keeps). Covers the patterns we use, not all of
    Docker's syntax."""
    ignored = False
    for pattern in patterns:
        keep = pattern.startswith("!")
        pattern = pattern.lstrip("!").rstrip("/")
        if fnmatch.fnmatch(path, pattern) or path.startswith(pattern + "/"):
            ignored = not keep
    return ignored


@dataclass
class Stage:
    """One stage of the Dockerfile: FROM image [AS alias], then its steps."""

    image: str
    alias: str
    steps: list[tuple[str, str]]

    @property
    def workdir(self) -> str:
        workdir = "/"
        for instruction, args in self.steps:
            if instruction == "WORKDIR":
                workdir = posixpath.join(workdir, args)
        return workdir


def dockerfile_stages(repo: Repo) -> list[Stage]:
    stages: list[Stage] = []
    for instruction, args in repo.dockerfile:
        if instruction == "FROM":
            words = [w for w in args.split() if not w.startswith("--")]
            named = len(words) == 3 and words[1].upper() == "AS"
            stages.append(Stage(words[0], words[2] if named else str(len(stages)), []))
        elif stages:
            stages[-1].steps.append((instruction, args))
    return stages


def copy_paths(args: str) -> tuple[str | None, list[str], str]:
    """A COPY's --from stage, sources and destination."""
    words = args.split()
    source_stage = next((w.split("=", 1)[1] for w in words if w.startswith("--from=")), None)
    paths = [w for w in words if not w.startswith("--")]
    return source_stage, paths[:-1], paths[-1] if paths else ""


DEBIAN_RELEASES = {"bullseye": 11, "bookworm": 12, "trixie": 13}


def check_dockerfile_stages(repo: Repo) -> list[str]:
    """A build stage and a final distroless one: the build compiles the
    dependencies before it copies src/ (a layer Docker keeps); the final
    stage has glibc (cc, not static), the build's Debian release, and copies
    and runs the binary Cargo.toml names."""
    stages = dockerfile_stages(repo)
    if len(stages) < 2:
        return [
            f"Dockerfile: {len(stages)} stage: the image would ship the toolchain; "
            "build in one stage, run in a distroless one"
        ]
    final, problems = stages[-1], []
    variant = final.image.partition("gcr.io/distroless/")[2]
    release = re.search(r"-debian(\d+)", variant)
    if not variant:
        problems.append(f"Dockerfile: the final stage is FROM {final.image}, not distroless")
    elif variant.startswith("static"):
        problems.append(f"Dockerfile: {final.image} has no glibc, which the service links")
    elif not release:
        problems.append(f"Dockerfile: {final.image} names no Debian release (-debianNN)")

    builds = {s.alias: s for s in stages[:-1]}
    installed, builder = None, stages[0]
    copied = []
    for instruction, args in final.steps:
        source_stage, sources, dest = copy_paths(args) if instruction == "COPY" else (None, [], "")
        for source in sources if source_stage in builds else []:
            copied.append(source)
            stage = builds[source_stage]
            for binary in repo.cargo_binaries:
                if source == posixpath.join(stage.workdir, "target/release", binary):
                    installed = dest + binary if dest.endswith("/") else dest
                    builder = stage
    if installed is None:
        problems.append(
            f"Dockerfile: the final stage copies {copied} from the build, not the release "
            f"binary of Cargo.toml {repo.cargo_binaries} (<WORKDIR>/target/release/<name>)"
        )
    commands = [(i, args) for i, args in final.steps if i in ("ENTRYPOINT", "CMD")]
    commands.sort(key=lambda c: c[0] != "ENTRYPOINT")
    if commands:
        instruction, args = commands[0]
        command = json.loads(args) if args.startswith("[") else args.split()
        if installed is not None and command[:1] != [installed]:
            problems.append(f"Dockerfile: {instruction} runs {command[:1]}, not {installed!r}")
    else:
        problems.append("Dockerfile: the final stage has no ENTRYPOINT or CMD")

    codenames = [c for c in builder.image.rsplit(":", 1)[-1].split("-") if c in DEBIAN_RELEASES]
    if not codenames:
        problems.append(f"Dockerfile: {builder.image} names no Debian release (e.g. -bookworm)")
    elif release and DEBIAN_RELEASES[codenames[0]] != int(release.group(1)):
        problems.append(
            f"Dockerfile: built on Debian {DEBIAN_RELEASES[codenames[0]]} ({builder.image}), "
            f"run on Debian {release.group(1)} ({final.image}): another glibc"
        )

    copy_src = [
        i
        for i, (instruction, args) in enumerate(builder.steps)
        if instruction == "COPY"
        and any(s.removeprefix("./").rstrip("/") == "src" for s in copy_paths(args)[1])
    ]
    before = builder.steps[: copy_src[0]] if copy_src else []
    if not any(i == "RUN" and "cargo build" in args for i, args in before):
        problems.append(
            "Dockerfile: no `cargo build` before `COPY src`: every change to src/ would "
            "compile the dependencies again"
        )
    return problems


# --- k8s/helm-release.sh ----------------------------------------------------------

FAKE_TOOL = """#!/usr/bin/env bash
# A stand-in for {name}: logs its arguments, answers like the real one for a
# release in namespace $FAKE_NAMESPACE, and fails where the real one would
# look elsewhere or fail for a missing flag. FAKE_STATUS=1: the release and
# its objects are gone (an uninstall run again).
echo "{name} $*" >>"$FAKE_LOG"
call="{name} $1" args=" $* "
has() {{
  for form in "$@"; do
    case $args in *" $form "*) return 0 ;; esac
  done
  return 1
}}
in_namespace() {{
  has "--namespace $FAKE_NAMESPACE" "--namespace=$FAKE_NAMESPACE" "-n $FAKE_NAMESPACE" ||
    {{ echo "Error: $call: not found in the default namespace" >&2; exit 1; }}
}}
case "{name} $1 $2" in
  "helm upgrade"*) in_namespace; echo "Release \\"$2\\" has been upgraded. Happy Helming!" ;;
  "helm get manifest")
    in_namespace
    printf 'apiVersion: v1\\nkind: ServiceAccount\\nmetadata:\\n  name: sa\\n' ;;
  "helm status"*) in_namespace; exit "${{FAKE_STATUS:-0}}" ;;
  "helm uninstall"*) in_namespace ;;
  "kubectl get"*)
    in_namespace
    has "--filename -" "-f -" || {{ echo "error: kubectl get reads no objects" >&2; exit 1; }}
    cat >/dev/null
    if has "--output yaml" "--output=yaml" "-o yaml" "-oyaml"; then
      printf 'apiVersion: v1\\nkind: List\\nitems: []\\n'
    else
      printf 'NAME   SECRETS   AGE\\nsa     0         1s\\n'
    fi ;;
  "kubectl delete"*)
    # By name, an object that is gone is an error; a selector matches none.
    has --ignore-not-found --ignore-not-found=true --selector -l || [ "${{FAKE_STATUS:-0}}" = 0 ] ||
      {{ echo "Error from server (NotFound): $2 \\"$3\\" not found" >&2; exit 1; }} ;;
esac
"""


def check_helm_release(repo: Repo, workdir: Path) -> list[str]:
    """k8s/helm-release.sh, run against stand-ins for helm and kubectl: install
    passes the Tiltfile's flags to `helm upgrade --install --wait` and prints
    only the objects' YAML on stdout (what Tilt parses); uninstall skips a
    missing release and removes CRDs and the namespace when asked."""
    bin_dir = workdir / "bin"
    bin_dir.mkdir(parents=True, exist_ok=True)
    for name in ("helm", "kubectl"):
        fake = bin_dir / name
        fake.write_text(FAKE_TOOL.format(name=name))
        fake.chmod(0o755)
    log = workdir / "calls.log"
    script = str(repo.path("k8s/helm-release.sh"))
    problems = []

    def run(*args, status=0):
        log.write_text("")
        env = {
            "PATH": f"{bin_dir}:/usr/bin:/bin",
            "FAKE_LOG": str(log),
            "FAKE_STATUS": str(status),
            "FAKE_NAMESPACE": args[1],
        }
        result = subprocess.run(["bash", script, *args], env=env, capture_output=True, text=True)
        if result.returncode != 0:
            problems.append(
                f"helm-release.sh {' '.join(args)} exited {result.returncode}: "
                f"{result.stderr.strip()}"
            )
        return result.stdout, log.read_text().splitlines()

    stdout, calls = run(
        "install", "dapr-system", "dapr", "dapr", "--version", "1.18.2", "--set=a.b=true"
    )
    upgrade = next((c.split() for c in calls if c.startswith("helm upgrade")), [])
    for word in (
        "dapr",
        "--install",
        "--wait",
        "--create-namespace",
        "--version",
        "1.18.2",
        "--set=a.b=true",
    ):
        if word not in upgrade:
            problems.append(f"install: `helm upgrade` lacks {word} (it ran {' '.join(upgrade)})")
    if "--namespace dapr-system" not in " ".join(upgrade):
        problems.append("install: `helm upgrade` is not given --namespace dapr-system")
    if stdout != "apiVersion: v1\nkind: List\nitems: []\n":
        problems.append(f"install: stdout must be only the objects' YAML for Tilt, was {stdout!r}")

    _, calls = run(
        "uninstall", "dapr-system", "dapr", "--crds", "part-of=dapr", "--namespace", status=1
    )
    if any(c.startswith("helm uninstall") for c in calls):
        problems.append("uninstall: runs `helm uninstall` for a release that is not there")
    if not any(
        c.startswith("kubectl delete customresourcedefinitions") and "part-of=dapr" in c
        for c in calls
    ):
        problems.append("uninstall --crds: the CRDs are not deleted by selector")
    if not any(c.startswith("kubectl delete namespace dapr-system") for c in calls):
        problems.append("uninstall --namespace: the namespace is not deleted")

    _, calls = run("uninstall", "dapr-system", "dapr-dashboard", status=0)
    if not any(c.startswith("helm uninstall dapr-dashboard") for c in calls):
        problems.append("uninstall: an installed release is not uninstalled")
    if any(c.startswith("kubectl delete") for c in calls):
        problems.append("uninstall without --crds/--namespace deletes more than the release")
    return problems


# --- Component metadata, resiliency, annotation values, workloads -------------

# Metadata names daprd itself reads from a component, whatever its type
# (pkg/runtime/processor/state, pkg/outbox, pkg/components/state): the
# outbox settings, the actor store flag, the key prefix strategy.
DAPR_BUILTIN_METADATA = {
    "outboxPublishPubsub",
    "outboxPublishTopic",
    "outboxPubsub",
    "outboxDiscardWhenMissingState",
    "actorStateStore",
    "keyPrefix",
}

SLIM_COMPONENTS = "runtime/slim/components.go"


def slim_components(repo: Repo) -> dict[str, str]:
    """The component types the slim daprd registers (runtime/slim/
    components.go), as `category.name` → the components-contrib package path
    that implements it (e.g. "state.redis" → "state/redis")."""
    source = repo.text(SLIM_COMPONENTS)
    imports = dict(re.findall(r'^\s*(\w+)\s+"([^"]+)"', source, re.MULTILINE))
    out = {}
    for loader, ctor, names in re.findall(
        r"(\w+)\.DefaultRegistry\.RegisterComponent\(\s*(\w+)\.\w+\s*,([^)]*)\)", source
    ):
        category = imports.get(loader, "").rsplit("/", 1)[-1]
        package = imports.get(ctor, "").partition("github.com/dapr/components-contrib/")[2]
        for name in re.findall(r'"([^"]+)"', names):
            out[f"{category}.{name}"] = package
    return out


def contrib_metadata_names(metadata_yaml: Path) -> set[str]:
    """Every metadata field a components-contrib `metadata.yaml` lists: under
    `metadata`, `authenticationProfiles` and `builtinAuthenticationProfiles`."""
    spec = yaml.safe_load(metadata_yaml.read_text()) or {}
    fields = list(spec.get("metadata") or [])
    for key in ("authenticationProfiles", "builtinAuthenticationProfiles"):
        for profile in spec.get(key) or []:
            fields += profile.get("metadata") or []
    return {f["name"] for f in fields if isinstance(f, dict) and "name" in f}


def check_component_metadata(repo: Repo, contrib: Path) -> list[str]:
    """Every Component is a type the slim daprd registers, at version v1, and
    names only metadata fields its components-contrib `metadata.yaml` lists
    or daprd reads itself (a misspelt field is silently ignored by daprd)."""
    problems = []
    registered = slim_components(repo)
    if not registered:
        return [f"{SLIM_COMPONENTS}: no RegisterComponent call found"]
    for doc in repo.dapr_of("Component"):
        spec = doc.body.get("spec") or {}
        kind = spec.get("type")
        if kind not in registered:
            problems.append(
                f"{doc}: type {kind!r} is not registered by the slim daprd "
                f"({SLIM_COMPONENTS}: {sorted(registered)})"
            )
            continue
        if spec.get("version") != "v1":
            problems.append(f"{doc}: version {spec.get('version')!r} is not v1")
        metadata_yaml = contrib / registered[kind] / "metadata.yaml"
        if not metadata_yaml.is_file():
            problems.append(f"{doc}: no {metadata_yaml} to check its metadata against")
            continue
        known = contrib_metadata_names(metadata_yaml) | DAPR_BUILTIN_METADATA
        for item in spec.get("metadata") or []:
            name = item.get("name")
            if name not in known:
                problems.append(
                    f"{doc}: metadata {name!r} is not a field of {kind} "
                    f"(components-contrib {registered[kind]}/metadata.yaml) nor one daprd reads"
                )
    return problems


GO_DURATION = re.compile(r"^(\d+(\.\d+)?(ns|us|µs|ms|s|m|h))+$")
RETRY_POLICIES = {"constant", "exponential"}
# target key → the spec.policies section its value names
TARGET_POLICY_KINDS = {
    "timeout": "timeouts",
    "retry": "retries",
    "circuitBreaker": "circuitBreakers",
}


def check_resiliency(repo: Repo) -> list[str]:
    """Every policy a Resiliency target names exists under spec.policies of
    its kind; retries are constant or exponential; durations parse as Go
    durations."""
    problems = []
    for doc in repo.dapr_of("Resiliency"):
        spec = doc.body.get("spec") or {}
        policies = spec.get("policies") or {}

        def duration(where: str, value) -> None:
            if not isinstance(value, str) or not GO_DURATION.match(value):
                problems.append(f"{doc}: {where} {value!r} is not a Go duration")

        for name, value in (policies.get("timeouts") or {}).items():
            duration(f"timeouts.{name}", value)
        for name, retry in (policies.get("retries") or {}).items():
            retry = retry or {}
            if retry.get("policy") not in RETRY_POLICIES:
                problems.append(
                    f"{doc}: retries.{name} policy {retry.get('policy')!r} is not "
                    f"{' or '.join(sorted(RETRY_POLICIES))}"
                )
            for field in ("duration", "maxInterval"):
                if field in retry:
                    duration(f"retries.{name}.{field}", retry[field])
        for name, breaker in (policies.get("circuitBreakers") or {}).items():
            for field in ("interval", "timeout"):
                if field in (breaker or {}):
                    duration(f"circuitBreakers.{name}.{field}", breaker[field])

        def refs(node, path: str):
            if isinstance(node, dict):
                for key, value in node.items():
                    if key in TARGET_POLICY_KINDS and isinstance(value, str):
                        yield f"{path}.{key}", key, value
                    else:
                        yield from refs(value, f"{path}.{key}")

        for where, key, name in refs(spec.get("targets") or {}, "targets"):
            section = TARGET_POLICY_KINDS[key]
            if name not in (policies.get(section) or {}) and not name.startswith("DaprBuiltIn"):
                problems.append(f"{doc}: {where} names {name!r}, not a policy in {section}")
    return problems


QUANTITY = re.compile(
    r"^([+-]?(?:\d+(?:\.\d*)?|\.\d+))(Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E|[eE][+-]?\d+)?$"
)
QUANTITY_SUFFIX = {
    "": 1, "n": 1e-9, "u": 1e-6, "m": 1e-3, "k": 1e3, "M": 1e6, "G": 1e9, "T": 1e12,
    "P": 1e15, "E": 1e18, "Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40,
    "Pi": 2**50, "Ei": 2**60,
}  # fmt: skip


def quantity(value) -> float | None:
    """A Kubernetes resource quantity as a number, or None if it is not one."""
    m = QUANTITY.match(str(value))
    if not m:
        return None
    number, suffix = float(m.group(1)), m.group(2) or ""
    if suffix[:1] in ("e", "E") and suffix not in QUANTITY_SUFFIX:
        return number * 10 ** int(suffix[1:])
    return number * QUANTITY_SUFFIX[suffix]


APP_PROTOCOLS = {"http", "grpc", "https", "grpcs", "h2c"}
LOG_LEVELS = {"debug", "info", "warn", "error", "fatal"}


def check_dapr_annotation_values(repo: Repo, dapr: DaprModule) -> list[str]:
    """The dapr.io annotations have a value the injector accepts: one of a
    fixed vocabulary, a quantity, or the type of the injector's field they
    set (annotation_type_problems); each sidecar limit is at least its
    request."""
    problems = []
    for doc in repo.dapr_enabled_workloads():
        annotations = pod_template_metadata(doc).get("annotations") or {}
        problems += annotation_type_problems(doc, annotations, dapr)
        for key, allowed in (
            ("dapr.io/app-protocol", APP_PROTOCOLS),
            ("dapr.io/log-level", LOG_LEVELS),
        ):
            if key in annotations and annotations[key] not in allowed:
                problems.append(
                    f"{doc}: {key} {annotations[key]!r} is not one of {sorted(allowed)}"
                )
        for key in ("dapr.io/max-body-size", "dapr.io/read-buffer-size"):
            if key in annotations and quantity(annotations[key]) is None:
                problems.append(f"{doc}: {key} {annotations[key]!r} is not a quantity (e.g. 4Mi)")
        for resource in ("cpu", "memory"):
            values = {}
            for part in ("request", "limit"):
                key = f"dapr.io/sidecar-{resource}-{part}"
                if key in annotations:
                    values[part] = quantity(annotations[key])
                    if values[part] is None:
                        problems.append(
                            f"{doc}: {key} {annotations[key]!r} is not a Kubernetes quantity"
                        )
            if None not in values.values() and len(values) == 2:
                if values["limit"] < values["request"]:
                    problems.append(
                        f"{doc}: dapr.io/sidecar-{resource}-limit is below its request"
                    )
    return problems


def annotation_type_problems(doc: Doc, annotations: dict, dapr: DaprModule) -> list[str]:
    """Each dapr.io annotation parses as the type of the injector's field it
    sets: a bool "true" or "false" (the injector reads anything it does not
    know as false), an integer as one, a duration or timeout held in a string
    as a Go duration with a unit (daprd does not start otherwise)."""
    problems = []
    for key, value in annotations.items():
        go_type, value = dapr.annotation_types.get(key, "").lstrip("*"), str(value)
        if go_type == "bool" and value not in ("true", "false"):
            problems.append(f'{doc}: {key} {value!r} is not "true" or "false"')
        elif go_type.startswith("int") and not re.fullmatch(r"-?\d+", value):
            problems.append(f"{doc}: {key} {value!r} is not an integer")
        elif (
            go_type == "string"
            and key.endswith(("-duration", "-timeout"))
            and duration_seconds(value) is None
        ):
            problems.append(f"{doc}: {key} {value!r} is not a Go duration (e.g. 30s)")
    return problems


# The service speaks HTTP/1.1 (src/server.rs); daprd's default graceful
# shutdown when dapr.io/graceful-shutdown-seconds is absent or negative
# (pkg/runtime/config.go, DefaultGracefulShutdownDuration).
APP_PROTOCOL = "http"
DAPR_GRACEFUL_SHUTDOWN_SECONDS = 5


def check_dapr_app_lifecycle(repo: Repo) -> list[str]:
    """The sidecar calls the app over HTTP, its app health check is a GET
    route of src/api, and it shuts down within the pod's grace period:
    terminationGracePeriodSeconds exceeds dapr.io/block-shutdown-duration
    plus dapr.io/graceful-shutdown-seconds, or the kubelet kills daprd while
    it still drains."""
    problems = []
    routes = repo.app_routes
    for doc in repo.dapr_enabled_workloads():
        annotations = pod_template_metadata(doc).get("annotations") or {}
        protocol = annotations.get("dapr.io/app-protocol", APP_PROTOCOL)
        if protocol != APP_PROTOCOL:
            problems.append(
                f"{doc}: dapr.io/app-protocol {protocol!r}: the service serves {APP_PROTOCOL!r}"
            )
        path = annotations.get("dapr.io/app-health-check-path", "/healthz")
        checked = annotations.get("dapr.io/enable-app-health-check") == "true"
        if (checked or "dapr.io/app-health-check-path" in annotations) and "GET" not in (
            routes.get(path) or set()
        ):
            problems.append(
                f"{doc}: dapr.io/app-health-check-path {path!r} is not a GET route of "
                f"src/api ({sorted(routes)})"
            )
        block = duration_seconds(str(annotations.get("dapr.io/block-shutdown-duration", "0s")))
        graceful = str(annotations.get("dapr.io/graceful-shutdown-seconds", "-1"))
        graceful_seconds = int(graceful) if re.fullmatch(r"-?\d+", graceful) else -1
        if graceful_seconds < 0:
            graceful_seconds = DAPR_GRACEFUL_SHUTDOWN_SECONDS
        grace = (pod_spec(doc) or {}).get("terminationGracePeriodSeconds", 30)
        if block is not None and grace <= block + graceful_seconds:
            problems.append(
                f"{doc}: terminationGracePeriodSeconds {grace} does not exceed "
                f"dapr.io/block-shutdown-duration ({block:g}s) + "
                f"dapr.io/graceful-shutdown-seconds ({graceful_seconds}s)"
            )
    return problems


def check_workloads(repo: Repo, run: tilt.TiltRun) -> list[str]:
    """In every container of every workload: env secretKeyRefs name a Secret
    and key under k8s/; named probe ports are container ports; images other
    than the ones Tilt builds carry a tag other than latest (or a digest); no
    container is called daprd (the injector's); runAsNonRoot never runs as
    uid 0. Services' named targetPorts are ports of the pods they select."""
    problems = []
    secrets = {
        d.name: set(d.body.get("stringData") or {}) | set(d.body.get("data") or {})
        for d in repo.manifests_of("Secret")
    }
    built = set(run.images)
    for doc in repo.manifests:
        spec = pod_spec(doc)
        if spec is None:
            continue
        pod_security = spec.get("securityContext") or {}
        for container in tilt.containers(doc):
            where = f"{doc}: container {container.get('name')!r}"
            if container.get("name") == "daprd":
                problems.append(f"{where}: daprd is the name of the sidecar the injector adds")
            for env in container.get("env") or []:
                ref = (env.get("valueFrom") or {}).get("secretKeyRef")
                if not ref:
                    continue
                if ref.get("name") not in secrets:
                    problems.append(
                        f"{where}: env {env['name']}: secret {ref.get('name')!r} is not a "
                        "Secret under k8s/"
                    )
                elif ref.get("key") not in secrets[ref["name"]]:
                    problems.append(
                        f"{where}: env {env['name']}: Secret {ref['name']!r} has no key "
                        f"{ref.get('key')!r}"
                    )
            for probe in ("readinessProbe", "livenessProbe", "startupProbe"):
                handler = container.get(probe) or {}
                for kind in ("httpGet", "tcpSocket", "grpc"):
                    port = (handler.get(kind) or {}).get("port")
                    if isinstance(port, str) and container_port(container, port) is None:
                        problems.append(f"{where}: {probe} port {port!r} is not a container port")
            image = container.get("image", "")
            if image not in built:
                name, _, digest = image.partition("@")
                tag = name.rsplit(":", 1)[1] if ":" in name.rsplit("/", 1)[-1] else ""
                if not digest and tag in ("", "latest"):
                    problems.append(
                        f"{where}: image {image!r} is not pinned to a tag other than latest"
                    )
            security = container.get("securityContext") or {}
            non_root = security.get("runAsNonRoot", pod_security.get("runAsNonRoot"))
            user = security.get("runAsUser", pod_security.get("runAsUser"))
            if non_root is True and user == 0:
                problems.append(f"{where}: runAsNonRoot with runAsUser 0 never starts")
    for service in repo.manifests_of("Service"):
        for port in service.body["spec"].get("ports") or []:
            target = port.get("targetPort")
            if not isinstance(target, str):
                continue
            for doc in selected_workloads(repo, service):
                if all(container_port(c, target) is None for c in tilt.containers(doc)):
                    problems.append(
                        f"{service}: targetPort {target!r} is not a container port of {doc}"
                    )
    return problems
