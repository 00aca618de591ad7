//! `/healthz`: the process is up. `/readyz`: an order posted now would run.

use std::time::Duration;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde_json::{Value, json};

use super::AppState;
use crate::domain::OrderId;
use crate::sidecar::Readiness;

/// How long `/readyz` waits for each part; the Kubernetes probe's timeout
/// is above it, so the probe reads the 503 body instead of timing out.
const PROBE_DEADLINE: Duration = Duration::from_secs(2);

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
    // Both questions at once, each within the probe's budget, so the
    // answer comes within PROBE_DEADLINE even when the store hangs.
    let store_answers = async {
        let Ok(key) = OrderId::parse(READINESS_PROBE_KEY) else {
            return false;
        };
        let read = tokio::time::timeout(PROBE_DEADLINE, state.store.get(&key)).await;
        matches!(read, Ok(Ok(_)))
    };
    let (mut readiness, order_store) = tokio::join!(state.sidecar.readiness(), store_answers);
    readiness.order_store = readiness.sidecar && order_store;
    readiness.shutting_down = state.draining.is_cancelled();
    let status = if readiness.is_ready() {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, Json(readiness))
}
