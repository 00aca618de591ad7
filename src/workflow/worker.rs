//! The workflow worker: holds the work-item stream to the sidecar and runs
//! the orchestrator and activities it receives.
//!
//! `dapr-durabletask` reconnects on its own while the sidecar is away, but
//! returns when the sidecar closes the stream cleanly (as a restarting
//! sidecar does). A worker that returned would leave every new order
//! pending, so [`spawn`] starts it again until shutdown.

use std::time::Duration;

use dapr::workflow::RetryPolicy;
use dapr_durabletask::worker::{ReconnectPolicy, Registry, TaskHubGrpcWorker, WorkerOptions};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::{
    ORDER_WORKFLOW, SAVE_ORDER_AND_PUBLISH_EVENT, VALIDATE_ORDER, activities, order_processing,
};
use crate::outbox::{EventPayload, OrderStore};
use crate::settings::TransactionRetry;

/// What the orchestrator and activities need.
#[derive(Clone)]
pub struct WorkflowDeps {
    pub store: OrderStore,
    pub transaction_retry: TransactionRetry,
}

fn retry_policy(retry: &TransactionRetry) -> RetryPolicy {
    RetryPolicy::new(retry.max_attempts, retry.first_interval)
        .with_backoff_coefficient(retry.backoff_coefficient)
        .with_max_retry_interval(retry.max_interval)
}

/// Registers the order workflow and its activities.
pub fn register(registry: &mut Registry, deps: WorkflowDeps) {
    let policy = retry_policy(&deps.transaction_retry);
    registry.add_named_orchestrator(ORDER_WORKFLOW, move |ctx| {
        order_processing::run(ctx, policy.clone())
    });

    registry.add_named_activity(VALIDATE_ORDER, activities::validate_order);

    let shaped = deps.store.payload() == EventPayload::Shaped;
    registry.add_named_activity(SAVE_ORDER_AND_PUBLISH_EVENT, move |ctx, input| {
        activities::save_order_and_publish_event(deps.store.clone(), shaped, ctx, input)
    });
}

/// Starts the worker against the sidecar at `endpoint` and keeps it running
/// until `shutdown` fires; the task ends once in-flight work has drained.
pub fn spawn(endpoint: &str, deps: WorkflowDeps, shutdown: CancellationToken) -> JoinHandle<()> {
    // Reconnect quickly: the service usually starts next to a sidecar that
    // is seconds away from ready, and every second here delays first orders.
    let reconnect = ReconnectPolicy::new()
        .with_initial_delay(Duration::from_millis(200))
        .with_max_delay(Duration::from_secs(5));
    // Dapr 1.18 sends the full history on every turn whatever the worker
    // advertises, so the history cache would only cost memory.
    let options = WorkerOptions::new()
        .with_reconnect_policy(reconnect)
        .with_stateful_history_disabled();
    let mut worker = TaskHubGrpcWorker::with_options(endpoint, options);
    register(worker.registry_mut(), deps);

    tokio::spawn(async move {
        loop {
            let outcome = worker.start(shutdown.clone()).await;
            if shutdown.is_cancelled() {
                tracing::info!("workflow worker stopped");
                return;
            }
            match outcome {
                Ok(()) => {
                    tracing::warn!("workflow work-item stream closed by the sidecar; reconnecting")
                }
                Err(error) => tracing::error!(%error, "workflow worker gave up; restarting it"),
            }
            tokio::select! {
                () = shutdown.cancelled() => return,
                () = tokio::time::sleep(Duration::from_millis(500)) => {}
            }
        }
    })
}
