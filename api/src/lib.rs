//! larder's HTTP API: answers cached reads from an in-process cache and the
//! Postgres cache tables, enqueues one fill per missing key and waits for it.
//!
//! The API never calls an upstream and never writes a cache entry: workers do
//! both. Flow of a read: auth → resolve against the catalogue (400s here,
//! never enqueued) → hot cache → Postgres → on a miss join the process-local
//! [`flight`] for the key, which enqueues under the key's advisory lock and
//! is woken by the [`listen`]er's NOTIFY.

pub mod admin;
pub mod auth;
pub mod conn;
pub mod disk;
pub mod dropin;
pub mod flight;
pub mod health;
pub mod hot;
pub mod hot_lists;
pub mod image;
pub mod listen;
pub mod lookup;
pub mod meter;
mod metrics_server;
pub mod negotiate;
pub mod openapi;
pub mod quota;
pub mod read;
pub mod reply;
pub mod state;

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64};
use std::time::{Duration, Instant};

use hyper::body::Incoming;
use hyper::header::{ALLOW, HeaderName, HeaderValue};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use larder_jobs::config::Config;
use larder_jobs::keys::Keys;
use larder_jobs::provider::ProviderSettings;
use larder_jobs::store::Store;
use sqlx::PgPool;
use tokio::net::TcpListener;
use tokio::sync::{Semaphore, watch};

use crate::meter::Route;
use crate::reply::{ApiError, Reply};
use crate::state::State;

/// Most connections served at once; more wait in the accept backlog.
const MAX_CONNECTIONS: usize = 8192;
/// The largest request head (request line and headers) read.
const MAX_HEAD_BYTES: usize = 32 * 1024;
/// The longest request URI served; longer is a 414.
const MAX_URI_BYTES: usize = 8 * 1024;
/// How long in-flight requests may take to finish after a shutdown signal.
const DRAIN: Duration = Duration::from_secs(35);

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("asset storage: {0}")]
    Storage(String),
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
}

/// A bound, not yet running, API server.
pub struct Api {
    /// One listening socket per HTTP thread, all on one port.
    listeners: Vec<std::net::TcpListener>,
    state: Arc<State>,
}

/// HTTP threads: one per core.
fn http_threads() -> usize {
    std::thread::available_parallelism().map_or(2, |n| n.get().clamp(1, 16))
}

/// A listening socket on `addr` that shares the port with the other HTTP
/// threads' (`SO_REUSEPORT`): the kernel spreads new connections over them
/// evenly. (One socket accepted on by every thread let whichever thread woke
/// first take a whole burst of connections: 64 of 64 on one thread was
/// seen, leaving the other core to the rest.)
fn reuseport_listener(addr: SocketAddr) -> std::io::Result<std::net::TcpListener> {
    let socket = socket2::Socket::new(
        socket2::Domain::for_address(addr),
        socket2::Type::STREAM,
        Some(socket2::Protocol::TCP),
    )?;
    socket.set_reuse_address(true)?;
    #[cfg(unix)]
    socket.set_reuse_port(true)?;
    socket.bind(&addr.into())?;
    socket.listen(1024)?;
    socket.set_nonblocking(true)?;
    Ok(socket.into())
}

