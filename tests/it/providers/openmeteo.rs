//! Open-Meteo's air-quality, geocoding and archive APIs, each on its own
//! host, against fixtures from its public documentation.

use serde_json::Value;

use crate::helpers::*;

/// An app whose three extra Open-Meteo hosts are a second upstream, each
/// under its own path prefix: a call that reaches it went to its host.
async fn app_with_hosts() -> (TestApp, Upstream) {
    let hosts = Upstream::start().await;
    let base = |prefix: &str| format!("{}/{prefix}", hosts.url());
    let app = TestApp::with_env(&[
        ("LARDER_OPENMETEO_AIR_QUALITY_BASE_URL", &base("aq")),
        ("LARDER_OPENMETEO_GEOCODING_BASE_URL", &base("geo")),
        ("LARDER_OPENMETEO_ARCHIVE_BASE_URL", &base("archive")),
    ])
    .await;
    (app, hosts)
}

#[tokio::test]
async fn air_quality_is_fetched_from_its_host_then_cached() {
    let (app, hosts) = app_with_hosts().await;
    hosts.route(
        "/aq/v1/air-quality",
        Step::file(200, "openmeteo/air-quality.json"),
    );
    let path = "/v1/openmeteo/air-quality?latitude=52.55&longitude=13.45&current=us_aqi,european_aqi,pm2_5";
    let r = app.get(path).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["x-cache"], "MISS");
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["current"]["us_aqi"], 44);
    let r = app.get(path).send().await.unwrap();
    assert_eq!(r.headers()["x-cache"], "HIT");

    let hits = hosts.hits();
    assert_eq!(hits.len(), 1);
    assert_eq!(
        hits[0].query,
        "current=european_aqi%2Cpm2_5%2Cus_aqi&latitude=52.55&longitude=13.45"
    );
    assert_eq!(app.upstream.count(), 0, "nothing went to the forecast host");
    app.stop().await;
}

#[tokio::test]
async fn geocoding_asks_for_json_and_no_match_is_a_cached_200() {
    let (app, hosts) = app_with_hosts().await;
    hosts.route_query(
        "/geo/v1/search",
        "name=berlin",
        Step::file(200, "openmeteo/geocoding.json"),
    );
    hosts.route(
        "/geo/v1/search",
        Step::file(200, "openmeteo/geocoding-empty.json"),
    );
    let r = app
        .get("/v1/openmeteo/geocoding?name=Berlin&count=1")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["results"][0]["timezone"], "Europe/Berlin");

    for expected in ["MISS", "HIT"] {
        let r = app
            .get("/v1/openmeteo/geocoding?name=Nowhereville")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "no match is not a 404");
        assert_eq!(r.headers()["x-cache"], expected);
        let body: Value = r.json().await.unwrap();
        assert!(body.get("results").is_none());
    }
    let hits = hosts.hits();
    assert_eq!(hits.len(), 2, "the empty answer was cached");
    assert_eq!(hits[0].query, "count=1&name=berlin&format=json");
    assert_eq!(hits[1].query, "name=nowhereville&format=json");
    app.stop().await;
}

#[tokio::test]
async fn archive_errors_are_502_and_not_cached() {
    let (app, hosts) = app_with_hosts().await;
    let up = "/archive/v1/archive";
    hosts.script(up, [Step::file(400, "openmeteo/400-range.json")]);
    hosts.route(up, Step::file(200, "openmeteo/archive.json"));
    let path = "/v1/openmeteo/archive?latitude=52.52&longitude=13.41&start_date=2024-01-01&end_date=2024-01-02&daily=temperature_2m_max,precipitation_sum&timezone=Europe/Berlin";

    let r = app.get(path).send().await.unwrap();
    assert_eq!(r.status(), 502);
    assert_eq!(error_code(r).await, "upstream-rejected");
    assert_eq!(hosts.count(), 1, "a 400 is not retried");
    assert_eq!(cached_rows(&app).await, 0);

    let r = app.get(path).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["x-cache"], "MISS");
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["daily"]["temperature_2m_max"][1], 7.4);
    let hits = hosts.hits();
    assert_eq!(hits.len(), 2);
    assert!(
        hits[1].query.contains("start_date=2024-01-01"),
        "{}",
        hits[1].query
    );
    assert!(
        hits[1].query.contains("end_date=2024-01-02"),
        "{}",
        hits[1].query
    );
    app.stop().await;
}
