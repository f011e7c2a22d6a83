//! A real HTTP upstream on loopback serving fixtures written from the
//! providers' public documentation, with scripted faults.

use std::collections::{HashMap, VecDeque};
use std::convert::Infallible;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use tokio::sync::watch;

/// One scripted answer.
#[derive(Clone, Debug)]
pub struct Step {
    pub status: u16,
    /// `None`: the fixture for the path.
    pub body: Option<String>,
    pub delay: Duration,
    pub headers: Vec<(String, String)>,
    /// Never answer.
    pub hang: bool,
    /// A binary body (an image), sent as it is.
    pub raw: Option<Bytes>,
}

impl Step {
    pub fn status(status: u16) -> Self {
        Step {
            status,
            body: Some(format!("{{\"status\":{status}}}")),
            delay: Duration::ZERO,
            headers: vec![],
            hang: false,
            raw: None,
        }
    }
    /// A binary answer with this content type, never gzipped.
    pub fn bytes(status: u16, content_type: &str, body: impl Into<Bytes>) -> Self {
        Step {
            raw: Some(body.into()),
            ..Step::status(status)
        }
        .header("content-type", content_type)
    }
    pub fn fixture() -> Self {
        Step {
            status: 200,
            body: None,
            ..Step::status(200)
        }
    }
    pub fn body(status: u16, body: &str) -> Self {
        Step {
            body: Some(body.to_string()),
            ..Step::status(status)
        }
    }
    pub fn hang() -> Self {
        Step {
            hang: true,
            ..Step::status(200)
        }
    }
    /// A fixture file below `tests/fixtures/` (`omdb/title.json`), served
    /// with `status` and a JSON content type (override with `.header`).
    pub fn file(status: u16, path: &str) -> Self {
        let body = std::fs::read_to_string(fixtures().join(path))
            .unwrap_or_else(|e| panic!("fixture {path}: {e}"));
        Step {
            body: Some(body),
            ..Step::status(status)
        }
    }
    pub fn delay(mut self, d: Duration) -> Self {
        self.delay = d;
        self
    }
    pub fn header(mut self, k: &str, v: &str) -> Self {
        self.headers.push((k.into(), v.into()));
        self
    }
}

#[derive(Clone, Debug)]
pub struct Hit {
    pub method: String,
    pub path: String,
    pub query: String,
    pub authorization: Option<String>,
    pub user_agent: Option<String>,
    /// Every request header, names lowercased.
    pub headers: Vec<(String, String)>,
    pub body: String,
    pub at: At,
}

/// When a request arrived, on the wall clock: the clock larder's pauses and
/// rate slots are counted on (the database's), so gaps between hits compare
/// with them even while the machine's clock is being adjusted (a monotonic
/// clock and an adjusted wall clock drift apart; seen on this machine).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct At(std::time::SystemTime);

impl std::ops::Sub for At {
    type Output = Duration;
    fn sub(self, earlier: At) -> Duration {
        self.0.duration_since(earlier.0).unwrap_or(Duration::ZERO)
    }
}

impl std::ops::Add<Duration> for At {
    type Output = At;
    fn add(self, d: Duration) -> At {
        At(self.0 + d)
    }
}

impl Hit {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

#[derive(Default)]
struct Inner {
    scripts: HashMap<String, VecDeque<Step>>,
    /// Standing answers: `(path, query substring, step)`, first match wins.
    routes: Vec<(String, String, Step)>,
    default_delay: Duration,
    hits: Vec<Hit>,
}

#[derive(Clone)]
pub struct Upstream {
    pub addr: SocketAddr,
    inner: Arc<Mutex<Inner>>,
    count: watch::Receiver<usize>,
}

impl Upstream {
    pub async fn start() -> Upstream {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let inner = Arc::new(Mutex::new(Inner::default()));
        let (count_tx, count) = watch::channel(0usize);
        let count_tx = Arc::new(count_tx);
        let shared = inner.clone();
        tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    return;
                };
                let inner = shared.clone();
                let count_tx = count_tx.clone();
                tokio::spawn(async move {
                    let svc = service_fn(move |req| answer(inner.clone(), count_tx.clone(), req));
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), svc)
                        .await;
                });
            }
        });
        Upstream { addr, inner, count }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Queue answers for `path` (no query); afterwards the fixture is served.
    pub fn script(&self, path: &str, steps: impl IntoIterator<Item = Step>) {
        self.inner
            .lock()
            .unwrap()
            .scripts
            .entry(path.to_string())
            .or_default()
            .extend(steps);
    }

    /// Always answer requests for `path` with `step` (after any scripted
    /// steps for it are used up).
    pub fn route(&self, path: &str, step: Step) {
        self.route_query(path, "", step);
    }

    /// As [`Upstream::route`], only for requests whose query contains
    /// `query_part` (routes are tried in the order they were added).
    pub fn route_query(&self, path: &str, query_part: &str, step: Step) {
        self.inner
            .lock()
            .unwrap()
            .routes
            .push((path.to_string(), query_part.to_string(), step));
    }

    pub fn set_delay(&self, d: Duration) {
        self.inner.lock().unwrap().default_delay = d;
    }

    pub fn hits(&self) -> Vec<Hit> {
        self.inner.lock().unwrap().hits.clone()
    }

    pub fn count(&self) -> usize {
        *self.count.borrow()
    }

    /// Wait until at least `n` requests arrived (deadline 30 s).
    pub async fn wait_for_hits(&self, n: usize) {
        let mut rx = self.count.clone();
        tokio::time::timeout(Duration::from_secs(30), rx.wait_for(|c| *c >= n))
            .await
            .unwrap_or_else(|_| panic!("upstream saw {} requests, expected {n}", self.count()))
            .unwrap();
    }
}

fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

/// `/3/movie/550` → `tmdb/movie/550.json`; `…/v1/forecast` → `openmeteo/forecast.json`.
fn fixture_for(path: &str) -> Option<(PathBuf, &'static str)> {
    if let Some((_, rest)) = path.split_once("/3/") {
        return Some((fixtures().join("tmdb").join(format!("{rest}.json")), "tmdb"));
    }
    if path.ends_with("/v1/forecast") {
        return Some((fixtures().join("openmeteo/forecast.json"), "openmeteo"));
    }
    None
}

async fn answer(
    inner: Arc<Mutex<Inner>>,
    count: Arc<watch::Sender<usize>>,
    req: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let path = req.uri().path().to_string();
    let query = req.uri().query().unwrap_or("").to_string();
    let authorization = req
        .headers()
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .map(String::from);
    let user_agent = req
        .headers()
        .get("user-agent")
        .and_then(|v| v.to_str().ok())
        .map(String::from);
    let headers: Vec<(String, String)> = req
        .headers()
        .iter()
        .filter_map(|(k, v)| Some((k.as_str().to_owned(), v.to_str().ok()?.to_owned())))
        .collect();
    let method = req.method().to_string();
    // Answers are gzipped for a client that accepts it, as TMDB and most
    // APIs do.
    let gzip_ok = req
        .headers()
        .get_all("accept-encoding")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|v| v.split(',').any(|c| c.trim().eq_ignore_ascii_case("gzip")));
    let body = {
        use http_body_util::BodyExt;
        req.into_body()
            .collect()
            .await
            .map(|b| String::from_utf8_lossy(&b.to_bytes()).into_owned())
            .unwrap_or_default()
    };
    let (step, default_delay) = {
        let mut g = inner.lock().unwrap();
        g.hits.push(Hit {
            method,
            path: path.clone(),
            query: query.clone(),
            authorization: authorization.clone(),
            user_agent,
            headers,
            body,
            at: At(std::time::SystemTime::now()),
        });
        let step = g
            .scripts
            .get_mut(&path)
            .and_then(|q| q.pop_front())
            .or_else(|| {
                g.routes
                    .iter()
                    .find(|(p, q, _)| *p == path && query.contains(q.as_str()))
                    .map(|(_, _, s)| s.clone())
            });
        (step, g.default_delay)
    };
    count.send_modify(|c| *c += 1);
    let step = step.unwrap_or_else(|| Step::fixture().delay(default_delay));
    if step.hang {
        std::future::pending::<()>().await;
    }
    if !step.delay.is_zero() {
        tokio::time::sleep(step.delay).await;
    }
    if let Some(raw) = step.raw {
        let mut resp = Response::new(Full::new(raw));
        *resp.status_mut() = hyper::StatusCode::from_u16(step.status).unwrap();
        for (k, v) in step.headers {
            resp.headers_mut().insert(
                hyper::header::HeaderName::from_bytes(k.as_bytes()).unwrap(),
                v.parse().unwrap(),
            );
        }
        return Ok(resp);
    }
    let (status, body) = match step.body {
        Some(b) => (step.status, b),
        None => match fixture_for(&path) {
            Some((file, provider)) => {
                let keyed = query.contains("api_key=") || authorization.is_some();
                if provider == "tmdb" && !keyed {
                    (
                        401,
                        std::fs::read_to_string(fixtures().join("tmdb/401.json")).unwrap(),
                    )
                } else {
                    match std::fs::read_to_string(&file) {
                        Ok(b) => (200, b),
                        Err(_) => (
                            404,
                            std::fs::read_to_string(fixtures().join("tmdb/404.json")).unwrap(),
                        ),
                    }
                }
            }
            None => (404, "{}".to_string()),
        },
    };
    let coded = step
        .headers
        .iter()
        .any(|(k, _)| k.eq_ignore_ascii_case("content-encoding"));
    let gzipped = gzip_ok && !coded && body.len() >= 200;
    let body = if gzipped {
        use std::io::Write;
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(body.as_bytes()).unwrap();
        Bytes::from(gz.finish().unwrap())
    } else {
        Bytes::from(body)
    };
    let mut resp = Response::new(Full::new(body));
    *resp.status_mut() = hyper::StatusCode::from_u16(status).unwrap();
    resp.headers_mut().insert(
        "content-type",
        "application/json;charset=utf-8".parse().unwrap(),
    );
    if gzipped {
        resp.headers_mut()
            .insert("content-encoding", "gzip".parse().unwrap());
    }
    for (k, v) in step.headers {
        resp.headers_mut().insert(
            hyper::header::HeaderName::from_bytes(k.as_bytes()).unwrap(),
            v.parse().unwrap(),
        );
    }
    Ok(resp)
}
