//! ZenQuotes against fixtures from its documentation and clients.

use crate::helpers::*;

#[tokio::test]
async fn random_and_today() {
    let app = TestApp::spawn().await;
    app.upstream
        .route("/api/random", Step::file(200, "zenquotes/random.json"));
    app.upstream
        .route("/api/today", Step::file(200, "zenquotes/today.json"));
    let r = app.get("/v1/zenquotes/random").send().await.unwrap();
    assert_eq!(r.status(), 200);
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body[0]["a"], "Robert Frost");
    let r = app.get("/v1/zenquotes/today").send().await.unwrap();
    assert_eq!(r.status(), 200);
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body[0]["a"], "Audrey Hepburn");
    let r = app.get("/v1/zenquotes/today").send().await.unwrap();
    assert_eq!(r.headers()["x-cache"], "HIT");
    let paths: Vec<String> = app.upstream.hits().into_iter().map(|h| h.path).collect();
    assert_eq!(paths, ["/api/random", "/api/today"]);
    app.stop().await;
}

#[tokio::test]
async fn the_throttle_quote_pauses_the_provider_and_is_never_cached() {
    let app = TestApp::spawn().await;
    // Served with a 200, as several clients report.
    app.upstream
        .route("/api/random", Step::file(200, "zenquotes/throttled.json"));
    let r = app
        .get("/v1/zenquotes/random")
        .header("prefer", "wait=2")
        .send()
        .await
        .unwrap();
    assert_ne!(r.status(), 200);
    let text = r.text().await.unwrap();
    assert!(!text.contains("Too many requests"), "{text}");
    assert_eq!(cached_rows(&app).await, 0);
    let paused = app
        .db
        .count(
            "SELECT count(*) FROM larder_rate
              WHERE provider = 'zenquotes' AND paused_until > now() + interval '20 seconds'",
        )
        .await;
    assert_eq!(paused, 1, "paused for the 30-second window");
    assert_eq!(app.upstream.count(), 1, "no call during the pause");
    app.stop().await;
}
