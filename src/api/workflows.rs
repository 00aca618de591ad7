//! `GET /workflows/{instance_id}`: a workflow instance's status.

use axum::Json;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

use super::AppState;
use super::error::{ApiError, ErrorBody};
use crate::workflow;

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct WorkflowStatus {
    pub instance_id: String,
    pub workflow_name: String,
    /// RUNNING, COMPLETED, FAILED, PENDING, TERMINATED, SUSPENDED, ...
    pub runtime_status: &'static str,
    pub created_at: Option<String>,
    pub last_updated_at: Option<String>,
    /// The order the workflow was scheduled with.
    #[schema(value_type = Option<Object>)]
    pub input: Option<Value>,
    /// When COMPLETED: `{"workflow_status", "order_id",
    /// "transaction_result"}`, in the snake_case the tutorial's workflow
    /// returns; null otherwise.
    #[schema(value_type = Option<Object>)]
    pub output: Option<Value>,
    /// Present when the workflow failed: the cause, as the activity or
    /// orchestrator reported it.
    pub failure_details: Option<FailureDetails>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct FailureDetails {
    pub error_type: String,
    pub message: String,
}

/// Read a workflow instance's status, input, output and failure details.
#[utoipa::path(get, path = "/workflows/{instance_id}", tag = "workflows",
    params(("instance_id" = String, Path, description = "Workflow instance id, e.g. order-order001")),
    responses(
        (status = 200, description = "The instance", body = WorkflowStatus),
        (status = 400, description = "Not a valid instance id", body = ErrorBody),
        (status = 404, description = "No such instance", body = ErrorBody),
        (status = 503, description = "Sidecar unavailable; retry", body = ErrorBody),
    ))]
pub async fn get_workflow(
    State(state): State<AppState>,
    instance_id: Result<Path<String>, PathRejection>,
) -> Result<Json<WorkflowStatus>, ApiError> {
    let instance_id = super::path_param(instance_id, "instanceId")?;
    tracing::Span::current().record("instance_id", instance_id.as_str());
    let mut client = state.sidecar.workflows();
    let instance = match workflow::find_instance(&mut client, &instance_id).await {
        Ok(Some(instance)) => instance,
        Ok(None) => {
            return Err(ApiError::NotFound {
                what: "workflow instance",
            });
        }
        // The client refuses ids it could never have scheduled (too long,
        // control characters) before asking the sidecar.
        Err(dapr_durabletask::api::DurableTaskError::Other(_)) => {
            return Err(ApiError::NotFound {
                what: "workflow instance",
            });
        }
        Err(error) => return Err(error.into()),
    };

    let state = instance.state;
    Ok(Json(WorkflowStatus {
        instance_id: state.instance_id,
        workflow_name: state.name,
        runtime_status: workflow::status_name(state.runtime_status),
        created_at: state.created_at.map(|t| t.to_rfc3339()),
        last_updated_at: state.last_updated_at.map(|t| t.to_rfc3339()),
        input: instance.input,
        output: instance.output,
        failure_details: state.failure_details.map(|f| FailureDetails {
            error_type: f.error_type,
            message: f.message,
        }),
    }))
}
