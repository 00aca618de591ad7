"""The values Dapr and Kubernetes only check at run time: component
metadata names and types, resiliency policies, dapr.io annotation values,
and the references between the workloads' containers, Secrets and
Services."""

import pytest

from checks import (
    DAPR_BUILTIN_METADATA,
    check_component_metadata,
    check_dapr_annotation_values,
    check_dapr_app_lifecycle,
    check_resiliency,
    check_workloads,
    contrib_metadata_names,
    quantity,
    slim_components,
)
from faults import assert_reports


def change_dapr_template(alter):
    """A seed for k8s/order-outbox.yaml that calls `alter` with the
    annotations and the pod spec of the Dapr-enabled Deployment's template,
    whatever the file's text around them."""

    def change(docs: list[dict]) -> None:
        for doc in docs:
            template = (doc.get("spec") or {}).get("template") or {}
            annotations = (template.get("metadata") or {}).get("annotations") or {}
            if annotations.get("dapr.io/enabled") == "true":
                alter(annotations, template["spec"])
                return
        raise AssertionError(
            "no Dapr-enabled pod template in k8s/order-outbox.yaml: update this seed"
        )

    return change


def set_annotation(key: str, value: str):
    """Sets one pod-template annotation of the Dapr-enabled Deployment."""
    return change_dapr_template(lambda annotations, spec: annotations.update({key: value}))


# --- Component metadata -------------------------------------------------------


def test_the_slim_daprd_registers_the_redis_state_store_and_pubsub(repo):
    assert slim_components(repo) == {"state.redis": "state/redis", "pubsub.redis": "pubsub/redis"}


def test_contrib_metadata_lists_fields_and_auth_profiles(contrib):
    names = contrib_metadata_names(contrib / "state" / "redis" / "metadata.yaml")
    assert {"redisHost", "redisPassword", "useEntraID"} <= names
    assert not names & DAPR_BUILTIN_METADATA


def test_component_metadata_names_are_fields_of_their_type(repo, contrib):
    assert check_component_metadata(repo, contrib) == []


@pytest.mark.parametrize(
    "path, old, new, reported",
    [
        (
            "components/order-pubsub.yaml",
            "- name: redisPassword",
            "- name: redisPasword",
            "'redisPasword'",
        ),
        (
            "components/workflow-statestore.yaml",
            "- name: redisHost",
            "- name: redisHots",
            "'redisHots'",
        ),
        (
            "components/transactional-statestore.yaml",
            "- name: outboxPublishTopic",
            "- name: outboxTopic",
            "'outboxTopic'",
        ),
        (
            "components/order-pubsub.yaml",
            "type: pubsub.redis",
            "type: pubsub.kafka",
            "'pubsub.kafka'",
        ),
        (
            "components/transactional-statestore.yaml",
            "version: v1",
            "version: v2",
            "version 'v2'",
        ),
        (
            "runtime/slim/components.go",
            'pubsubloader.DefaultRegistry.RegisterComponent(pubsubredis.NewRedisStreams, "redis")',
            "",
            "'pubsub.redis' is not registered",
        ),
    ],
)
def test_an_unknown_component_field_or_type_is_reported(broken, contrib, path, old, new, reported):
    broken.edit(path, old, new)
    assert_reports(check_component_metadata(broken.repo, contrib), reported)


# --- Resiliency ---------------------------------------------------------------


def test_resiliency_targets_name_policies_with_valid_values(repo):
    assert check_resiliency(repo) == []


@pytest.mark.parametrize(
    "old, new, reported",
    [
        ("retry: orderEventDelivery", "retry: orderEventRetry", "'orderEventRetry'"),
        (
            "retry: orderEventDelivery",
            "retry: orderEventDelivery\n          timeout: orderEventTimeout",
            "'orderEventTimeout', not a policy in timeouts",
        ),
        ("policy: exponential", "policy: backoff", "policy 'backoff'"),
        ("maxInterval: 10s", "maxInterval: 10sec", "maxInterval '10sec'"),
        ("maxInterval: 10s", "maxInterval: 10", "maxInterval 10"),
    ],
)
def test_a_broken_resiliency_policy_is_reported(broken, old, new, reported):
    broken.edit("components/resiliency.yaml", old, new)
    assert_reports(check_resiliency(broken.repo), reported)


# --- dapr.io annotation values --------------------------------------------------


def test_quantities_parse_like_kubernetes():
    assert quantity("100m") == pytest.approx(0.1)
    assert quantity("4Mi") == 4 * 2**20
    assert quantity("1e3") == 1000
    assert quantity("4MB") is None
    assert quantity("300mc") is None


def test_dapr_annotation_values_are_ones_the_injector_accepts(repo, dapr):
    assert check_dapr_annotation_values(repo, dapr) == []


