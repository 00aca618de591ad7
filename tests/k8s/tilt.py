"""Runs the Tiltfile without Tilt.

The Tiltfile is Starlark. It is evaluated here with starlark-pyo3, Tilt's
builtins replaced by stubs that check their arguments against Tilt's
documented signatures and record what they were asked to do. Files are read
for real (relative to the Tiltfile), the cluster and the network are never
touched. `TiltRun` then groups the recorded objects into resources roughly as
Tilt does, so the checks can ask what a resource deploys and what it waits
for.
"""

from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import starlark as sl
import yaml

from repo import WORKLOAD_KINDS, Doc, load_docs, pod_spec, pod_template_metadata

# Tilt's builtins that a Tiltfile here may call: parameter names in order
# (from the Tiltfile API reference), and how many leading ones are required.
_SIGNATURES = {
    "allow_k8s_contexts": ("contexts", 1),
    "docker_build": (
        "ref context build_args dockerfile dockerfile_contents live_update match_in_env_vars "
        "ignore only entrypoint target ssh network secret extra_tag container_args cache_from "
        "pull platform extra_hosts",
        2,
    ),
    "fail": ("msg", 1),
    "k8s_context": ("", 0),
    "k8s_custom_deploy": (
        "name apply_cmd delete_cmd deps image_selector live_update apply_dir apply_env "
        "apply_cmd_bat delete_dir delete_env delete_cmd_bat container_selector image_deps",
        4,
    ),
    "k8s_resource": (
        "workload new_name port_forwards extra_pod_selectors trigger_mode resource_deps objects "
        "auto_init pod_readiness links labels discovery_strategy",
        0,
    ),
    "k8s_yaml": ("yaml allow_duplicates", 1),
    "link": ("url name", 1),
    "listdir": ("directory recursive", 1),
    "local": ("command quiet command_bat echo_off env dir stdin", 1),
    "local_resource": (
        "name cmd deps trigger_mode resource_deps ignore auto_init serve_cmd cmd_bat "
        "serve_cmd_bat allow_parallel links labels env serve_env readiness_probe dir serve_dir",
        1,
    ),
    "port_forward": ("local_port container_port name link_path host", 1),
    "read_file": ("file_path default", 1),
    "read_yaml": ("path default", 1),
    "update_settings": (
        "max_parallel_updates k8s_upsert_timeout_secs suppress_unused_image_warnings",
        0,
    ),
    "version_settings": ("check_updates constraint", 0),
    "watch_file": ("file_path", 1),
}
SIGNATURES = {name: (params.split(), required) for name, (params, required) in _SIGNATURES.items()}

TRIGGER_MODE_AUTO = 0
TRIGGER_MODE_MANUAL = 1


class TiltfileFailed(Exception):
    """The Tiltfile called fail()."""


@dataclass
class Resource:
    name: str
    kind: str  # "k8s" (YAML), "custom" (k8s_custom_deploy) or "local"
    objects: list[Doc] = field(default_factory=list)
    options: dict = field(default_factory=dict)
    custom: dict | None = None

    @property
    def resource_deps(self) -> list[str]:
        return list(self.options.get("resource_deps") or [])

    @property
    def labels(self) -> list[str]:
        labels = self.options.get("labels") or []
        return [labels] if isinstance(labels, str) else list(labels)


@dataclass
class TiltRun:
    """What one evaluation of the Tiltfile asked Tilt to do."""

    tiltfile: Path
    context: str
    calls: list[tuple[str, dict]] = field(default_factory=list)
    printed: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    failure: str | None = None

    def called(self, name: str) -> list[dict]:
        return [args for builtin, args in self.calls if builtin == name]

    # --- What Tilt would deploy -------------------------------------------

    @property
    def yaml_files(self) -> list[Path]:
        files = []
        for args in self.called("k8s_yaml"):
            paths = args["yaml"] if isinstance(args["yaml"], list) else [args["yaml"]]
            files += [self.resolve(p) for p in paths]
        return files

    @property
    def objects(self) -> list[Doc]:
        return [d for f in self.yaml_files if f.is_file() for d in load_docs(f)]

    @property
    def images(self) -> list[str]:
        return [args["ref"] for args in self.called("docker_build")]

    def resolve(self, path: str) -> Path:
        return (self.tiltfile.parent / path).resolve()

    @property
    def resources(self) -> dict[str, Resource]:
        """The objects grouped into resources the way Tilt does for this kind
        of Tiltfile: one per workload (with the Services selecting its pods),
        one per k8s_custom_deploy and local_resource, plus those that
        k8s_resource(new_name=..., objects=...) makes. Objects nobody claims
        end up in Tilt's "uncategorized" resource."""
        return self._grouping[0]

    @property
    def grouping_problems(self) -> list[str]:
        """What Tilt would refuse while grouping: a k8s_resource that names
        no resource, an object selector that does not match one object."""
        return self._grouping[1]

    @cached_property
    def _grouping(self) -> tuple[dict[str, Resource], list[str]]:
        resources: dict[str, Resource] = {}
        problems: list[str] = []
        free = []
        for doc in self.objects:
            if doc.kind in WORKLOAD_KINDS:
                resources[doc.name] = Resource(doc.name, "k8s", [doc])
            else:
                free.append(doc)
        for doc in list(free):
            selector = (
                (doc.body.get("spec") or {}).get("selector") if doc.kind == "Service" else None
            )
            if not selector:
                continue
            for resource in resources.values():
                labels = pod_template_metadata(resource.objects[0]).get("labels") or {}
                if all(labels.get(k) == v for k, v in selector.items()):
                    resource.objects.append(doc)
                    free.remove(doc)
                    break
        for args in self.called("k8s_custom_deploy"):
            resources[args["name"]] = Resource(args["name"], "custom", custom=args)
        for args in self.called("local_resource"):
            resources[args["name"]] = Resource(args["name"], "local", options=args)

        for args in self.called("k8s_resource"):
            workload, new_name = args.get("workload"), args.get("new_name")
            if workload:
                if workload not in resources:
                    problems.append(f"k8s_resource: no resource {workload!r} to configure")
                    continue
                resource = resources.pop(workload)
                resource.name = new_name or workload
            elif new_name:
                resource = Resource(new_name, "k8s")
            else:
                problems.append("k8s_resource: needs `workload` or `new_name`")
                continue
            resources[resource.name] = resource
            resource.options.update(args)
            for selector in args.get("objects") or []:
                matches = [d for d in free if selects(selector, d)]
                if len(matches) != 1:
                    problems.append(
                        f"k8s_resource {resource.name!r}: object selector "
                        f"{selector!r} matches {len(matches)} unclaimed objects"
                    )
                    continue
                resource.objects.append(matches[0])
                free.remove(matches[0])

        if free:
            resources["uncategorized"] = Resource("uncategorized", "k8s", free)
        return resources, problems