impl Api {
    /// Bind `config.listen` (port 0 picks a free port).
    pub async fn build(config: Arc<Config>, pool: PgPool) -> Result<Api, Error> {
        let fail = |source| Error::Bind {
            addr: config.listen,
            source,
        };
        // A plain bind first: it fails when anything holds the port, even
        // another process's SO_REUSEPORT group (which our own would join).
        let addr = {
            let probe = std::net::TcpListener::bind(config.listen).map_err(fail)?;
            probe.local_addr().map_err(fail)?
        };
        let mut listeners = Vec::new();
        if cfg!(unix) {
            for _ in 0..http_threads() {
                listeners.push(reuseport_listener(addr).map_err(fail)?);
            }
        } else {
            let l = std::net::TcpListener::bind(addr).map_err(fail)?;
            l.set_nonblocking(true).map_err(fail)?;
            listeners.push(l);
        }
        let storage = larder_jobs::assets::Storage::from_config(&config.storage)
            .map_err(|e| Error::Storage(e.to_string()))?;
        let disk = disk::DiskTier::start(&config.disk_cache_dir, config.disk_cache_bytes)
            .map_err(|e| Error::Storage(e.to_string()))?;
        let state = Arc::new(State {
            store: Store::new(pool.clone()).with_queue_cap(config.queue_max_per_provider),
            keys: Keys::new(pool.clone()),
            hot: hot::HotCache::new(config.hot_cache_bytes),
            flights: flight::Flights::default(),
            lookups: lookup::Lookups::new(Store::new(pool.clone())),
            resolutions: read::resolutions(),
            grants: auth::grant_cache(),
            keyring: auth::Keyring::default(),
            grants_generation: AtomicU64::new(0),
            providers: ProviderSettings::all(&config),
            catalogue: config.catalogue(),
            listener_up: AtomicBool::new(false),
            metrics: metrics_handle(),
            meter: meter::Meter::new(&config.catalogue()),
            storage,
            images: image::cache(),
            overrides: Default::default(),
            quotas: Default::default(),
            openapi: Default::default(),
            disk,
            config,
        });
        // Overrides in force before the first request.
        if let Err(e) = state.overrides.reload(&pool).await {
            tracing::warn!(error = %e, "provider overrides not read; retrying in the background");
        }
        Ok(Api { listeners, state })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.listeners[0]
            .local_addr()
            .unwrap_or(self.state.config.listen)
    }

    /// Serve until `shutdown` resolves; then stop accepting and let in-flight
    /// requests finish (up to 35 s).
    ///
    /// Connections are accepted and served by one thread per core, each
    /// with a single-threaded runtime, each accepting on its own socket of
    /// the one port (`SO_REUSEPORT`, as nginx's `reuseport`), so the kernel
    /// spreads connections evenly: a request is parsed, answered and
    /// written on one thread, with no hand-off between threads. What they
    /// share (caches, flights, the pool) is in `State`; the LISTEN
    /// connection runs on the caller's runtime.
    pub async fn run(self, shutdown: impl Future<Output = ()> + Send) -> Result<(), Error> {
        let Api { listeners, state } = self;
        let (stop_tx, stop_rx) = watch::channel(false);
        let listen_task = tokio::spawn(listen::run(state.clone(), stop_rx.clone()));
        let hits_task = tokio::spawn(flush_hits(state.clone(), stop_rx.clone()));
        let quota_task = tokio::spawn(quota::run(
            state.quotas.clone(),
            state.store.pool().clone(),
            stop_rx.clone(),
        ));
        state
            .overrides
            .keep_fresh(state.store.pool().clone(), stop_rx.clone());
        let permits = Arc::new(Semaphore::new(MAX_CONNECTIONS));
        let threads = http_threads();
        let mut done = Vec::with_capacity(threads);
        // One socket per thread; a single socket (not unix) is shared.
        let shared = listeners.len() < threads;
        for i in 0..threads {
            let listener = match listeners.get(i) {
                Some(l) if !shared => l.try_clone(),
                _ => listeners[0].try_clone(),
            }
            .map_err(|source| Error::Bind {
                addr: state.config.listen,
                source,
            })?;
            let addr = state.config.listen;
            let (state, permits, stop) = (state.clone(), permits.clone(), stop_rx.clone());
            let (done_tx, done_rx) = tokio::sync::oneshot::channel::<()>();
            std::thread::Builder::new()
                .name(format!("larder-http-{i}"))
                .spawn(move || {
                    let rt = tokio::runtime::Builder::new_current_thread()
                        .enable_all()
                        .build();
                    match rt {
                        Ok(rt) => rt.block_on(serve(listener, state, permits, stop)),
                        Err(e) => tracing::error!(error = %e, "cannot start an HTTP thread"),
                    }
                    let _ = done_tx.send(());
                })
                .map_err(|source| Error::Bind { addr, source })?;
            done.push(done_rx);
        }
        drop(listeners);
        shutdown.await;
        tracing::info!("API draining in-flight requests");
        let _ = stop_tx.send(true);
        for d in done {
            let _ = d.await;
        }
        let _ = listen_task.await;
        let _ = hits_task.await;
        let _ = quota_task.await;
        Ok(())
    }
}

