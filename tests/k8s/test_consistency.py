"""The files agree with each other and with the service's code: one app
port, one app id, one Redis address, the names in src/settings.rs, the image
the Tiltfile builds."""

import pytest

from checks import (
    check_dapr_annotations,
    check_dapr_env,
    check_dockerfile,
    check_dockerfile_stages,
    check_hardening,
    check_image,
    check_namespaces,
    check_names,
    check_ports,
    check_redis,
    check_scopes,
    check_secrets,
    check_tilt_access,
    dapr_env,
    kind_port_mappings,
)
from faults import assert_reports


@pytest.fixture(scope="module")
def mappings(repo, kindconfig):
    return kind_port_mappings(repo, kindconfig)


def on_broken_copy(check, broken, kindconfig) -> list[str]:
    """`check` run on a broken copy, its Tiltfile and its kind port mappings."""
    repo = broken.repo
    return check(repo, broken.tilt_run(), kind_port_mappings(repo, kindconfig))


@pytest.mark.parametrize("check", [check_ports, check_tilt_access])
def test_one_app_port_from_container_to_host_reached_one_way(repo, tilt_run, mappings, check):
    assert check(repo, tilt_run, mappings) == []


@pytest.mark.parametrize(
    "old, new, reported",
    [
        ('dapr.io/app-port: "30080"', 'dapr.io/app-port: "3000"', "dapr.io/app-port 3000"),
        ("containerPort: 30080", "containerPort: 8080", "container ports ['8080']"),
        ("path: /readyz", "path: /ready", "readinessProbe"),
        ("nodePort: 30080", "nodePort: 30081", "NodePort 30081"),
    ],
)
def test_a_port_out_of_step_is_reported(broken, kindconfig, old, new, reported):
    broken.edit("k8s/order-outbox.yaml", old, new)
    assert_reports(on_broken_copy(check_ports, broken, kindconfig), reported)


def test_a_dockerfile_exposing_another_port_is_reported(broken, kindconfig):
    broken.edit("Dockerfile", "EXPOSE 30080", "EXPOSE 8080")
    assert_reports(on_broken_copy(check_ports, broken, kindconfig), "EXPOSE 8080")


@pytest.mark.parametrize(
    "check, old, new, reported",
    [
        (check_ports, "localhost:30080", "localhost:8080", "http://localhost:8080/docs"),
        (check_tilt_access, '["app"],', '["app"], port_forwards = 30080,', "NodePort [30080]"),
        (check_tilt_access, 'link(APP_URL + "/docs", "Swagger UI"),', "", "to Swagger UI"),
        (check_tilt_access, '+ "/readyz"', '+ "/ready"', "30080/ready: the service serves no GET"),
    ],
    ids=["swagger-link-unmapped", "port-forward-and-node-port", "no-swagger-link", "dead-link"],
)
def test_a_link_or_port_forward_out_of_step_is_reported(
    broken, kindconfig, check, old, new, reported
):
    broken.edit("Tiltfile", old, new)
    assert_reports(on_broken_copy(check, broken, kindconfig), reported)


def test_dapr_annotations_are_known_keys_with_string_values(repo, dapr):
    assert check_dapr_annotations(repo, dapr) == []


def test_an_unknown_dapr_annotation_is_reported(broken, dapr):
    broken.edit("k8s/order-outbox.yaml", "dapr.io/log-level: info", "dapr.io/loglevel: info")
    assert_reports(check_dapr_annotations(broken.repo, dapr), "dapr.io/loglevel")


def test_a_dapr_annotation_that_is_not_a_string_is_reported(broken, dapr):
    broken.edit("k8s/order-outbox.yaml", 'dapr.io/app-port: "30080"', "dapr.io/app-port: 30080")
    assert_reports(check_dapr_annotations(broken.repo, dapr), "dapr.io/app-port is 30080")


def test_a_config_annotation_naming_no_configuration_is_reported(broken, dapr):
    broken.edit(
        "k8s/order-outbox.yaml", "dapr.io/config: order-outbox-config", "dapr.io/config: appconfig"
    )
    assert_reports(check_dapr_annotations(broken.repo, dapr), "'appconfig'")


def test_dapr_env_is_split_like_the_injector_splits_it():
    assert dapr_env("A=x,B=y:1, C_2=a,b") == {"A": "x", "B": "y:1", "C_2": "a,b"}


def test_the_sidecar_gets_every_redis_address_the_components_read(repo):
    assert check_dapr_env(repo) == []


def test_a_component_variable_missing_from_dapr_env_is_reported(broken):
    broken.edit("k8s/order-outbox.yaml", "WORKFLOW_STORE_REDIS_HOST=redis:6379,", "")
    assert_reports(
        check_dapr_env(broken.repo), "WORKFLOW_STORE_REDIS_HOST", "workflow-statestore.yaml"
    )


