//! The order workflow: its name, its activities, and the worker that runs
//! them for the sidecar's workflow engine.
//!
//! Flow: `api::orders` schedules [`ORDER_WORKFLOW`] with the order as input;
//! the sidecar streams work items to [`worker`]; the orchestrator in
//! [`order_processing`] calls the activities in [`activities`], and the
//! second one writes the order and its event through `outbox`.

pub mod activities;
pub mod instances;
pub mod order_processing;
pub mod worker;

pub use dapr_durabletask::api::OrchestrationStatus as InstanceStatus;
pub use instances::{
    Instance, ScheduleError, can_run_again, find_instance, is_completed, purge, schedule,
    status_name,
};

/// The workflow scheduled once per order.
pub const ORDER_WORKFLOW: &str = "OrderProcessingWithOutboxWorkflow";
/// Activity: checks the order again inside the workflow.
pub const VALIDATE_ORDER: &str = "validate_order";
/// Activity: the outbox transaction.
pub const SAVE_ORDER_AND_PUBLISH_EVENT: &str = "save_order_and_publish_event";

/// The workflow instance id of an order. Derived, not random, so the same
/// order posted twice names the same instance.
pub fn instance_id(order_id: &crate::domain::OrderId) -> String {
    format!("order-{order_id}")
}
