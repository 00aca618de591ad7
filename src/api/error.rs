//! One error type for the HTTP boundary, turned into a status and a JSON
//! body in one place. Every 4xx names the field and the problem; a 5xx never
//! carries internal text. Every body says whether retrying is safe.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

use crate::domain::FieldError;

/// The body of every error response.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ErrorBody {
    /// Stable machine-readable code, e.g. `invalid_field`.
    pub code: &'static str,
    /// The request field at fault (`orderId`, `quantity`, `body`,
    /// `content-type`), when one is.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// What is wrong, for a human.
    pub message: String,
    /// Whether sending the same request again may succeed.
    pub retryable: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// 400: the body is not JSON.
    #[error("malformed JSON body: {0}")]
    MalformedJson(String),
    /// 413: the body is over the limit.
    #[error("body too large")]
    BodyTooLarge,
    /// 415: the body is not declared as `application/json`.
    #[error("unsupported content type")]
    UnsupportedMediaType,
    /// 415: the body is compressed or otherwise encoded.
    #[error("unsupported content encoding")]
    UnsupportedEncoding,
    /// 422: the body is JSON, but a field is wrong.
    #[error("invalid field {0}")]
    InvalidField(FieldError),
    /// 400: a path parameter is wrong.
    #[error("invalid path parameter {0}")]
    InvalidPath(FieldError),
    /// 404: nothing of that kind under that id.
    #[error("{what} not found")]
    NotFound { what: &'static str },
    /// 404 for unknown routes, 405 for a known route with another method.
    #[error("no such route")]
    NoRoute { method_not_allowed: bool },
    /// 409: the order id is taken by an order with other content.
    #[error("order {order_id} was already accepted with different content")]
    Conflict { order_id: String },
    /// 503: the sidecar did not answer or refused; the request had no
    /// effect we cannot repeat, so retrying is safe.
    #[error("the Dapr sidecar is unavailable")]
    Unavailable(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// 503: the service is shutting down and takes no new orders; nothing
    /// was done, so posting again (to another replica, or once the service
    /// is back) is safe.
    #[error("the service is shutting down")]
    ShuttingDown,
    /// 503: the request did not finish within the deadline; whether it had
    /// an effect is unknown, and every route is safe to repeat.
    #[error("the request did not finish in time")]
    Timeout,
    /// 500: a bug or a corrupt stored value.
    #[error("internal error")]
    Internal(#[source] Box<dyn std::error::Error + Send + Sync>),
}

impl ApiError {
    fn status(&self) -> StatusCode {
        match self {
            Self::MalformedJson(_) | Self::InvalidPath(_) => StatusCode::BAD_REQUEST,
            Self::BodyTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Self::UnsupportedMediaType | Self::UnsupportedEncoding => {
                StatusCode::UNSUPPORTED_MEDIA_TYPE
            }
            Self::InvalidField(_) => StatusCode::UNPROCESSABLE_ENTITY,
            Self::NotFound { .. } => StatusCode::NOT_FOUND,
            Self::NoRoute {
                method_not_allowed: true,
            } => StatusCode::METHOD_NOT_ALLOWED,
            Self::NoRoute { .. } => StatusCode::NOT_FOUND,
            Self::Conflict { .. } => StatusCode::CONFLICT,
            Self::Unavailable(_) | Self::ShuttingDown | Self::Timeout => {
                StatusCode::SERVICE_UNAVAILABLE
            }
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn body(&self) -> ErrorBody {
        let (code, field, message, retryable) = match self {
            Self::MalformedJson(detail) => (
                "malformed_json",
                Some("body".to_owned()),
                format!("the body is not valid JSON: {detail}"),
                false,
            ),
            Self::BodyTooLarge => (
                "body_too_large",
                Some("body".to_owned()),
                format!("the body is larger than {} bytes", super::MAX_BODY_BYTES),
                false,
            ),
            Self::UnsupportedEncoding => (
                "unsupported_content_encoding",
                Some("content-encoding".to_owned()),
                "send the order uncompressed (no Content-Encoding, or `identity`)".to_owned(),
                false,
            ),
            Self::UnsupportedMediaType => (
                "unsupported_media_type",
                Some("content-type".to_owned()),
                "send the order as `Content-Type: application/json` (UTF-8)".to_owned(),
                false,
            ),
            Self::InvalidField(e) | Self::InvalidPath(e) => (
                "invalid_field",
                Some(e.field.clone()),
                format!("{} {}", e.field, e.problem),
                false,
            ),
            Self::NotFound { what } => ("not_found", None, format!("{what} not found"), false),
            Self::NoRoute { method_not_allowed } => (
                if *method_not_allowed {
                    "method_not_allowed"
                } else {
                    "not_found"
                },
                None,
                if *method_not_allowed {
                    "this route does not take this method; see /docs".to_owned()
                } else {
                    "no such route; see /docs".to_owned()
                },
                false,
            ),
            Self::Conflict { order_id } => (
                "order_conflict",
                Some("orderId".to_owned()),
                format!("order {order_id} was already accepted with different content"),
                false,
            ),
            Self::Unavailable(_) => (
                "sidecar_unavailable",
                None,
                "the Dapr sidecar is unavailable; the request can be retried".to_owned(),
                true,
            ),
            Self::ShuttingDown => (
                "shutting_down",
                None,
                "the service is shutting down; post the order again".to_owned(),
                true,
            ),
            Self::Timeout => (
                "timeout",
                None,
                format!(
                    "the request did not finish within {} s; it can be retried",
                    super::REQUEST_DEADLINE.as_secs()
                ),
                true,
            ),
            Self::Internal(_) => ("internal", None, "internal error".to_owned(), false),
        };
        ErrorBody {
            code,
            field,
            message,
            retryable,
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        // Logged once, here, inside the request's span. A string field, not
        // `%`: the message can hold what the client sent (an unknown field's
        // name), which the text format then quotes and escapes.
        match self {
            Self::Internal(_) | Self::Unavailable(_) => {
                let cause = crate::telemetry::error_chain(&self);
                tracing::error!(error = cause.as_str(), "request failed");
            }
            // A hung sidecar or a client that stalls its upload: which one
            // is not known here, and a client must not fill the error log.
            Self::Timeout => tracing::warn!("request timed out"),
            _ => tracing::info!(error = self.to_string().as_str(), "request rejected"),
        }
        (status, Json(self.body())).into_response()
    }
}

/// Sidecar call failures: unavailable, retry is safe.
impl From<tonic::Status> for ApiError {
    fn from(status: tonic::Status) -> Self {
        Self::Unavailable(Box::new(status))
    }
}

impl From<dapr_durabletask::api::DurableTaskError> for ApiError {
    fn from(error: dapr_durabletask::api::DurableTaskError) -> Self {
        use dapr_durabletask::api::DurableTaskError as E;
        match error {
            E::GrpcError(_) | E::ConnectionFailed(_) | E::Timeout => {
                Self::Unavailable(Box::new(error))
            }
            _ => Self::Internal(Box::new(error)),
        }
    }
}

impl From<crate::outbox::OutboxError> for ApiError {
    fn from(error: crate::outbox::OutboxError) -> Self {
        match error {
            crate::outbox::OutboxError::Sidecar(status) => status.into(),
            other => Self::Internal(Box::new(other)),
        }
    }
}
