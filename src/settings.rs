//! Typed settings, read from the environment once at start-up.
//!
//! The README's settings table lists the same variables. The Dapr resource
//! names below are the names in `components/`; an offline check in the test
//! suite keeps the two in step.

use std::net::IpAddr;
use std::time::Duration;

/// The state store that holds orders and has the outbox turned on.
pub const ORDER_STORE: &str = "orderstatestore";
/// The pub/sub the outbox publishes order events to.
pub const PUBSUB: &str = "orderpubsub";
/// The topic of order events.
pub const TOPIC: &str = "newOrderEvents";
/// The route the sidecar delivers order events to (see the Subscription).
pub const EVENT_ROUTE: &str = "/newOrderEvents";
/// CloudEvent `type` of the event announcing a stored order.
pub const ORDER_CREATED_EVENT_TYPE: &str = "order.created";

/// Why the environment could not be turned into settings.
#[derive(Debug, thiserror::Error)]
#[error("invalid setting {name}={value:?}: {problem}")]
pub struct SettingsError {
    name: &'static str,
    value: String,
    problem: &'static str,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

/// How often, and how patiently, the workflow retries the outbox transaction.
#[derive(Debug, Clone, PartialEq)]
pub struct TransactionRetry {
    /// All attempts, the first included.
    pub max_attempts: u32,
    pub first_interval: Duration,
    pub backoff_coefficient: f64,
    pub max_interval: Duration,
}

#[derive(Debug, Clone)]
pub struct Settings {
    /// Address the HTTP API binds to: `0.0.0.0` in a pod, loopback locally.
    pub app_host: IpAddr,
    pub app_port: u16,
    /// Dapr app id; also the CloudEvent `source` of order events.
    pub app_id: String,
    /// The sidecar's gRPC endpoint, as `http://host:port`.
    pub dapr_grpc_endpoint: String,
    /// Sent as `dapr-api-token` on calls to the sidecar when set.
    pub dapr_api_token: Option<String>,
    /// Publish the shaped `OrderCreated` event instead of the stored order.
    pub shaped_events: bool,
    pub transaction_retry: TransactionRetry,
    pub log_format: LogFormat,
}

impl Settings {
    pub fn from_env() -> Result<Self, SettingsError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads settings through `lookup`, so tests need not touch the process
    /// environment.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, SettingsError> {
        let get = |name: &str| lookup(name).filter(|v| !v.trim().is_empty());

        let dapr_grpc_endpoint = match get("DAPR_GRPC_ENDPOINT") {
            Some(endpoint) if endpoint.contains("://") => endpoint,
            Some(endpoint) => format!("http://{endpoint}"),
            None => {
                let port: u16 = parse(&get, "DAPR_GRPC_PORT", "50001", "must be a port number")?;
                format!("http://127.0.0.1:{port}")
            }
        };

        let transaction_retry = TransactionRetry {
            max_attempts: parse(
                &get,
                "TRANSACTION_MAX_ATTEMPTS",
                "5",
                "must be a whole number of attempts",
            )?,
            first_interval: Duration::from_millis(parse(
                &get,
                "TRANSACTION_RETRY_FIRST_INTERVAL_MS",
                "1000",
                "must be a whole number of milliseconds",
            )?),
            backoff_coefficient: 2.0,
            max_interval: Duration::from_secs(30),
        };
        if transaction_retry.max_attempts == 0 {
            return Err(SettingsError {
                name: "TRANSACTION_MAX_ATTEMPTS",
                value: "0".into(),
                problem: "must be at least 1",
            });
        }

        Ok(Self {
            app_host: parse(&get, "APP_HOST", "0.0.0.0", "must be an IP address")?,
            app_port: parse(&get, "APP_PORT", "30080", "must be a port number")?,
            app_id: get("APP_ID").unwrap_or_else(|| "order-outbox".into()),
            dapr_grpc_endpoint,
            dapr_api_token: get("DAPR_API_TOKEN"),
            shaped_events: parse_bool(&get, "OUTBOX_SHAPED_EVENTS")?,
            transaction_retry,
            log_format: match get("LOG_FORMAT").as_deref() {
                None | Some("text") => LogFormat::Text,
                Some("json") => LogFormat::Json,
                Some(other) => {
                    return Err(SettingsError {
                        name: "LOG_FORMAT",
                        value: other.into(),
                        problem: "must be `text` or `json`",
                    });
                }
            },
        })
    }
}

fn parse<T: std::str::FromStr>(
    get: &impl Fn(&str) -> Option<String>,
    name: &'static str,
    default: &str,
    problem: &'static str,
) -> Result<T, SettingsError> {
    let value = get(name).unwrap_or_else(|| default.to_owned());
    value.trim().parse().map_err(|_| SettingsError {
        name,
        value,
        problem,
    })
}

fn parse_bool(
    get: &impl Fn(&str) -> Option<String>,
    name: &'static str,
) -> Result<bool, SettingsError> {
    match get(name).as_deref().map(str::trim) {
        None | Some("false" | "0") => Ok(false),
        Some("true" | "1") => Ok(true),
        Some(other) => Err(SettingsError {
            name,
            value: other.into(),
            problem: "must be `true` or `false`",
        }),
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn settings(vars: &[(&str, &str)]) -> Result<Settings, SettingsError> {
        let vars: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Settings::from_lookup(|name| vars.get(name).cloned())
    }

    #[test]
    fn defaults_match_the_tutorials_urls_and_daprs_ports() {
        let s = settings(&[]).expect("defaults are valid");

        assert_eq!(s.app_port, 30080);
        assert_eq!(s.dapr_grpc_endpoint, "http://127.0.0.1:50001");
        assert!(!s.shaped_events);
        assert_eq!(s.log_format, LogFormat::Text);
    }

    #[test]
    fn the_sidecar_port_injected_by_dapr_is_used() {
        let s = settings(&[("DAPR_GRPC_PORT", "50123")]).expect("valid");
        assert_eq!(s.dapr_grpc_endpoint, "http://127.0.0.1:50123");

        let s = settings(&[("DAPR_GRPC_ENDPOINT", "sidecar:4000")]).expect("valid");
        assert_eq!(s.dapr_grpc_endpoint, "http://sidecar:4000");
    }

    #[test]
    fn a_bad_value_names_the_variable() {
        let err = settings(&[("APP_PORT", "http")]).expect_err("rejected");
        assert!(err.to_string().contains("APP_PORT"), "{err}");

        let err = settings(&[("OUTBOX_SHAPED_EVENTS", "yes")]).expect_err("rejected");
        assert!(err.to_string().contains("OUTBOX_SHAPED_EVENTS"), "{err}");

        assert!(settings(&[("TRANSACTION_MAX_ATTEMPTS", "0")]).is_err());
    }
}
