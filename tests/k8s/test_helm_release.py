"""k8s/helm-release.sh, the install and delete commands of the Tiltfile's Helm
resources, run against stand-ins for helm and kubectl."""

import pytest

from checks import check_helm_release
from faults import assert_reports


def test_the_helm_script_installs_prints_objects_and_uninstalls(repo, tmp_path):
    assert check_helm_release(repo, tmp_path) == []


@pytest.mark.parametrize(
    "old, new, reported",
    [
        ('--create-namespace "$@" >&2', '--create-namespace "$@"', "stdout must be only"),
        ("--install --wait \\\n", "--install \\\n", "lacks --wait"),
        ('if [ -n "$crds" ]; then', "if false; then", "CRDs are not deleted"),
        (
            'helm get manifest "$release" --namespace "$namespace"',
            'helm get manifest "$release"',
            "helm get: not found in the default namespace",
        ),
        (
            'helm uninstall "$release" --namespace "$namespace"',
            'helm uninstall "$release"',
            "helm uninstall: not found in the default namespace",
        ),
        ("--output yaml --filename -", "--filename -", "stdout must be only"),
        (
            'kubectl delete namespace "$namespace" --ignore-not-found',
            'kubectl delete namespace "$namespace"',
            '(NotFound): namespace "dapr-system" not found',
        ),
    ],
    ids=[
        "helm-output-on-stdout",
        "no-wait",
        "crds-left",
        "get-manifest-no-namespace",
        "uninstall-no-namespace",
        "get-no-yaml",
        "delete-namespace-not-ignoring-not-found",
    ],
)
def test_a_broken_helm_script_is_reported(broken, tmp_path, old, new, reported):
    broken.edit("k8s/helm-release.sh", old, new)
    assert_reports(check_helm_release(broken.repo, tmp_path), reported)
