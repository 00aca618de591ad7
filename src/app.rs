//! Builds the service and runs it until shutdown: the HTTP API and the
//! workflow worker, sharing one sidecar channel.
//!
//! Shutdown order, each step with a deadline:
//! 1. refuse new orders (503, safe to retry) and turn `/readyz` to 503, so
//!    Kubernetes takes the pod out of its Service;
//! 2. let the order posts in progress finish (scheduling a workflow needs a
//!    connected worker), then stop the workflow worker once its in-flight
//!    work items are done, so no accepted step is abandoned half-way; both
//!    within one deadline;
//! 3. keep the subscriber listening a moment longer, for the events the
//!    outbox relay publishes about a second after each commit;
//! 4. stop serving HTTP, draining open requests.

use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::api::{self, AppState};
use crate::outbox::{EventPayload, OrderStore};
use crate::server;
use crate::settings::Settings;
use crate::sidecar::{Sidecar, SidecarError};
use crate::workflow::worker::{self, WorkflowDeps};

/// How long order posts in progress and in-flight work items get together,
/// then in-flight requests, after a shutdown signal. With [`EVENT_LINGER`],
/// shutdown takes at most 27 s, within the pod's 40 s grace period
/// (`k8s/order-outbox.yaml`).
const DRAIN_DEADLINE: Duration = Duration::from_secs(12);

/// How long the subscriber keeps listening once the worker has stopped:
/// the outbox relay publishes an order's event about a second after its
/// transaction commits, so the events of the last few orders arrive in
/// this window when the sidecar outlives the service (`make run` stops the
/// service first). After a burst the relay trails further (300 orders took
/// about 5 s to announce); those events are retried by the resiliency
/// policy and reach the service only if it is back within it (README,
/// Known limits). On Kubernetes the sidecar, signalled at the same moment
/// with `dapr.io/block-shutdown-duration` set, stops its subscriptions at
/// once (Dapr 1.18.2, `pkg/runtime/runtime.go`), so nothing arrives here;
/// the events it had read stay pending in Redis and another replica claims
/// them after the component's processing timeout (README, Shutdown).
const EVENT_LINGER: Duration = Duration::from_secs(3);

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error(transparent)]
    Sidecar(#[from] SidecarError),
    #[error("cannot listen on {address}")]
    Bind {
        address: SocketAddr,
        #[source]
        source: std::io::Error,
    },
    #[error("the HTTP server failed")]
    Serve(#[source] std::io::Error),
}

pub struct App {
    listener: TcpListener,
    state: AppState,
    deps: WorkflowDeps,
    grpc_endpoint: String,
}

impl App {
    /// Binds the port (0 picks a free one) and prepares the parts; nothing
    /// talks to the sidecar yet.
    pub async fn build(settings: &Settings) -> Result<Self, AppError> {
        let sidecar = Sidecar::connect_lazy(
            &settings.dapr_grpc_endpoint,
            settings.dapr_api_token.clone(),
        )?;
        let payload = if settings.shaped_events {
            EventPayload::Shaped
        } else {
            EventPayload::Order
        };
        let store = OrderStore::new(sidecar.clone(), settings.app_id.clone(), payload);

        let address = SocketAddr::new(settings.app_host, settings.app_port);
        let listener = TcpListener::bind(address)
            .await
            .map_err(|source| AppError::Bind { address, source })?;

        Ok(Self {
            listener,
            state: AppState {
                sidecar,
                store: store.clone(),
                order_locks: Default::default(),
                draining: CancellationToken::new(),
                order_posts: Default::default(),
            },
            deps: WorkflowDeps {
                store,
                transaction_retry: settings.transaction_retry.clone(),
            },
            grpc_endpoint: settings.dapr_grpc_endpoint.clone(),
        })
    }

    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Serves until `signal` completes, then shuts down in order.
    pub async fn run_until(
        self,
        signal: impl Future<Output = ()> + Send + 'static,
    ) -> Result<(), AppError> {
        let worker_stop = CancellationToken::new();
        let worker = worker::spawn(&self.grpc_endpoint, self.deps, worker_stop.clone());

        let draining = self.state.draining.clone();
        let order_posts = self.state.order_posts.clone();
        let http_stop = CancellationToken::new();
        let router = api::router(self.state);
        let deadlines = server::Deadlines {
            header_read: server::HEADER_READ_TIMEOUT,
            drain: DRAIN_DEADLINE,
        };
        let mut server = tokio::spawn(server::serve(
            self.listener,
            router,
            http_stop.clone(),
            deadlines,
        ));
        tracing::info!("order-outbox started");

        let signalled = tokio::select! {
            // Only a panic ends the server before its stop token fires.
            result = &mut server => Some(result),
            () = signal => None,
        };

        tracing::info!("shutting down: refusing new orders, stopping the workflow worker");
        draining.cancel();
        let drained = async {
            order_posts.close();
            order_posts.wait().await;
            worker_stop.cancel();
            if let Err(error) = worker.await {
                tracing::error!(%error, "the workflow worker task failed");
            }
        };
        if tokio::time::timeout(DRAIN_DEADLINE, drained).await.is_err() {
            tracing::warn!(
                "order posts or workflow work items still running at the drain deadline"
            );
            worker_stop.cancel();
        }

        let served = match signalled {
            Some(result) => result,
            None => {
                tracing::info!("shutting down: last events, then draining requests");
                tokio::time::sleep(EVENT_LINGER).await;
                http_stop.cancel();
                server.await
            }
        };
        tracing::info!("order-outbox stopped");

        served.map_err(|join| AppError::Serve(std::io::Error::other(join)))
    }
}

/// Completes on Ctrl-C or SIGTERM (what Kubernetes sends).
pub async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();

    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
}
