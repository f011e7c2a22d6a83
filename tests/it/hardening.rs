//! Hostile or odd traffic, from clients and from upstreams.

use crate::helpers::*;

const MOVIE: &str = "/v1/tmdb/movie/550";
const UP: &str = "/3/movie/550";

#[tokio::test]
async fn head_is_get_without_a_body_and_other_methods_name_the_allowed_ones() {
    let app = TestApp::spawn().await;
    let get = app.get(MOVIE).send().await.unwrap();
    assert_eq!(get.status(), 200);
    assert_eq!(get.headers()["x-content-type-options"], "nosniff");
    let head = app.http.head(app.url(MOVIE)).send().await.unwrap();
    assert_eq!(head.status(), 200);
    assert_eq!(head.headers()["etag"], get.headers()["etag"]);
    assert_eq!(head.headers()["x-cache"], "HIT");
    assert!(head.bytes().await.unwrap().is_empty());
    for path in ["/livez", "/v1/providers"] {
        let r = app.http.head(app.url(path)).send().await.unwrap();
        assert_eq!(r.status(), 200, "{path}");
    }
    let post = app.http.post(app.url(MOVIE)).send().await.unwrap();
    assert_eq!(post.status(), 405);
    assert_eq!(post.headers()["allow"], "GET, HEAD");
    assert_eq!(post.headers()["x-content-type-options"], "nosniff");
    assert_eq!(error_code(post).await, "method-not-allowed");
    app.stop().await;
}

