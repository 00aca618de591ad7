//! Logging: a tracing subscriber writing text or JSON lines to stdout, with
//! `RUST_LOG` filtering (default `info`). The `log` records of the `dapr`
//! crate come through the same subscriber.

use std::io::IsTerminal;

use tracing_subscriber::EnvFilter;

use crate::settings::LogFormat;

pub fn init(format: LogFormat) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    // Colours only on a terminal: under `make run` the lines go through a
    // pipe that marks them with the process name.
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(true)
        .with_ansi(std::io::stdout().is_terminal());
    // `try_init` also installs the log bridge; it fails only when a
    // subscriber is already set (tests), which is fine to ignore.
    let _ = match format {
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .try_init(),
        LogFormat::Text => builder.try_init(),
    };
}

/// `error: cause: cause`, for logs and failure details a reader can act on.
pub fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
