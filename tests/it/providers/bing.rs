//! Bing's image archive against a fixture of its JSON answer.

use crate::helpers::*;

const ARCHIVE: &str = "/HPImageArchive.aspx";

#[tokio::test]
async fn the_wallpaper_is_asked_as_json_with_every_parameter() {
    let app = TestApp::spawn().await;
    app.upstream
        .route(ARCHIVE, Step::file(200, "bing/wallpaper.json"));
    let r = app
        .get("/v1/bing/wallpaper?mkt=en-us")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["x-cache"], "MISS");
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["images"][0]["startdate"], "20240529");
    let r = app
        .get("/v1/bing/wallpaper?idx=0&n=1&mkt=en-US")
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()["x-cache"], "HIT");
    let hits = app.upstream.hits();
    assert_eq!(hits.len(), 1);
    assert_eq!(hits[0].query, "format=js&idx=0&n=1&mkt=en-US");

    let r = app.get("/v1/bing/wallpaper?idx=8").send().await.unwrap();
    assert_eq!(r.status(), 400);
    app.stop().await;
}

#[tokio::test]
async fn an_answer_without_images_is_a_502_and_not_cached() {
    let app = TestApp::spawn().await;
    app.upstream
        .route_query(ARCHIVE, "idx=7", Step::file(200, "bing/empty.json"));
    app.upstream
        .route_query(ARCHIVE, "idx=6", Step::body(200, "null"));
    for idx in [7, 6] {
        let r = app
            .get(&format!("/v1/bing/wallpaper?idx={idx}"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 502, "idx={idx}");
        assert_eq!(error_code(r).await, "upstream-error");
    }
    assert_eq!(cached_rows(&app).await, 0);
    app.stop().await;
}