def selects(selector: str, doc: Doc) -> bool:
    """Tilt's object selector `name[:kind[:namespace]]`, case-insensitive."""
    parts = selector.lower().split(":")
    if parts[0] != doc.name.lower():
        return False
    if len(parts) > 1 and parts[1] != doc.kind.lower():
        return False
    namespace = (doc.body.get("metadata") or {}).get("namespace", "default")
    return len(parts) < 3 or parts[2] == namespace.lower()


def parse(tiltfile: Path) -> sl.AstModule:
    """The Tiltfile's syntax tree, in Tilt's dialect of Starlark."""
    dialect = sl.Dialect.extended()
    dialect.enable_top_level_stmt = True
    return sl.parse(str(tiltfile), tiltfile.read_text(), dialect)


def evaluate(tiltfile: Path, context: str = "kind-order-outbox") -> TiltRun:
    """Evaluates the Tiltfile as if Tilt were started with kubectl context
    `context`. Raises TiltfileFailed when it calls fail(), and
    starlark.StarlarkError for any other error (an unknown builtin, a wrong
    argument, a Starlark mistake)."""
    run = TiltRun(tiltfile=tiltfile, context=context)
    ast = parse(tiltfile)

    module = sl.Module()
    module["TRIGGER_MODE_AUTO"] = TRIGGER_MODE_AUTO
    module["TRIGGER_MODE_MANUAL"] = TRIGGER_MODE_MANUAL
    for name in SIGNATURES:
        module.add_callable(name, _stub(run, name))
    module.add_callable("print", lambda *args: run.printed.append(" ".join(map(str, args))))

    try:
        sl.eval(module, ast, sl.Globals.standard())
    except sl.StarlarkError as error:
        if run.failure is not None:
            raise TiltfileFailed(run.failure) from error
        raise
    return run


def _stub(run: TiltRun, name: str):
    params, required = SIGNATURES[name]

    def call(*args, **kwargs):
        if len(args) > len(params):
            raise TypeError(f"{name}() takes at most {len(params)} positional arguments")
        bound = dict(zip(params, args, strict=False))
        for key, value in kwargs.items():
            if key not in params:
                raise TypeError(f"{name}() has no parameter {key!r}")
            if key in bound:
                raise TypeError(f"{name}() got {key!r} twice")
            bound[key] = value
        missing = [p for p in params[:required] if p not in bound]
        if missing:
            raise TypeError(f"{name}() is missing {', '.join(missing)}")
        run.calls.append((name, bound))
        return _BEHAVIOUR.get(name, lambda run, args: None)(run, bound)

    return call


def _fail(run, args):
    # Starlark wraps whatever a builtin raises; evaluate() unwraps this one.
    run.failure = str(args["msg"])
    raise TiltfileFailed(run.failure)


def _listdir(run, args):
    directory = run.resolve(args["directory"])
    pattern = "**/*" if args.get("recursive") else "*"
    return sorted(str(p) for p in directory.glob(pattern) if p.is_file())


def _local(run, args):
    run.problems.append(f"local({args['command']!r}) runs a command while the Tiltfile loads")
    return ""


def _read_file(run, args):
    path = run.resolve(args["file_path"])
    if not path.exists() and args.get("default") is not None:
        return args["default"]
    return path.read_text()


def _read_yaml(run, args):
    path = run.resolve(args["path"])
    if not path.exists() and args.get("default") is not None:
        return args["default"]
    return yaml.safe_load(path.read_text())


_BEHAVIOUR = {
    "fail": _fail,
    "k8s_context": lambda run, args: run.context,
    "link": lambda run, args: {"url": args["url"], "name": args.get("name", "")},
    "listdir": _listdir,
    "local": _local,
    "port_forward": lambda run, args: dict(args),
    "read_file": _read_file,
    "read_yaml": _read_yaml,
}


def containers(doc: Doc) -> list[dict]:
    spec = pod_spec(doc) or {}
    return list(spec.get("containers") or []) + list(spec.get("initContainers") or [])
