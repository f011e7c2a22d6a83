//! ASSRT subtitles against fixtures from its public documentation.

use crate::helpers::*;

const SEARCH: &str = "/v1/sub/search";
const DETAIL: &str = "/v1/sub/detail";

#[tokio::test]
async fn a_search_sends_the_token_and_an_empty_one_is_an_empty_list() {
    let app = TestApp::spawn().await;
    app.upstream
        .route_query(SEARCH, "q=the+matrix", Step::file(200, "assrt/search.json"));
    app.upstream.route_query(
        SEARCH,
        "q=the+astronaut",
        Step::file(200, "assrt/search-empty.json"),
    );
    let r = app
        .get("/v1/assrt/search?q=The%20Matrix&is_file=true&cnt=15&filelist=1")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["x-cache"], "MISS");
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["sub"]["subs"][1]["id"], 673114);
    let hit = &app.upstream.hits()[0];
    assert_eq!(hit.method, "GET");
    assert_eq!(
        hit.query, "filelist=1&is_file=1&q=the+matrix&token=test-api_key",
        "flags as 1, defaults dropped, the token as a query parameter"
    );

    for expect in ["MISS", "HIT"] {
        let r = app
            .get("/v1/assrt/search?q=The+Astronaut+(2025)+[2160p]")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "an empty search is not a 404");
        assert_eq!(r.headers()["x-cache"], expect);
        let body: serde_json::Value = r.json().await.unwrap();
        assert_eq!(body["status"], 0);
        assert_eq!(body["sub"]["subs"], serde_json::json!([]));
    }
    assert_eq!(app.upstream.count(), 2);
    app.stop().await;
}

#[tokio::test]
async fn a_detail_lives_minutes_and_an_unknown_id_is_negatively_cached() {
    let app = TestApp::spawn().await;
    app.upstream
        .route_query(DETAIL, "id=673114", Step::file(200, "assrt/detail.json"));
    // The not-found status decides, whatever the HTTP status says.
    app.upstream
        .route_query(DETAIL, "id=999999", Step::file(200, "assrt/not-found.json"));
    app.upstream
        .route_query(DETAIL, "id=999998", Step::file(404, "assrt/not-found.json"));

    let r = app.get("/v1/assrt/sub/673114").send().await.unwrap();
    assert_eq!(r.status(), 200);
    let age = max_age(&r);
    assert!(age > 0 && age <= 600, "signed links: {age}");
    let body: serde_json::Value = r.json().await.unwrap();
    assert!(
        body["sub"]["subs"][0]["url"]
            .as_str()
            .unwrap()
            .contains("api=1")
    );
    let hit = &app.upstream.hits()[0];
    assert_eq!(hit.path, DETAIL);
    assert_eq!(hit.query, "id=673114&token=test-api_key");

    for id in [999999, 999998] {
        for _ in 0..2 {
            let r = app
                .get(&format!("/v1/assrt/sub/{id}"))
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 404, "{id}");
            assert_eq!(error_code(r).await, "upstream-not-found");
        }
    }
    assert_eq!(app.upstream.count(), 3, "each unknown id asked once");
    assert_eq!(cached_rows(&app).await, 3);
    app.stop().await;
}

#[tokio::test]
async fn an_error_status_in_a_200_fails_the_fill_and_is_not_cached() {
    let app = TestApp::spawn().await;
    app.upstream
        .route(SEARCH, Step::file(200, "assrt/invalid-token.json"));
    for _ in 0..2 {
        let r = app.get("/v1/assrt/search?q=matrix").send().await.unwrap();
        assert_eq!(r.status(), 502);
        assert_eq!(error_code(r).await, "upstream-rejected");
    }
    assert_eq!(app.upstream.count(), 2, "not cached, not retried");
    assert_eq!(cached_rows(&app).await, 0);
    app.stop().await;
}

#[tokio::test]
async fn the_quota_status_slows_down_then_the_search_succeeds() {
    let app = TestApp::spawn().await;
    app.upstream.script(
        SEARCH,
        [Step::file(200, "assrt/quota.json").header("retry-after", "2")],
    );
    app.upstream
        .route(SEARCH, Step::file(200, "assrt/search.json"));
    let r = app
        .get("/v1/assrt/search?q=matrix")
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
    assert!(gap >= std::time::Duration::from_millis(1200), "{gap:?}");
    app.stop().await;
}

#[tokio::test]
async fn without_a_token_the_provider_is_disabled() {
    assert_disabled("/v1/assrt/search?q=matrix", "ASSRT_API_KEY").await;
}
