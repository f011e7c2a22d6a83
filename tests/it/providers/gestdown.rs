//! Gestdown against fixtures shaped like its server's DTOs.

use std::time::Duration;

use crate::helpers::*;

const SHOW: &str = "e9c1fa23-55af-4711-8e34-3b31e2a75533";

#[tokio::test]
async fn a_show_name_with_slash_and_plus_is_one_segment() {
    let app = TestApp::spawn().await;
    let up = "/shows/search/ac%2Fdc%20%2B%20friends";
    app.upstream
        .route(up, Step::file(200, "gestdown/shows-search.json"));
    let r = app
        .get("/v1/gestdown/shows/search/AC%2FDC%20%2B%20Friends")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["shows"][0]["id"], SHOW);
    let r = app
        .get("/v1/gestdown/shows/search/ac%2Fdc%20+%20friends")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(
        r.headers()["x-cache"],
        "HIT",
        "a literal + in a path is a plus, not a space"
    );
    let r = app
        .get("/v1/gestdown/shows/search/ac%2FDC%20%2b%20FRIENDS")
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()["x-cache"], "HIT");
    let hits = app.upstream.hits();
    assert_eq!(hits[0].path, up);
    assert_eq!(hits[0].query, "");
    app.stop().await;
}

#[tokio::test]
async fn unknown_shows_are_negatively_cached() {
    let app = TestApp::spawn().await;
    app.upstream.route(
        "/shows/search/wellingtn%20paranrmal",
        Step::file(404, "gestdown/show-not-found.json"),
    );
    let unknown = "/subtitles/get/00000000-0000-0000-0000-000000000000/1/1/english";
    app.upstream
        .route(unknown, Step::file(404, "gestdown/unknown-show.json"));
    for path in [
        "/v1/gestdown/shows/search/Wellingtn%20Paranrmal",
        "/v1/gestdown/subtitles/00000000-0000-0000-0000-000000000000/1/1/English",
        // Shorter than the upstream's route allows: no call at all.
        "/v1/gestdown/shows/search/ab",
        "/v1/gestdown/subtitles/not-a-guid/1/1/en",
    ] {
        for _ in 0..2 {
            let r = app.get(path).send().await.unwrap();
            assert_eq!(r.status(), 404, "{path}");
            assert_eq!(error_code(r).await, "upstream-not-found");
        }
    }
    assert_eq!(app.upstream.count(), 2, "each unknown show asked once");
    assert_eq!(cached_rows(&app).await, 4);
    app.stop().await;
}

#[tokio::test]
async fn subtitles_and_an_episode_not_known_yet_are_short_lived_200s() {
    let app = TestApp::spawn().await;
    let base = format!("/subtitles/get/{SHOW}");
    app.upstream.route(
        &format!("{base}/6/4/french"),
        Step::file(200, "gestdown/subtitles.json"),
    );
    app.upstream.route(
        &format!("{base}/9/1/french"),
        Step::file(200, "gestdown/subtitles-pending.json"),
    );
    let r = app
        .get(&format!("/v1/gestdown/subtitles/{SHOW}/6/4/French"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["matchingSubtitles"][0]["language"], "French");

    let r = app
        .get(&format!("/v1/gestdown/subtitles/{SHOW}/9/1/french"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let age = max_age(&r);
    assert!(age > 0 && age <= 1800, "{age}");
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["matchingSubtitles"], serde_json::json!([]));
    assert_eq!(app.upstream.hits()[1].path, format!("{base}/9/1/french"));
    app.stop().await;
}

#[tokio::test]
async fn an_unknown_language_is_refused_and_a_429_slows_down() {
    let app = TestApp::spawn().await;
    let base = format!("/subtitles/get/{SHOW}");
    app.upstream
        .route(&format!("{base}/1/1/klingonese"), Step::body(423, ""));
    app.upstream.script(
        &format!("{base}/6/4/french"),
        [Step::body(429, "").header("retry-after", "2")],
    );
    app.upstream.route(
        &format!("{base}/6/4/french"),
        Step::file(200, "gestdown/subtitles.json"),
    );
    for _ in 0..2 {
        let r = app
            .get(&format!("/v1/gestdown/subtitles/{SHOW}/1/1/Klingonese"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 502);
        assert_eq!(error_code(r).await, "upstream-rejected");
    }
    assert_eq!(app.upstream.count(), 2, "not cached, not retried");

    let r = app
        .get(&format!("/v1/gestdown/subtitles/{SHOW}/6/4/french"))
        .header("prefer", "wait=20")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let hits = app.upstream.hits();
    assert_eq!(hits.len(), 4);
    let gap = hits[3].at - hits[2].at;
    // Asked for 2 s; a deferred fill may start up to 0.5 s early (the
    // queue schedules whole seconds), still well past the 1 s fallback.
    assert!(
        gap >= Duration::from_millis(1200),
        "Retry-After was 2 s: {gap:?}"
    );
    assert_eq!(cached_rows(&app).await, 1);
    app.stop().await;
}
