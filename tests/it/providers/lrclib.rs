//! LRCLIB lyrics against fixtures from its public documentation.

use crate::helpers::*;

#[tokio::test]
async fn lyrics_are_found_by_their_metadata() {
    let app = TestApp::spawn().await;
    app.upstream
        .route("/api/get", Step::file(200, "lrclib/get.json"));
    let r = app
        .get("/v1/lrclib/get?track_name=I%20Want%20to%20Live&artist_name=Borislav+Slavov&duration=233")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.text().await.unwrap().contains("syncedLyrics"));
    // Case and spacing do not make another entry.
    let r = app
        .get(
            "/v1/lrclib/get?artist_name=borislav%20slavov&track_name=i+want+to+live&duration=233.2",
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()["x-cache"], "HIT");
    let hits = app.upstream.hits();
    assert_eq!(hits.len(), 1);
    assert_eq!(hits[0].path, "/api/get");
    assert_eq!(
        hits[0].query,
        "artist_name=borislav+slavov&duration=233&track_name=i+want+to+live"
    );
    app.stop().await;
}

#[tokio::test]
async fn a_missing_track_is_remembered_briefly() {
    let app = TestApp::spawn().await;
    app.upstream
        .route("/api/get", Step::file(404, "lrclib/404.json"));
    for _ in 0..3 {
        let r = app
            .get("/v1/lrclib/get?track_name=Nothing&artist_name=Nobody")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 404);
        assert_eq!(error_code(r).await, "upstream-not-found");
    }
    assert_eq!(app.upstream.count(), 1, "404 remembered");
    // LRCLIB may find the track later: hours, not days.
    assert_eq!(
        app.db
            .count(
                "SELECT count(*) FROM larder_cache WHERE status = 404 \
                 AND fresh_until BETWEEN now() + interval '5 hours' AND now() + interval '7 hours'"
            )
            .await,
        1
    );
    app.stop().await;
}

#[tokio::test]
async fn searches_with_and_without_hits_are_200() {
    let app = TestApp::spawn().await;
    app.upstream.route_query(
        "/api/search",
        "q=still+alive",
        Step::file(200, "lrclib/search.json"),
    );
    app.upstream
        .route_query("/api/search", "q=zzzz", Step::body(200, "[]"));
    let r = app
        .get("/v1/lrclib/search?q=Still%20Alive")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body.as_array().unwrap().len(), 2);
    let r = app.get("/v1/lrclib/search?q=zzzz").send().await.unwrap();
    assert_eq!(r.status(), 200, "an empty search is not a 404");
    assert_eq!(r.text().await.unwrap(), "[]");
    let r = app.get("/v1/lrclib/search?q=ZZZZ").send().await.unwrap();
    assert_eq!(r.headers()["x-cache"], "HIT");
    assert_eq!(app.upstream.count(), 2);
    app.stop().await;
}
