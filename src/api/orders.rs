//! `POST /process-order-with-outbox` schedules one workflow per order;
//! `GET /orders/{orderId}` reads the stored order through the sidecar.

use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use std::sync::Arc;
use std::time::Duration;

use axum::Json;
use axum::body::Bytes;
use axum::extract::Request;
use axum::extract::rejection::{BytesRejection, PathRejection};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use dapr_durabletask::client::TaskHubGrpcClient;
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

use super::AppState;
use super::error::{ApiError, ErrorBody};
use crate::domain::{Order, OrderId};
use crate::outbox::OrderStore;
use crate::workflow::{self, ORDER_WORKFLOW};

/// An order, as posted. Fields other than these are rejected.
///
/// The limits below are `domain`'s; a unit test keeps the two in step.
#[derive(ToSchema)]
#[schema(example = json!({"orderId": "order001", "item": "DaprBook", "quantity": 1}))]
#[serde(deny_unknown_fields)]
#[allow(dead_code, non_snake_case)]
pub struct OrderBody {
    /// 1 to 64 ASCII letters, digits, `-`, `_` or `.`, starting with a letter or digit.
    #[schema(
        min_length = 1,
        max_length = 64,
        pattern = "^[A-Za-z0-9][A-Za-z0-9._-]*$"
    )]
    orderId: String,
    /// 1 to 200 characters, at least one visible; no control, line-breaking,
    /// bidirectional, private-use or unassigned characters.
    #[schema(min_length = 1, max_length = 200)]
    item: String,
    /// A whole number from 1 to 1,000,000.
    #[schema(minimum = 1, maximum = 1000000)]
    quantity: u64,
}

/// The answer to a posted order.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct OrderAccepted {
    pub order_id: String,
    /// The workflow instance that processes the order.
    pub instance_id: String,
    /// Where to read the workflow's status (also the `Location` header).
    pub status_url: String,
    /// True when this order had been posted before: nothing new started.
    pub already_accepted: bool,
    /// True when an earlier run of this order had failed or been terminated
    /// and this post started a new one.
    pub rerun: bool,
}

/// Serialises requests for the same order id within this process, so two
/// concurrent posts of one order cannot both see "no instance" and both
/// schedule. Striped: a fixed set of locks, picked by hashing the id.
#[derive(Clone)]
pub struct OrderLocks(Arc<[tokio::sync::Mutex<()>]>);

impl Default for OrderLocks {
    fn default() -> Self {
        Self((0..64).map(|_| tokio::sync::Mutex::new(())).collect())
    }
}

impl OrderLocks {
    async fn lock(&self, order_id: &OrderId) -> tokio::sync::MutexGuard<'_, ()> {
        let mut hasher = DefaultHasher::new();
        order_id.hash(&mut hasher);
        let stripe = (hasher.finish() % self.0.len() as u64) as usize;
        self.0[stripe].lock().await
    }
}

/// Schedule the order's workflow.
///
/// The workflow instance id is derived from the order id, so posting the
/// same order again starts nothing new and answers 200 with
/// `alreadyAccepted: true`; the same order id with other content is a 409.
#[utoipa::path(post, path = "/process-order-with-outbox", tag = "orders",
    request_body(content = OrderBody, content_type = "application/json"),
    responses(
        (status = 202, description = "Workflow scheduled", body = OrderAccepted),
        (status = 200, description = "This order was accepted before", body = OrderAccepted),
        (status = 400, description = "Malformed JSON", body = ErrorBody),
        (status = 409, description = "Order id taken by other content", body = ErrorBody),
        (status = 413, description = "Body over 64 KiB", body = ErrorBody),
        (status = 415, description = "Not application/json, or a Content-Encoding other than identity", body = ErrorBody),
        (status = 422, description = "A field is invalid", body = ErrorBody),
        (status = 503, description = "Sidecar unavailable or shutting down; retry", body = ErrorBody),
    ))]
pub async fn process_order(
    State(state): State<AppState>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let order = parse_order_request(body)?;
    // Counted before the check: shutdown fires `draining` first, then
    // waits for every post counted by then, so a post either sees the
    // shutdown or is waited for.
    let _in_progress = state.order_posts.token();
    if state.draining.is_cancelled() {
        return Err(ApiError::ShuttingDown);
    }
    let instance_id = workflow::instance_id(&order.order_id);
    let span = tracing::Span::current();
    span.record("order_id", order.order_id.as_str());
    span.record("instance_id", instance_id.as_str());

    let _guard = state.order_locks.lock(&order.order_id).await;
    let mut workflows = state.sidecar.workflows();

    let mut rerun = false;
    if let Some(existing) = workflow::find_instance(&mut workflows, &instance_id).await? {
        let same_order = existing.input.as_ref() == Some(&order.to_json());
        let status = existing.state.runtime_status;
        if !(same_order && must_run_again(&state.store, &order, status).await?) {
            return duplicate(&mut workflows, &order, &instance_id, existing.input).await;
        }
        // Safe: an order stored by the earlier run is not written or
        // published twice (the outbox step reads before it writes).
        workflow::purge(&mut workflows, &instance_id).await?;
        rerun = true;
    }
    match workflow::schedule(&mut workflows, ORDER_WORKFLOW, &instance_id, &order).await {
        Ok(()) => {}
        // Another replica scheduled it between our look-up and our call.
        Err(workflow::ScheduleError::AlreadyExists) => {
            return duplicate(&mut workflows, &order, &instance_id, None).await;
        }
        Err(workflow::ScheduleError::Sidecar(error)) => return Err(error.into()),
    }

    tracing::info!(rerun, "order accepted");
    Ok(accepted(
        StatusCode::ACCEPTED,
        &order,
        &instance_id,
        false,
        rerun,
    ))
}

