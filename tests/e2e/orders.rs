//! An order goes in; it is stored and its event reaches the subscriber.

use serde_json::{Value, json};

use crate::stack::{self, Stack, StackOptions, order, order_id};

#[tokio::test(flavor = "multi_thread")]
async fn a_posted_order_is_stored_and_its_event_reaches_the_subscriber() {
    let stack = stack::shared();
    let id = order_id("happy");
    let order = order(&id);

    let (status, accepted) = stack.post_order(&order).await;
    assert_eq!(status, 202, "{accepted}");
    assert_eq!(accepted["instanceId"], format!("order-{id}"));
    assert_eq!(accepted["statusUrl"], format!("/workflows/order-{id}"));
    assert_eq!(accepted["alreadyAccepted"], false);

    let workflow = stack.wait_for_workflow_end(&format!("order-{id}")).await;
    assert_eq!(workflow["runtimeStatus"], "COMPLETED", "{workflow}");
    assert_eq!(workflow["input"], order);
    assert_eq!(workflow["output"]["workflow_status"], "COMPLETED");
    assert_eq!(workflow["output"]["order_id"], id);
    assert_eq!(
        workflow["output"]["transaction_result"]["state_store"],
        "orderstatestore"
    );

    assert_eq!(stack.stored_in_redis(&id), Some(order.clone()));
    assert_eq!(
        stack.get_json(&format!("/orders/{id}")).await,
        (200, order.clone())
    );

    let events = stack.wait_for_events(&id, 1).await;
    let event = &events[0];
    assert_eq!(event["data"], order, "{event}");
    assert_eq!(event["datacontenttype"], "application/json");
    assert_eq!(event["event_type"], "order.created");
    assert_eq!(event["source"], "order-outbox");
    assert_eq!(event["subject"], id);
    assert_eq!(event["topic"], "newOrderEvents");
    assert!(
        event["event_id"]
            .as_str()
            .is_some_and(|e| e.starts_with("outbox-"))
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn fifty_orders_posted_concurrently_all_complete_each_with_its_event() {
    let stack = stack::shared();
    let ids: Vec<String> = (0..50).map(|i| order_id(&format!("burst{i:02}"))).collect();

    let posts = ids.iter().map(|id| {
        let body = order(id);
        async move { stack.post_order(&body).await }
    });
    let answers = futures::future::join_all(posts).await;
    for (status, body) in &answers {
        assert_eq!(*status, 202, "{body}");
    }

    for id in &ids {
        let workflow = stack.wait_for_workflow_end(&format!("order-{id}")).await;
        assert_eq!(workflow["runtimeStatus"], "COMPLETED", "{workflow}");
    }
    for id in &ids {
        let events = stack.wait_for_events(id, 1).await;
        assert_eq!(events[0]["data"], order(id));
        assert_eq!(stack.stored_in_redis(id), Some(order(id)));
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn with_shaping_on_the_event_carries_the_shaped_order_and_the_store_the_full_one() {
    let stack = Stack::start(StackOptions {
        env: vec![("OUTBOX_SHAPED_EVENTS", "true")],
        ..StackOptions::default()
    });
    let id = order_id("shaped");
    let order = json!({"orderId": id, "item": "DaprBook", "quantity": 2});

    let (status, body) = stack.post_order(&order).await;
    assert_eq!(status, 202, "{body}");

    let workflow = stack.wait_for_workflow_end(&format!("order-{id}")).await;
    assert_eq!(workflow["runtimeStatus"], "COMPLETED", "{workflow}");
    assert_eq!(
        workflow["output"]["transaction_result"]["shaped_event"],
        true
    );
    assert_eq!(stack.stored_in_redis(&id), Some(order));

    let events = stack.wait_for_events(&id, 1).await;
    let expected: Value = json!({"orderId": id, "status": "created", "summary": "2 x DaprBook"});
    assert_eq!(events[0]["data"], expected);
    assert_eq!(events[0]["datacontenttype"], "application/json");
    assert_eq!(events[0]["event_type"], "order.created");
    assert_eq!(events[0]["subject"], id);
}

#[tokio::test(flavor = "multi_thread")]
async fn docs_health_and_unknown_ids_answer_as_documented() {
    let stack = stack::shared();

    let (status, spec) = stack.get_json("/openapi.json").await;
    assert_eq!(status, 200);
    assert!(spec["paths"]["/process-order-with-outbox"]["post"].is_object());

    let docs = stack
        .http
        .get(stack.url("/docs/"))
        .send()
        .await
        .expect("sent");
    assert_eq!(docs.status().as_u16(), 200);
    assert!(
        docs.text().await.unwrap_or_default().contains("swagger"),
        "Swagger UI page"
    );

    assert_eq!(stack.get_json("/healthz").await.0, 200);
    let (status, ready) = stack.get_json("/readyz").await;
    assert_eq!(status, 200, "{ready}");
    assert!(
        ready["workflowWorkers"].as_i64().is_some_and(|n| n >= 1),
        "{ready}"
    );

    let (status, body) = stack.get_json("/workflows/order-never-posted").await;
    assert_eq!((status, body["code"].as_str()), (404, Some("not_found")));
    let (status, body) = stack.get_json("/orders/never-posted").await;
    assert_eq!((status, body["code"].as_str()), (404, Some("not_found")));
    let (status, body) = stack.get_json("/orders/a%7C%7Cb").await;
    assert_eq!((status, body["field"].as_str()), (400, Some("orderId")));
}

#[tokio::test(flavor = "multi_thread")]
async fn the_subscriber_drops_events_that_the_stored_order_did_not_publish() {
    let stack = stack::shared();
    let id = order_id("forged");
    assert_eq!(stack.post_order(&order(&id)).await.0, 202);
    stack.wait_for_events(&id, 1).await;

    let forge = |source: &str, ty: &str, data: Value| {
        json!({"specversion": "1.0", "id": format!("forged-{source}-{ty}"), "source": source,
               "type": ty, "datacontenttype": "application/json", "data": data})
    };
    let forgeries = [
        forge("evil", "order.created", order(&id)),
        forge("order-outbox", "order.deleted", order(&id)),
        forge(
            "order-outbox",
            "order.created",
            json!({"orderId": id, "item": "x", "quantity": 9}),
        ),
        forge(
            "order-outbox",
            "order.created",
            order(&order_id("forged-never-stored")),
        ),
    ];
    for forgery in forgeries {
        let reply: Value = stack
            .http
            .post(stack.url("/newOrderEvents"))
            .header("content-type", "application/cloudevents+json")
            .body(forgery.to_string())
            .send()
            .await
            .expect("sent")
            .json()
            .await
            .expect("json reply");
        assert_eq!(reply, json!({"status": "DROP"}), "{forgery}");
    }
    assert_eq!(
        stack.received_events(&id).len(),
        1,
        "only the real event was handled"
    );
}
