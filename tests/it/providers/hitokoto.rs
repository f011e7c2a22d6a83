//! Hitokoto sentences against fixtures from its developer documentation.

use crate::helpers::*;

#[tokio::test]
async fn a_sentence_with_categories_sent_one_by_one() {
    let app = TestApp::spawn().await;
    app.upstream
        .route("/", Step::file(200, "hitokoto/sentence.json"));
    let r = app
        .get("/v1/hitokoto/sentence?c=i,a&max_length=30")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["x-cache"], "MISS");
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["from_who"], "辛弃疾");
    let r = app.get("/v1/hitokoto/sentence?c=a,i").send().await.unwrap();
    assert_eq!(r.headers()["x-cache"], "HIT");
    let hits = app.upstream.hits();
    assert_eq!(hits.len(), 1);
    assert_eq!(
        hits[0].query,
        "c=a&c=i&encode=json&min_length=0&max_length=30"
    );

    let r = app
        .get("/v1/hitokoto/sentence?encode=text")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    app.stop().await;
}

#[tokio::test]
async fn no_sentence_in_range_is_negatively_cached() {
    let app = TestApp::spawn().await;
    app.upstream
        .route_query("/", "min_length=200", Step::file(400, "hitokoto/400.json"));
    for _ in 0..2 {
        let r = app
            .get("/v1/hitokoto/sentence?c=i&min_length=200&max_length=300")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 404);
    }
    assert_eq!(app.upstream.count(), 1, "404 remembered");
    assert_eq!(
        app.upstream.hits()[0].query,
        "c=i&encode=json&min_length=200&max_length=300"
    );
    app.stop().await;
}

#[tokio::test]
async fn an_answer_without_a_sentence_is_a_502_and_not_cached() {
    let app = TestApp::spawn().await;
    app.upstream.route(
        "/",
        Step::body(200, "晚日寒鸦一片愁。").header("content-type", "text/plain"),
    );
    let r = app.get("/v1/hitokoto/sentence").send().await.unwrap();
    assert_eq!(r.status(), 502);
    assert_eq!(error_code(r).await, "upstream-error");
    assert_eq!(cached_rows(&app).await, 0);
    app.stop().await;
}
