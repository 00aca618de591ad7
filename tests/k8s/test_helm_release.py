"""k8s/helm-release.sh, the install and delete commands of the Tiltfile's Helm
resources, run against stand-ins for helm and kubectl."""

from checks import check_helm_release
from faults import assert_reports


def test_the_helm_script_installs_prints_objects_and_uninstalls(repo, tmp_path):
    assert check_helm_release(repo, tmp_path) == []


def test_helm_output_on_stdout_is_reported(broken, tmp_path):
    broken.edit("k8s/helm-release.sh", '--create-namespace "$@" >&2', '--create-namespace "$@"')
    assert_reports(check_helm_release(broken.repo, tmp_path), "stdout must be only")


def test_an_install_that_does_not_wait_is_reported(broken, tmp_path):
    broken.edit("k8s/helm-release.sh", "--install --wait \\\n", "--install \\\n")
    assert_reports(check_helm_release(broken.repo, tmp_path), "lacks --wait")


def test_an_uninstall_that_leaves_the_crds_is_reported(broken, tmp_path):
    broken.edit("k8s/helm-release.sh", 'if [ -n "$crds" ]; then', "if false; then")
    assert_reports(check_helm_release(broken.repo, tmp_path), "CRDs are not deleted")
