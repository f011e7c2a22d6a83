//! OpenSubtitles.com against fixtures from its public documentation.

use std::time::Duration;

use crate::helpers::*;

const UP: &str = "/api/v1/subtitles";

#[tokio::test]
async fn a_search_goes_upstream_in_canonical_form_with_the_key_header() {
    let app = TestApp::spawn().await;
    app.upstream
        .route(UP, Step::file(200, "opensubtitles/search.json"));
    let r = app
        .get("/v1/opensubtitles/search?query=Inception&imdb_id=tt1375666&languages=pt-BR,EN&type=all&page=1")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(
        body["data"][0]["attributes"]["feature_details"]["title"],
        "Inception"
    );

    // The same search written another way is the same entry.
    let r = app
        .get("/v1/opensubtitles/search?languages=en,pt-br&imdb_id=tt1375666&query=inception")
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()["x-cache"], "HIT");

    let hits = app.upstream.hits();
    assert_eq!(hits.len(), 1);
    assert_eq!(hits[0].path, UP);
    assert_eq!(
        hits[0].query, "imdb_id=1375666&languages=en%2Cpt-br&query=inception",
        "sorted, lowercased, no tt, defaults dropped, no key in the URL"
    );
    assert_eq!(hits[0].header("api-key"), Some("test-api_key"));
    let ua = hits[0].user_agent.as_deref().unwrap();
    assert!(ua.starts_with("larder v"), "{ua}");
    app.stop().await;
}

#[tokio::test]
async fn an_empty_search_is_a_cached_200() {
    let app = TestApp::spawn().await;
    app.upstream
        .route(UP, Step::file(200, "opensubtitles/empty.json"));
    for expect in ["MISS", "HIT"] {
        let r = app
            .get("/v1/opensubtitles/search?query=no%20such%20film&year=1901")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "an empty search is not a 404");
        assert_eq!(r.headers()["x-cache"], expect);
        let body: serde_json::Value = r.json().await.unwrap();
        assert_eq!(body["total_count"], 0);
    }
    assert_eq!(app.upstream.count(), 1);
    app.stop().await;
}

#[tokio::test]
async fn a_429_pauses_until_the_reset_and_an_html_page_is_not_cached() {
    let app = TestApp::spawn().await;
    app.upstream.script(
        UP,
        [Step::file(429, "opensubtitles/rate-limited.json").header("ratelimit-reset", "2")],
    );
    app.upstream.route_query(
        UP,
        "query=matrix",
        Step::file(200, "opensubtitles/search.json"),
    );
    app.upstream.route_query(
        UP,
        "query=maintenance",
        Step::body(200, "<html>maintenance</html>").header("content-type", "text/html"),
    );
    let r = app
        .get("/v1/opensubtitles/search?query=matrix")
        .header("prefer", "wait=20")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let hits = app.upstream.hits();
    assert_eq!(hits.len(), 2);
    let gap = hits[1].at - hits[0].at;
    // Asked for 2 s; a deferred fill may start up to 0.5 s early (the
    // queue schedules whole seconds), still well past the 1 s fallback.
    assert!(
        gap >= Duration::from_millis(1200),
        "RateLimit-Reset was 2 s: {gap:?}"
    );

    let r = app
        .get("/v1/opensubtitles/search?query=maintenance")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 502);
    assert_eq!(error_code(r).await, "upstream-error");
    assert_eq!(cached_rows(&app).await, 1, "only the good answer is cached");
    app.stop().await;
}

#[tokio::test]
async fn without_a_key_the_provider_is_disabled() {
    assert_disabled(
        "/v1/opensubtitles/search?query=matrix",
        "OPENSUBTITLES_API_KEY",
    )
    .await;
}
