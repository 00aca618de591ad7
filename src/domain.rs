//! The order, parsed once at the edge and trusted after.
//!
//! Every way an order enters the service (the HTTP API, the workflow input,
//! an event delivered to the subscriber) goes through [`Order::parse`] or
//! [`OrderId::parse`], so inner code never re-checks a field.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// Longest order id we accept. It becomes part of a Redis key, a workflow
/// instance id and a URL path, so it stays short and plain.
pub const MAX_ORDER_ID_LEN: usize = 64;

/// Longest item name we accept, in characters.
pub const MAX_ITEM_LEN: usize = 200;

/// Largest quantity of one order. Far above any real order, far below the
/// integer limits of every JSON consumer (JavaScript's included).
pub const MAX_QUANTITY: u64 = 1_000_000;

/// The fields an order has on the wire. Anything else is rejected, never
/// dropped: the service stores exactly what it was sent.
pub const ORDER_FIELDS: [&str; 3] = ["orderId", "item", "quantity"];

/// A field that failed to parse, and why. Becomes a 4xx naming the field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {problem}")]
pub struct FieldError {
    /// The JSON field, as the client spelled it (`orderId`, `quantity`), or
    /// `body` when the body as a whole is wrong.
    pub field: String,
    pub problem: String,
}

impl FieldError {
    fn new(field: &str, problem: impl Into<String>) -> Self {
        Self {
            field: field.to_owned(),
            problem: problem.into(),
        }
    }
}

/// An order id: 1 to 64 ASCII letters, digits, `-`, `_` or `.`, starting
/// with a letter or digit (so never `.` or `..`, which URLs resolve away).
///
/// The Redis state store keys state as `<app id>||<key>`, so `||` in a key
/// would be ambiguous; the narrow alphabet rules that out and keeps the id
/// safe in URLs, log lines and workflow instance ids without escaping.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct OrderId(String);

impl OrderId {
    pub fn parse(raw: &str) -> Result<Self, FieldError> {
        let problem = if raw.is_empty() {
            "must not be empty".to_owned()
        } else if raw.len() > MAX_ORDER_ID_LEN {
            format!("must be at most {MAX_ORDER_ID_LEN} characters")
        } else if raw.contains("||") {
            "must not contain `||`, the state store's key separator".to_owned()
        } else if !raw
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
        {
            "may contain only ASCII letters, digits, `-`, `_` and `.`".to_owned()
        } else if !raw.as_bytes()[0].is_ascii_alphanumeric() {
            "must start with an ASCII letter or digit".to_owned()
        } else {
            return Ok(Self(raw.to_owned()));
        };
        Err(FieldError::new("orderId", problem))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for OrderId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for OrderId {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(deserializer)?;
        Self::parse(&raw).map_err(serde::de::Error::custom)
    }
}

/// An order as the client sent it, and as it is stored: the stored value is
/// this struct serialized, field for field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Order {
    pub order_id: OrderId,
    pub item: String,
    pub quantity: u64,
}

impl Order {
    /// Parses an order from a JSON value, naming the first field that is
    /// wrong: unknown fields first, then the fields in wire order.
    pub fn parse(value: &Value) -> Result<Self, FieldError> {
        let Value::Object(fields) = value else {
            return Err(FieldError::new("body", "must be a JSON object"));
        };

        // Unknown fields first: a misspelt `quantiy` is better named as
        // itself than reported as a missing `quantity`.
        if let Some(unknown) = fields.keys().find(|k| !ORDER_FIELDS.contains(&k.as_str())) {
            return Err(FieldError::new(
                unknown,
                "is not a field of an order (allowed: orderId, item, quantity)",
            ));
        }

        let order_id = OrderId::parse(required_str(fields, "orderId")?)?;
        let item = parse_item(required_str(fields, "item")?)?;
        let quantity = parse_quantity(fields.get("quantity"))?;

        Ok(Self {
            order_id,
            item,
            quantity,
        })
    }

    pub fn to_json(&self) -> Value {
        serde_json::json!({
            "orderId": self.order_id,
            "item": self.item,
            "quantity": self.quantity,
        })
    }
}

