"""yamllint on every YAML file, hadolint on the Dockerfile, shellcheck on the
cluster scripts."""

from checks import check_hadolint, check_shellcheck, check_yamllint, yamllint_files
from faults import assert_reports


def test_yamllint_passes_on_every_yaml_file(repo):
    assert check_yamllint(repo) == []


def test_yamllint_covers_components_k8s_and_its_own_config(repo):
    files = yamllint_files(repo)
    for path in repo.component_files + repo.k8s_files:
        assert str(path.relative_to(repo.root)) in files
    assert ".yamllint" in files
    assert not [f for f in files if f.startswith(("target/", ".run/"))]


def test_a_duplicate_key_is_reported(broken):
    broken.edit("k8s/redis.yaml", "  replicas: 1\n", "  replicas: 1\n  replicas: 2\n")
    assert_reports(check_yamllint(broken.repo), "redis.yaml", "key-duplicates")


def test_a_yes_no_boolean_is_reported(broken):
    broken.edit("components/workflow-statestore.yaml", 'value: "true"', "value: yes")
    assert_reports(check_yamllint(broken.repo), "workflow-statestore.yaml", "truthy")


def test_hadolint_passes_on_the_dockerfile(repo):
    assert check_hadolint(repo) == []


def test_an_unpinned_base_image_is_reported(broken):
    broken.edit(
        "Dockerfile",
        "FROM gcr.io/distroless/cc-debian12:nonroot",
        "FROM gcr.io/distroless/cc-debian12",
    )
    assert_reports(check_hadolint(broken.repo), "DL3006")


def test_shellcheck_passes_on_the_cluster_scripts(repo):
    assert check_shellcheck(repo) == []


def test_an_unquoted_variable_in_a_script_is_reported(broken):
    broken.edit("k8s/helm-release.sh", 'helm status "$release"', "helm status $release")
    assert_reports(check_shellcheck(broken.repo), "SC2086")
