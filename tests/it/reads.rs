//! SPEC §3.1 on the happy paths: HIT, MISS, STALE, 202, 304, 404, 400.

use std::time::Duration;

use futures_util::future::join_all;

use crate::helpers::*;

const MOVIE: &str = "/v1/tmdb/movie/550?language=en-US";

async fn queue_rows(app: &TestApp) -> i64 {
    app.db.count("SELECT count(*) FROM apalis.jobs").await
}

#[tokio::test]
async fn miss_then_hit_with_validators_and_one_upstream_call() {
    let app = TestApp::spawn().await;
    let first = app.get(MOVIE).send().await.unwrap();
    assert_eq!(first.status(), 200);
    assert_eq!(first.headers()["x-cache"], "MISS");
    assert!(
        first.headers()["content-type"]
            .to_str()
            .unwrap()
            .contains("application/json")
    );
    let etag = first.headers()["etag"].to_str().unwrap().to_string();
    let cc = first.headers()["cache-control"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(cc.starts_with("public, max-age="), "{cc}");
    let max_age: u64 = cc.trim_start_matches("public, max-age=").parse().unwrap();
    assert!(max_age > 86_000 && max_age <= 86_400, "{max_age}");
    assert!(first.headers().contains_key("age"));
    let body = first.text().await.unwrap();
    assert!(body.contains("\"Fight Club\""));

    let second = app.get(MOVIE).send().await.unwrap();
    assert_eq!(second.headers()["x-cache"], "HIT");
    assert_eq!(second.headers()["etag"].to_str().unwrap(), etag);
    assert_eq!(second.text().await.unwrap(), body);

    // Same resource, parameters in another order and case: same entry.
    let third = app
        .get("/v1/tmdb/movie/550?language=en-us")
        .send()
        .await
        .unwrap();
    assert_eq!(third.headers()["x-cache"], "HIT");

    let not_modified = app
        .get(MOVIE)
        .header("if-none-match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(not_modified.status(), 304);
    assert_eq!(not_modified.headers()["etag"].to_str().unwrap(), etag);

    let hits = app.upstream.hits();
    assert_eq!(hits.len(), 1, "exactly one upstream call");
    assert_eq!(hits[0].path, "/3/movie/550");
    assert!(hits[0].query.contains("language=en-US"));
    assert!(
        hits[0].query.contains("api_key=testkey1"),
        "larder injects its key"
    );
    app.stop().await;
}

#[tokio::test]
async fn the_key_pool_spreads_calls_over_keys() {
    let app = TestApp::with_env(&[("TMDB_API_KEY", "k-one,k-two")]).await;
    for id in [550, 1399] {
        let path = if id == 550 {
            "/v1/tmdb/movie/550".to_string()
        } else {
            format!("/v1/tmdb/tv/{id}")
        };
        assert_eq!(app.get(&path).send().await.unwrap().status(), 200);
    }
    let keys: Vec<String> = app
        .upstream
        .hits()
        .iter()
        .map(|h| h.query.clone())
        .collect();
    assert!(keys.iter().any(|q| q.contains("api_key=k-one")), "{keys:?}");
    assert!(keys.iter().any(|q| q.contains("api_key=k-two")), "{keys:?}");
    app.stop().await;
}

#[tokio::test]
async fn a_tmdb_v4_token_goes_in_the_authorization_header() {
    let token = "eyJhbGciOiJIUzI1NiJ9.eyJhdWQiOiJ0ZXN0In0.sig";
    let app = TestApp::with_env(&[("TMDB_API_KEY", token)]).await;
    assert_eq!(app.get(MOVIE).send().await.unwrap().status(), 200);
    let hit = &app.upstream.hits()[0];
    assert_eq!(
        hit.authorization.as_deref(),
        Some(format!("Bearer {token}").as_str())
    );
    assert!(!hit.query.contains("api_key"), "{}", hit.query);
    app.stop().await;
}

#[tokio::test]
async fn bad_requests_are_400_with_stable_codes_and_never_enqueued() {
    let app = TestApp::spawn().await;
    for (path, code) in [
        ("/v1/tmdb/movie", "unknown-resource"),
        ("/v1/tmdb/films/550", "unknown-resource"),
        ("/v1/tmdb/movie/550?cachebust=123", "unknown-parameter"),
        ("/v1/tmdb/movie/abc", "invalid-parameter"),
        ("/v1/tmdb/search/movie", "missing-parameter"),
        (
            "/v1/tmdb/movie/550?append_to_response=all",
            "invalid-parameter",
        ),
        (
            "/v1/openmeteo/forecast?latitude=95&longitude=10",
            "invalid-parameter",
        ),
        (
            "/v1/openmeteo/forecast?latitude=52.5&longitude=13.4&hourly=rainbows",
            "invalid-parameter",
        ),
        ("/v1/nosuch/thing", "unknown-provider"),
    ] {
        let r = app.get(path).send().await.unwrap();
        assert_eq!(r.status(), 400, "{path}");
        let body: serde_json::Value = r.json().await.unwrap();
        assert_eq!(body["error"]["code"], code, "{path}: {body}");
        assert!(
            body["error"]["message"]
                .as_str()
                .is_some_and(|m| !m.is_empty())
        );
    }
    assert_eq!(queue_rows(&app).await, 0, "nothing enqueued");
    assert_eq!(app.upstream.count(), 0);
    let r = app.get("/nowhere").send().await.unwrap();
    assert_eq!(r.status(), 404);
    let r = app.http.post(app.url(MOVIE)).send().await.unwrap();
    assert_eq!(r.status(), 405);
    app.stop().await;
}

#[tokio::test]
async fn upstream_404_is_negatively_cached() {
    let app = TestApp::spawn().await;
    for _ in 0..3 {
        let r = app.get("/v1/tmdb/movie/999999").send().await.unwrap();
        assert_eq!(r.status(), 404);
        let body: serde_json::Value = r.json().await.unwrap();
        assert_eq!(body["error"]["code"], "upstream-not-found");
    }
    assert_eq!(app.upstream.count(), 1, "404 remembered");
    app.stop().await;
}

#[tokio::test]
async fn wait_zero_answers_202_and_the_fill_goes_on() {
    let app = TestApp::spawn().await;
    app.upstream.set_delay(Duration::from_millis(300));
    let r = app
        .get(MOVIE)
        .header("prefer", "wait=0")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 202);
    assert_eq!(r.headers()["retry-after"], "1");
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["status"], "pending");
    assert_eq!(body["retry_after"], 1);
    // The fill completes without anyone waiting for it.
    eventually(Duration::from_secs(10), || async {
        app.db.count("SELECT count(*) FROM larder_cache").await == 1
    })
    .await;
    let r = app
        .get(MOVIE)
        .header("prefer", "wait=0")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["x-cache"], "HIT");
    assert_eq!(app.upstream.count(), 1);
    app.stop().await;
}