impl<'de> Deserialize<'de> for Order {
    /// Workflow inputs and stored values come back through the same checks
    /// as the HTTP body, so a hand-started workflow cannot skip them.
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = Value::deserialize(deserializer)?;
        Self::parse(&value).map_err(serde::de::Error::custom)
    }
}

fn required_str<'a>(fields: &'a Map<String, Value>, name: &str) -> Result<&'a str, FieldError> {
    match fields.get(name) {
        None | Some(Value::Null) => Err(FieldError::new(name, "is required")),
        Some(Value::String(s)) => Ok(s),
        Some(_) => Err(FieldError::new(name, "must be a string")),
    }
}

fn parse_item(raw: &str) -> Result<String, FieldError> {
    if !raw.chars().any(is_visible) {
        return Err(FieldError::new(
            "item",
            "must not be empty (spaces and invisible characters alone do not count)",
        ));
    }
    if raw.chars().count() > MAX_ITEM_LEN {
        return Err(FieldError::new(
            "item",
            format!("must be at most {MAX_ITEM_LEN} characters"),
        ));
    }
    if let Some(c) = raw.chars().find(|&c| is_forbidden(c)) {
        return Err(FieldError::new(
            "item",
            format!(
                "must not contain {:?}: no control, line-breaking, bidirectional, \
                 private-use or unassigned characters",
                c
            ),
        ));
    }
    Ok(raw.to_owned())
}

/// What an item name may never hold, by Unicode general category: controls
/// and line or paragraph separators (they break log lines and layouts),
/// surrogates, private-use and unassigned code points (noncharacters
/// included: nobody can say how they display), and the bidirectional
/// controls, which reorder the text around them so a name would show other
/// than it reads. Other format characters (joiners in emoji and some
/// scripts, variation selectors) are allowed.
fn is_forbidden(c: char) -> bool {
    use unicode_properties::{GeneralCategory as Gc, UnicodeGeneralCategory};

    matches!(
        c.general_category(),
        Gc::Control
            | Gc::LineSeparator
            | Gc::ParagraphSeparator
            | Gc::Surrogate
            | Gc::PrivateUse
            | Gc::Unassigned
    ) || matches!(
        c,
        '\u{061C}' | '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}'
    )
}

/// A character that shows as something: a letter, number, punctuation or
/// symbol, not a space, a mark on its own or a format character, and not
/// one of the letters and symbols that render blank (the Hangul fillers,
/// which Unicode lists as default-ignorable, and the blank braille cell).
fn is_visible(c: char) -> bool {
    use unicode_properties::{GeneralCategoryGroup as Group, UnicodeGeneralCategory};

    let shows = matches!(
        c.general_category_group(),
        Group::Letter | Group::Number | Group::Punctuation | Group::Symbol
    );
    shows
        && !matches!(
            c,
            '\u{115F}' | '\u{1160}' | '\u{3164}' | '\u{FFA0}' | '\u{2800}'
        )
}

fn parse_quantity(value: Option<&Value>) -> Result<u64, FieldError> {
    let problem = format!("must be a positive integer no larger than {MAX_QUANTITY}");
    match value {
        None | Some(Value::Null) => Err(FieldError::new("quantity", "is required")),
        // `as_u64` is None for negatives and for floats such as 1.5 or 1.0,
        // so only a JSON integer passes.
        Some(Value::Number(n)) => match n.as_u64() {
            Some(q) if (1..=MAX_QUANTITY).contains(&q) => Ok(q),
            _ => Err(FieldError::new("quantity", problem)),
        },
        Some(_) => Err(FieldError::new("quantity", problem)),
    }
}

/// What the shaped ("projected") event carries when message shaping is on:
/// what a notification about a new order needs, not the stored order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OrderCreated {
    pub order_id: OrderId,
    pub status: String,
    pub summary: String,
}

impl OrderCreated {
    pub fn from_order(order: &Order) -> Self {
        Self {
            order_id: order.order_id.clone(),
            status: "created".to_owned(),
            summary: format!("{} x {}", order.quantity, order.item),
        }
    }

