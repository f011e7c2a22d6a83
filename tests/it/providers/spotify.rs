//! Spotify Web API against fixtures from its public documentation.

use crate::helpers::*;
use crate::upstream::Hit;

const RADIOHEAD: &str = "4Z8W4fKeB5YxbusRsdQVPb";
const TRACK: &str = "11dFghVXANMlKmJXsNCbNl";
const TOKEN: &str = "BQDtestTokenValue0123456789";
const TOKEN_2: &str = "BQDsecondTokenValue9876543210";
/// base64("test-client_id:test-client_secret"), the harness's settings.
const BASIC: &str = "Basic dGVzdC1jbGllbnRfaWQ6dGVzdC1jbGllbnRfc2VjcmV0";

fn artist_path() -> String {
    format!("/v1/artists/{RADIOHEAD}")
}

fn serve_catalogue(app: &TestApp) {
    app.upstream
        .route(&artist_path(), Step::file(200, "spotify/artist.json"));
    app.upstream.route(
        &format!("/v1/tracks/{TRACK}"),
        Step::file(200, "spotify/track.json"),
    );
    app.upstream
        .route("/v1/search", Step::file(200, "spotify/search.json"));
}

fn hits_on(app: &TestApp, prefix: &str) -> Vec<Hit> {
    app.upstream
        .hits()
        .into_iter()
        .filter(|h| h.path.starts_with(prefix))
        .collect()
}

#[tokio::test]
async fn one_login_serves_several_fills_with_its_bearer() {
    let app = TestApp::spawn().await;
    app.upstream
        .route("/api/token", Step::file(200, "spotify/token.json"));
    serve_catalogue(&app);

    for (path, expect) in [
        (format!("/v1/spotify/artist/{RADIOHEAD}"), "Radiohead"),
        (
            format!("/v1/spotify/track/{TRACK}?market=us"),
            "Cut To The Feeling",
        ),
        (
            "/v1/spotify/search?q=Radiohead&type=artist".to_string(),
            "\"artists\"",
        ),
    ] {
        let r = app.get(&path).send().await.unwrap();
        assert_eq!(r.status(), 200, "{path}");
        assert_eq!(r.headers()["x-cache"], "MISS");
        assert!(r.text().await.unwrap().contains(expect), "{path}");
    }
    let again = app
        .get(&format!("/v1/spotify/artist/{RADIOHEAD}"))
        .send()
        .await
        .unwrap();
    assert_eq!(again.headers()["x-cache"], "HIT");

    let logins = hits_on(&app, "/api/token");
    assert_eq!(logins.len(), 1, "one login for every fill");
    let login = &logins[0];
    assert_eq!(login.method, "POST");
    assert_eq!(login.authorization.as_deref(), Some(BASIC));
    assert_eq!(login.body, "grant_type=client_credentials");
    assert_eq!(
        login.header("content-type"),
        Some("application/x-www-form-urlencoded")
    );

    let calls = hits_on(&app, "/v1/");
    assert_eq!(calls.len(), 3);
    for h in &calls {
        assert_eq!(h.method, "GET");
        assert_eq!(
            h.authorization.as_deref(),
            Some(format!("Bearer {TOKEN}").as_str()),
            "{}",
            h.path
        );
    }
    assert_eq!(calls[1].path, format!("/v1/tracks/{TRACK}"));
    assert_eq!(calls[1].query, "market=US");
    assert_eq!(calls[2].path, "/v1/search");
    assert_eq!(calls[2].query, "q=radiohead&type=artist");
    app.stop().await;
}

#[tokio::test]
async fn a_refused_token_is_renewed_once_and_the_call_succeeds() {
    let app = TestApp::spawn().await;
    app.upstream.script(
        "/api/token",
        [
            Step::file(200, "spotify/token.json"),
            Step::file(200, "spotify/token-2.json"),
        ],
    );
    app.upstream
        .script(&artist_path(), [Step::file(401, "spotify/401.json")]);
    serve_catalogue(&app);

    let r = app
        .get(&format!("/v1/spotify/artist/{RADIOHEAD}"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.text().await.unwrap().contains("Radiohead"));

    assert_eq!(hits_on(&app, "/api/token").len(), 2, "one re-login");
    let calls = hits_on(&app, "/v1/");
    let bearers: Vec<_> = calls
        .iter()
        .map(|h| h.authorization.clone().unwrap_or_default())
        .collect();
    assert_eq!(
        bearers,
        [format!("Bearer {TOKEN}"), format!("Bearer {TOKEN_2}")]
    );

    // The renewed token serves the next fill without another login.
    let r = app
        .get(&format!("/v1/spotify/track/{TRACK}"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(hits_on(&app, "/api/token").len(), 2);
    assert_eq!(
        hits_on(&app, "/v1/tracks/")[0].authorization.as_deref(),
        Some(format!("Bearer {TOKEN_2}").as_str())
    );
    app.stop().await;
}

#[tokio::test]
async fn a_failed_login_is_a_502_and_nothing_is_cached() {
    let app = TestApp::spawn().await;
    app.upstream.route(
        "/api/token",
        Step::file(400, "spotify/token-invalid-client.json"),
    );
    serve_catalogue(&app);
    let path = format!("/v1/spotify/artist/{RADIOHEAD}");
    let r = app.get(&path).send().await.unwrap();
    assert_eq!(r.status(), 502);
    assert_eq!(error_code(r).await, "upstream-error");
    assert_eq!(cached_rows(&app).await, 0);
    assert!(hits_on(&app, "/v1/").is_empty(), "no call without a token");

    // Nothing remembered: the next request tries to log in again.
    assert_eq!(app.get(&path).send().await.unwrap().status(), 502);
    assert_eq!(hits_on(&app, "/api/token").len(), 2);
    assert_eq!(cached_rows(&app).await, 0);
    app.stop().await;
}

#[tokio::test]
async fn an_unknown_id_is_negatively_cached() {
    let app = TestApp::spawn().await;
    app.upstream
        .route("/api/token", Step::file(200, "spotify/token.json"));
    app.upstream.route(
        "/v1/albums/0000000000000000000000",
        Step::file(404, "spotify/404.json"),
    );
    for _ in 0..3 {
        let r = app
            .get("/v1/spotify/album/0000000000000000000000")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 404);
        assert_eq!(error_code(r).await, "upstream-not-found");
    }
    assert_eq!(hits_on(&app, "/v1/").len(), 1, "404 remembered");
    app.stop().await;
}

#[tokio::test]
async fn without_the_client_secret_spotify_is_disabled() {
    assert_disabled(
        &format!("/v1/spotify/artist/{RADIOHEAD}"),
        "SPOTIFY_CLIENT_SECRET",
    )
    .await;
}
