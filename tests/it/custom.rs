//! Custom upstreams declared in `larder.toml`, served like built-in providers.

use crate::helpers::*;

const CONFIG: &str = r#"
[[provider]]
id = "weatherco"
title = "WeatherCo stations"
base_url = "{upstream}/api"
rate = "5/s"
credential = { env = "WEATHERCO_KEY", header = "X-Api-Key" }

[[provider.resource]]
name = "station"
route = "station/{id}"
upstream = "/v2/stations/{id}"
ttl = "1h"
negative_ttl = "5m"
params = [
  { name = "id", type = "int", min = 1, max = 999999, required = true },
  { name = "units", type = "one-of", values = ["metric", "imperial"], default = "metric" },
]
"#;

async fn app(key: &str) -> TestApp {
    TestApp::spawn_with(Options {
        config_file: Some(CONFIG.into()),
        env: vec![("WEATHERCO_KEY", key.into())],
        ..Default::default()
    })
    .await
}

#[tokio::test]
async fn a_custom_provider_is_served_with_its_credential_and_cached() {
    let app = app("wc-secret").await;
    app.upstream.route(
        "/api/v2/stations/42",
        Step::body(200, r#"{"id":42,"name":"Tempelhof","temp":3.5}"#),
    );
    let r = app
        .get("/v1/weatherco/station/42?units=imperial")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["x-cache"], "MISS");
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["name"], "Tempelhof");
    let hit = &app.upstream.hits()[0];
    assert_eq!(hit.query, "units=imperial");
    assert_eq!(hit.header("x-api-key"), Some("wc-secret"));
    let again = app
        .get("/v1/weatherco/station/42?units=imperial")
        .send()
        .await
        .unwrap();
    assert_eq!(again.headers()["x-cache"], "HIT");
    assert_eq!(app.upstream.count(), 1);

    // Validated like any provider: nothing unknown reaches the upstream.
    let bad = app
        .get("/v1/weatherco/station/42?units=kelvin")
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 400);
    let bad = app
        .get("/v1/weatherco/station/42?extra=1")
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 400);

    let list: serde_json::Value = app
        .get("/v1/providers")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let mine = list["providers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["id"] == "weatherco")
        .expect("listed");
    assert_eq!(mine["enabled"], true);
    assert_eq!(mine["title"], "WeatherCo stations");
    assert_eq!(mine["resources"][0]["route"], "/v1/weatherco/station/{id}");
    app.stop().await;
}

#[tokio::test]
async fn a_custom_provider_without_its_credential_is_disabled() {
    let app = app("").await;
    let r = app.get("/v1/weatherco/station/42").send().await.unwrap();
    assert_eq!(r.status(), 503);
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["error"]["code"], "provider-disabled");
    let list: serde_json::Value = app
        .get("/v1/providers")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let mine = list["providers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["id"] == "weatherco")
        .unwrap();
    assert_eq!(mine["enabled"], false);
    assert!(
        mine["disabled_reason"]
            .as_str()
            .unwrap()
            .contains("WEATHERCO_KEY"),
        "{mine}"
    );
    assert_eq!(app.upstream.count(), 0);
    app.stop().await;
}
