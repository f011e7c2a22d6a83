//! Public holidays (Nager.Date, with timor.tech for China) against fixtures
//! from their public documentation.

use serde_json::{Value, json};

use crate::helpers::*;

#[tokio::test]
async fn a_country_year_is_nagers_list_in_the_common_schema() {
    let app = TestApp::spawn().await;
    app.upstream.route(
        "/api/v3/PublicHolidays/2025/US",
        Step::file(200, "holiday/nager-us-2025.json"),
    );
    let r = app.get("/v1/holiday/us/2025").send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["x-cache"], "MISS");
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["country"], "US");
    assert_eq!(body["year"], 2025);
    assert_eq!(body["holidays"].as_array().unwrap().len(), 3);
    assert_eq!(body["holidays"][2]["counties"], json!(["US-VT"]));
    assert_eq!(body["rest_days"], Value::Null);
    assert_eq!(body["adjusted_workdays"], Value::Null);
    let r = app.get("/v1/holiday/US/2025").send().await.unwrap();
    assert_eq!(r.headers()["x-cache"], "HIT");
    assert_eq!(app.upstream.count(), 1);
    app.stop().await;
}

#[tokio::test]
async fn china_merges_timors_rest_days_and_workdays() {
    let app = TestApp::spawn().await;
    app.upstream.route(
        "/api/v3/PublicHolidays/2025/CN",
        Step::file(200, "holiday/nager-cn-2025.json"),
    );
    app.upstream.route(
        "/api/holiday/year/2025",
        Step::file(200, "holiday/timor-2025.json"),
    );
    let r = app.get("/v1/holiday/CN/2025").send().await.unwrap();
    assert_eq!(r.status(), 200);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["holidays"][1]["localName"], "春节");
    let rest: Vec<&str> = body["rest_days"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["date"].as_str().unwrap())
        .collect();
    assert_eq!(rest, ["2025-01-01", "2025-01-28", "2025-01-29"]);
    assert_eq!(
        body["adjusted_workdays"],
        json!([
            {"date": "2025-01-26", "name": "春节前补班", "target": "春节", "after": false},
            {"date": "2025-02-08", "name": "春节后补班", "target": "春节", "after": true}
        ])
    );
    assert!(
        body["rest_days"][0].get("rest").is_none(),
        "volatile field dropped"
    );
    let paths: Vec<String> = app.upstream.hits().into_iter().map(|h| h.path).collect();
    assert_eq!(
        paths,
        ["/api/v3/PublicHolidays/2025/CN", "/api/holiday/year/2025"]
    );
    app.stop().await;
}

#[tokio::test]
async fn an_unknown_country_is_a_remembered_404_whatever_the_body() {
    let app = TestApp::spawn().await;
    // Nager's 404 may come with a problem document or with nothing.
    app.upstream.route(
        "/api/v3/PublicHolidays/2025/XX",
        Step::body(404, "").header("content-type", "text/plain"),
    );
    app.upstream.route(
        "/api/v3/PublicHolidays/2025/XY",
        Step::file(404, "holiday/nager-404.json")
            .header("content-type", "application/problem+json"),
    );
    for path in ["/v1/holiday/XX/2025", "/v1/holiday/XY/2025"] {
        for _ in 0..2 {
            let r = app.get(path).send().await.unwrap();
            assert_eq!(r.status(), 404, "{path}");
            assert_eq!(error_code(r).await, "upstream-not-found");
        }
    }
    assert_eq!(app.upstream.count(), 2, "each 404 is remembered");
    app.stop().await;
}

#[tokio::test]
async fn a_timor_error_in_a_200_is_retried_then_502_and_not_cached() {
    let app = TestApp::with_env(&[("LARDER_UPSTREAM_ATTEMPTS", "2")]).await;
    app.upstream.route(
        "/api/v3/PublicHolidays/2026/CN",
        Step::file(200, "holiday/nager-cn-2025.json"),
    );
    app.upstream.route(
        "/api/holiday/year/2026",
        Step::file(200, "holiday/timor-error.json"),
    );
    let r = app
        .get("/v1/holiday/CN/2026")
        .header("prefer", "wait=20")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 502);
    assert_eq!(error_code(r).await, "upstream-error");
    assert_eq!(cached_rows(&app).await, 0);
    let timor_calls = app
        .upstream
        .hits()
        .iter()
        .filter(|h| h.path == "/api/holiday/year/2026")
        .count();
    assert_eq!(timor_calls, 2, "retried once");
    app.stop().await;
}
