//! Nominatim (OpenStreetMap) against fixtures from its public documentation.

use serde_json::Value;

use crate::helpers::*;

#[tokio::test]
async fn search_sends_jsonv2_the_user_agent_and_flags_as_digits() {
    let app = TestApp::spawn().await;
    app.upstream
        .route_query("/search", "q=nowhere", Step::body(200, "[]"));
    app.upstream
        .route("/search", Step::file(200, "nominatim/search.json"));
    let path = "/v1/nominatim/search?q=Brandenburger%20Tor&addressdetails=true&limit=1";
    let r = app.get(path).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["x-cache"], "MISS");
    let body: Value = r.json().await.unwrap();
    assert_eq!(body[0]["address"]["city"], "Berlin");
    let r = app.get(path).send().await.unwrap();
    assert_eq!(r.headers()["x-cache"], "HIT");

    // Nothing found is an empty list, a 200 like any other.
    let r = app
        .get("/v1/nominatim/search?q=nowhere")
        .header("prefer", "wait=10")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.text().await.unwrap(), "[]");

    let hits = app.upstream.hits();
    assert_eq!(hits.len(), 2);
    assert_eq!(
        hits[0].query,
        "addressdetails=1&limit=1&q=brandenburger+tor&format=jsonv2"
    );
    assert_eq!(hits[0].user_agent.as_deref(), Some("test-user_agent"));
    app.stop().await;
}

#[tokio::test]
async fn reverse_unable_to_geocode_is_a_remembered_404() {
    let app = TestApp::spawn().await;
    app.upstream.route_query(
        "/reverse",
        "lat=0&",
        Step::file(200, "nominatim/unable.json"),
    );
    app.upstream
        .route("/reverse", Step::file(200, "nominatim/reverse.json"));
    for _ in 0..2 {
        let r = app
            .get("/v1/nominatim/reverse?lat=0&lon=-20")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 404);
        assert_eq!(error_code(r).await, "upstream-not-found");
    }
    assert_eq!(app.upstream.count(), 1, "the 404 is remembered");

    let r = app
        .get("/v1/nominatim/reverse?lat=-34.44076&lon=-58.70521&zoom=18")
        .header("prefer", "wait=10")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["address"]["country_code"], "ar");
    let hits = app.upstream.hits();
    assert_eq!(hits[0].query, "lat=0&lon=-20&format=jsonv2");
    assert_eq!(hits[1].query, "lat=-34.44076&lon=-58.70521&format=jsonv2");
    app.stop().await;
}

#[tokio::test]
async fn a_blocked_user_agent_is_502_not_retried_and_not_cached() {
    let app = TestApp::spawn().await;
    app.upstream.script(
        "/search",
        [Step::body(403, "<html>Access blocked</html>").header("content-type", "text/html")],
    );
    let r = app
        .get("/v1/nominatim/search?q=berlin")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 502);
    assert_eq!(error_code(r).await, "upstream-rejected");
    assert_eq!(app.upstream.count(), 1);
    assert_eq!(cached_rows(&app).await, 0);
    app.stop().await;
}

#[tokio::test]
async fn disabled_without_a_user_agent() {
    assert_disabled("/v1/nominatim/search?q=berlin", "NOMINATIM_USER_AGENT").await;
}
