//! The same order posted twice starts one workflow, stores one order and
//! publishes one event; the same id with other content is refused.

use std::time::Duration;

use serde_json::json;

use crate::stack::{self, order, order_id};

/// Long enough for the outbox relay to deliver a second event if there
/// were one: it waits about a second before it looks for the marker.
const SECOND_EVENT_WINDOW: Duration = Duration::from_secs(4);

#[tokio::test(flavor = "multi_thread")]
async fn the_same_order_posted_twice_runs_once_and_publishes_one_event() {
    let stack = stack::shared();
    let id = order_id("twice");
    let order = order(&id);

    let (first, _) = stack.post_order(&order).await;
    let (second, body) = stack.post_order(&order).await;
    assert_eq!(first, 202);
    assert_eq!(second, 200, "{body}");
    assert_eq!(body["alreadyAccepted"], true);
    assert_eq!(body["instanceId"], format!("order-{id}"));

    let workflow = stack.wait_for_workflow_end(&format!("order-{id}")).await;
    assert_eq!(workflow["runtimeStatus"], "COMPLETED");
    stack.wait_for_events(&id, 1).await;

    // Posted again once the instance has ended: still nothing new.
    let (third, body) = stack.post_order(&order).await;
    assert_eq!(third, 200, "{body}");
    let again = stack.wait_for_workflow_end(&format!("order-{id}")).await;
    assert_eq!(
        again["createdAt"], workflow["createdAt"],
        "the instance was not restarted"
    );

    tokio::time::sleep(SECOND_EVENT_WINDOW).await;
    assert_eq!(stack.received_events(&id).len(), 1, "exactly one event");
    assert_eq!(stack.stored_in_redis(&id), Some(order));
}

#[tokio::test(flavor = "multi_thread")]
async fn concurrent_posts_of_one_order_start_one_workflow() {
    let stack = stack::shared();
    let id = order_id("race");
    let body = order(&id);

    let posts = (0..8).map(|_| stack.post_order(&body));
    let answers = futures::future::join_all(posts).await;

    let accepted = answers.iter().filter(|(status, _)| *status == 202).count();
    let repeated = answers.iter().filter(|(status, _)| *status == 200).count();
    assert_eq!((accepted, repeated), (1, 7), "{answers:?}");
    stack.wait_for_events(&id, 1).await;
    tokio::time::sleep(SECOND_EVENT_WINDOW).await;
    assert_eq!(stack.received_events(&id).len(), 1, "exactly one event");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_same_order_id_with_other_content_is_a_conflict() {
    let stack = stack::shared();
    let id = order_id("conflict");

    let (first, _) = stack.post_order(&order(&id)).await;
    let other = json!({"orderId": id, "item": "OtherBook", "quantity": 3});
    let (second, body) = stack.post_order(&other).await;

    assert_eq!(first, 202);
    assert_eq!(second, 409, "{body}");
    assert_eq!(body["field"], "orderId");
    assert_eq!(body["retryable"], false);
    stack.wait_for_events(&id, 1).await;
    assert_eq!(
        stack.stored_in_redis(&id),
        Some(order(&id)),
        "the first order stays"
    );
}

/// Pins down what Dapr 1.18.2 does with a second schedule of one instance
/// id when a unique id is requested: a running instance is refused with
/// ALREADY_EXISTS (what keeps two replicas from both starting an order),
/// but an ended one is started afresh, history replaced. That second half is
/// why the service looks the instance up before it schedules; and when it
/// happens anyway, the outbox writer finds the order stored and publishes
/// no second event. If an upgrade changes either, this test says so.
#[tokio::test(flavor = "multi_thread")]
async fn the_runtime_refuses_a_running_instance_but_restarts_an_ended_one() {
    use dapr_durabletask::client::{NewOrchestrationOptions, TaskHubGrpcClient};

    let stack = stack::shared();
    let id = order_id("unique");
    let instance_id = format!("order-{id}");
    let mut client = TaskHubGrpcClient::new(&format!("http://127.0.0.1:{}", stack.dapr_grpc_port))
        .await
        .expect("connects to daprd");
    let schedule = || {
        NewOrchestrationOptions::new()
            .with_instance_id(instance_id.clone())
            .with_input(order(&id).to_string())
            .with_enforce_unique_instance_id()
    };
    let workflow = "OrderProcessingWithOutboxWorkflow";

    client
        .schedule_new_orchestration_with_options(workflow, schedule())
        .await
        .expect("first schedule");
    let running = client
        .schedule_new_orchestration_with_options(workflow, schedule())
        .await;
    match running {
        Err(dapr_durabletask::api::DurableTaskError::GrpcError(status)) => {
            assert_eq!(status.code(), tonic::Code::AlreadyExists, "{status}");
        }
        other => panic!("running: expected ALREADY_EXISTS, got {other:?}"),
    }

    let first_run = stack.wait_for_workflow_end(&instance_id).await;
    stack.wait_for_events(&id, 1).await;
    let ended = client
        .schedule_new_orchestration_with_options(workflow, schedule())
        .await;
    assert!(
        ended.is_ok(),
        "ended: the runtime starts it afresh: {ended:?}"
    );

    let run = stack.wait_for_next_run(&instance_id, &first_run).await;
    assert_eq!(run["runtimeStatus"], "COMPLETED", "{run}");
    tokio::time::sleep(SECOND_EVENT_WINDOW).await;
    assert_eq!(
        stack.received_events(&id).len(),
        1,
        "the order was stored: no second event"
    );
}

/// A completed order whose stored value is gone (a Redis that lost its
/// data) is not a duplicate: posted again, it runs again, is stored again
/// and announced again. Without this, the order could never be stored.
#[tokio::test(flavor = "multi_thread")]
async fn a_completed_order_lost_by_the_store_runs_again_when_posted_again() {
    let stack = stack::shared();
    let id = order_id("lost");
    let body = order(&id);
    let (first, _) = stack.post_order(&body).await;
    assert_eq!(first, 202);
    let first_run = stack.wait_for_workflow_end(&format!("order-{id}")).await;
    stack.wait_for_events(&id, 1).await;

    stack.forget_in_redis(&id);
    let run = stack.post_again_and_wait_for_rerun(&body, &first_run).await;

    assert_eq!(run["runtimeStatus"], "COMPLETED", "{run}");
    assert_eq!(stack.stored_in_redis(&id), Some(body));
    let events = stack.wait_for_events(&id, 2).await;
    assert_eq!(events.len(), 2, "announced again, once");
}
