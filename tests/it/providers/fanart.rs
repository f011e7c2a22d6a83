//! fanart.tv against fixtures from its public documentation.

use crate::helpers::*;

#[tokio::test]
async fn artwork_bundles_are_fetched_with_the_key_and_cached() {
    let app = TestApp::spawn().await;
    app.upstream
        .route("/v3/movies/550", Step::file(200, "fanart/movie.json"));
    app.upstream
        .route("/v3/tv/81189", Step::file(200, "fanart/tv.json"));
    let mbid = "a74b1b7f-71a5-4011-9441-d0b5e4122711";
    app.upstream.route(
        &format!("/v3/music/{mbid}"),
        Step::file(200, "fanart/music.json"),
    );
    for (path, name) in [
        ("/v1/fanart/movie/550".to_string(), "Fight Club"),
        ("/v1/fanart/tv/81189".to_string(), "Breaking Bad"),
        (format!("/v1/fanart/music/{mbid}"), "Radiohead"),
    ] {
        let r = app.get(&path).send().await.unwrap();
        assert_eq!(r.status(), 200, "{path}");
        assert_eq!(r.headers()["x-cache"], "MISS");
        let body: serde_json::Value = r.json().await.unwrap();
        assert_eq!(body["name"], name);
        let r = app.get(&path).send().await.unwrap();
        assert_eq!(r.headers()["x-cache"], "HIT");
    }
    let hits = app.upstream.hits();
    assert_eq!(hits.len(), 3);
    let paths: Vec<&str> = hits.iter().map(|h| h.path.as_str()).collect();
    assert_eq!(
        paths,
        [
            "/v3/movies/550",
            "/v3/tv/81189",
            "/v3/music/a74b1b7f-71a5-4011-9441-d0b5e4122711"
        ]
    );
    for h in &hits {
        assert_eq!(h.query, "api_key=test-api_key");
    }
    app.stop().await;
}

#[tokio::test]
async fn no_artwork_is_negatively_cached() {
    let app = TestApp::spawn().await;
    app.upstream
        .route("/v3/tv/1", Step::file(404, "fanart/not-found.json"));
    // Seen from fanart.tv too: "not found" in a 200.
    app.upstream
        .route("/v3/movies/2", Step::file(200, "fanart/not-found.json"));
    for path in ["/v1/fanart/tv/1", "/v1/fanart/movie/2"] {
        for _ in 0..2 {
            let r = app.get(path).send().await.unwrap();
            assert_eq!(r.status(), 404, "{path}");
            assert_eq!(error_code(r).await, "upstream-not-found");
        }
    }
    assert_eq!(app.upstream.count(), 2, "each asked once");
    app.stop().await;
}

#[tokio::test]
async fn a_bare_404_is_not_remembered_and_a_refused_key_fails() {
    let app = TestApp::spawn().await;
    app.upstream.route(
        "/v3/movies/3",
        Step::body(404, "<html>Not Found</html>").header("content-type", "text/html"),
    );
    app.upstream.route(
        "/v3/movies/4",
        Step::body(
            200,
            r#"{"status":"error","error message":"API key is required"}"#,
        ),
    );
    for path in ["/v1/fanart/movie/3", "/v1/fanart/movie/4"] {
        let r = app.get(path).send().await.unwrap();
        assert_eq!(r.status(), 502, "{path}");
    }
    assert_eq!(app.upstream.count(), 2, "neither retried");
    assert_eq!(cached_rows(&app).await, 0);
    app.stop().await;
}

#[tokio::test]
async fn without_a_key_fanart_is_disabled() {
    assert_disabled("/v1/fanart/movie/550", "FANART_API_KEY").await;
}
