//! The one gRPC channel to the Dapr sidecar, shared by every call the
//! service makes: state reads and transactions, workflow scheduling and
//! status, and the readiness probe.
//!
//! The workflow worker is the exception: `dapr-durabletask` opens its own
//! streaming connection from an address (see `workflow::worker`).

use std::time::Duration;

use dapr::client::ApiTokenInterceptor;
use dapr::dapr::proto::runtime::v1::GetMetadataRequest;
use dapr::dapr::proto::runtime::v1::dapr_client::DaprClient;
use dapr_durabletask::client::TaskHubGrpcClient;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::{Channel, Endpoint};

/// The generated Dapr client on the shared channel, adding `dapr-api-token`
/// to every call when a token is configured.
pub type DaprGrpc = DaprClient<InterceptedService<Channel, ApiTokenInterceptor>>;

/// Cheap to clone: every clone shares the one HTTP/2 connection.
#[derive(Clone)]
pub struct Sidecar {
    grpc: DaprGrpc,
    channel: Channel,
}

#[derive(Debug, thiserror::Error)]
pub enum SidecarError {
    #[error("invalid sidecar endpoint {endpoint:?}")]
    Endpoint {
        endpoint: String,
        #[source]
        source: tonic::transport::Error,
    },
}

/// What the readiness probe saw.
#[derive(Debug, Clone, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Readiness {
    pub sidecar: bool,
    pub runtime_version: Option<String>,
    pub workflow_workers: i32,
    pub actor_host_ready: bool,
    /// Whether the order store answered a read; filled in by the caller,
    /// which knows the store.
    pub order_store: bool,
    /// Whether the service is shutting down (and takes no new orders);
    /// filled in by the caller.
    pub shutting_down: bool,
}

impl Readiness {
    /// Ready means an order posted now can be scheduled and stored: the
    /// sidecar answers, our workflow worker holds its stream, the actor
    /// runtime that hosts workflows has its placement table, and the order
    /// store answers.
    pub fn is_ready(&self) -> bool {
        self.sidecar
            && self.workflow_workers > 0
            && self.actor_host_ready
            && self.order_store
            && !self.shutting_down
    }
}

impl Sidecar {
    /// Builds the channel without connecting: the service starts before its
    /// sidecar is up, and the channel connects (and reconnects) on first use.
    pub fn connect_lazy(endpoint: &str, api_token: Option<String>) -> Result<Self, SidecarError> {
        let channel = Endpoint::from_shared(endpoint.to_owned())
            .map_err(|source| SidecarError::Endpoint {
                endpoint: endpoint.to_owned(),
                source,
            })?
            .connect_timeout(Duration::from_secs(5))
            .tcp_nodelay(true)
            .connect_lazy();
        let grpc =
            DaprClient::with_interceptor(channel.clone(), ApiTokenInterceptor::new(api_token));
        Ok(Self { grpc, channel })
    }

    /// The generated Dapr client; clone it per call, it shares the channel.
    pub fn grpc(&self) -> DaprGrpc {
        self.grpc.clone()
    }

    /// A workflow client on the shared channel.
    ///
    /// Known limit: `dapr-durabletask` 0.0.4 takes no interceptor, so these
    /// calls carry no `dapr-api-token`; a sidecar that enforces
    /// `DAPR_API_TOKEN` refuses them until the token work lands.
    pub fn workflows(&self) -> TaskHubGrpcClient {
        TaskHubGrpcClient::from_channel(self.channel.clone())
    }

    pub async fn readiness(&self) -> Readiness {
        let request = tonic::Request::new(GetMetadataRequest {});
        let mut grpc = self.grpc();
        match tokio::time::timeout(Duration::from_secs(2), grpc.get_metadata(request)).await {
            Ok(Ok(response)) => {
                let metadata = response.into_inner();
                Readiness {
                    sidecar: true,
                    runtime_version: Some(metadata.runtime_version),
                    workflow_workers: metadata.workflows.map_or(0, |w| w.connected_workers),
                    actor_host_ready: metadata.actor_runtime.is_some_and(|a| a.host_ready),
                    order_store: false,
                    shutting_down: false,
                }
            }
            _ => Readiness {
                sidecar: false,
                runtime_version: None,
                workflow_workers: 0,
                actor_host_ready: false,
                order_store: false,
                shutting_down: false,
            },
        }
    }
}
