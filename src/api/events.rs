//! The subscriber: `POST /newOrderEvents`, where the sidecar delivers the
//! events the outbox published to the `newOrderEvents` topic.
//!
//! Reply contract (Dapr pub/sub): HTTP 200 with `{"status": ...}`:
//! `SUCCESS` (handled), `RETRY` (a transient failure; the resiliency
//! policy redelivers, then the dead-letter topic takes it), `DROP` (it can
//! never be handled; logged as a warning and not redelivered).
//!
//! Every text an event carries (its id, type, source, the reason it is
//! dropped) is logged as a string field, never with `%`: the text format
//! then quotes and escapes it, so a forged event cannot write a line of its
//! own, such as a fake `order event received`.
//!
//! Before acting, the subscriber checks the event against the store: an
//! event for an order that is not stored, or that is not what the stored
//! order publishes, is dropped, never handled.

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use cloudevents::event::{AttributesReader, Data, ExtensionValue};
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

use super::AppState;
use super::error::ApiError;
use crate::domain::{Order, OrderId};
use crate::outbox::{OrderStore, OutboxError, published_value};
use crate::settings::ORDER_CREATED_EVENT_TYPE;

/// What the sidecar should do with the event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "UPPERCASE")]
pub enum DeliveryStatus {
    Success,
    Retry,
    Drop,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DeliveryReply {
    pub status: DeliveryStatus,
}

/// An order event, as far as the subscriber needs it.
#[derive(Debug, Clone, PartialEq)]
pub struct OrderEvent {
    pub id: String,
    pub topic: Option<String>,
    pub event_type: String,
    pub source: String,
    pub subject: Option<String>,
    pub datacontenttype: Option<String>,
    pub order_id: OrderId,
    pub data: Value,
}

/// Why an event can never be handled.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum UnusableEvent {
    #[error("not a CloudEvent: {0}")]
    NotACloudEvent(String),
    #[error("data is not a JSON object (was the contentType metadata missing?)")]
    DataNotJson,
    #[error("data has no valid orderId: {0}")]
    NoOrderId(String),
}

/// Why an event does not announce the order in the store.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum Mismatch {
    #[error("the order is not stored")]
    NotStored,
    #[error("type {0:?} is not an order event")]
    Type(String),
    #[error("source {0:?} is not this service")]
    Source(String),
    #[error("data differs from what the stored order publishes")]
    Data,
}

/// An event is handled only when it is what the outbox publishes for the
/// order as stored: our type and source, and the data the stored order
/// yields. Anything else (an event for an order that was not stored, one
/// posted to this route by someone else) is dropped.
pub fn check_against_store(
    event: &OrderEvent,
    stored: Option<&Value>,
    store: &OrderStore,
) -> Result<(), Mismatch> {
    let stored = stored.ok_or(Mismatch::NotStored)?;
    if event.event_type != ORDER_CREATED_EVENT_TYPE {
        return Err(Mismatch::Type(event.event_type.clone()));
    }
    if event.source != store.app_id() {
        return Err(Mismatch::Source(event.source.clone()));
    }
    let stored = Order::parse(stored).map_err(|_| Mismatch::Data)?;
    if event.data != published_value(&stored, store.payload()) {
        return Err(Mismatch::Data);
    }
    Ok(())
}

/// Parses the CloudEvent the sidecar delivers (structured JSON).
pub fn parse_order_event(body: &[u8]) -> Result<OrderEvent, UnusableEvent> {
    let event: cloudevents::Event =
        serde_json::from_slice(body).map_err(|e| UnusableEvent::NotACloudEvent(e.to_string()))?;

    let data = match event.data() {
        Some(Data::Json(value)) if value.is_object() => value.clone(),
        _ => return Err(UnusableEvent::DataNotJson),
    };
    let order_id = match data.get("orderId") {
        Some(Value::String(raw)) => {
            OrderId::parse(raw).map_err(|e| UnusableEvent::NoOrderId(e.to_string()))?
        }
        _ => {
            return Err(UnusableEvent::NoOrderId(
                "missing or not a string".to_owned(),
            ));
        }
    };
    let topic = match event.extension("topic") {
        Some(ExtensionValue::String(topic)) => Some(topic.clone()),
        _ => None,
    };

    Ok(OrderEvent {
        id: event.id().to_owned(),
        topic,
        event_type: event.ty().to_owned(),
        source: event.source().to_string(),
        subject: event.subject().map(str::to_owned),
        datacontenttype: event.datacontenttype().map(str::to_owned),
        order_id,
        data,
    })
}