@pytest.mark.parametrize(
    "key, value, reported",
    [
        ("dapr.io/app-protocol", "HTTP", "dapr.io/app-protocol 'HTTP'"),
        ("dapr.io/log-level", "verbose", "dapr.io/log-level 'verbose'"),
        ("dapr.io/sidecar-cpu-limit", "300mc", "dapr.io/sidecar-cpu-limit '300mc'"),
        ("dapr.io/sidecar-memory-request", "lots", "dapr.io/sidecar-memory-request 'lots'"),
        ("dapr.io/sidecar-memory-limit", "1Mi", "memory-limit is below its request"),
        ("dapr.io/max-body-size", "4MB", "dapr.io/max-body-size '4MB'"),
        ("dapr.io/enable-app-health-check", "yes", "dapr.io/enable-app-health-check 'yes'"),
        ("dapr.io/enable-api-logging", "True", "dapr.io/enable-api-logging 'True'"),
        ("dapr.io/app-health-probe-interval", "2s", "'2s' is not an integer"),
        ("dapr.io/block-shutdown-duration", "30", "'30' is not a Go duration"),
        ("dapr.io/actors-disseminate-timeout", "1 minute", "'1 minute' is not a Go duration"),
    ],
)
def test_a_dapr_annotation_value_the_injector_rejects_is_reported(
    broken, dapr, key, value, reported
):
    broken.edit_docs("k8s/order-outbox.yaml", set_annotation(key, value))
    assert_reports(check_dapr_annotation_values(broken.repo, dapr), reported)


def test_the_sidecar_speaks_http_probes_a_route_and_stops_in_time(repo):
    assert check_dapr_app_lifecycle(repo) == []


@pytest.mark.parametrize(
    "change, reported",
    [
        (set_annotation("dapr.io/app-protocol", "grpc"), "app-protocol 'grpc'"),
        (set_annotation("dapr.io/app-health-check-path", "/health"), "'/health' is not a GET"),
        (set_annotation("dapr.io/app-health-check-path", "/newOrderEvents"), "is not a GET"),
        (set_annotation("dapr.io/block-shutdown-duration", "1m"), "(60s)"),
        (set_annotation("dapr.io/graceful-shutdown-seconds", "10"), "shutdown-seconds (10s)"),
        (
            change_dapr_template(
                lambda annotations, spec: spec.update(terminationGracePeriodSeconds=35)
            ),
            "terminationGracePeriodSeconds 35",
        ),
    ],
    ids=["grpc", "no-route", "post-route", "block-1m", "graceful-10", "grace-35"],
)
def test_a_sidecar_that_cannot_reach_or_outlives_the_app_is_reported(broken, change, reported):
    broken.edit_docs("k8s/order-outbox.yaml", change)
    assert_reports(check_dapr_app_lifecycle(broken.repo), reported)


# --- Workloads ------------------------------------------------------------------


def test_workload_references_images_and_users_are_sound(repo, tilt_run):
    assert check_workloads(repo, tilt_run) == []


@pytest.mark.parametrize(
    "old, new, reported",
    [
        (
            "- name: REDISCLI_AUTH\n              valueFrom:\n                secretKeyRef:\n"
            "                  name: redis-auth",
            "- name: REDISCLI_AUTH\n              valueFrom:\n                secretKeyRef:\n"
            "                  name: redis-secret",
            "env REDISCLI_AUTH: secret 'redis-secret'",
        ),
        (
            "- name: REDIS_PASSWORD\n              valueFrom:\n                secretKeyRef:\n"
            "                  name: redis-auth\n                  key: password",
            "- name: REDIS_PASSWORD\n              valueFrom:\n                secretKeyRef:\n"
            "                  name: redis-auth\n                  key: redis-password",
            "no key 'redis-password'",
        ),
        (
            "tcpSocket:\n              port: redis",
            "tcpSocket:\n              port: db",
            "port 'db'",
        ),
        ("targetPort: redis", "targetPort: db", "targetPort 'db'"),
        ("image: redis:7.4.6", "image: redis", "image 'redis'"),
        ("image: redis:7.4.6", "image: redis:latest", "image 'redis:latest'"),
        ("- name: redis\n          image:", "- name: daprd\n          image:", "'daprd'"),
        ("runAsUser: 999", "runAsUser: 0", "runAsUser 0"),
    ],
)
def test_a_broken_workload_reference_is_reported(broken, old, new, reported):
    broken.edit("k8s/redis.yaml", old, new)
    assert_reports(check_workloads(broken.repo, broken.tilt_run()), reported)


def test_an_image_pinned_by_digest_only_passes(broken):
    broken.edit("k8s/redis.yaml", "image: redis:7.4.6", "image: redis@sha256:" + "0" * 64)
    assert check_workloads(broken.repo, broken.tilt_run()) == []
