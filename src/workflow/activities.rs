//! The activities: the only workflow code with side effects.
//!
//! The engine delivers an activity at least once (a sidecar restart can run
//! one again), so both are safe to repeat: validation has no effect, and the
//! outbox writer finds an order it already stored and does nothing more.

use dapr::workflow::{ActivityContext, ActivityContextExt};
use dapr_durabletask::api::DurableTaskError;
use dapr_durabletask::worker::ActivityResult;
use serde::{Deserialize, Serialize};

use crate::domain::Order;
use crate::outbox::{OrderStore, Saved};
use crate::settings::{ORDER_STORE, PUBSUB, TOPIC};

/// What the outbox transaction did, reported in the workflow's output.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TransactionResult {
    pub state_store: String,
    pub key: String,
    pub pubsub: String,
    pub topic: String,
    pub shaped_event: bool,
}

/// Checks the order again: a workflow can be started by any client of the
/// sidecar, not only through our HTTP API.
pub async fn validate_order(ctx: ActivityContext, input: Option<String>) -> ActivityResult {
    let order: Order = ctx
        .get_input(input.as_deref())
        .map_err(|e| DurableTaskError::Other(format!("invalid order: {e}")))?;
    tracing::info!(order_id = %order.order_id, "order validated");
    Ok(Some(serde_json::to_string(&order)?))
}

/// Stores the order and publishes its event in one outbox transaction.
pub async fn save_order_and_publish_event(
    store: OrderStore,
    shaped_event: bool,
    ctx: ActivityContext,
    input: Option<String>,
) -> ActivityResult {
    let order: Order = ctx.get_input(input.as_deref())?;

    match store.save_and_publish(&order).await {
        Ok(Saved::Stored) => {
            tracing::info!(order_id = %order.order_id, "order stored and event queued by the outbox");
        }
        Ok(Saved::AlreadyStored) => {
            tracing::info!(order_id = %order.order_id, "order already stored; its event went with it");
        }
        Err(error) => {
            let cause = crate::telemetry::error_chain(&error);
            tracing::warn!(
                order_id = %order.order_id,
                error = cause.as_str(),
                "outbox transaction failed"
            );
            return Err(DurableTaskError::Other(format!(
                "outbox transaction on {ORDER_STORE} failed: {cause}"
            )));
        }
    }
    let result = TransactionResult {
        state_store: ORDER_STORE.to_owned(),
        key: order.order_id.to_string(),
        pubsub: PUBSUB.to_owned(),
        topic: TOPIC.to_owned(),
        shaped_event,
    };
    Ok(Some(serde_json::to_string(&result)?))
}