def test_a_redis_address_naming_no_service_is_reported(broken):
    broken.edit(
        "k8s/order-outbox.yaml",
        "PUBSUB_REDIS_HOST=redis:6379",
        "PUBSUB_REDIS_HOST=redis-master:6379",
    )
    assert_reports(check_dapr_env(broken.repo), "'redis-master'")


def test_a_redis_address_with_the_wrong_port_is_reported(broken):
    broken.edit(
        "k8s/order-outbox.yaml",
        "ORDER_STORE_REDIS_HOST=redis:6379",
        "ORDER_STORE_REDIS_HOST=redis:6380",
    )
    assert_reports(check_dapr_env(broken.repo), "no port 6380")


def test_component_secrets_exist_under_k8s(repo):
    assert check_secrets(repo) == []


def test_a_secret_key_the_secret_lacks_is_reported(broken):
    broken.edit(
        "k8s/redis.yaml",
        "  password: dev-only-not-a-secret",
        "  redis-password: dev-only-not-a-secret",
    )
    assert_reports(check_secrets(broken.repo), "no key 'password'")


def test_a_literal_password_in_a_component_is_reported(broken):
    broken.edit(
        "components/order-pubsub.yaml",
        "      secretKeyRef:\n        name: redis-auth\n        key: password",
        "      value: dev-only-not-a-secret",
    )
    assert_reports(check_secrets(broken.repo), "Component/orderpubsub", "redisPassword")


def test_every_object_is_in_the_apps_namespace(repo):
    assert check_namespaces(repo) == []


def set_namespace(namespace: str):
    """A seed that puts the file's first object in `namespace`."""

    def change(docs: list[dict]) -> None:
        docs[0]["metadata"]["namespace"] = namespace

    return change


# The first objects: the Component, the app's Deployment, the Redis Secret.
@pytest.mark.parametrize(
    "path, namespace, reported",
    [
        ("components/order-pubsub.yaml", "dapr-system", "orderpubsub: namespace 'dapr-system'"),
        ("k8s/order-outbox.yaml", "shop", "Service/redis: namespace 'default', not the app's"),
        ("k8s/redis.yaml", "redis", "its Secret 'redis-auth' is in namespace 'redis'"),
    ],
)
def test_an_object_in_another_namespace_is_reported(broken, path, namespace, reported):
    broken.edit_docs(path, set_namespace(namespace))
    assert_reports(check_namespaces(broken.repo), reported)


REDIS_ON_6380 = '- redis-server\n            - --port\n            - "6380"\n'


def test_redis_is_the_official_image_on_one_port_with_a_secret_password(repo):
    assert check_redis(repo) == []


@pytest.mark.parametrize(
    "old, new, reported",
    [
        ("image: redis:7.4.6", "image: bitnami/redis:7.4.6", "'bitnami/redis:7.4.6'"),
        ("containerPort: 6379", "containerPort: 6380", "containerPort ['6380']"),
        ("- redis-server\n", REDIS_ON_6380, "listens on (6380)"),
        ("targetPort: redis", "targetPort: 6380", "Service/redis: targetPort 6380"),
        ("- $(REDIS_PASSWORD)", "- dev-only-not-a-secret", "'dev-only-not-a-secret'"),
    ],
)
def test_a_redis_other_than_the_official_one_on_its_port_is_reported(broken, old, new, reported):
    broken.edit("k8s/redis.yaml", old, new)
    assert_reports(check_redis(broken.repo), reported)


def test_the_official_redis_image_by_its_full_name_passes(broken):
    broken.edit("k8s/redis.yaml", "image: redis:7.4.6", "image: docker.io/library/redis:7.4.6")
    assert check_redis(broken.repo) == []


def test_component_names_are_the_constants_of_settings_rs(repo):
    assert check_names(repo) == []


@pytest.mark.parametrize(
    "path, old, new, reported",
    [
        ("src/settings.rs", '"newOrderEvents";', '"orderEvents";', "TOPIC 'orderEvents'"),
        ("src/settings.rs", '"/newOrderEvents";', '"/events";', "EVENT_ROUTE '/events'"),
        ("components/order-pubsub.yaml", "name: orderpubsub", "name: pubsub", "'orderpubsub'"),
        (
            "components/transactional-statestore.yaml",
            "value: newOrderEvents",
            "value: orders",
            "outboxPublishTopic 'orders'",
        ),
    ],
)
def test_a_name_out_of_step_with_settings_rs_is_reported(broken, path, old, new, reported):
    broken.edit(path, old, new)
    assert_reports(check_names(broken.repo), reported)


def test_every_dapr_resource_is_scoped_to_the_app_id(repo):
    assert check_scopes(repo) == []


def test_a_component_scoped_to_another_app_is_reported(broken):
    broken.edit(
        "components/workflow-statestore.yaml", "scopes:\n  - order-outbox", "scopes:\n  - orders"
    )
    assert_reports(check_scopes(broken.repo), "Component/workflowstatestore")


