//! A transaction that cannot succeed fails the workflow, visibly, and no
//! event is ever delivered for its order.

use std::time::Duration;

use crate::stack::{Stack, StackOptions, order, order_id};

/// The outbox relay waits about a second, then looks for the marker for
/// about ten seconds before it gives up on an internal message; anything
/// it would deliver for the failed order arrives within this window.
const RELAY_GIVE_UP_WINDOW: Duration = Duration::from_secs(15);

#[tokio::test(flavor = "multi_thread")]
async fn an_unreachable_order_store_fails_the_workflow_and_publishes_nothing() {
    let stack = Stack::start(StackOptions {
        separate_order_store: true,
        ..StackOptions::default()
    });
    stack.kill("redis-orders");
    let id = order_id("nostore");

    let (status, body) = stack.post_order(&order(&id)).await;
    assert_eq!(status, 202, "the workflow store still works: {body}");

    let workflow = stack.wait_for_workflow_end(&format!("order-{id}")).await;
    assert_eq!(workflow["runtimeStatus"], "FAILED", "{workflow}");
    let message = workflow["failureDetails"]["message"]
        .as_str()
        .unwrap_or_default();
    assert!(
        message.contains("outbox transaction on orderstatestore failed"),
        "{workflow}"
    );
    assert!(
        workflow["output"].is_null(),
        "no COMPLETED output hides the failure"
    );

    tokio::time::sleep(RELAY_GIVE_UP_WINDOW).await;
    assert_eq!(
        stack.deliveries(&id),
        0,
        "no event for an order that was not stored"
    );

    // Posted again, a failed order runs again (and fails again here).
    let run = stack
        .post_again_and_wait_for_rerun(&order(&id), &workflow)
        .await;
    assert_eq!(run["runtimeStatus"], "FAILED", "{run}");
    assert_eq!(stack.deliveries(&id), 0, "still no event");
}
