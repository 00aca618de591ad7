//! Invalid input is a 4xx naming the field and the problem, and starts
//! nothing: no workflow, no stored order, no event.

use serde_json::{Value, json};

use crate::stack::{self, order, order_id};

/// Sends `body` with `content_type`, returns status and JSON body.
async fn post_raw(content_type: &str, body: &str) -> (u16, Value) {
    let stack = stack::shared();
    let response = stack
        .http
        .post(stack.url("/process-order-with-outbox"))
        .header("content-type", content_type)
        .body(body.to_owned())
        .send()
        .await
        .expect("request sent");
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

#[tokio::test(flavor = "multi_thread")]
async fn each_invalid_order_is_refused_with_its_field_and_leaves_no_trace() {
    let stack = stack::shared();
    let id = |case: &str| order_id(&format!("bad-{case}"));
    let good = |case: &str| order(&id(case));
    let with = |case: &str, field: &str, value: Value| {
        let mut body = good(case);
        body[field] = value;
        body
    };
    let without = |case: &str, field: &str| {
        let mut body = good(case);
        body.as_object_mut().expect("object").remove(field);
        body
    };

    // (order id the case would have used, content type, body, status, field)
    let cases: Vec<(Option<String>, &str, String, u16, &str)> = vec![
        (
            Some(id("json")),
            "application/json",
            "{\"orderId\": ".to_owned(),
            400,
            "body",
        ),
        (None, "application/json", "[1, 2]".to_owned(), 422, "body"),
        (
            Some(id("type")),
            "text/plain",
            good("type").to_string(),
            415,
            "content-type",
        ),
        (
            None,
            "application/json",
            without("x", "orderId").to_string(),
            422,
            "orderId",
        ),
        (
            None,
            "application/json",
            with("x", "orderId", json!("")).to_string(),
            422,
            "orderId",
        ),
        (
            None,
            "application/json",
            with("x", "orderId", json!("a||b")).to_string(),
            422,
            "orderId",
        ),
        (
            None,
            "application/json",
            with("x", "orderId", json!(12)).to_string(),
            422,
            "orderId",
        ),
        (
            Some(id("noitem")),
            "application/json",
            without("noitem", "item").to_string(),
            422,
            "item",
        ),
        (
            Some(id("item")),
            "application/json",
            with("item", "item", json!(" ")).to_string(),
            422,
            "item",
        ),
        (
            Some(id("q0")),
            "application/json",
            with("q0", "quantity", json!(0)).to_string(),
            422,
            "quantity",
        ),
        (
            Some(id("qneg")),
            "application/json",
            with("qneg", "quantity", json!(-2)).to_string(),
            422,
            "quantity",
        ),
        (
            Some(id("qfrac")),
            "application/json",
            with("qfrac", "quantity", json!(1.5)).to_string(),
            422,
            "quantity",
        ),
        (
            Some(id("qstr")),
            "application/json",
            with("qstr", "quantity", json!("1")).to_string(),
            422,
            "quantity",
        ),
        (
            Some(id("noq")),
            "application/json",
            without("noq", "quantity").to_string(),
            422,
            "quantity",
        ),
        (
            Some(id("extra")),
            "application/json",
            with("extra", "price", json!(9)).to_string(),
            422,
            "price",
        ),
    ];

    for (_, content_type, body, status, field) in &cases {
        let (got, error) = post_raw(content_type, body).await;
        assert_eq!(got, *status, "{body} -> {error}");
        assert_eq!(error["field"], *field, "{body} -> {error}");
        assert!(
            error["message"].as_str().is_some_and(|m| !m.is_empty()),
            "{error}"
        );
        assert_eq!(error["retryable"], false);
    }

    // A valid order after them: once its event is in, the bad ones had
    // every chance to leave one.
    let sentinel = order_id("bad-sentinel");
    assert_eq!(stack.post_order(&order(&sentinel)).await.0, 202);
    stack.wait_for_events(&sentinel, 1).await;

    for (order_id, ..) in cases.iter().filter(|c| c.0.is_some()) {
        let order_id = order_id.as_deref().unwrap_or_default();
        let (status, _) = stack
            .get_json(&format!("/workflows/order-{order_id}"))
            .await;
        assert_eq!(status, 404, "no workflow for {order_id}");
        assert_eq!(
            stack.stored_in_redis(order_id),
            None,
            "nothing stored for {order_id}"
        );
        assert_eq!(stack.deliveries(order_id), 0, "no event for {order_id}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn an_oversized_body_is_refused() {
    let body = json!({"orderId": "big", "item": "x".repeat(100_000), "quantity": 1});
    let (status, error) = post_raw("application/json", &body.to_string()).await;
    assert_eq!(status, 413, "{error}");
    assert_eq!(error["field"], "body");
}
