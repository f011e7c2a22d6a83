//! The process's Prometheus recorder, and `/metrics` and `/livez` for
//! processes without the API (`larder worker`, `larder scheduler`).

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::OnceLock;
use std::time::Duration;

use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use larder_jobs::names;
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use tokio::net::TcpListener;

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

/// Install the Prometheus recorder once per process and return its handle.
pub fn metrics_handle() -> PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            const SECONDS: &[f64] = &[
                0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
                10.0, 30.0,
            ];
            let recorder = PrometheusBuilder::new()
                .set_buckets(SECONDS)
                .expect("static buckets are valid")
                .build_recorder();
            let handle = recorder.handle();
            if metrics::set_global_recorder(recorder).is_ok() {
                names::describe();
                // Histograms keep every sample until drained: without
                // upkeep, a process nobody scrapes grows by 8 bytes per
                // request, forever.
                let upkeep = handle.clone();
                let _ = std::thread::Builder::new()
                    .name("metrics-upkeep".into())
                    .spawn(move || {
                        loop {
                            std::thread::sleep(Duration::from_secs(5));
                            upkeep.run_upkeep();
                        }
                    });
            }
            handle
        })
        .clone()
}
