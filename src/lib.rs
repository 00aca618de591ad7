//! order-outbox: the transactional outbox on Dapr.
//!
//! An order posted to the HTTP API is handed to a Dapr Workflow, whose
//! activity stores it and publishes the event announcing it in one state
//! transaction; the subscriber route receives that event. Follow one order:
//!
//! - [`api`] — the HTTP boundary (orders, workflow status, subscriber, docs, health)
//! - [`workflow`] — the orchestrator, its activities and the worker
//! - [`outbox`] — builds and sends the outbox transaction
//! - [`server`] — the HTTP/1.1 server under the router: header deadline, drain
//! - [`sidecar`] — the one gRPC channel to the Dapr sidecar
//! - [`domain`] — `Order` and `OrderId`, parsed once at the edge
//! - [`settings`] — typed settings from the environment, and Dapr resource names
//! - [`telemetry`] — logging
//! - [`app`] — wires the parts together, serves, shuts down in order

pub mod api;
pub mod app;
pub mod domain;
pub mod outbox;
pub mod server;
pub mod settings;
pub mod sidecar;
pub mod telemetry;
pub mod workflow;
