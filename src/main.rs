use std::process::ExitCode;

use order_outbox::app::{App, shutdown_signal};
use order_outbox::settings::Settings;
use order_outbox::telemetry;

#[tokio::main]
async fn main() -> ExitCode {
    let settings = match Settings::from_env() {
        Ok(settings) => settings,
        Err(error) => {
            eprintln!("order-outbox: {error}");
            return ExitCode::from(2);
        }
    };
    telemetry::init(settings.log_format);

    let result = match App::build(&settings).await {
        Ok(app) => {
            if let Ok(address) = app.local_addr() {
                tracing::info!(%address, sidecar = %settings.dapr_grpc_endpoint, "listening");
            }
            app.run_until(shutdown_signal()).await
        }
        Err(error) => Err(error),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            tracing::error!(error = %telemetry::error_chain(&error), "order-outbox failed");
            ExitCode::FAILURE
        }
    }
}
