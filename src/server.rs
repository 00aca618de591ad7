//! The HTTP server under the router: HTTP/1.1 (what the sidecar, the
//! probes and browsers speak), a deadline on reading each request's
//! headers, and a graceful drain on shutdown.
//!
//! Why not `axum::serve`: it gives hyper's connections no timer, so hyper's
//! header read timeout never fires, and a client that never finishes its
//! headers holds a connection for as long as it likes (a slowloris). Once
//! the headers are in, the router's own deadline (`api::REQUEST_DEADLINE`)
//! bounds the rest of the request.

use std::time::Duration;

use axum::Router;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

/// How long a client may take to send a request's headers. It also closes
/// a keep-alive connection that stays idle this long: hyper waits for the
/// next request's headers under the same timer.
pub const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(30);

/// How long connections may take: to send a request's headers, and to
/// finish their requests once shutdown has begun.
#[derive(Debug, Clone, Copy)]
pub struct Deadlines {
    pub header_read: Duration,
    pub drain: Duration,
}

/// Serves `router` on `listener` until `shutdown` fires, then stops
/// accepting and gives open connections `deadlines.drain` to finish the
/// requests they are in; what is still open then ends with the process.
///
/// Known limit: connections are bounded in time, not in number; a cap on
/// open connections belongs with the hard limits on bad input (a later
/// step).
pub async fn serve(
    listener: TcpListener,
    router: Router,
    shutdown: CancellationToken,
    deadlines: Deadlines,
) {
    let connections = GracefulShutdown::new();
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(deadlines.header_read);

    loop {
        let stream = tokio::select! {
            () = shutdown.cancelled() => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, _peer)) => stream,
                Err(error) => {
                    // Out of file descriptors, or a connection reset while
                    // queued: wait a little rather than spin, then go on.
                    tracing::warn!(%error, "cannot accept a connection");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
        };
        if let Err(error) = stream.set_nodelay(true) {
            tracing::debug!(%error, "cannot set TCP_NODELAY");
        }

        let service = TowerToHyperService::new(router.clone());
        let connection = builder.serve_connection(TokioIo::new(stream), service);
        let connection = connections.watch(connection);
        tokio::spawn(async move {
            if let Err(error) = connection.await {
                tracing::debug!(%error, "connection closed with an error");
            }
        });
    }

    drop(listener);
    if tokio::time::timeout(deadlines.drain, connections.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("requests still open at the drain deadline; leaving them");
    }
}

#[cfg(test)]
mod tests {
    use std::time::Instant;

    use axum::routing::get;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpStream;

    use super::*;

    async fn start(header_read: Duration) -> (std::net::SocketAddr, CancellationToken) {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let address = listener.local_addr().expect("address");
        let router = Router::new().route("/ping", get(|| async { "pong" }));
        let shutdown = CancellationToken::new();
        let deadlines = Deadlines {
            header_read,
            drain: Duration::from_secs(1),
        };
        tokio::spawn(serve(listener, router, shutdown.clone(), deadlines));
        (address, shutdown)
    }

    /// Reads until the server closes the connection, or fails the test
    /// after `within`.
    async fn read_until_closed(stream: &mut TcpStream, within: Duration) -> String {
        let mut received = Vec::new();
        tokio::time::timeout(within, stream.read_to_end(&mut received))
            .await
            .expect("the server closed the connection in time")
            .expect("read");
        String::from_utf8_lossy(&received).into_owned()
    }

    #[tokio::test]
    async fn a_client_that_never_finishes_its_headers_is_cut_off() {
        let (address, _shutdown) = start(Duration::from_millis(300)).await;
        let mut stream = TcpStream::connect(address).await.expect("connect");
        let started = Instant::now();

        stream
            .write_all(b"POST /ping HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n")
            .await
            .expect("write");
        read_until_closed(&mut stream, Duration::from_secs(5)).await;

        assert!(started.elapsed() >= Duration::from_millis(300));
    }

    #[tokio::test]
    async fn a_complete_request_is_answered_and_shutdown_ends_the_server() {
        let (address, shutdown) = start(Duration::from_secs(5)).await;
        let mut stream = TcpStream::connect(address).await.expect("connect");

        stream
            .write_all(b"GET /ping HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            .await
            .expect("write");
        let answer = read_until_closed(&mut stream, Duration::from_secs(5)).await;
        assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
        assert!(answer.ends_with("pong"), "{answer}");

        shutdown.cancel();
        let refused = async {
            while TcpStream::connect(address).await.is_ok() {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        };
        tokio::time::timeout(Duration::from_secs(5), refused)
            .await
            .expect("the listener closes on shutdown");
    }
}
