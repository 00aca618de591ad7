"""The Tiltfile, evaluated with Tilt's builtins stubbed (tests/k8s/tilt.py)."""

import pytest
import starlark

from checks import (
    check_context_guard,
    check_dapr_install,
    check_helm_releases,
    check_no_load,
    check_tilt_order,
    check_tiltfile,
)
from faults import assert_reports


def test_the_tiltfile_loads_and_everything_it_names_fits_together(repo, tilt_run):
    assert check_tiltfile(repo, tilt_run) == []


def test_loading_the_tiltfile_runs_nothing_and_fetches_nothing(repo, tilt_run):
    assert check_no_load(repo) == []
    assert tilt_run.called("local") == []


def test_the_resources_are_the_ones_the_readme_describes(tilt_run):
    resources = tilt_run.resources
    assert set(resources) == {"dapr", "dapr-dashboard", "dapr-components", "redis", "order-outbox"}
    assert resources["dapr-dashboard"].options["auto_init"] is False


def test_the_tiltfile_refuses_a_context_that_is_not_kind(repo):
    assert check_context_guard(repo) == []


@pytest.mark.parametrize(
    "guard, reported",
    [
        ("if False:", "context 'gke_company_europe-west1_prod'"),
        ('if CONTEXT.startswith("gke_"):', "context 'docker-desktop'"),
        ('if not CONTEXT.startswith("kind"):', "context 'kind'"),
        ('if "kind-" not in CONTEXT:', "context 'prod-kind-order-outbox'"),
        ('if not CONTEXT.startswith("kind-orders"):', "refuses the kind cluster's context"),
    ],
)
def test_a_context_guard_that_lets_another_cluster_in_or_kind_out_is_reported(
    broken, guard, reported
):
    broken.edit("Tiltfile", 'if not CONTEXT.startswith("kind-"):', guard)
    assert_reports(check_context_guard(broken.repo), reported)


APP_DEPS = 'resource_deps = ["dapr", "dapr-components", "redis"]'


@pytest.mark.parametrize(
    "old, new, reported",
    [
        (APP_DEPS, APP_DEPS.replace('"redis"', '"redis-server"'), "'redis-server', which is not"),
        (APP_DEPS, APP_DEPS.replace('"redis"', '"redis", "dapr-dashboard"'), "only when asked"),
        ('("dapr", labels', '("dapr", resource_deps = ["order-outbox"], labels', "cycle"),
    ],
)
def test_a_resource_dependency_that_never_starts_is_reported(broken, old, new, reported):
    broken.edit("Tiltfile", old, new)
    assert_reports(check_tiltfile(broken.repo, broken.tilt_run()), reported)


def test_a_missing_file_is_reported(broken):
    broken.edit("Tiltfile", 'k8s_yaml("k8s/redis.yaml")', 'k8s_yaml("k8s/redis.yml")')
    assert_reports(check_tiltfile(broken.repo, broken.tilt_run()), "k8s/redis.yml")


def test_a_missing_script_is_reported(broken):
    (broken.root / "k8s" / "helm-release.sh").unlink()
    assert_reports(check_tiltfile(broken.repo, broken.tilt_run()), "k8s/helm-release.sh")


def test_an_object_no_resource_claims_is_reported(broken):
    broken.edit("Tiltfile", '"redis-auth:secret", ', "")
    assert_reports(
        check_tiltfile(broken.repo, broken.tilt_run()), "uncategorized", "Secret/redis-auth"
    )


def test_a_built_image_no_workload_runs_is_reported(broken):
    broken.edit(
        "k8s/order-outbox.yaml",
        "          image: order-outbox\n",
        "          image: order-outbox-api\n",
    )
    assert_reports(check_tiltfile(broken.repo, broken.tilt_run()), "'order-outbox'")


def test_an_extension_load_is_reported(broken):
    broken.edit(
        "Tiltfile",
        'version_settings(constraint = ">=0.33.0")',
        'load("ext://helm_resource", "helm_resource")\nversion_settings(constraint = ">=0.33.0")',
    )
    assert_reports(check_no_load(broken.repo), "ext://helm_resource")


def test_a_command_run_while_loading_is_reported(broken):
    broken.edit(
        "Tiltfile",
        "DAPR_VERSION = dapr_version()",
        'DAPR_VERSION = str(local("helm search repo dapr/dapr -o json"))',
    )
    assert_reports(check_tiltfile(broken.repo, broken.tilt_run()), "local(", "helm search")