#[tokio::test]
async fn an_answer_that_only_mentions_json_is_not_json() {
    let app = TestApp::spawn().await;
    app.upstream.script(
        UP,
        [Step::body(200, r#"{"id":550}"#).header("content-type", "text/html; x=json")],
    );
    let r = app.get(MOVIE).send().await.unwrap();
    assert_eq!(r.status(), 502);
    assert_eq!(cached_rows(&app).await, 0);
    // A real JSON type is stored as its media type and charset only.
    let r = app.get(MOVIE).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(
        r.headers()["content-type"],
        "application/json; charset=utf-8"
    );
    app.stop().await;
}

#[tokio::test]
async fn a_redirect_to_another_origin_is_a_failed_fill() {
    let elsewhere = Upstream::start().await;
    elsewhere.route(
        "/3/movie/550",
        Step::body(200, r#"{"id":550,"title":"not TMDB"}"#),
    );
    let app = TestApp::spawn().await;
    app.upstream.script(
        UP,
        [Step::status(302).header("location", &format!("{}/3/movie/550", elsewhere.url()))],
    );
    let r = app.get(MOVIE).send().await.unwrap();
    assert_eq!(r.status(), 502);
    assert_eq!(error_code(r).await, "upstream-rejected");
    assert_eq!(elsewhere.count(), 0, "the other origin was never asked");
    assert_eq!(cached_rows(&app).await, 0);
    // Within the origin, a redirect is followed.
    app.upstream
        .route("/moved/551", Step::body(200, r#"{"id":551}"#));
    app.upstream.script(
        "/3/movie/551",
        [Step::status(301).header("location", "/moved/551")],
    );
    let r = app.get("/v1/tmdb/movie/551").send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.text().await.unwrap(), r#"{"id":551}"#);
    app.stop().await;
}

#[tokio::test]
async fn a_fill_still_queued_is_not_taken_over_however_long_it_waits() {
    // No worker: the fill's job waits in the queue.
    let app = TestApp::spawn_with(Options {
        worker: false,
        ..Default::default()
    })
    .await;
    let r = app
        .get(MOVIE)
        .header("prefer", "wait=0")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 202);
    // As if it had waited past the abandonment threshold.
    app.db
        .exec("UPDATE larder_inflight SET started_at = now() - interval '1 hour'")
        .await;
    let owner: String = sqlx::query_scalar("SELECT job_id FROM larder_inflight")
        .fetch_one(&app.db.pool)
        .await
        .unwrap();
    let r = app
        .get("/v1/tmdb/movie/550?language=en")
        .header("prefer", "wait=0")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 202);
    let r = app
        .get(MOVIE)
        .header("prefer", "wait=0")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 202);
    let still: String =
        sqlx::query_scalar("SELECT job_id FROM larder_inflight WHERE key = 'tmdb/movie/550'")
            .fetch_one(&app.db.pool)
            .await
            .unwrap();
    assert_eq!(still, owner, "the queued fill keeps its claim");
    assert_eq!(
        app.db
            .count("SELECT count(*) FROM apalis.jobs WHERE convert_from(job, 'UTF8') LIKE '%tmdb/movie/550\"%'")
            .await,
        1,
        "no second job for the key"
    );
    // Once its job is gone for good, the claim can be taken over (asked
    // of the store: this API process still holds its own flight).
    app.db.exec("DELETE FROM apalis.jobs").await;
    let key = larder_jobs::provider::Catalogue::builtin()
        .resolve("tmdb", "movie/550", "")
        .unwrap()
        .key;
    let store = larder_jobs::store::Store::new(app.db.pool.clone());
    let started = store
        .enqueue(&key, larder_jobs::job::FetchReason::Miss)
        .await
        .unwrap();
    assert!(
        matches!(started, larder_jobs::store::Enqueued::Started),
        "{started:?}"
    );
    let taken: String =
        sqlx::query_scalar("SELECT job_id FROM larder_inflight WHERE key = 'tmdb/movie/550'")
            .fetch_one(&app.db.pool)
            .await
            .unwrap();
    assert_ne!(taken, owner);
    app.stop().await;
}

#[tokio::test]
async fn a_failed_fill_names_its_provider_and_the_class_of_failure() {
    // Nothing listens on port 1: every attempt is refused.
    let app = TestApp::with_env(&[("LARDER_TMDB_BASE_URL", "http://127.0.0.1:1")]).await;
    let r = app.get(MOVIE).send().await.unwrap();
    assert_eq!(r.status(), 502);
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["error"]["code"], "upstream-error");
    let message = body["error"]["message"].as_str().unwrap();
    assert!(
        message.starts_with("tmdb:") && message.contains("(connect)"),
        "{message}"
    );
    app.stop().await;

    let app = TestApp::spawn().await;
    app.upstream.script(UP, (0..4).map(|_| Step::status(503)));
    let r = app.get(MOVIE).send().await.unwrap();
    assert_eq!(r.status(), 502);
    let body: serde_json::Value = r.json().await.unwrap();
    let message = body["error"]["message"].as_str().unwrap();
    assert!(message.contains("(status 503)"), "{message}");
    // /health says which provider fails and how (and stays a 200).
    let health = |app: &TestApp| {
        let r = app.get("/health");
        async move {
            let r = r.send().await.unwrap();
            assert_eq!(r.status(), 200);
            r.json::<serde_json::Value>().await.unwrap()
        }
    };
    let h = health(&app).await;
    assert_eq!(h["status"], "degraded", "{h}");
    assert_eq!(h["failing_providers"][0]["provider"], "tmdb");
    assert_eq!(h["failing_providers"][0]["last_error"], "status 503");
    // It answers again: no longer failing.
    let r = app
        .get("/v1/tmdb/movie/550?language=de")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    // (recorded by the worker right after it stores the entry)
    eventually(std::time::Duration::from_secs(10), || async {
        health(&app).await["status"] == "ok"
    })
    .await;
    app.stop().await;
}

#[tokio::test]
async fn past_the_flight_cap_a_miss_is_refused_and_nothing_is_enqueued() {
    let app = TestApp::spawn_with(Options {
        env: vec![("LARDER_MAX_FLIGHTS", "3".into())],
        worker: false,
        ..Default::default()
    })
    .await;
    for id in 1..=3 {
        let r = app
            .get(&format!("/v1/tmdb/movie/{id}"))
            .header("prefer", "wait=0")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 202);
    }
    let r = app
        .get("/v1/tmdb/movie/4")
        .header("prefer", "wait=0")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 503);
    assert_eq!(r.headers()["retry-after"], "1");
    assert_eq!(error_code(r).await, "overloaded");
    assert_eq!(
        app.db.count("SELECT count(*) FROM larder_inflight").await,
        3
    );
    // A key already in flight is still joined.
    let r = app
        .get("/v1/tmdb/movie/1")
        .header("prefer", "wait=0")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 202);
    app.stop().await;
}

#[tokio::test]
async fn past_a_providers_queue_cap_a_miss_is_queue_full_and_others_go_on() {
    let app = TestApp::spawn_with(Options {
        env: vec![("LARDER_QUEUE_MAX_PER_PROVIDER", "2".into())],
        worker: false,
        ..Default::default()
    })
    .await;
    for id in 1..=2 {
        let r = app
            .get(&format!("/v1/tmdb/movie/{id}"))
            .header("prefer", "wait=0")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 202);
    }
    let r = app
        .get("/v1/tmdb/movie/3")
        .header("prefer", "wait=0")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 503);
    assert_eq!(r.headers()["retry-after"], "30");
    assert_eq!(error_code(r).await, "queue-full");
    assert_eq!(
        app.db
            .count("SELECT count(*) FROM larder_inflight WHERE key LIKE 'tmdb/%'")
            .await,
        2
    );
    assert_eq!(
        app.db.count("SELECT count(*) FROM apalis.jobs").await,
        2,
        "nothing enqueued for the refused miss"
    );
    // Another provider's queue is its own.
    let r = app
        .get("/v1/openmeteo/forecast?latitude=1&longitude=2")
        .header("prefer", "wait=0")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 202);
    app.stop().await;
}