#[tokio::test]
async fn a_small_budget_runs_out_into_202() {
    let app = TestApp::spawn().await;
    app.upstream.script(
        "/3/movie/550",
        [Step::fixture().delay(Duration::from_secs(3))],
    );
    let r = app
        .get(MOVIE)
        .header("prefer", "wait=1")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 202);
    let r = app
        .get(MOVIE)
        .header("prefer", "wait=10")
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.status(),
        200,
        "the same fill finishes and wakes the second caller"
    );
    assert_eq!(r.headers()["x-cache"], "MISS");
    assert_eq!(app.upstream.count(), 1);
    app.stop().await;
}

#[tokio::test]
async fn concurrent_misses_in_one_process_make_one_upstream_call() {
    let app = TestApp::spawn().await;
    app.upstream.set_delay(Duration::from_millis(300));
    let calls = (0..100).map(|_| async {
        let r = app.get(MOVIE).send().await.unwrap();
        (r.status().as_u16(), r.text().await.unwrap())
    });
    let results = join_all(calls).await;
    assert!(
        results.iter().all(|(s, _)| *s == 200),
        "{:?}",
        results.iter().map(|r| r.0).collect::<Vec<_>>()
    );
    assert!(
        results.windows(2).all(|w| w[0].1 == w[1].1),
        "same body for all"
    );
    assert_eq!(app.upstream.count(), 1);
    assert_eq!(queue_rows(&app).await, 1, "one job");
    app.stop().await;
}