/// Whether the same order, whose workflow instance exists in `status`,
/// runs again: its earlier run failed or was stopped, or it completed but
/// the order is no longer in the store (a Redis that lost its data, such as
/// one restarted without persistence). Posting the order again repairs
/// that; anything else is a duplicate.
async fn must_run_again(
    store: &OrderStore,
    order: &Order,
    status: workflow::InstanceStatus,
) -> Result<bool, ApiError> {
    if workflow::can_run_again(status) {
        return Ok(true);
    }
    if workflow::is_completed(status) {
        return Ok(store.get(&order.order_id).await?.is_none());
    }
    Ok(false)
}

/// Answers a post of an order whose workflow instance exists: 200 when it
/// was started with the same order, 409 when with another.
///
/// Right after another replica schedules the instance, the sidecar may not
/// show it, or its input, yet: look again for a moment before answering,
/// and answer 503 (retry is safe) rather than guess.
async fn duplicate(
    workflows: &mut TaskHubGrpcClient,
    order: &Order,
    instance_id: &str,
    mut input: Option<Value>,
) -> Result<Response, ApiError> {
    for delay_ms in [50, 100, 200, 400, 800] {
        if input.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(delay_ms)).await;
        input = workflow::find_instance(workflows, instance_id)
            .await?
            .and_then(|existing| existing.input);
    }

    match input {
        Some(input) if input == order.to_json() => {
            tracing::info!("order already accepted");
            Ok(accepted(StatusCode::OK, order, instance_id, true, false))
        }
        Some(_) => Err(ApiError::Conflict {
            order_id: order.order_id.to_string(),
        }),
        None => Err(ApiError::Unavailable(
            "the order's workflow instance exists but its input is not readable yet".into(),
        )),
    }
}

fn accepted(
    status: StatusCode,
    order: &Order,
    instance_id: &str,
    already_accepted: bool,
    rerun: bool,
) -> Response {
    let status_url = format!("/workflows/{instance_id}");
    let body = OrderAccepted {
        order_id: order.order_id.to_string(),
        instance_id: instance_id.to_owned(),
        status_url: status_url.clone(),
        already_accepted,
        rerun,
    };
    (status, [(header::LOCATION, status_url)], Json(body)).into_response()
}

/// Refuses a post whose headers already say it cannot be an order (not
/// JSON, or longer than we read), before its body is read: a client that
/// sent `Expect: 100-continue` is not invited to upload it.
pub async fn check_headers(request: Request, next: Next) -> Response {
    let headers = request.headers();
    if !is_json(headers) {
        return ApiError::UnsupportedMediaType.into_response();
    }
    if !is_identity_encoded(headers) {
        return ApiError::UnsupportedEncoding.into_response();
    }
    let declared_length = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared_length.is_some_and(|length| length > super::MAX_BODY_BYTES) {
        return ApiError::BodyTooLarge.into_response();
    }
    next.run(request).await
}

/// JSON syntax, then the order's own rules, in that order (the content
/// type was checked by [`check_headers`]).
fn parse_order_request(body: Result<Bytes, BytesRejection>) -> Result<Order, ApiError> {
    let body = body.map_err(|rejection| match rejection {
        BytesRejection::FailedToBufferBody(_) => ApiError::BodyTooLarge,
        other => ApiError::MalformedJson(other.body_text()),
    })?;
    let value: Value =
        serde_json::from_slice(&body).map_err(|e| ApiError::MalformedJson(e.to_string()))?;
    Order::parse(&value).map_err(ApiError::InvalidField)
}

/// No `Content-Encoding`, or only `identity`: a compressed body is not
/// decoded here, and read as JSON it would be refused as malformed, or
/// worse, a plain body declared compressed would be taken as it is.
fn is_identity_encoded(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::CONTENT_ENCODING)
        .iter()
        .all(|value| {
            value.to_str().is_ok_and(|v| {
                v.split(',')
                    .all(|coding| coding.trim().eq_ignore_ascii_case("identity"))
            })
        })
}

