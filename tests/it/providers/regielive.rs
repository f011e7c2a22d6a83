//! RegieLive against fixtures shaped like the answers Bazarr reads.

use std::time::Duration;

use crate::helpers::*;

const UP: &str = "/bazarr/search.php";

#[tokio::test]
async fn a_search_sends_the_rl_api_header_and_its_parameters() {
    let app = TestApp::spawn().await;
    app.upstream
        .route(UP, Step::file(200, "regielive/search.json"));
    let r = app
        .get("/v1/regielive/search?nume=Chernobyl&sezon=1&episod=4&an=2019")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(
        body["rezultate"]["33336"]["subtitrari"]["418567"]["rating"]["nota"],
        4.89
    );
    let r = app
        .get("/v1/regielive/search?an=2019&episod=04&sezon=1&nume=chernobyl")
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()["x-cache"], "HIT");
    let hits = app.upstream.hits();
    assert_eq!(hits.len(), 1);
    assert_eq!(hits[0].query, "an=2019&episod=4&nume=chernobyl&sezon=1");
    assert_eq!(
        hits[0].header("rl-api"),
        Some("API-BAZARR-YTZ-SL"),
        "Bazarr's public identifier when none is configured"
    );
    app.stop().await;
}

#[tokio::test]
async fn an_empty_result_is_a_cached_200() {
    let app = TestApp::spawn().await;
    app.upstream
        .route(UP, Step::file(200, "regielive/empty.json"));
    for expect in ["MISS", "HIT"] {
        let r = app
            .get("/v1/regielive/search?nume=no%20such%20film")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "an empty search is not a 404");
        assert_eq!(r.headers()["x-cache"], expect);
        let body: serde_json::Value = r.json().await.unwrap();
        assert_eq!(body, serde_json::json!({"rezultate": {}}));
    }
    assert_eq!(app.upstream.count(), 1);
    app.stop().await;
}

#[tokio::test]
async fn a_301_slows_down_and_a_page_that_is_not_json_is_not_cached() {
    // The 8 s spacing would only make this test slow.
    let app = TestApp::with_env(&[
        ("LARDER_REGIELIVE_RATE", "20/s"),
        ("REGIELIVE_API_KEY", "larder-own"),
    ])
    .await;
    app.upstream
        .script(UP, [Step::body(301, "").header("retry-after", "2")]);
    app.upstream.route_query(
        UP,
        "nume=chernobyl",
        Step::file(200, "regielive/search.json"),
    );
    app.upstream.route_query(
        UP,
        "nume=broken",
        Step::body(200, "<html>Eroare</html>").header("content-type", "text/html"),
    );
    let r = app
        .get("/v1/regielive/search?nume=chernobyl")
        .header("prefer", "wait=20")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let hits = app.upstream.hits();
    assert_eq!(hits.len(), 2, "the 301 is not followed");
    let gap = hits[1].at - hits[0].at;
    // Asked for 2 s; a deferred fill may start up to 0.5 s early (the
    // queue schedules whole seconds), still well past the 1 s fallback.
    assert!(gap >= Duration::from_millis(1200), "{gap:?}");
    assert_eq!(hits[1].header("rl-api"), Some("larder-own"));

    let r = app
        .get("/v1/regielive/search?nume=broken")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 502);
    assert_eq!(error_code(r).await, "upstream-error");
    assert_eq!(cached_rows(&app).await, 1);
    app.stop().await;
}
