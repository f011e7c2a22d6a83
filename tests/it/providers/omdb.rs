//! OMDb against fixtures from its public documentation.

use crate::helpers::*;

#[tokio::test]
async fn a_title_is_fetched_with_the_key_and_cached() {
    let app = TestApp::spawn().await;
    app.upstream
        .route_query("/", "i=tt1375666", Step::file(200, "omdb/title.json"));
    let path = "/v1/omdb/title?i=tt1375666&plot=short";
    let r = app.get(path).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["x-cache"], "MISS");
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["Title"], "Inception");
    assert_eq!(body["imdbID"], "tt1375666");

    let r = app.get("/v1/omdb/title?i=tt1375666").send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["x-cache"], "HIT", "plot=short is the default");

    let hits = app.upstream.hits();
    assert_eq!(hits.len(), 1);
    assert_eq!(hits[0].method, "GET");
    assert_eq!(hits[0].path, "/");
    assert_eq!(hits[0].query, "i=tt1375666&apikey=test-api_key");
    app.stop().await;
}

#[tokio::test]
async fn a_missing_title_is_negatively_cached() {
    let app = TestApp::spawn().await;
    app.upstream.route_query(
        "/",
        "i=tt0000000",
        Step::file(200, "omdb/incorrect-id.json"),
    );
    app.upstream.route_query(
        "/",
        "t=no+such+film",
        Step::file(200, "omdb/not-found.json"),
    );
    for path in [
        "/v1/omdb/title?i=tt0000000",
        "/v1/omdb/title?t=No%20Such%20Film&type=movie",
    ] {
        for _ in 0..2 {
            let r = app.get(path).send().await.unwrap();
            assert_eq!(r.status(), 404, "{path}");
            assert_eq!(error_code(r).await, "upstream-not-found");
        }
    }
    assert_eq!(app.upstream.count(), 2, "each 404 asked once");
    assert_eq!(cached_rows(&app).await, 2);
    let title = &app.upstream.hits()[1];
    assert!(title.query.contains("t=no+such+film"), "{}", title.query);
    assert!(title.query.contains("type=movie"), "{}", title.query);
    app.stop().await;
}

#[tokio::test]
async fn a_search_lists_matches_and_an_empty_one_is_an_empty_list() {
    let app = TestApp::spawn().await;
    app.upstream
        .route_query("/", "s=batman", Step::file(200, "omdb/search.json"));
    app.upstream
        .route_query("/", "s=zzzzqx", Step::file(200, "omdb/not-found.json"));

    let r = app
        .get("/v1/omdb/search?s=Batman&type=movie&page=2")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["Search"][0]["Title"], "Batman Begins");
    assert_eq!(body["totalResults"], "582");
    let hit = &app.upstream.hits()[0];
    assert_eq!(hit.query, "page=2&s=batman&type=movie&apikey=test-api_key");

    for expect in ["MISS", "HIT"] {
        let r = app.get("/v1/omdb/search?s=zzzzqx").send().await.unwrap();
        assert_eq!(r.status(), 200, "an empty search is not a 404");
        assert_eq!(r.headers()["x-cache"], expect);
        let body: serde_json::Value = r.json().await.unwrap();
        assert_eq!(
            body,
            serde_json::json!({"Search": [], "totalResults": "0", "Response": "True"})
        );
    }
    assert_eq!(app.upstream.count(), 2);
    app.stop().await;
}

#[tokio::test]
async fn errors_in_a_200_fail_the_fill_and_nothing_is_cached() {
    let app = TestApp::spawn().await;
    app.upstream
        .route_query("/", "s=a&", Step::file(200, "omdb/too-many.json"));
    app.upstream
        .route_query("/", "i=tt0000001", Step::file(401, "omdb/invalid-key.json"));
    for _ in 0..2 {
        let r = app.get("/v1/omdb/search?s=a").send().await.unwrap();
        assert_eq!(r.status(), 502);
        assert_eq!(error_code(r).await, "upstream-rejected");
    }
    assert_eq!(app.upstream.count(), 2, "not cached, not retried");

    let r = app.get("/v1/omdb/title?i=tt0000001").send().await.unwrap();
    assert_eq!(r.status(), 502);
    assert_eq!(app.upstream.count(), 3, "a refused key is not retried");

    // Neither or both of i and t: a 400, never enqueued.
    for path in [
        "/v1/omdb/title?y=2010",
        "/v1/omdb/title?i=tt1375666&t=inception",
    ] {
        let r = app.get(path).send().await.unwrap();
        assert_eq!(r.status(), 400, "{path}");
        assert_eq!(error_code(r).await, "invalid-parameter");
    }
    assert_eq!(app.upstream.count(), 3);
    assert_eq!(cached_rows(&app).await, 0);
    app.stop().await;
}

#[tokio::test]
async fn without_a_key_omdb_is_disabled() {
    assert_disabled("/v1/omdb/title?i=tt1375666", "OMDB_API_KEY").await;
}
