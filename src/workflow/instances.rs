//! Scheduling and reading workflow instances through the sidecar.

use std::time::Duration;

use dapr_durabletask::api::{DurableTaskError, OrchestrationState, OrchestrationStatus};
use dapr_durabletask::client::{NewOrchestrationOptions, TaskHubGrpcClient};
use serde_json::Value;

use crate::domain::Order;

/// A workflow instance as the sidecar reports it, payloads parsed.
#[derive(Debug, Clone)]
pub struct Instance {
    pub state: OrchestrationState,
    pub input: Option<Value>,
    pub output: Option<Value>,
}

#[derive(Debug, thiserror::Error)]
pub enum ScheduleError {
    #[error("a workflow instance with this id already exists")]
    AlreadyExists,
    #[error(transparent)]
    Sidecar(DurableTaskError),
}

/// The instance named `instance_id`, with its input and output, if any.
///
/// Reading an instance while the engine writes it can fail (seen on Dapr
/// 1.18.2: "inbox key ... declared in metadata but missing from state
/// store"), so a failure is retried a few times, briefly, before it counts.
pub async fn find_instance(
    client: &mut TaskHubGrpcClient,
    instance_id: &str,
) -> Result<Option<Instance>, DurableTaskError> {
    let mut delays = [25, 50, 100, 200].into_iter().map(Duration::from_millis);
    let state = loop {
        match client.get_orchestration_state(instance_id, true).await {
            Ok(state) => break state,
            Err(DurableTaskError::GrpcError(status)) if is_transient(status.code()) => {
                match delays.next() {
                    Some(delay) => tokio::time::sleep(delay).await,
                    None => return Err(DurableTaskError::GrpcError(status)),
                }
            }
            Err(error) => return Err(error),
        }
    };
    let Some(state) = state else {
        return Ok(None);
    };
    let parse = |raw: &Option<String>| raw.as_deref().and_then(|s| serde_json::from_str(s).ok());
    Ok(Some(Instance {
        input: parse(&state.serialized_input),
        output: parse(&state.serialized_output),
        state,
    }))
}

fn is_transient(code: tonic::Code) -> bool {
    matches!(
        code,
        tonic::Code::Unknown | tonic::Code::Internal | tonic::Code::Unavailable
    )
}

/// Schedules `workflow` for `order` under `instance_id`, asking for a
/// unique id. Dapr 1.18.2 then refuses an instance that is still running
/// ([`ScheduleError::AlreadyExists`]) but starts an ended one afresh, so
/// callers look the instance up first.
pub async fn schedule(
    client: &mut TaskHubGrpcClient,
    workflow: &str,
    instance_id: &str,
    order: &Order,
) -> Result<(), ScheduleError> {
    let options = NewOrchestrationOptions::new()
        .with_instance_id(instance_id)
        .with_input(order.to_json().to_string())
        .with_enforce_unique_instance_id();
    match client
        .schedule_new_orchestration_with_options(workflow, options)
        .await
    {
        Ok(_) => Ok(()),
        Err(DurableTaskError::GrpcError(status)) if status.code() == tonic::Code::AlreadyExists => {
            Err(ScheduleError::AlreadyExists)
        }
        Err(error) => Err(ScheduleError::Sidecar(error)),
    }
}

/// Whether an instance in `status` may be scheduled again for the same
/// order: it ended without storing it (failed, or stopped by an operator).
pub fn can_run_again(status: OrchestrationStatus) -> bool {
    matches!(
        status,
        OrchestrationStatus::Failed
            | OrchestrationStatus::Terminated
            | OrchestrationStatus::Canceled
    )
}

/// Whether an instance in `status` ran to its end: the order was stored.
pub fn is_completed(status: OrchestrationStatus) -> bool {
    status == OrchestrationStatus::Completed
}

/// Removes an ended instance's history, so its id can be scheduled afresh.
pub async fn purge(
    client: &mut TaskHubGrpcClient,
    instance_id: &str,
) -> Result<(), DurableTaskError> {
    client
        .purge_orchestration(instance_id, false)
        .await
        .map(|_| ())
}

/// The status names Dapr's own APIs and CLI use.
pub fn status_name(status: OrchestrationStatus) -> &'static str {
    match status {
        OrchestrationStatus::Running => "RUNNING",
        OrchestrationStatus::Completed => "COMPLETED",
        OrchestrationStatus::ContinuedAsNew => "CONTINUED_AS_NEW",
        OrchestrationStatus::Failed => "FAILED",
        OrchestrationStatus::Canceled => "CANCELED",
        OrchestrationStatus::Terminated => "TERMINATED",
        OrchestrationStatus::Pending => "PENDING",
        OrchestrationStatus::Suspended => "SUSPENDED",
        OrchestrationStatus::Stalled => "STALLED",
    }
}
