//! GitHub releases against fixtures from the REST API documentation.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::helpers::*;
use crate::upstream::Hit;

const LATEST: &str = "/repos/cli/cli/releases/latest";

async fn paused_recently(app: &TestApp) -> i64 {
    app.db
        .count(
            "SELECT count(*) FROM larder_rate
              WHERE provider = 'github' AND paused_until > now() - interval '1 minute'",
        )
        .await
}

fn has_header(hit: &Hit, name: &str, value: &str) -> bool {
    hit.headers
        .iter()
        .any(|(n, v)| n.eq_ignore_ascii_case(name) && v.split(',').any(|v| v.trim() == value))
}

#[tokio::test]
async fn the_token_is_sent_as_a_bearer_with_the_api_headers() {
    let app = TestApp::with_env(&[("GITHUB_TOKEN", "ghp_testtoken")]).await;
    app.upstream
        .route(LATEST, Step::file(200, "github/latest.json"));
    let r = app
        .get("/v1/github/releases/cli/cli/latest")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["tag_name"], "v2.60.0");
    let hits = app.upstream.hits();
    assert_eq!(hits.len(), 1);
    assert_eq!(hits[0].path, LATEST);
    assert_eq!(
        hits[0].authorization.as_deref(),
        Some("Bearer ghp_testtoken")
    );
    assert!(
        has_header(&hits[0], "accept", "application/vnd.github+json"),
        "{:?}",
        hits[0].headers
    );
    assert!(has_header(&hits[0], "x-github-api-version", "2022-11-28"));
    app.stop().await;
}

#[tokio::test]
async fn anonymous_lists_and_a_missing_release_is_negatively_cached() {
    let app = TestApp::spawn().await;
    app.upstream.route(
        "/repos/cli/cli/releases",
        Step::file(200, "github/releases.json"),
    );
    app.upstream.route(
        "/repos/nobody/nothing/releases/latest",
        Step::file(404, "github/404.json"),
    );
    let r = app
        .get("/v1/github/releases/cli/cli?per_page=5&page=1")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body[0]["tag_name"], "v2.60.0");
    let hits = app.upstream.hits();
    assert_eq!(hits[0].path, "/repos/cli/cli/releases");
    assert_eq!(hits[0].query, "per_page=5");
    assert_eq!(hits[0].authorization, None, "no token, no header");

    for _ in 0..2 {
        let r = app
            .get("/v1/github/releases/nobody/nothing/latest")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 404);
    }
    assert_eq!(app.upstream.count(), 2, "404 remembered");
    app.stop().await;
}

#[tokio::test]
async fn an_exhausted_quota_pauses_the_provider_until_the_reset() {
    let app = TestApp::spawn().await;
    let reset = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
        + 2;
    app.upstream.script(
        LATEST,
        [Step::file(403, "github/403-rate-limit.json")
            .header("x-ratelimit-limit", "60")
            .header("x-ratelimit-remaining", "0")
            .header("x-ratelimit-reset", &reset.to_string())],
    );
    app.upstream
        .route(LATEST, Step::file(200, "github/latest.json"));
    let r = app
        .get("/v1/github/releases/cli/cli/latest")
        .header("prefer", "wait=20")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(paused_recently(&app).await, 1, "the provider was paused");
    let hits = app.upstream.hits();
    assert_eq!(hits.len(), 2);
    let gap = hits[1].at - hits[0].at;
    assert!(
        gap >= Duration::from_millis(900),
        "retried after {gap:?}, before the reset"
    );
    app.stop().await;
}

#[tokio::test]
async fn another_403_is_a_refusal_and_nothing_is_cached() {
    let app = TestApp::spawn().await;
    app.upstream.route(
        LATEST,
        Step::file(403, "github/403-forbidden.json").header("x-ratelimit-remaining", "59"),
    );
    let r = app
        .get("/v1/github/releases/cli/cli/latest")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 502);
    assert_eq!(error_code(r).await, "upstream-rejected");
    assert_eq!(app.upstream.count(), 1, "not retried");
    assert_eq!(cached_rows(&app).await, 0);
    assert_eq!(paused_recently(&app).await, 0);
    app.stop().await;
}
