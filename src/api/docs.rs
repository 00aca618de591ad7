//! The OpenAPI document at `/openapi.json` and Swagger UI at `/docs`, served
//! from assets vendored into the binary (nothing is downloaded).

use axum::Router;
use utoipa::OpenApi;
use utoipa_swagger_ui::SwaggerUi;

use super::{error, events, health, orders, workflows};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "order-outbox",
        description = "Posts an order; a Dapr Workflow stores it and publishes its event \
                       atomically through the transactional outbox."
    ),
    paths(
        orders::process_order,
        orders::get_order,
        workflows::get_workflow,
        events::order_event,
        health::healthz,
        health::readyz,
    ),
    components(schemas(
        orders::OrderBody,
        orders::OrderAccepted,
        workflows::WorkflowStatus,
        workflows::FailureDetails,
        events::DeliveryReply,
        events::DeliveryStatus,
        error::ErrorBody,
    ))
)]
pub struct ApiDoc;

pub fn routes() -> Router {
    SwaggerUi::new("/docs")
        .url("/openapi.json", ApiDoc::openapi())
        .into()
}
