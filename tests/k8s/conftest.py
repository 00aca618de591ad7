"""Fixtures of the offline Kubernetes checks (`make check-k8s`).

`repo` and `tilt_run` are the repository as it is; `broken` is a copy of the
files the checks read, in a temporary directory, to break on purpose.
"""

import subprocess
from pathlib import Path

import pytest

import tilt
from dapr_module import DaprModule, contrib_dir, module_dir
from faults import Broken
from repo import ROOT, Repo


@pytest.fixture(scope="session")
def repo() -> Repo:
    return Repo(ROOT)


@pytest.fixture(scope="session")
def tilt_run() -> tilt.TiltRun:
    return tilt.evaluate(ROOT / "Tiltfile")


@pytest.fixture(scope="session")
def dapr() -> DaprModule:
    return DaprModule(module_dir())


@pytest.fixture(scope="session")
def contrib() -> Path:
    """The components-contrib module directory runtime/go.mod resolves."""
    return contrib_dir()


@pytest.fixture(scope="session")
def kindconfig(tmp_path_factory) -> Path:
    """tests/k8s/kindconfig built once: kind's own config decoder."""
    binary = tmp_path_factory.mktemp("kindconfig") / "kindconfig"
    subprocess.run(
        ["go", "build", "-o", str(binary), "."],
        cwd=Path(__file__).parent / "kindconfig",
        check=True,
        capture_output=True,
    )
    return binary


@pytest.fixture
def broken(tmp_path) -> Broken:
    return Broken(tmp_path / "repo")
