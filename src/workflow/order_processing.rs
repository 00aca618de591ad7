//! The orchestrator, `OrderProcessingWithOutboxWorkflow`.
//!
//! The sidecar replays it from its history after every step, so it does no
//! I/O and reads no clock; side effects live in the activities. It logs only
//! when not replaying, so each line appears once per instance.

use dapr::workflow::{ActivityOptions, RetryPolicy, WorkflowContext, WorkflowContextExt};
use dapr_durabletask::worker::OrchestratorResult;
use serde::{Deserialize, Serialize};

use super::activities::TransactionResult;
use super::{SAVE_ORDER_AND_PUBLISH_EVENT, VALIDATE_ORDER};
use crate::domain::{Order, OrderId};

/// The workflow's output when it completes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WorkflowOutput {
    pub workflow_status: String,
    pub order_id: OrderId,
    pub transaction_result: TransactionResult,
}

/// Runs one order: validate, then store and publish.
///
/// A failing activity fails the workflow with the activity's message in its
/// failure details; the transaction is retried by `transaction_retry` first.
pub async fn run(ctx: WorkflowContext, transaction_retry: RetryPolicy) -> OrchestratorResult {
    let order: Order = ctx.get_input_typed()?;
    if !ctx.is_replaying() {
        tracing::info!(
            instance_id = %ctx.instance_id(),
            order_id = %order.order_id,
            "order workflow started"
        );
    }

    let order: Order = ctx.call_activity_typed(VALIDATE_ORDER, order).await?;

    let save = ActivityOptions::new()
        .try_with_input(&order)?
        .with_retry_policy(transaction_retry);
    let transaction_result: TransactionResult = ctx
        .call_activity_with_options_typed(SAVE_ORDER_AND_PUBLISH_EVENT, save)
        .await?;

    if !ctx.is_replaying() {
        tracing::info!(
            instance_id = %ctx.instance_id(),
            order_id = %order.order_id,
            "order workflow completed"
        );
    }
    let output = WorkflowOutput {
        workflow_status: "COMPLETED".to_owned(),
        order_id: order.order_id,
        transaction_result,
    };
    Ok(Some(serde_json::to_string(&output)?))
}