    pub fn to_json(&self) -> Value {
        serde_json::json!({
            "orderId": self.order_id,
            "status": self.status,
            "summary": self.summary,
        })
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn field_of(value: Value) -> String {
        Order::parse(&value).expect_err("should be rejected").field
    }

    #[test]
    fn a_well_formed_order_parses_and_serializes_back_to_the_same_json() {
        let body = json!({"orderId": "order001", "item": "DaprBook", "quantity": 1});

        let order = Order::parse(&body).expect("valid order");

        assert_eq!(order.order_id.as_str(), "order001");
        assert_eq!(order.to_json(), body);
        assert_eq!(serde_json::to_value(&order).expect("serializes"), body);
    }

    #[test]
    fn order_ids_outside_the_safe_alphabet_are_rejected() {
        for bad in [
            "",
            "a||b",
            "a|b",
            "has space",
            "ünïcode",
            "a/b",
            &"x".repeat(65),
        ] {
            assert!(OrderId::parse(bad).is_err(), "{bad:?} should be rejected");
        }
        for good in ["order001", "A-1_b.2", &"x".repeat(64)] {
            assert!(OrderId::parse(good).is_ok(), "{good:?} should be accepted");
        }
    }

    #[test]
    fn the_separator_gets_its_own_message() {
        let err = OrderId::parse("a||b").expect_err("rejected");
        assert!(err.problem.contains("||"), "{err}");
    }

    #[test]
    fn each_bad_field_is_named() {
        assert_eq!(field_of(json!([1, 2])), "body");
        assert_eq!(field_of(json!({"item": "x", "quantity": 1})), "orderId");
        assert_eq!(
            field_of(json!({"orderId": 7, "item": "x", "quantity": 1})),
            "orderId"
        );
        assert_eq!(field_of(json!({"orderId": "a", "quantity": 1})), "item");
        assert_eq!(
            field_of(json!({"orderId": "a", "item": "  ", "quantity": 1})),
            "item"
        );
        for refused in [
            // nothing visible
            "\u{200b}",
            "\u{feff}",
            " \u{00a0}\u{2060} ",
            "\u{3164}",
            "\u{2800}",
            "\u{0300}",
            "\u{fe0f}",
            "\u{e0001}",
            // a forbidden character beside visible ones
            "\u{202e}koob",
            "a\u{2028}b",
            "a\u{e000}",
            "a\u{ffff}",
            "a\u{2065}",
        ] {
            assert_eq!(
                field_of(json!({"orderId": "a", "item": refused, "quantity": 1})),
                "item"
            );
        }
        for fine in [
            "DaprBook",
            "Ärger über Öl",
            "書籍",
            "👨\u{200d}👩\u{200d}👧",
            "C++ (2nd ed.)",
        ] {
            let order = Order::parse(&json!({"orderId": "a", "item": fine, "quantity": 1}));
            assert!(order.is_ok(), "{fine:?}: {order:?}");
        }
        assert_eq!(field_of(json!({"orderId": "a", "item": "x"})), "quantity");
        assert_eq!(
            field_of(json!({"orderId": "a", "item": "x", "quantity": 1, "price": 3})),
            "price"
        );
        assert_eq!(
            field_of(json!({"orderId": "a", "item": "x", "quantiy": 1})),
            "quantiy"
        );
    }

    #[test]
    fn only_positive_integers_are_quantities() {
        for bad in [
            json!(0),
            json!(-1),
            json!(1.5),
            json!(1.0),
            json!("1"),
            json!(true),
        ] {
            let body = json!({"orderId": "a", "item": "x", "quantity": bad});
            assert_eq!(field_of(body.clone()), "quantity", "{body}");
        }
        let too_many = json!({"orderId": "a", "item": "x", "quantity": MAX_QUANTITY + 1});
        assert_eq!(field_of(too_many), "quantity");
    }

    #[test]
    fn deserializing_applies_the_same_checks() {
        let bad: Result<Order, _> =
            serde_json::from_str(r#"{"orderId":"a||b","item":"x","quantity":1}"#);
        assert!(bad.is_err());
    }

    #[test]
    fn the_shaped_event_summarises_the_order() {
        let order =
            Order::parse(&json!({"orderId": "o1", "item": "Book", "quantity": 2})).expect("valid");

        let shaped = OrderCreated::from_order(&order).to_json();

        assert_eq!(
            shaped,
            json!({"orderId": "o1", "status": "created", "summary": "2 x Book"})
        );
    }
}
