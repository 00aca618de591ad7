//! `/healthz`: the process is up. `/readyz`: an order posted now would run.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde_json::{Value, json};

use super::AppState;
use crate::domain::OrderId;
use crate::sidecar::Readiness;

/// The key `/readyz` reads from the order store; it is never written.
const READINESS_PROBE_KEY: &str = "readyz-probe";

/// The process is up and serving HTTP.
#[utoipa::path(get, path = "/healthz", tag = "health",
    responses((status = 200, description = "The process is up")))]
pub async fn healthz() -> Json<Value> {
    Json(json!({"status": "ok"}))
}

/// The sidecar answers, the workflow worker is connected, the actor runtime
/// has its placement table and the order store answers a read.
#[utoipa::path(get, path = "/readyz", tag = "health", responses(
    (status = 200, description = "Ready to take orders"),
    (status = 503, description = "Not ready; the body says which part is missing")))]
pub async fn readyz(State(state): State<AppState>) -> (StatusCode, Json<Readiness>) {
    let mut readiness = state.sidecar.readiness().await;
    if readiness.sidecar {
        readiness.order_store = match OrderId::parse(READINESS_PROBE_KEY) {
            Ok(key) => state.store.get(&key).await.is_ok(),
            Err(_) => false,
        };
    }
    let status = if readiness.is_ready() {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, Json(readiness))
}
