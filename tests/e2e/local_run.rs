//! `make run`'s stack: Ctrl-C stops everything, in order, as a normal end.

use std::path::Path;

use crate::stack::{Stack, StackOptions, order, order_id};

#[tokio::test(flavor = "multi_thread")]
async fn ctrl_c_stops_every_process_in_order_and_exits_cleanly() {
    let stack = Stack::start(StackOptions::default());
    let processes = stack.process_ids();
    assert_eq!(processes.len(), 5, "{processes:?}");

    let status = stack.interrupt();

    assert!(
        status.success(),
        "a Ctrl-C is a normal end: {status}\n{}",
        stack.tail(30)
    );
    for (name, pid) in &processes {
        assert!(
            !Path::new(&format!("/proc/{pid}")).exists(),
            "{name} (pid {pid}) still runs after the stack stopped"
        );
    }
    // The service stopped on its own, draining, while daprd still served
    // it; the marked log kept the last lines of both.
    let lines: Vec<String> = stack.tail(400).lines().map(str::to_owned).collect();
    let position = |process: &str, text: &str| {
        lines
            .iter()
            .position(|l| l.starts_with(process) && l.contains(text))
    };
    let log = lines.join("\n");
    assert!(
        !log.contains("stack      | error:"),
        "no error on a requested stop:\n{log}"
    );
    let app_stopped = position("app ", "order-outbox stopped");
    let daprd_signalled = position("daprd ", "beginning shutdown");
    assert!(
        app_stopped.is_some(),
        "the service's last line is kept:\n{log}"
    );
    assert!(
        daprd_signalled.is_some(),
        "daprd's shutdown is logged:\n{log}"
    );
    assert!(
        app_stopped < daprd_signalled,
        "the service stops before daprd:\n{log}"
    );
}

/// The service stops on SIGTERM (what Kubernetes sends) without losing the
/// event of an order it has just stored: the outbox relay publishes about a
/// second after the commit, and the subscriber still listens then. New
/// orders are refused meanwhile, with a 503 that says to retry.
#[tokio::test(flavor = "multi_thread")]
async fn an_order_stored_just_before_sigterm_still_has_its_event_handled() {
    let stack = Stack::start(StackOptions::default());
    let id = order_id("sigterm");
    let (status, _) = stack.post_order(&order(&id)).await;
    assert_eq!(status, 202);
    let workflow = stack.wait_for_workflow_end(&format!("order-{id}")).await;
    assert_eq!(workflow["runtimeStatus"], "COMPLETED", "{workflow}");

    stack.signal("app", "TERM");
    stack.wait_until_shutting_down().await;
    let (status, refused) = stack.post_order(&order(&order_id("late"))).await;

    assert_eq!(status, 503, "{refused}");
    assert_eq!(refused["code"], "shutting_down");
    assert_eq!(refused["retryable"], true);
    let events = stack.wait_for_events(&id, 1).await;
    assert_eq!(events.len(), 1);
    stack.wait_for_app_log("order-outbox stopped").await;
}
