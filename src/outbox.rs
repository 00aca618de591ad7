//! The outbox writer: stores an order and, in the same transaction, has
//! the sidecar publish the event that announces it.
//!
//! The state store `orderstatestore` has `outboxPublishPubsub` and
//! `outboxPublishTopic` set, so Dapr turns every upsert of an
//! ExecuteStateTransaction into the stored value plus an outbox marker, and
//! its relay publishes the event once the marker is visible. One call, both
//! or neither.
//!
//! The transaction is built by a pure function ([`order_transaction`]) and
//! sent by a thin async one ([`OrderStore::save_and_publish`]).

use std::collections::HashMap;

use dapr::dapr::proto::common::v1::StateItem;
use dapr::dapr::proto::runtime::v1::{
    ExecuteStateTransactionRequest, GetStateRequest, TransactionalStateOperation,
};
use serde_json::Value;

use crate::domain::{Order, OrderCreated, OrderId};
use crate::settings::{ORDER_CREATED_EVENT_TYPE, ORDER_STORE};
use crate::sidecar::Sidecar;

/// What the event announcing an order carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventPayload {
    /// The stored order itself.
    Order,
    /// A shaped [`OrderCreated`] event, published through a projection
    /// operation; the stored value stays the full order.
    Shaped,
}

#[derive(Debug, thiserror::Error)]
pub enum OutboxError {
    #[error("the sidecar refused or failed the state call")]
    Sidecar(#[from] tonic::Status),
    #[error("another order is stored under key {key:?}")]
    OtherOrderStored { key: String },
    #[error("the stored value under key {key:?} is not an order")]
    CorruptValue {
        key: String,
        #[source]
        source: serde_json::Error,
    },
}

/// Builds the one transaction that stores `order` and publishes its event.
///
/// Two operations on the order's key:
/// - the upsert, whose value (the order as JSON) is what is stored; its
///   metadata carries the CloudEvent attributes `type`, `source` and
///   `subject`, which the sidecar copies onto the event;
/// - a projection (`outbox.projection: "true"`), which the sidecar takes out
///   of the write and publishes instead of the stored value: the order
///   itself, or the shaped [`OrderCreated`] with [`EventPayload::Shaped`].
///
/// Why a projection even when the event is the order: the event needs
/// `contentType: application/json` so the subscriber gets `data` as a JSON
/// object, not a string. On an upsert, that key makes the Redis state store
/// (components-contrib 1.18) write with `JSON.SET`, which fails on a Redis
/// without the RedisJSON module ("Unknown Redis command called from
/// script"), and its no-rollback transaction still commits the outbox
/// marker, so the event of an order that was not stored goes out. On the
/// projection, the key reaches the event and never the store. This holds
/// until the store checks for RedisJSON per operation, as it already does
/// per transaction.
///
/// Exactly one projection, after the upsert: the sidecar removes
/// projections from the list while walking it, and two in one transaction
/// hit an upstream bug.
pub fn order_transaction(
    order: &Order,
    payload: EventPayload,
    source: &str,
) -> ExecuteStateTransactionRequest {
    let key = order.order_id.as_str();
    let event_attributes = HashMap::from([
        ("type".to_owned(), ORDER_CREATED_EVENT_TYPE.to_owned()),
        ("source".to_owned(), source.to_owned()),
        ("subject".to_owned(), key.to_owned()),
    ]);
    let projection = HashMap::from([
        ("outbox.projection".to_owned(), "true".to_owned()),
        ("contentType".to_owned(), "application/json".to_owned()),
    ]);
    let published = published_value(order, payload);

    ExecuteStateTransactionRequest {
        store_name: ORDER_STORE.to_owned(),
        operations: vec![
            upsert(key, &order.to_json(), event_attributes),
            upsert(key, &published, projection),
        ],
        metadata: HashMap::new(),
    }
}

/// What the event announcing `order` carries as `data`.
pub fn published_value(order: &Order, payload: EventPayload) -> Value {
    match payload {
        EventPayload::Order => order.to_json(),
        EventPayload::Shaped => OrderCreated::from_order(order).to_json(),
    }
}

fn upsert(
    key: &str,
    value: &Value,
    metadata: HashMap<String, String>,
) -> TransactionalStateOperation {
    TransactionalStateOperation {
        operation_type: "upsert".to_owned(),
        request: Some(StateItem {
            key: key.to_owned(),
            value: value.to_string().into_bytes(),
            etag: None,
            metadata,
            options: None,
        }),
    }
}

/// What [`OrderStore::save_and_publish`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Saved {
    /// The transaction committed: the order is stored, its event queued.
    Stored,
    /// The same order was stored before, with its event; nothing was done.
    AlreadyStored,
}

/// Orders in the `orderstatestore`, read and written through the sidecar.
#[derive(Clone)]
pub struct OrderStore {
    sidecar: Sidecar,
    app_id: String,
    payload: EventPayload,
}