#[tokio::test]
async fn stale_entries_are_served_and_refreshed_once() {
    // This test ages entries in the database directly.
    let app = TestApp::with_env(&[
        ("LARDER_HOT_CACHE_BYTES", "0"),
        ("LARDER_DISK_CACHE_DIR", "off"),
    ])
    .await;
    assert_eq!(app.get(MOVIE).send().await.unwrap().status(), 200);
    app.db
        .exec("UPDATE larder_cache SET fresh_until = now() - interval '1 second'")
        .await;
    app.upstream.set_delay(Duration::from_millis(200));
    let results = join_all((0..20).map(|_| app.get(MOVIE).send())).await;
    for r in results {
        let r = r.unwrap();
        assert_eq!(r.status(), 200);
        assert_eq!(r.headers()["x-cache"], "STALE");
        assert_eq!(r.headers()["cache-control"], "public, max-age=0");
    }
    app.upstream.wait_for_hits(2).await;
    eventually(Duration::from_secs(10), || async {
        app.get(MOVIE).send().await.unwrap().headers()["x-cache"] == "HIT"
    })
    .await;
    assert_eq!(app.upstream.count(), 2, "exactly one refresh");
    app.stop().await;
}

#[tokio::test]
async fn health_readiness_and_metrics() {
    let app = TestApp::spawn().await;
    assert_eq!(app.get("/livez").send().await.unwrap().status(), 200);
    let ready = app.json("/readyz").await;
    assert_eq!(ready["ready"], true);
    assert_eq!(app.get(MOVIE).send().await.unwrap().status(), 200);
    assert_eq!(app.get(MOVIE).send().await.unwrap().status(), 200);
    let health: serde_json::Value = app
        .get("/health")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(health["database"], true);
    assert_eq!(health["listener"], true);
    assert!(health["queue"]["pending"].is_number(), "{health}");
    assert!(health["workers_seen"].as_i64().unwrap() >= 1, "{health}");
    let text = app.metrics().await;
    for name in [
        "larder_http_requests_total{route=\"read\",status=\"200\"}",
        "larder_http_request_duration_seconds_bucket",
        "larder_cache_lookups_total{provider=\"tmdb\",result=\"hit\"}",
        "larder_cache_lookups_total{provider=\"tmdb\",result=\"miss\"}",
        "larder_fill_wait_seconds_bucket",
        "larder_upstream_requests_total{provider=\"tmdb\",status=\"200\"}",
        "larder_upstream_request_duration_seconds_bucket",
        "larder_jobs_total{kind=\"fetch\",outcome=\"ok\"}",
        "larder_job_duration_seconds_bucket",
        "larder_queue_jobs{state=\"pending\"}",
        "larder_hot_cache_lookups_total{result=\"miss\"}",
        "larder_hot_cache_entries",
        "larder_hot_cache_bytes",
        "larder_db_read_keys_total",
        "larder_db_read_batches_total",
    ] {
        assert!(text.contains(name), "missing {name} in\n{text}");
    }
    // The second read was an in-process hit: the hit ratio has a numerator.
    let hot_hits: f64 = text
        .lines()
        .find_map(|l| l.strip_prefix("larder_hot_cache_lookups_total{result=\"hit\"} "))
        .and_then(|v| v.parse().ok())
        .unwrap_or_default();
    assert!(hot_hits >= 1.0, "{text}");
    // Labels stay low-cardinality: no key, path or id in any label.
    for line in text.lines().filter(|l| !l.starts_with('#')) {
        if let Some((_, labels)) = line.split_once('{') {
            let labels = labels.split('}').next().unwrap();
            assert!(
                !labels.contains("movie") && !labels.contains("550"),
                "{line}"
            );
        }
    }
    let providers = app.get("/v1/providers").send().await.unwrap();
    let providers: serde_json::Value = providers.json().await.unwrap();
    let tmdb = providers["providers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["id"] == "tmdb")
        .unwrap();
    assert_eq!(tmdb["enabled"], true);
    assert!(
        tmdb["resources"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["route"] == "/v1/tmdb/movie/{id}")
    );
    app.stop().await;
}

#[tokio::test]
async fn openmeteo_forecast_with_a_base_url_path_prefix() {
    let upstream_prefix = "/mirror";
    // A base URL may carry a path prefix; larder appends the public path.
    let upstream = Upstream::start().await;
    let app = TestApp::with_env(&[(
        "LARDER_OPENMETEO_BASE_URL",
        &format!("{}{upstream_prefix}", upstream.url()),
    )])
    .await;
    let r = app
        .get("/v1/openmeteo/forecast?latitude=52.52&longitude=13.41&hourly=temperature_2m&timezone=Europe/Berlin")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["latitude"], 52.52);
    let hits = upstream.hits();
    assert_eq!(hits.len(), 1);
    assert_eq!(hits[0].path, "/mirror/v1/forecast");
    assert_eq!(
        hits[0].query,
        "hourly=temperature_2m&latitude=52.52&longitude=13.41&timezone=Europe%2FBerlin"
    );
    app.stop().await;
}
