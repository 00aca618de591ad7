"""The files are what Kubernetes, Dapr and kind accept, unknown fields
rejected."""

from checks import check_dapr_schemas, check_k8s_schemas, check_kind_config
from faults import assert_reports


def test_kubernetes_manifests_validate_strictly_against_the_kind_nodes_version(repo):
    assert check_k8s_schemas(repo) == []


def test_a_misspelt_field_in_a_manifest_is_reported(broken):
    broken.edit("k8s/order-outbox.yaml", "readinessProbe:", "readinesProbe:")
    assert_reports(check_k8s_schemas(broken.repo), "Deployment/order-outbox", "readinesProbe")


def test_an_unquoted_annotation_value_is_reported(broken):
    broken.edit("k8s/order-outbox.yaml", 'dapr.io/app-port: "30080"', "dapr.io/app-port: 30080")
    assert_reports(check_k8s_schemas(broken.repo), "Deployment/order-outbox", "30080")


def test_dapr_resources_validate_against_the_pinned_releases_crds(repo, dapr):
    assert check_dapr_schemas(repo, dapr) == []


def test_every_dapr_kind_in_components_has_a_crd_in_the_pinned_release(repo, dapr):
    kinds = {(d.body["apiVersion"], d.kind) for d in repo.dapr_resources}
    assert kinds == {
        ("dapr.io/v1alpha1", "Component"),
        ("dapr.io/v1alpha1", "Configuration"),
        ("dapr.io/v1alpha1", "Resiliency"),
        ("dapr.io/v2alpha1", "Subscription"),
    }
    assert kinds <= set(dapr.schemas)


def test_an_unknown_field_in_a_component_is_reported(broken, dapr):
    broken.edit(
        "components/order-pubsub.yaml", "envRef: PUBSUB_REDIS_HOST", "envRefs: PUBSUB_REDIS_HOST"
    )
    assert_reports(check_dapr_schemas(broken.repo, dapr), "Component/orderpubsub", "envRefs")


def test_a_v1alpha1_route_in_a_v2alpha1_subscription_is_reported(broken, dapr):
    broken.edit(
        "components/order-subscription.yaml",
        "routes:\n    default: /newOrderEvents",
        "route: /newOrderEvents",
    )
    assert_reports(check_dapr_schemas(broken.repo, dapr), "Subscription/order-events", "route")


def test_a_misspelt_top_level_field_is_reported(broken, dapr):
    broken.edit("components/resiliency.yaml", "scopes:", "scope:")
    assert_reports(check_dapr_schemas(broken.repo, dapr), "Resiliency", "scope")


def test_the_kind_config_decodes_strictly_into_kinds_types(repo, kindconfig):
    assert check_kind_config(repo, kindconfig) == []


def test_a_misspelt_field_in_the_kind_config_is_reported(broken, kindconfig):
    broken.edit("k8s/kind-config.yaml", "extraPortMappings:", "extraPortMapping:")
    assert_reports(check_kind_config(broken.repo, kindconfig), "extraPortMapping")


def test_a_node_image_of_another_kubernetes_version_is_reported(broken, kindconfig):
    broken.edit("k8s/kind-config.yaml", "kindest/node:v1.34.0@", "kindest/node:v1.33.4@")
    assert_reports(check_kind_config(broken.repo, kindconfig), "v1.33.4")