/// Every `hit_flush_interval`, add the hits counted in memory to the
/// database in one statement (refresh-ahead reads them); a last time on
/// shutdown. A failed write drops that batch: counts are a hint.
async fn flush_hits(state: Arc<State>, mut stop: watch::Receiver<bool>) {
    let every = state.config.hit_flush_interval;
    loop {
        let stopping = tokio::select! {
            _ = stop.wait_for(|v| *v) => true,
            _ = tokio::time::sleep(every) => false,
        };
        let mut hits = state.hot.take_hits();
        if let Some(disk) = &state.disk {
            // One row per key (an entry may be both in memory and on disk).
            let mut all: std::collections::HashMap<String, u32> = hits.into_iter().collect();
            for (k, n) in disk.take_hits() {
                *all.entry(k).or_default() += n;
            }
            hits = all.into_iter().collect();
        }
        if let Err(e) = state.store.record_hits(&hits).await {
            tracing::debug!(error = %e, keys = hits.len(), "hit counts not recorded");
        }
        if stopping {
            return;
        }
    }
}

/// One HTTP thread: accept on `listener` and serve until `stop`, then drain.
async fn serve(
    listener: std::net::TcpListener,
    state: Arc<State>,
    permits: Arc<Semaphore>,
    mut stop: watch::Receiver<bool>,
) {
    let listener = match TcpListener::from_std(listener) {
        Ok(l) => l,
        Err(e) => {
            tracing::error!(error = %e, "cannot accept on the API socket");
            return;
        }
    };
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        // Also the idle timeout: hyper runs it while it waits for the
        // next request on a kept-alive connection.
        .header_read_timeout(state.config.client_idle_timeout)
        // A request head larger than this is a 431 (JSON, see conn.rs);
        // the buffer cap bounds each connection's read buffer.
        .max_header_size(MAX_HEAD_BYTES)
        .max_buf_size(2 * MAX_HEAD_BYTES)
        .keep_alive(true);
    let write_timeout = state.config.client_write_timeout;
    loop {
        let permit = tokio::select! {
            _ = stop.wait_for(|v| *v) => break,
            p = permits.clone().acquire_owned() => match p { Ok(p) => p, Err(_) => break },
        };
        let (stream, _) = tokio::select! {
            _ = stop.wait_for(|v| *v) => break,
            r = listener.accept() => match r {
                Ok(s) => s,
                Err(e) => {
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        let _ = stream.set_nodelay(true);
        let state = state.clone();
        let service = service_fn(move |req: Request<Incoming>| {
            let state = state.clone();
            // A span per request, seen only by an OpenTelemetry layer
            // (debug level: the log output and the hit path skip it).
            let span = tracing::debug_span!(
                "request",
                method = %req.method(),
                path = %req.uri().path(),
            );
            tracing::Instrument::instrument(
                async move { Ok::<_, Infallible>(route(state, req).await) },
                span,
            )
        });
        let io = TokioIo::new(conn::ClientIo::new(stream, write_timeout));
        let conn = graceful.watch(builder.serve_connection(io, service));
        tokio::spawn(async move {
            let _ = conn.await;
            drop(permit);
        });
    }
    drop(listener);
    if tokio::time::timeout(DRAIN, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("some requests did not finish within the drain period");
    }
}

const NOSNIFF_NAME: HeaderName = HeaderName::from_static("x-content-type-options");
const NOSNIFF: HeaderValue = HeaderValue::from_static("nosniff");
const ALLOWED: HeaderValue = HeaderValue::from_static("GET, HEAD");

async fn route(state: Arc<State>, req: Request<Incoming>) -> Reply {
    let started = Instant::now();
    let path = req.uri().path();
    if path == "/admin" || path.starts_with("/admin/") {
        let reply = admin::route(&state, req)
            .await
            .unwrap_or_else(ApiError::into_reply);
        return finish(&state, Route::Admin, reply, started);
    }
    // Every route is a GET route, and answers HEAD the same way (hyper
    // sends no body for HEAD).
    let method_ok = req.method() == Method::GET || req.method() == Method::HEAD;
    let uri_len = path.len() + req.uri().query().map_or(0, |q| q.len() + 1);
    let (label, result): (Route, Result<Reply, ApiError>) = if !method_ok {
        (Route::Other, Err(ApiError::method()))
    } else if uri_len > MAX_URI_BYTES {
        (Route::Other, Err(ApiError::uri_too_long()))
    } else if let Some(rest) = path.strip_prefix("/v1/") {
        match rest.split_once('/') {
            _ if rest == "providers" => (
                Route::Providers,
                auth::check(&state, req.headers(), None)
                    .await
                    .map(|_| health::providers(&state)),
            ),
            _ if rest == "hot" => (
                Route::Providers,
                match auth::check(&state, req.headers(), Some("hot")).await {
                    Ok(()) => hot_lists::index(&state).await,
                    Err(e) => Err(e),
                },
            ),
            Some(("hot", rest)) if rest.ends_with("/history") => (
                Route::Read,
                match auth::check(&state, req.headers(), Some("hot")).await {
                    Ok(()) => {
                        hot_lists::history(
                            &state,
                            rest.trim_end_matches("/history"),
                            req.uri().query().unwrap_or(""),
                        )
                        .await
                    }
                    Err(e) => Err(e),
                },
            ),
            Some(("hot", source)) if req.uri().query().is_some_and(|q| q.contains("format=")) => {
                match hot_lists::wants_rss(req.uri().query().unwrap_or("")) {
                    Some(query) => (
                        Route::Read,
                        hot_lists::rss(
                            &state,
                            req.headers(),
                            source,
                            &query,
                            req.method() == Method::HEAD,
                        )
                        .await,
                    ),
                    // `format=json` is the plain read, without `format`.
                    None => (
                        Route::Read,
                        read::read(
                            &state,
                            req.headers(),
                            "hot",
                            source,
                            &hot_lists::without_format(req.uri().query().unwrap_or("")),
                            req.method() == Method::HEAD,
                        )
                        .await,
                    ),
                }
            }
            Some((provider, resource)) => (
                Route::Read,
                read::read(
                    &state,
                    req.headers(),
                    provider,
                    resource,
                    req.uri().query().unwrap_or(""),
                    req.method() == Method::HEAD,
                )
                .await,
            ),
            None => (Route::Other, Err(ApiError::not_found())),
        }
    } else if let Some(rest) = path.strip_prefix("/3/") {
        (
            Route::Read,
            Ok(dropin::tmdb(
                &state,
                req.headers(),
                rest,
                req.uri().query().unwrap_or(""),
                req.method() == Method::HEAD,
            )
            .await),
        )
    } else if let Some(rest) = path.strip_prefix("/t/p/") {
        // image.tmdb.org's paths: public there, public here (only TMDB
        // image names of TMDB sizes resolve).
        (
            Route::Image,
            read::read_open(
                &state,
                req.headers(),
                "tmdb",
                &format!("image/{rest}"),
                req.uri().query().unwrap_or(""),
                req.method() == Method::HEAD,
            )
            .await,
        )
    } else {
        match path {
            "/livez" => (
                Route::Livez,
                Ok(reply::text(StatusCode::OK, "text/plain", "ok")),
            ),
            "/readyz" => (Route::Readyz, Ok(health::readyz(&state).await)),
            "/health" => (Route::Health, Ok(health::health(&state).await)),
            "/metrics" => (Route::Metrics, Ok(health::metrics(&state).await)),
            "/openapi.json" => (Route::Providers, Ok(openapi::serve(&state))),
            _ => (Route::Other, Err(ApiError::not_found())),
        }
    };
    finish(
        &state,
        label,
        result.unwrap_or_else(ApiError::into_reply),
        started,
    )
}

/// Headers every answer carries, and the request's metrics.
fn finish(state: &State, label: Route, mut reply: Reply, started: Instant) -> Reply {
    let not_allowed = reply.status() == StatusCode::METHOD_NOT_ALLOWED;
    let headers = reply.headers_mut();
    headers.insert(NOSNIFF_NAME, NOSNIFF);
    if not_allowed && !headers.contains_key(ALLOW) {
        headers.insert(ALLOW, ALLOWED);
    }
    state.meter.request(
        label,
        reply.status().as_u16(),
        started.elapsed().as_secs_f64(),
    );
    reply
}

pub use metrics_server::{metrics_handle, serve_metrics};
