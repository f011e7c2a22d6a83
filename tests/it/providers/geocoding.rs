//! Geocoding (Open-Meteo and Nominatim, one schema) against fixtures from
//! their public documentation.

use serde_json::Value;

use crate::helpers::*;

#[tokio::test]
async fn forward_maps_open_meteo_and_is_cached() {
    let app = TestApp::spawn().await;
    app.upstream.route(
        "/v1/search",
        Step::file(200, "geocoding/open-meteo-tokyo.json"),
    );
    let path = "/v1/geocoding/forward?q=Tokyo&count=2";
    let r = app.get(path).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["x-cache"], "MISS");
    let body: Value = r.json().await.unwrap();
    let results = body["results"].as_array().unwrap();
    assert_eq!(results.len(), 2);
    assert_eq!(results[0]["source"], "open-meteo");
    assert_eq!(results[0]["name"], "Tokyo");
    assert_eq!(results[0]["latitude"], 35.6895);
    assert_eq!(results[0]["country_code"], "JP");
    assert_eq!(results[0]["timezone"], "Asia/Tokyo");
    assert_eq!(results[0]["display_name"], "Tokyo, Japan");
    let r = app.get(path).send().await.unwrap();
    assert_eq!(r.headers()["x-cache"], "HIT");

    let hits = app.upstream.hits();
    assert_eq!(hits.len(), 1, "Open-Meteo knew it: Nominatim was not asked");
    assert_eq!(hits[0].path, "/v1/search");
    assert_eq!(hits[0].query, "name=tokyo&count=2&language=en&format=json");
    app.stop().await;
}

#[tokio::test]
async fn forward_falls_back_to_nominatim_and_nothing_is_an_empty_200() {
    // Nominatim's 1/s spaces the two fallbacks; waiting for the slot in the
    // fill (not deferring it, which runs its Open-Meteo call again) keeps
    // the calls countable.
    let app = TestApp::with_env(&[("LARDER_WORKER_MAX_RATE_WAIT", "3s")]).await;
    app.upstream.route(
        "/v1/search",
        Step::file(200, "geocoding/open-meteo-none.json"),
    );
    app.upstream
        .route_query("/search", "q=nowhere", Step::body(200, "[]"));
    app.upstream.route(
        "/search",
        Step::file(200, "geocoding/nominatim-search.json"),
    );
    let r = app
        .get("/v1/geocoding/forward?q=Brandenburger%20Tor&language=de")
        .header("prefer", "wait=10")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let body: Value = r.json().await.unwrap();
    let place = &body["results"][0];
    assert_eq!(place["source"], "nominatim");
    assert_eq!(place["name"], "Brandenburger Tor");
    assert_eq!(place["latitude"], 52.5162699);
    assert_eq!(place["country_code"], "DE");
    assert_eq!(place["admin1"], "Berlin");
    assert_eq!(place["ref"], "osm:way:518071791");

    let r = app
        .get("/v1/geocoding/forward?q=nowhere")
        .header("prefer", "wait=10")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body, serde_json::json!({"results": []}));

    let hits = app.upstream.hits();
    let paths: Vec<&str> = hits.iter().map(|h| h.path.as_str()).collect();
    assert_eq!(paths, ["/v1/search", "/search", "/v1/search", "/search"]);
    assert_eq!(
        hits[1].query,
        "q=brandenburger+tor&limit=10&accept-language=de&addressdetails=1&format=jsonv2"
    );
    assert_eq!(hits[1].user_agent.as_deref(), Some("test-user_agent"));
    app.stop().await;
}

#[tokio::test]
async fn reverse_maps_nominatim_and_nothing_there_is_a_remembered_404() {
    let app = TestApp::spawn().await;
    app.upstream.route_query(
        "/reverse",
        "lat=0&",
        Step::file(200, "geocoding/nominatim-unable.json"),
    );
    app.upstream.route(
        "/reverse",
        Step::file(200, "geocoding/nominatim-reverse.json"),
    );
    let r = app
        .get("/v1/geocoding/reverse?lat=35.68012&lon=139.69021&language=ja")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let body: Value = r.json().await.unwrap();
    let place = &body["results"][0];
    assert_eq!(place["source"], "nominatim");
    assert_eq!(place["name"], "甲州街道");
    assert_eq!(place["country_code"], "JP");
    assert_eq!(place["admin1"], "東京都");
    assert_eq!(place["locality"], "新宿区");
    assert_eq!(place["postcode"], "160-0023");

    for _ in 0..2 {
        let r = app
            .get("/v1/geocoding/reverse?lat=0&lon=-20")
            .header("prefer", "wait=10")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 404);
    }
    let hits = app.upstream.hits();
    assert_eq!(hits.len(), 2, "the 404 is remembered");
    assert_eq!(
        hits[0].query,
        "lat=35.68012&lon=139.69021&zoom=18&accept-language=ja&addressdetails=1&format=jsonv2"
    );
    assert_eq!(hits[0].user_agent.as_deref(), Some("test-user_agent"));
    app.stop().await;
}

#[tokio::test]
async fn disabled_without_nominatims_user_agent() {
    assert_disabled("/v1/geocoding/forward?q=berlin", "NOMINATIM_USER_AGENT").await;
}
