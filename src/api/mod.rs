//! The HTTP boundary: routes, shared state and middleware.
//!
//! Handlers speak in domain types and call small functions of `workflow`,
//! `outbox` and `sidecar`; only those modules know Dapr's types.

pub mod docs;
pub mod error;
pub mod events;
pub mod health;
pub mod orders;
pub mod workflows;

use std::time::Duration;

use axum::Router;
use axum::extract::{DefaultBodyLimit, Request};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use tower_http::trace::TraceLayer;

use crate::outbox::OrderStore;
use crate::settings::EVENT_ROUTE;
use crate::sidecar::Sidecar;
use error::ApiError;

/// Largest request body we read. An order is a few hundred bytes; events
/// from the sidecar are the order plus CloudEvent attributes.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// How long a request may take, body upload included.
pub const REQUEST_DEADLINE: Duration = Duration::from_secs(30);

/// What every handler can reach. Cheap to clone.
#[derive(Clone)]
pub struct AppState {
    pub sidecar: Sidecar,
    pub store: OrderStore,
    pub order_locks: orders::OrderLocks,
    /// Fired when shutdown begins: new orders are refused, `/readyz` says
    /// not ready, the subscriber still takes events.
    pub draining: tokio_util::sync::CancellationToken,
    /// Order posts in progress: shutdown waits for them before it stops
    /// the workflow worker, since Dapr cannot schedule a workflow while no
    /// worker is connected.
    pub order_posts: tokio_util::task::TaskTracker,
}

pub fn router(state: AppState) -> Router {
    let api = Router::new()
        .route(
            "/process-order-with-outbox",
            post(orders::process_order).route_layer(middleware::from_fn(orders::check_headers)),
        )
        .route("/orders/{order_id}", get(orders::get_order))
        .route("/workflows/{instance_id}", get(workflows::get_workflow))
        .route(EVENT_ROUTE, post(events::order_event))
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .fallback(|| async {
            ApiError::NoRoute {
                method_not_allowed: false,
            }
        })
        .method_not_allowed_fallback(|| async {
            ApiError::NoRoute {
                method_not_allowed: true,
            }
        })
        .with_state(state);

    api.merge(docs::routes())
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(middleware::from_fn(request_deadline))
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(|request: &Request| {
                    // The path as a string field, not `%`: hyper lets bytes
                    // above ASCII through, and the text format then escapes
                    // what could break or reorder a log line.
                    tracing::info_span!(
                        "http",
                        http.request.method = %request.method(),
                        url.path = request.uri().path(),
                        order_id = tracing::field::Empty,
                        instance_id = tracing::field::Empty,
                    )
                })
                // Errors are logged once, where they arise (`ApiError`), and
                // a 503 from `/readyz` is an answer, not a failure.
                .on_failure(()),
        )
}

/// Ends a request that outlives [`REQUEST_DEADLINE`] (a hung sidecar, a
/// client that never finishes its body) with the usual JSON error.
async fn request_deadline(request: Request, next: Next) -> Response {
    match tokio::time::timeout(REQUEST_DEADLINE, next.run(request)).await {
        Ok(response) => response,
        Err(_) => ApiError::Timeout.into_response(),
    }
}

/// A path parameter, or a 400 naming it (e.g. one that is not UTF-8).
fn path_param(
    param: Result<axum::extract::Path<String>, axum::extract::rejection::PathRejection>,
    name: &str,
) -> Result<String, ApiError> {
    param
        .map(|axum::extract::Path(value)| value)
        .map_err(|rejection| {
            ApiError::InvalidPath(crate::domain::FieldError {
                field: name.to_owned(),
                problem: rejection.body_text(),
            })
        })
}