/// Send raw bytes; read the whole answer until the server closes.
async fn raw(app: &TestApp, request: &[u8]) -> (u16, String, serde_json::Value) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut s = tokio::net::TcpStream::connect(app.addr).await.unwrap();
    s.write_all(request).await.unwrap();
    let mut out = Vec::new();
    let shown = String::from_utf8_lossy(&request[..request.len().min(40)]).into_owned();
    tokio::time::timeout(std::time::Duration::from_secs(30), s.read_to_end(&mut out))
        .await
        .unwrap_or_else(|_| panic!("{shown}: the server did not close the connection"))
        .unwrap();
    let text = String::from_utf8_lossy(&out).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").expect("an HTTP answer");
    let status = head[9..12].parse().unwrap();
    let json = serde_json::from_str(body).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"));
    (status, head.to_ascii_lowercase(), json)
}

#[tokio::test]
async fn requests_hyper_cannot_parse_or_too_large_get_json_errors() {
    let app = TestApp::spawn().await;
    let long_uri = format!(
        "GET /v1/tmdb/movie/550?{} HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n",
        "a".repeat(10_000)
    );
    let huge_uri = format!(
        "GET /v1/tmdb/movie/550?{} HTTP/1.1\r\nhost: x\r\n\r\n",
        "a".repeat(70_000)
    );
    let big_headers = format!(
        "GET /livez HTTP/1.1\r\nhost: x\r\n{}\r\n",
        (0..40)
            .map(|i| format!("x-pad-{i}: {}\r\n", "b".repeat(2000)))
            .collect::<String>()
    );
    let cases: [(&[u8], u16, &str); 5] = [
        (b"G@T / HTTP/1.1\r\nhost: x\r\n\r\n", 400, "bad-request"),
        (b"GET / HTTP/1.1\r\nbad header\r\n\r\n", 400, "bad-request"),
        (long_uri.as_bytes(), 414, "uri-too-long"),
        (huge_uri.as_bytes(), 431, "headers-too-large"),
        (big_headers.as_bytes(), 431, "headers-too-large"),
    ];
    for (request, status, code) in cases {
        let (got, head, body) = raw(&app, request).await;
        let shown = String::from_utf8_lossy(&request[..request.len().min(40)]).into_owned();
        assert_eq!(got, status, "{shown}: {head}");
        assert_eq!(body["error"]["code"], code, "{shown}");
        assert!(head.contains("content-type: application/json"), "{head}");
        assert!(head.contains("x-content-type-options: nosniff"), "{head}");
    }
    // The server is fine afterwards.
    assert_eq!(app.get(MOVIE).send().await.unwrap().status(), 200);
    app.stop().await;
}

#[tokio::test]
async fn a_client_that_never_reads_or_never_finishes_its_request_is_disconnected() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let app = TestApp::with_env(&[
        ("LARDER_CLIENT_WRITE_TIMEOUT", "1s"),
        ("LARDER_CLIENT_IDLE_TIMEOUT", "1s"),
    ])
    .await;
    // Pipelined requests, answers never read: the server's writes stall,
    // then its reads, then ours; once it lets go of the connection, our
    // next write fails.
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    let mut s = socket.connect(app.addr).await.unwrap();
    let one = b"GET /metrics HTTP/1.1\r\nhost: x\r\n\r\n".repeat(64);
    let closed = tokio::time::timeout(std::time::Duration::from_secs(30), async {
        loop {
            if let Err(e) = s.write_all(&one).await {
                return e;
            }
        }
    })
    .await
    .expect("the server kept a client that reads nothing");
    assert!(
        matches!(
            closed.kind(),
            std::io::ErrorKind::ConnectionReset | std::io::ErrorKind::BrokenPipe
        ),
        "{closed}"
    );

    // A connection that sends half a request head, and one kept alive
    // and idle, are both closed.
    for start in [&b"GET /livez HTTP/1.1\r\nhost:"[..], &b""[..]] {
        let mut s = tokio::net::TcpStream::connect(app.addr).await.unwrap();
        s.write_all(start).await.unwrap();
        let mut buf = Vec::new();
        let r =
            tokio::time::timeout(std::time::Duration::from_secs(20), s.read_to_end(&mut buf)).await;
        assert!(r.is_ok(), "the connection stayed open");
    }
    app.stop().await;
}
