//! TMDB's collection, multi/collection search, find, trending and genre
//! routes against fixtures from its reference (movie, tv, person, search and
//! configuration are covered by reads.rs and faults.rs).

use crate::helpers::*;

#[tokio::test]
async fn a_collection_is_cached_and_an_unknown_one_negatively() {
    let app = TestApp::spawn().await;
    for expect in ["MISS", "HIT"] {
        let r = app
            .get("/v1/tmdb/collection/10?language=en-US")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        assert_eq!(r.headers()["x-cache"], expect);
        let body: serde_json::Value = r.json().await.unwrap();
        assert_eq!(body["name"], "Star Wars Collection");
    }
    for _ in 0..2 {
        let r = app.get("/v1/tmdb/collection/999999").send().await.unwrap();
        assert_eq!(r.status(), 404);
        assert_eq!(error_code(r).await, "upstream-not-found");
    }
    let hits = app.upstream.hits();
    assert_eq!(hits.len(), 2);
    assert_eq!(hits[0].path, "/3/collection/10");
    assert_eq!(
        hits[0].query, "api_key=testkey1",
        "en-US is TMDB's default: not sent"
    );
    assert_eq!(hits[1].path, "/3/collection/999999");
    app.stop().await;
}

#[tokio::test]
async fn find_search_trending_and_genres_reach_their_paths() {
    let app = TestApp::spawn().await;
    for (path, upstream, query, check) in [
        (
            "/v1/tmdb/find/tt17663992?external_source=imdb_id",
            "/3/find/tt17663992",
            "external_source=imdb_id&api_key=testkey1",
            ("/movie_results/0/title", "Scream VI"),
        ),
        (
            "/v1/tmdb/search/multi?query=Star%20Wars&include_adult=false",
            "/3/search/multi",
            "query=star+wars&api_key=testkey1",
            ("/results/1/media_type", "tv"),
        ),
        (
            "/v1/tmdb/search/collection?query=Avengers&region=us",
            "/3/search/collection",
            "query=avengers&region=US&api_key=testkey1",
            ("/results/0/name", "The Avengers Collection"),
        ),
        (
            "/v1/tmdb/trending/all/day",
            "/3/trending/all/day",
            "api_key=testkey1",
            ("/results/0/media_type", "tv"),
        ),
        (
            "/v1/tmdb/trending/movie/week?page=2&language=de",
            "/3/trending/movie/week",
            "language=de&page=2&api_key=testkey1",
            ("/results/0/title", "Star Wars"),
        ),
        (
            "/v1/tmdb/genre/tv/list?language=en",
            "/3/genre/tv/list",
            "api_key=testkey1",
            ("/genres/0/name", "Action & Adventure"),
        ),
        (
            "/v1/tmdb/genre/movie/list",
            "/3/genre/movie/list",
            "api_key=testkey1",
            ("/genres/3/name", "Science Fiction"),
        ),
    ] {
        let r = app.get(path).send().await.unwrap();
        assert_eq!(r.status(), 200, "{path}");
        let body: serde_json::Value = r.json().await.unwrap();
        assert_eq!(body.pointer(check.0).unwrap(), check.1, "{path}");
        let hit = app.upstream.hits().pop().unwrap();
        assert_eq!(hit.path, upstream, "{path}");
        assert_eq!(hit.query, query, "{path}");
    }
    // A genre list lives a week.
    let r = app.get("/v1/tmdb/genre/movie/list").send().await.unwrap();
    assert_eq!(r.headers()["x-cache"], "HIT");
    let age = max_age(&r);
    assert!(age > 6 * 86_400, "{age}");
    app.stop().await;
}

#[tokio::test]
async fn an_id_linked_to_nothing_is_an_empty_200_and_bad_paths_are_400s() {
    let app = TestApp::spawn().await;
    for expect in ["MISS", "HIT"] {
        let r = app
            .get("/v1/tmdb/find/tt0000000?external_source=IMDB_ID")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        assert_eq!(r.headers()["x-cache"], expect);
        let body: serde_json::Value = r.json().await.unwrap();
        assert_eq!(body["movie_results"], serde_json::json!([]));
    }
    assert_eq!(app.upstream.count(), 1);
    for (path, code) in [
        ("/v1/tmdb/trending/all/month", "unknown-resource"),
        ("/v1/tmdb/trending/films/day", "invalid-parameter"),
        ("/v1/tmdb/genre/person/list", "invalid-parameter"),
        ("/v1/tmdb/find/tt0111161", "missing-parameter"),
        (
            "/v1/tmdb/find/tt0111161?external_source=freebase_mid",
            "invalid-parameter",
        ),
        ("/v1/tmdb/collection/abc", "invalid-parameter"),
    ] {
        let r = app.get(path).send().await.unwrap();
        assert_eq!(r.status(), 400, "{path}");
        assert_eq!(error_code(r).await, code, "{path}");
    }
    assert_eq!(app.upstream.count(), 1, "no call for a bad request");
    assert_eq!(cached_rows(&app).await, 1);
    app.stop().await;
}
