//! `/metrics` and `/livez` for processes without the API (`larder worker`,
//! `larder scheduler`).

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;

use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;

use crate::metrics_handle;
use crate::reply::{self, ApiError};

/// A minimal server for processes without the API (`larder worker`):
/// `/metrics` and `/livez` only, until `shutdown` resolves.
pub async fn serve_metrics(
    addr: SocketAddr,
    shutdown: impl Future<Output = ()> + Send,
) -> Result<(), crate::Error> {
    let listener = TcpListener::bind(addr)
        .await
        .map_err(|source| crate::Error::Bind { addr, source })?;
    let handle = metrics_handle();
    tracing::info!(%addr, "metrics listening");
    tokio::pin!(shutdown);
    loop {
        let (stream, _) = tokio::select! {
            _ = &mut shutdown => return Ok(()),
            r = listener.accept() => match r {
                Ok(s) => s,
                Err(e) => {
                    // Out of file descriptors and the like: do not spin.
                    tracing::warn!(error = %e, "metrics accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        let handle = handle.clone();
        let service = service_fn(move |req: Request<Incoming>| {
            let handle = handle.clone();
            async move {
                Ok::<_, Infallible>(match req.uri().path() {
                    "/metrics" => reply::text(
                        StatusCode::OK,
                        "text/plain; version=0.0.4",
                        larder_jobs::names::exposition(handle.render()),
                    ),
                    "/livez" => reply::text(StatusCode::OK, "text/plain", "ok"),
                    _ => ApiError::not_found().into_reply(),
                })
            }
        });
        tokio::spawn(async move {
            let _ = http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(Duration::from_secs(10))
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}