/// Receive one order event from the sidecar.
#[utoipa::path(post, path = "/newOrderEvents", tag = "subscriber",
    request_body(content = Object, content_type = "application/cloudevents+json",
        description = "A CloudEvent whose data is the order (or the shaped event)"),
    responses((status = 200, description = "What the sidecar should do", body = DeliveryReply)))]
pub async fn order_event(
    State(state): State<AppState>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<DeliveryReply>, ApiError> {
    let body = body.map_err(|_| ApiError::BodyTooLarge)?;
    let status = match parse_order_event(&body) {
        Ok(event) => handle(&state, &event).await,
        Err(problem) => {
            tracing::warn!(
                problem = problem.to_string().as_str(),
                "order event dropped"
            );
            DeliveryStatus::Drop
        }
    };
    Ok(Json(DeliveryReply { status }))
}

async fn handle(state: &AppState, event: &OrderEvent) -> DeliveryStatus {
    let span = tracing::Span::current();
    span.record("order_id", event.order_id.as_str());

    let stored = match state.store.get(&event.order_id).await {
        Ok(stored) => stored,
        // What the store holds is not JSON: no redelivery can change that.
        Err(error @ OutboxError::CorruptValue { .. }) => {
            return dropped(event, &crate::telemetry::error_chain(&error));
        }
        Err(error) => {
            let cause = crate::telemetry::error_chain(&error);
            tracing::warn!(
                order_id = %event.order_id,
                error = cause.as_str(),
                "order event to retry"
            );
            return DeliveryStatus::Retry;
        }
    };
    if let Err(problem) = check_against_store(event, stored.as_ref(), &state.store) {
        return dropped(event, &problem.to_string());
    }

    tracing::info!(
        order_id = %event.order_id,
        event_id = event.id.as_str(),
        topic = event.topic.as_deref().unwrap_or_default(),
        event_type = event.event_type.as_str(),
        source = event.source.as_str(),
        subject = event.subject.as_deref().unwrap_or_default(),
        datacontenttype = event.datacontenttype.as_deref().unwrap_or_default(),
        "order event received"
    );
    tracing::debug!(
        order_id = %event.order_id,
        event_id = event.id.as_str(),
        data = %event.data,
        "order event data"
    );
    DeliveryStatus::Success
}

/// Logs why an event is dropped, and drops it.
fn dropped(event: &OrderEvent, problem: &str) -> DeliveryStatus {
    tracing::warn!(
        order_id = %event.order_id,
        event_id = event.id.as_str(),
        problem,
        "order event dropped"
    );
    DeliveryStatus::Drop
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn delivered(data: Value, datacontenttype: &str) -> Vec<u8> {
        json!({
            "specversion": "1.0",
            "id": "outbox-1234",
            "source": "order-outbox",
            "type": "order.created",
            "subject": "order001",
            "datacontenttype": datacontenttype,
            "topic": "newOrderEvents",
            "pubsubname": "orderpubsub",
            "traceid": "",
            "data": data,
        })
        .to_string()
        .into_bytes()
    }

    #[test]
    fn an_outbox_event_yields_the_order_id_and_attributes() {
        let order = json!({"orderId": "order001", "item": "DaprBook", "quantity": 1});

        let event =
            parse_order_event(&delivered(order.clone(), "application/json")).expect("usable event");

        assert_eq!(event.order_id.as_str(), "order001");
        assert_eq!(event.id, "outbox-1234");
        assert_eq!(event.topic.as_deref(), Some("newOrderEvents"));
        assert_eq!(event.event_type, "order.created");
        assert_eq!(event.subject.as_deref(), Some("order001"));
        assert_eq!(event.data, order);
    }

    #[test]
    fn events_that_can_never_be_handled_are_recognised() {
        assert!(matches!(
            parse_order_event(b"not json"),
            Err(UnusableEvent::NotACloudEvent(_))
        ));
        let as_text = delivered(json!("{\"orderId\":\"o\"}"), "text/plain");
        assert_eq!(parse_order_event(&as_text), Err(UnusableEvent::DataNotJson));
        let bad_id = delivered(json!({"orderId": "a||b"}), "application/json");
        assert!(matches!(
            parse_order_event(&bad_id),
            Err(UnusableEvent::NoOrderId(_))
        ));
    }

    /// A log sink for one test: the text format, as `make run` shows it.
    #[derive(Clone, Default)]
    struct Captured(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

    impl std::io::Write for Captured {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0.lock().expect("log lock").extend_from_slice(bytes);
            Ok(bytes.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[tokio::test]
    async fn a_forged_event_cannot_write_log_lines_of_its_own() {
        let captured = Captured::default();
        let sink = captured.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_writer(move || sink.clone())
            .with_ansi(false)
            .finish();
        let _guard = tracing::subscriber::set_default(subscriber);
        let sidecar = crate::sidecar::Sidecar::connect_lazy("http://127.0.0.1:9", None)
            .expect("valid endpoint");
        let store = OrderStore::new(
            sidecar.clone(),
            "order-outbox".into(),
            crate::outbox::EventPayload::Order,
        );
        let state = AppState {
            sidecar,
            store,
            order_locks: Default::default(),
            draining: Default::default(),
            order_posts: Default::default(),
        };
        let forged = json!({
            "specversion": "9.9\nINFO order event received order_id=forged",
            "id": "x", "source": "s", "type": "t",
        });

        let reply = order_event(State(state), Ok(Bytes::from(forged.to_string())))
            .await
            .expect("a reply");

        assert_eq!(reply.0.status, DeliveryStatus::Drop);
        let log = String::from_utf8(captured.0.lock().expect("log lock").clone()).expect("utf-8");
        assert_eq!(
            log.lines().count(),
            1,
            "one line, the forged text escaped:\n{log}"
        );
        assert!(log.contains("order event dropped"), "{log}");
    }

    #[tokio::test]
    async fn only_what_the_stored_order_publishes_is_handled() {
        let sidecar = crate::sidecar::Sidecar::connect_lazy("http://127.0.0.1:9", None)
            .expect("valid endpoint");
        let store = OrderStore::new(
            sidecar,
            "order-outbox".into(),
            crate::outbox::EventPayload::Order,
        );
        let order = json!({"orderId": "order001", "item": "DaprBook", "quantity": 1});
        let event =
            parse_order_event(&delivered(order.clone(), "application/json")).expect("usable event");

        assert_eq!(check_against_store(&event, Some(&order), &store), Ok(()));
        assert_eq!(
            check_against_store(&event, None, &store),
            Err(Mismatch::NotStored)
        );

        let other = json!({"orderId": "order001", "item": "DaprBook", "quantity": 9});
        assert_eq!(
            check_against_store(&event, Some(&other), &store),
            Err(Mismatch::Data)
        );

        let mut forged = event.clone();
        forged.source = "evil".into();
        assert!(matches!(
            check_against_store(&forged, Some(&order), &store),
            Err(Mismatch::Source(_))
        ));
        let mut forged = event;
        forged.event_type = "order.deleted".into();
        assert!(matches!(
            check_against_store(&forged, Some(&order), &store),
            Err(Mismatch::Type(_))
        ));
    }

    #[test]
    fn replies_use_daprs_exact_status_words() {
        let reply = serde_json::to_value(DeliveryReply {
            status: DeliveryStatus::Retry,
        })
        .expect("serializes");
        assert_eq!(reply, json!({"status": "RETRY"}));
    }
}
