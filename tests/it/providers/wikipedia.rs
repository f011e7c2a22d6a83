//! Wikipedia page summaries against fixtures from its public documentation.

use crate::helpers::*;

const SUMMARY: &str = "/api/rest_v1/page/summary";

#[tokio::test]
async fn titles_reach_the_upstream_as_one_encoded_segment() {
    let app = TestApp::with_env(&[(
        "WIKIPEDIA_USER_AGENT",
        "larder-test/1.0 (https://example.org; ops@example.org)",
    )])
    .await;
    app.upstream.route(
        &format!("{SUMMARY}/AC%2FDC"),
        Step::file(200, "wikipedia/summary.json"),
    );
    app.upstream.route(
        &format!("{SUMMARY}/C%2B%2B"),
        Step::file(200, "wikipedia/cpp.json"),
    );

    let r = app
        .get("/v1/wikipedia/summary?title=AC%2FDC")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["x-cache"], "MISS");
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["title"], "AC/DC");

    let r = app
        .get("/v1/wikipedia/summary?title=C%2B%2B")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["title"], "C++");

    // The default language is one entry with or without `lang=en`.
    let r = app
        .get("/v1/wikipedia/summary?title=AC%2FDC&lang=en")
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()["x-cache"], "HIT");

    let hits = app.upstream.hits();
    let paths: Vec<&str> = hits.iter().map(|h| h.path.as_str()).collect();
    assert_eq!(
        paths,
        [
            "/api/rest_v1/page/summary/AC%2FDC",
            "/api/rest_v1/page/summary/C%2B%2B"
        ]
    );
    assert!(hits.iter().all(|h| h.query.is_empty()), "{hits:?}");
    assert_eq!(
        hits[0].user_agent.as_deref(),
        Some("larder-test/1.0 (https://example.org; ops@example.org)")
    );
    app.stop().await;
}

#[tokio::test]
async fn a_missing_page_is_negatively_cached() {
    let app = TestApp::spawn().await;
    app.upstream.route(
        &format!("{SUMMARY}/Definitely_Not_A_Real_Page_123"),
        Step::file(404, "wikipedia/404.json").header("content-type", "application/problem+json"),
    );
    for _ in 0..3 {
        let r = app
            .get("/v1/wikipedia/summary?title=Definitely%20Not%20A%20Real%20Page%20123")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 404);
        assert_eq!(error_code(r).await, "upstream-not-found");
    }
    assert_eq!(app.upstream.count(), 1, "404 remembered");
    app.stop().await;
}

#[tokio::test]
async fn the_language_picks_the_host() {
    // A second upstream stands for `https://{lang}.wikipedia.org`: every
    // edition, the default one (`en`) included, is a path prefix on it.
    let editions = Upstream::start().await;
    let app = TestApp::spawn_with(Options {
        env: vec![(
            "LARDER_WIKIPEDIA_BASE_URL",
            format!("{}/{{lang}}", editions.url()),
        )],
        ..Default::default()
    })
    .await;
    editions.route(
        &format!("/de{SUMMARY}/Berlin"),
        Step::file(200, "wikipedia/berlin-de.json"),
    );
    editions.route(
        &format!("/en{SUMMARY}/AC%2FDC"),
        Step::file(200, "wikipedia/summary.json"),
    );

    let r = app
        .get("/v1/wikipedia/summary?title=Berlin&lang=de")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["lang"], "de");
    let hits = editions.hits();
    assert_eq!(hits.len(), 1);
    assert_eq!(hits[0].path, "/de/api/rest_v1/page/summary/Berlin");

    let r = app
        .get("/v1/wikipedia/summary?title=AC%2FDC")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(editions.count(), 2);
    assert_eq!(
        editions.hits()[1].path,
        "/en/api/rest_v1/page/summary/AC%2FDC"
    );

    // Not a host name: refused before any call.
    let r = app
        .get("/v1/wikipedia/summary?title=X&lang=evil.example%2F")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    // Letters, but not joined like an edition's code: refused too.
    let r = app
        .get("/v1/wikipedia/summary?title=X&lang=en--x")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    assert_eq!(editions.count() + app.upstream.count(), 2);
    app.stop().await;
}
