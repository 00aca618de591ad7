//! `make run`'s stack: Ctrl-C stops everything, in order, as a normal end.

use std::path::Path;

use crate::stack::{Stack, StackOptions};

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