def test_an_app_id_other_than_the_scopes_is_reported(broken):
    broken.edit("k8s/order-outbox.yaml", "dapr.io/app-id: order-outbox", "dapr.io/app-id: orders")
    assert_reports(check_scopes(broken.repo), "'orders'")


def test_an_app_id_env_other_than_the_annotation_is_reported(broken):
    broken.edit(
        "k8s/order-outbox.yaml",
        "- name: APP_ID\n              value: order-outbox",
        "- name: APP_ID\n              value: orders",
    )
    assert_reports(check_scopes(broken.repo), "APP_ID 'orders'")


def test_the_deployment_runs_the_image_the_tiltfile_builds(repo, tilt_run):
    assert check_image(repo, tilt_run) == []


def test_an_image_the_tiltfile_does_not_build_is_reported(broken):
    broken.edit("Tiltfile", 'docker_build("order-outbox"', 'docker_build("orders"')
    assert_reports(check_image(broken.repo, broken.tilt_run()), "['orders']")


def test_an_always_pull_policy_is_reported(broken):
    broken.edit(
        "k8s/order-outbox.yaml",
        "image: order-outbox\n          imagePullPolicy: IfNotPresent",
        "image: order-outbox\n          imagePullPolicy: Always",
    )
    assert_reports(check_image(broken.repo, broken.tilt_run()), "Always")


def test_containers_are_locked_down_limited_and_probed(repo):
    assert check_hardening(repo) == []


@pytest.mark.parametrize(
    "path, old, new, reported",
    [
        (
            "k8s/order-outbox.yaml",
            "readOnlyRootFilesystem: true",
            "readOnlyRootFilesystem: false",
            "'app': root filesystem is writable",
        ),
        ("k8s/redis.yaml", "        runAsNonRoot: true\n", "", "'redis': runAsNonRoot"),
        ("k8s/redis.yaml", "              memory: 256Mi\n", "", "no memory limit"),
        (
            "k8s/redis.yaml",
            "app.kubernetes.io/part-of: order-outbox\ntype: Opaque",
            "app.kubernetes.io/part-of: orders\ntype: Opaque",
            "Secret/redis-auth",
        ),
    ],
)
def test_a_weakened_container_is_reported(broken, path, old, new, reported):
    broken.edit(path, old, new)
    assert_reports(check_hardening(broken.repo), reported)


def test_the_dockerfile_builds_with_the_pinned_toolchain_as_a_numeric_user(repo):
    assert check_dockerfile(repo) == []


@pytest.mark.parametrize(
    "path, old, new, reported",
    [
        (
            "Dockerfile",
            "FROM rust:1.95.0-slim-bookworm",
            "FROM rust:1.94.0-slim-bookworm",
            "rust:1.94.0",
        ),
        ("Dockerfile", "USER 65532:65532", "USER nonroot", "USER ['nonroot']"),
        (".dockerignore", "!src/\n", "", "COPY src"),
    ],
)
def test_a_dockerfile_out_of_step_is_reported(broken, path, old, new, reported):
    broken.edit(path, old, new)
    assert_reports(check_dockerfile(broken.repo), reported)


def test_the_dockerfile_builds_in_one_stage_and_runs_the_binary_in_distroless(repo):
    assert check_dockerfile_stages(repo) == []


RUNTIME_FROM = "FROM gcr.io/distroless/cc-debian12:nonroot"
BUILD_FROM = "FROM rust:1.95.0-slim-bookworm"
COPY_BINARY = "COPY --from=build /build/target/release/order-outbox /usr/local/bin/order-outbox"


@pytest.mark.parametrize(
    "path, old, new, reported",
    [
        ("Dockerfile", f"{RUNTIME_FROM}\n{COPY_BINARY}\n", "", "1 stage"),
        ("Dockerfile", RUNTIME_FROM, BUILD_FROM, "not distroless"),
        ("Dockerfile", "distroless/cc-debian12", "distroless/static-debian12", "no glibc"),
        ("Dockerfile", BUILD_FROM, BUILD_FROM.replace("bookworm", "trixie"), "Debian 13"),
        ("Dockerfile", BUILD_FROM, "FROM rust:1.95.0-slim", "no Debian"),
        ("Dockerfile", "release/order-outbox /usr", "debug/order-outbox /usr", "target/debug"),
        ("Dockerfile", '["/usr/local/bin/order-outbox"]', '["/usr/bin/x"]', "['/usr/bin/x']"),
        ("Dockerfile", "main.rs \\\n    && cargo build --release --locked", "main.rs", "COPY src"),
        ("Cargo.toml", 'name = "order-outbox"', 'name = "orders"', "Cargo.toml ['orders']"),
    ],
)
def test_a_dockerfile_stage_out_of_shape_is_reported(broken, path, old, new, reported):
    broken.edit(path, old, new)
    assert_reports(check_dockerfile_stages(broken.repo), reported)