/// One `Content-Type`, `application/json`, with no charset or a UTF-8 one
/// (US-ASCII is a subset): JSON is UTF-8 (RFC 8259), and a body declared in
/// another charset would be read as something it is not.
fn is_json(headers: &HeaderMap) -> bool {
    let mut values = headers.get_all(header::CONTENT_TYPE).iter();
    let (Some(value), None) = (values.next(), values.next()) else {
        return false;
    };
    let Some(mime) = value
        .to_str()
        .ok()
        .and_then(|v| v.parse::<mime::Mime>().ok())
    else {
        return false;
    };
    let charset_ok = match mime.get_param(mime::CHARSET) {
        None => true,
        Some(charset) => {
            charset == mime::UTF_8 || charset.as_str().eq_ignore_ascii_case("us-ascii")
        }
    };
    mime.essence_str() == mime::APPLICATION_JSON.essence_str() && charset_ok
}

/// The order as stored in `orderstatestore`, read through the sidecar.
#[utoipa::path(get, path = "/orders/{order_id}", tag = "orders",
    params(("order_id" = String, Path, description = "The order id")),
    responses(
        (status = 200, description = "The stored order", body = OrderBody),
        (status = 400, description = "Not a valid order id", body = ErrorBody),
        (status = 404, description = "No order stored under this id", body = ErrorBody),
        (status = 503, description = "Sidecar unavailable; retry", body = ErrorBody),
    ))]
pub async fn get_order(
    State(state): State<AppState>,
    order_id: Result<Path<String>, PathRejection>,
) -> Result<Json<Value>, ApiError> {
    let order_id = super::path_param(order_id, "orderId")?;
    let order_id = OrderId::parse(&order_id).map_err(ApiError::InvalidPath)?;
    tracing::Span::current().record("order_id", order_id.as_str());
    match state.store.get(&order_id).await? {
        Some(order) => Ok(Json(order)),
        None => Err(ApiError::NotFound { what: "order" }),
    }
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    fn headers(content_type: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_str(content_type).expect("ascii"),
        );
        headers
    }

    #[test]
    fn the_documented_order_schema_has_the_domains_limits() {
        use utoipa::OpenApi;

        let doc = serde_json::to_value(super::super::docs::ApiDoc::openapi()).expect("json");
        let schema = &doc["components"]["schemas"]["OrderBody"];
        let field = |name: &str| &schema["properties"][name];

        assert_eq!(schema["additionalProperties"], false, "{schema}");
        assert_eq!(
            field("orderId")["maxLength"],
            crate::domain::MAX_ORDER_ID_LEN
        );
        assert_eq!(field("item")["maxLength"], crate::domain::MAX_ITEM_LEN);
        assert_eq!(field("quantity")["minimum"], 1);
        assert_eq!(field("quantity")["maximum"], crate::domain::MAX_QUANTITY);
        let pattern = field("orderId")["pattern"].as_str().expect("a pattern");
        let pattern = regex::Regex::new(pattern).expect("a valid pattern");
        for id in [
            "order001", "a-b_c.d", "9", "-a", ".", "a||b", "a b", "a/b", "é", "",
        ] {
            let within_length = !id.is_empty() && id.len() <= crate::domain::MAX_ORDER_ID_LEN;
            assert_eq!(
                pattern.is_match(id) && within_length,
                OrderId::parse(id).is_ok(),
                "{id:?}"
            );
        }
    }

    #[test]
    fn json_content_types_are_recognised() {
        assert!(is_json(&headers("application/json")));
        assert!(is_json(&headers("Application/JSON; charset=utf-8")));
        assert!(is_json(&headers("application/json;charset=\"UTF-8\"")));
        assert!(is_json(&headers("application/json; charset=us-ascii")));
        assert!(!is_json(&headers("application/json; charset=latin1")));
        assert!(!is_json(&headers("application/json; charset")));
        assert!(!is_json(&headers("application/json; charset=\"utf-8")));
        let mut twice = headers("application/json");
        twice.append(header::CONTENT_TYPE, HeaderValue::from_static("text/plain"));
        assert!(!is_json(&twice));
        assert!(!is_json(&headers("text/plain")));
        assert!(!is_json(&HeaderMap::new()));
    }

    #[test]
    fn only_identity_encoded_bodies_are_read() {
        assert!(is_identity_encoded(&HeaderMap::new()));
        let encoded = |value: &'static str| {
            let mut headers = HeaderMap::new();
            headers.insert(header::CONTENT_ENCODING, HeaderValue::from_static(value));
            headers
        };
        assert!(is_identity_encoded(&encoded("Identity")));
        assert!(!is_identity_encoded(&encoded("gzip")));
        assert!(!is_identity_encoded(&encoded("identity, br")));
    }

    #[test]
    fn a_body_is_checked_for_syntax_then_fields() {
        let ok = Bytes::from_static(br#"{"orderId":"a","item":"b","quantity":1}"#);
        assert!(matches!(
            parse_order_request(Ok(Bytes::from_static(b"{"))),
            Err(ApiError::MalformedJson(_))
        ));
        assert!(matches!(
            parse_order_request(Ok(Bytes::from_static(b"{}"))),
            Err(ApiError::InvalidField(_))
        ));
        assert!(parse_order_request(Ok(ok)).is_ok());
    }
}
