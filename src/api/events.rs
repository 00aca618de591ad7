//! The subscriber: `POST /newOrderEvents`, where the sidecar delivers the
//! events the outbox published to the `newOrderEvents` topic.
//!
//! Reply contract (Dapr pub/sub): HTTP 200 with `{"status": ...}`:
//! `SUCCESS` (handled), `RETRY` (a transient failure; the resiliency
//! policy redelivers, then the dead-letter topic takes it), `DROP` (it can
//! never be handled; logged as a warning and not redelivered).
//!
//! Before acting, the subscriber checks that the order is stored: an event
//! for an order that is not in the store is dropped, never handled.

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use cloudevents::event::{AttributesReader, Data, ExtensionValue};
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

use super::AppState;
use crate::domain::OrderId;

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
pub async fn order_event(State(state): State<AppState>, body: Bytes) -> Json<DeliveryReply> {
    let status = match parse_order_event(&body) {
        Ok(event) => handle(&state, &event).await,
        Err(problem) => {
            tracing::warn!(%problem, "order event dropped");
            DeliveryStatus::Drop
        }
    };
    Json(DeliveryReply { status })
}

async fn handle(state: &AppState, event: &OrderEvent) -> DeliveryStatus {
    let span = tracing::Span::current();
    span.record("order_id", event.order_id.as_str());

    match state.store.get(&event.order_id).await {
        Ok(Some(_)) => {}
        Ok(None) => {
            tracing::warn!(
                order_id = %event.order_id,
                event_id = %event.id,
                "order event dropped: the order is not stored"
            );
            return DeliveryStatus::Drop;
        }
        Err(error) => {
            let cause = crate::telemetry::error_chain(&error);
            tracing::warn!(order_id = %event.order_id, error = %cause, "order event to retry");
            return DeliveryStatus::Retry;
        }
    }

    tracing::info!(
        order_id = %event.order_id,
        event_id = %event.id,
        topic = event.topic.as_deref().unwrap_or_default(),
        event_type = %event.event_type,
        source = %event.source,
        subject = event.subject.as_deref().unwrap_or_default(),
        datacontenttype = event.datacontenttype.as_deref().unwrap_or_default(),
        "order event received"
    );
    tracing::debug!(
        order_id = %event.order_id,
        event_id = %event.id,
        data = %event.data,
        "order event data"
    );
    DeliveryStatus::Success
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

    #[test]
    fn replies_use_daprs_exact_status_words() {
        let reply = serde_json::to_value(DeliveryReply {
            status: DeliveryStatus::Retry,
        })
        .expect("serializes");
        assert_eq!(reply, json!({"status": "RETRY"}));
    }
}
