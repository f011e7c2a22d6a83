//! ExchangeRate-API open access against fixtures of its documented answers.

use crate::helpers::*;

#[tokio::test]
async fn rates_for_a_base() {
    let app = TestApp::spawn().await;
    app.upstream
        .route("/v6/latest/USD", Step::file(200, "currency/usd.json"));
    let r = app.get("/v1/currency/rates?base=USD").send().await.unwrap();
    assert_eq!(r.status(), 200);
    let age = max_age(&r);
    assert!(age > 3500 && age <= 3600, "an hour fresh: {age}");
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["base_code"], "USD");
    assert_eq!(body["rates"]["EUR"], 0.853877);
    let r = app.get("/v1/currency/rates?base=USD").send().await.unwrap();
    assert_eq!(r.headers()["x-cache"], "HIT");
    let hits = app.upstream.hits();
    assert_eq!(hits.len(), 1);
    assert_eq!(hits[0].path, "/v6/latest/USD");
    assert_eq!(hits[0].query, "");

    let r = app
        .get("/v1/currency/rates?base=DOLLAR")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    app.stop().await;
}

#[tokio::test]
async fn an_unsupported_code_is_negatively_cached() {
    let app = TestApp::spawn().await;
    app.upstream.route(
        "/v6/latest/XYZ",
        Step::file(200, "currency/unsupported-code.json"),
    );
    for _ in 0..2 {
        let r = app.get("/v1/currency/rates?base=XYZ").send().await.unwrap();
        assert_eq!(r.status(), 404);
        assert_eq!(error_code(r).await, "upstream-not-found");
    }
    assert_eq!(app.upstream.count(), 1, "404 remembered");
    app.stop().await;
}

#[tokio::test]
async fn another_error_result_fails_and_is_not_cached() {
    let app = TestApp::spawn().await;
    app.upstream.route(
        "/v6/latest/EUR",
        Step::file(200, "currency/malformed-request.json"),
    );
    let r = app.get("/v1/currency/rates?base=EUR").send().await.unwrap();
    assert_eq!(r.status(), 502);
    assert_eq!(error_code(r).await, "upstream-error");
    assert_eq!(cached_rows(&app).await, 0);
    app.stop().await;
}