impl OrderStore {
    pub fn new(sidecar: Sidecar, app_id: String, payload: EventPayload) -> Self {
        Self {
            sidecar,
            app_id,
            payload,
        }
    }

    /// Stores `order` and publishes its event, atomically, unless it is
    /// stored already.
    ///
    /// It reads first, for two reasons. A retried activity whose earlier
    /// transaction did commit (its answer was lost) finds the order and
    /// publishes no second event: the commit queued the event with it. And
    /// while the store is unreachable, no transaction is attempted: Dapr
    /// 1.18 publishes its internal outbox message before it writes, and the
    /// relay then waits for a marker that never comes, holding one of the
    /// pub/sub's delivery workers for good (see README, Known limits); a
    /// failed read leaves nothing behind.
    pub async fn save_and_publish(&self, order: &Order) -> Result<Saved, OutboxError> {
        match self.get(&order.order_id).await? {
            Some(stored) if stored == order.to_json() => return Ok(Saved::AlreadyStored),
            Some(_) => {
                return Err(OutboxError::OtherOrderStored {
                    key: order.order_id.to_string(),
                });
            }
            None => {}
        }

        let request = order_transaction(order, self.payload, &self.app_id);
        self.sidecar
            .grpc()
            .execute_state_transaction(request)
            .await?;
        Ok(Saved::Stored)
    }

    pub fn app_id(&self) -> &str {
        &self.app_id
    }

    pub fn payload(&self) -> EventPayload {
        self.payload
    }

    /// The order stored under `order_id`, if any.
    pub async fn get(&self, order_id: &OrderId) -> Result<Option<Value>, OutboxError> {
        let request = GetStateRequest {
            store_name: ORDER_STORE.to_owned(),
            key: order_id.as_str().to_owned(),
            consistency: 0,
            metadata: HashMap::new(),
        };
        let data = self
            .sidecar
            .grpc()
            .get_state(request)
            .await?
            .into_inner()
            .data;
        if data.is_empty() {
            return Ok(None);
        }
        serde_json::from_slice(&data)
            .map(Some)
            .map_err(|source| OutboxError::CorruptValue {
                key: order_id.to_string(),
                source,
            })
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn order() -> Order {
        Order::parse(&json!({"orderId": "order001", "item": "DaprBook", "quantity": 1}))
            .expect("valid order")
    }

    const SOURCE: &str = "order-outbox";

    fn item(op: &TransactionalStateOperation) -> &StateItem {
        op.request.as_ref().expect("operation has a state item")
    }

    #[test]
    fn the_transaction_upserts_the_order_as_json_under_its_id() {
        let request = order_transaction(&order(), EventPayload::Order, SOURCE);

        assert_eq!(request.store_name, "orderstatestore");
        let stored = item(&request.operations[0]);
        assert_eq!(request.operations[0].operation_type, "upsert");
        assert_eq!(stored.key, "order001");
        let value: Value = serde_json::from_slice(&stored.value).expect("json value");
        assert_eq!(
            value,
            json!({"orderId": "order001", "item": "DaprBook", "quantity": 1})
        );
        assert!(
            stored.etag.is_none(),
            "etag checks do not roll back in Redis transactions"
        );
    }

    #[test]
    fn the_stored_upsert_carries_the_cloudevent_attributes_but_no_content_type() {
        let request = order_transaction(&order(), EventPayload::Order, SOURCE);

        let metadata = &item(&request.operations[0]).metadata;
        assert_eq!(metadata["type"], "order.created");
        assert_eq!(metadata["source"], "order-outbox");
        assert_eq!(metadata["subject"], "order001");
        assert!(
            !metadata.contains_key("contentType"),
            "would make Redis use JSON.SET"
        );
        assert!(!metadata.contains_key("outbox.projection"));
    }

    #[test]
    fn one_json_projection_follows_the_upsert_on_the_same_key() {
        for payload in [EventPayload::Order, EventPayload::Shaped] {
            let request = order_transaction(&order(), payload, SOURCE);

            assert_eq!(request.operations.len(), 2);
            let (stored, projection) = (item(&request.operations[0]), item(&request.operations[1]));
            assert_eq!(projection.key, stored.key);
            assert_eq!(projection.metadata["outbox.projection"], "true");
            assert_eq!(projection.metadata["contentType"], "application/json");
        }
    }

    #[test]
    fn the_published_value_is_the_order_or_the_shaped_event() {
        let published = |payload| {
            let request = order_transaction(&order(), payload, SOURCE);
            serde_json::from_slice::<Value>(&item(&request.operations[1]).value).expect("json")
        };

        assert_eq!(published(EventPayload::Order), order().to_json());
        assert_eq!(
            published(EventPayload::Shaped),
            json!({"orderId": "order001", "status": "created", "summary": "1 x DaprBook"})
        );
    }
}