def test_an_unknown_builtin_argument_is_an_error(broken):
    broken.edit(
        "Tiltfile", 'resource_deps = ["dapr"],\n    labels', 'resource_dep = ["dapr"],\n    labels'
    )
    with pytest.raises(starlark.StarlarkError, match="resource_dep"):
        broken.tilt_run()


def test_dapr_is_installed_at_the_pinned_version_sized_for_a_laptop(repo, tilt_run, dapr):
    assert check_dapr_install(repo, tilt_run, dapr) == []


def test_a_chart_version_other_than_go_mods_is_reported(broken, dapr):
    broken.edit("Tiltfile", '"--version", DAPR_VERSION', '"--version", "1.18.3"')
    assert_reports(check_dapr_install(broken.repo, broken.tilt_run(), dapr), "1.18.3", "1.18.2")


def test_a_chart_value_the_chart_does_not_have_is_reported(broken, dapr):
    broken.edit(
        "Tiltfile",
        '"dapr_scheduler.cluster.storageSize=1Gi"',
        '"dapr_scheduler.storageSize=1Gi"',
    )
    assert_reports(
        check_dapr_install(broken.repo, broken.tilt_run(), dapr), "dapr_scheduler.storageSize"
    )


def test_in_memory_scheduler_storage_is_reported(broken, dapr):
    broken.edit(
        "Tiltfile",
        '"dapr_scheduler.cluster.storageSize=1Gi"',
        '"dapr_scheduler.cluster.inMemoryStorage=true"',
    )
    assert_reports(check_dapr_install(broken.repo, broken.tilt_run(), dapr), "rejoin")


def test_a_tilt_timeout_shorter_than_helms_is_reported(broken, dapr):
    broken.edit("Tiltfile", "k8s_upsert_timeout_secs = 600", "k8s_upsert_timeout_secs = 300")
    assert_reports(check_dapr_install(broken.repo, broken.tilt_run(), dapr), "480s")


def test_a_crd_selector_that_misses_dapr_crds_is_reported(broken, dapr):
    broken.edit("Tiltfile", '"app.kubernetes.io/part-of=dapr"', '"app.kubernetes.io/name=dapr"')
    assert_reports(check_dapr_install(broken.repo, broken.tilt_run(), dapr), "components.dapr.io")


def test_helm_releases_name_their_repository_and_are_deleted_as_installed(tilt_run):
    assert check_helm_releases(tilt_run) == []


@pytest.mark.parametrize(
    "old, new, reported",
    [
        ('"--repo", DAPR_CHARTS, "--version", DAPR_V', '"--version", DAPR_V', "no --repo"),
        ('DAPR_NAMESPACE, "dapr-dashboard"]', 'DAPR_NAMESPACE, "dashboard"]', "'dashboard')"),
        ('"uninstall", DAPR_NAMESPACE, "dapr",', '"uninstall", "x", "dapr",', "('x', 'dapr')"),
    ],
)
def test_a_helm_release_without_repo_or_deleted_elsewhere_is_reported(broken, old, new, reported):
    broken.edit("Tiltfile", old, new)
    assert_reports(check_helm_releases(broken.tilt_run()), reported)


def test_components_wait_for_dapr_and_the_app_waits_for_all_it_needs(repo, tilt_run):
    assert check_tilt_order(repo, tilt_run) == []


def test_components_that_do_not_wait_for_dapr_are_reported(broken):
    broken.edit(
        "Tiltfile",
        '    resource_deps = ["dapr"],\n    labels = ["dapr"],\n)\n\n# --- Redis',
        '    labels = ["dapr"],\n)\n\n# --- Redis',
    )
    assert_reports(check_tilt_order(broken.repo, broken.tilt_run()), "'dapr-components'", "CRDs")


def test_an_app_that_does_not_wait_for_redis_is_reported(broken):
    broken.edit("Tiltfile", '"dapr", "dapr-components", "redis"]', '"dapr", "dapr-components"]')
    assert_reports(check_tilt_order(broken.repo, broken.tilt_run()), "'order-outbox'", "'redis'")


def test_a_component_file_the_tiltfile_skips_is_reported(broken):
    broken.edit(
        "Tiltfile", 'if f.endswith(".yaml")', 'if f.endswith(".yaml") and "pubsub" not in f'
    )
    assert_reports(check_tilt_order(broken.repo, broken.tilt_run()), "order-pubsub.yaml")
