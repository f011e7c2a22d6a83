//! TheTVDB v4 against fixtures from its public documentation: the login
//! flow, the bearer on data calls, renewal on a 401.

use crate::helpers::*;
use crate::upstream::Hit;

const LOGIN: &str = "/v4/login";
const SERIES: &str = "/v4/series/81189";
/// The token of `thetvdb/login.json`.
const TOKEN: &str = "eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCJ9.eyJhcGlrZXkiOiJ0ZXN0In0.sig";

fn login_answer(token: &str) -> Step {
    Step::body(
        200,
        &format!(r#"{{"status":"success","data":{{"token":"{token}"}}}}"#),
    )
}

fn logins(app: &TestApp) -> Vec<Hit> {
    app.upstream
        .hits()
        .into_iter()
        .filter(|h| h.path == LOGIN)
        .collect()
}

fn data_calls(app: &TestApp) -> Vec<Hit> {
    app.upstream
        .hits()
        .into_iter()
        .filter(|h| h.path != LOGIN)
        .collect()
}

#[tokio::test]
async fn one_login_then_the_bearer_on_every_call() {
    let app = TestApp::spawn().await;
    app.upstream
        .route(LOGIN, Step::file(200, "thetvdb/login.json"));
    app.upstream
        .route(SERIES, Step::file(200, "thetvdb/series.json"));
    app.upstream.route(
        "/v4/series/81189/episodes/default",
        Step::file(200, "thetvdb/episodes.json"),
    );
    app.upstream
        .route("/v4/search", Step::file(200, "thetvdb/search.json"));

    let r = app.get("/v1/thetvdb/series/81189").send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["x-cache"], "MISS");
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["status"], "success", "stored as it came");
    assert_eq!(body["data"]["name"], "Breaking Bad");
    let r = app
        .get("/v1/thetvdb/series/81189/episodes/default?season=1&page=0")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["data"]["episodes"][0]["name"], "Pilot");
    let r = app
        .get("/v1/thetvdb/search?query=Breaking%20Bad&type=series")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let r = app.get("/v1/thetvdb/series/81189").send().await.unwrap();
    assert_eq!(r.headers()["x-cache"], "HIT");

    let logins = logins(&app);
    assert_eq!(logins.len(), 1, "one login for every call");
    assert_eq!(logins[0].method, "POST");
    assert_eq!(logins[0].authorization, None);
    assert!(
        logins[0]
            .header("content-type")
            .is_some_and(|c| c.contains("application/json"))
    );
    let body: serde_json::Value = serde_json::from_str(&logins[0].body).unwrap();
    assert_eq!(
        body,
        serde_json::json!({"apikey": "test-api_key"}),
        "no pin unless one is set"
    );
    let data = data_calls(&app);
    assert_eq!(data.len(), 3);
    for h in &data {
        assert_eq!(h.method, "GET");
        assert_eq!(
            h.authorization.as_deref(),
            Some(format!("Bearer {TOKEN}").as_str())
        );
        assert!(!h.query.contains("apikey"), "{}", h.query);
    }
    assert_eq!(data[1].query, "season=1");
    assert_eq!(data[2].query, "query=breaking+bad&type=series");
    app.stop().await;
}

#[tokio::test]
async fn a_refused_token_is_renewed_once_and_the_call_retried() {
    let app = TestApp::spawn().await;
    app.upstream.script(
        LOGIN,
        [login_answer("token-one"), login_answer("token-two")],
    );
    app.upstream
        .script(SERIES, [Step::file(401, "thetvdb/unauthorized.json")]);
    app.upstream
        .route(SERIES, Step::file(200, "thetvdb/series.json"));

    let r = app.get("/v1/thetvdb/series/81189").send().await.unwrap();
    assert_eq!(r.status(), 200);
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["data"]["id"], 81189);
    assert_eq!(logins(&app).len(), 2, "one renewal");
    let data = data_calls(&app);
    assert_eq!(data.len(), 2);
    assert_eq!(data[0].authorization.as_deref(), Some("Bearer token-one"));
    assert_eq!(data[1].authorization.as_deref(), Some("Bearer token-two"));

    // Refused again after the renewal: the fill fails, and the error the
    // client sees never carries a token.
    app.upstream.script(LOGIN, [login_answer("token-three")]);
    app.upstream
        .route("/v4/people/7", Step::file(401, "thetvdb/unauthorized.json"));
    let r = app.get("/v1/thetvdb/people/7").send().await.unwrap();
    assert_eq!(r.status(), 502);
    let text = r.text().await.unwrap();
    for token in ["token-one", "token-two", "token-three", "test-api_key"] {
        assert!(!text.contains(token), "{text}");
    }
    assert_eq!(logins(&app).len(), 3, "renewed once, not in a loop");
    assert_eq!(data_calls(&app).len(), 4);
    assert_eq!(cached_rows(&app).await, 1, "only the series");
    app.stop().await;
}

#[tokio::test]
async fn a_failed_login_fails_the_fill_and_caches_nothing() {
    let app = TestApp::spawn().await;
    app.upstream
        .route(LOGIN, Step::file(401, "thetvdb/invalid-key.json"));
    app.upstream
        .route(SERIES, Step::file(200, "thetvdb/series.json"));
    let r = app.get("/v1/thetvdb/series/81189").send().await.unwrap();
    assert_eq!(r.status(), 502);
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["error"]["code"], "upstream-error");
    assert!(!body.to_string().contains("test-api_key"), "{body}");
    assert!(data_calls(&app).is_empty(), "no data call without a token");
    assert!(!logins(&app).is_empty());
    assert_eq!(cached_rows(&app).await, 0);
    assert_eq!(app.db.count("SELECT count(*) FROM larder_tokens").await, 0);
    app.stop().await;
}

#[tokio::test]
async fn a_missing_series_is_negatively_cached_and_the_pin_is_sent() {
    let app = TestApp::with_env(&[("THETVDB_PIN", "4321")]).await;
    app.upstream
        .route(LOGIN, Step::file(200, "thetvdb/login.json"));
    app.upstream
        .route("/v4/series/1", Step::file(404, "thetvdb/not-found.json"));
    for _ in 0..2 {
        let r = app.get("/v1/thetvdb/series/1").send().await.unwrap();
        assert_eq!(r.status(), 404);
        assert_eq!(error_code(r).await, "upstream-not-found");
    }
    assert_eq!(data_calls(&app).len(), 1, "the 404 is remembered");
    let logins = logins(&app);
    assert_eq!(logins.len(), 1);
    let body: serde_json::Value = serde_json::from_str(&logins[0].body).unwrap();
    assert_eq!(
        body,
        serde_json::json!({"apikey": "test-api_key", "pin": "4321"})
    );
    app.stop().await;
}

#[tokio::test]
async fn without_a_key_thetvdb_is_disabled() {
    assert_disabled("/v1/thetvdb/series/81189", "THETVDB_API_KEY").await;
}
