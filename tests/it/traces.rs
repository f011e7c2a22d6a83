//! Optional OTLP traces: a request and the fill it waits on are one trace,
//! exported to a collector (here a loopback server receiving OTLP/HTTP JSON).

use std::convert::Infallible;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use serde_json::Value;

use crate::helpers::*;
use crate::processes::{exits_cleanly, ready, start};

/// Every span received: (name, trace id, span id, parent span id).
type Spans = Arc<Mutex<Vec<(String, String, String, String)>>>;

async fn collector() -> (String, Spans) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let spans: Spans = Arc::default();
    let seen = spans.clone();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let seen = seen.clone();
            tokio::spawn(async move {
                let service = service_fn(move |req: Request<Incoming>| {
                    let seen = seen.clone();
                    async move {
                        let body = req.into_body().collect().await.unwrap().to_bytes();
                        let doc: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
                        let mut seen = seen.lock().unwrap();
                        for rs in doc["resourceSpans"].as_array().into_iter().flatten() {
                            for ss in rs["scopeSpans"].as_array().into_iter().flatten() {
                                for s in ss["spans"].as_array().into_iter().flatten() {
                                    let text = |k: &str| s[k].as_str().unwrap_or("").to_owned();
                                    seen.push((
                                        text("name"),
                                        text("traceId"),
                                        text("spanId"),
                                        text("parentSpanId"),
                                    ));
                                }
                            }
                        }
                        Ok::<_, Infallible>(Response::new(Full::new(bytes::Bytes::from_static(
                            b"{}",
                        ))))
                    }
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    (url, spans)
}

#[tokio::test]
async fn a_request_and_the_fill_it_waits_on_are_one_trace() {
    init_logs();
    let (endpoint, spans) = collector().await;
    let db = TestDb::new().await;
    let upstream = Upstream::start().await;
    let mut env = env_for(&db, &upstream);
    env.insert("OTEL_EXPORTER_OTLP_ENDPOINT".into(), endpoint);
    env.insert("OTEL_EXPORTER_OTLP_PROTOCOL".into(), "http/json".into());
    env.insert("OTEL_BSP_SCHEDULE_DELAY".into(), "100".into());
    let app = start(&["all"], &env).await;
    let http = reqwest::Client::new();
    let addr = app.addr.unwrap();
    ready(&http, addr).await;
    let r = http
        .get(format!("http://{addr}/v1/tmdb/movie/550"))
        .header("prefer", "wait=30")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    // The fill's span is a child of the request's, in its trace.
    eventually(Duration::from_secs(15), || async {
        let spans = spans.lock().unwrap();
        spans.iter().any(|(name, trace, _, parent)| {
            name == "fill"
                && !parent.is_empty()
                && spans
                    .iter()
                    .any(|(n, t, id, _)| n == "request" && t == trace && id == parent)
        })
    })
    .await;
    exits_cleanly(app).await;
    db.drop_db().await;
}

/// Without an endpoint nothing is exported and jobs carry no trace.
#[tokio::test]
async fn without_an_endpoint_jobs_carry_no_trace() {
    let app = TestApp::spawn().await;
    assert_eq!(
        app.get("/v1/tmdb/movie/550").send().await.unwrap().status(),
        200
    );
    assert_eq!(
        app.db
            .count(
                "SELECT count(*) FROM apalis.jobs WHERE convert_from(job, 'UTF8') LIKE '%trace%'"
            )
            .await,
        0
    );
    app.stop().await;
}
