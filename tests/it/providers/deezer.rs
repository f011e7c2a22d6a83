//! Deezer against fixtures from its public documentation. Deezer's errors
//! come inside an HTTP 200.

use std::time::Duration;

use crate::helpers::*;

#[tokio::test]
async fn tracks_and_searches_are_served() {
    let app = TestApp::spawn().await;
    app.upstream
        .route("/track/3135556", Step::file(200, "deezer/track.json"));
    app.upstream
        .route("/search", Step::file(200, "deezer/search.json"));
    let r = app.get("/v1/deezer/track/3135556").send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["x-cache"], "MISS");
    assert!(r.text().await.unwrap().contains("Harder, Better"));
    let r = app
        .get("/v1/deezer/search?q=Daft%20Punk&limit=10&index=0&order=ranking")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.text().await.unwrap().contains("\"total\""));
    let hits = app.upstream.hits();
    assert_eq!(hits.len(), 2);
    assert_eq!(hits[0].path, "/track/3135556");
    assert_eq!(hits[1].path, "/search");
    assert_eq!(hits[1].query, "limit=10&order=RANKING&q=daft+punk");
    let r = app.get("/v1/deezer/track/3135556").send().await.unwrap();
    assert_eq!(r.headers()["x-cache"], "HIT");
    assert_eq!(app.upstream.count(), 2);
    app.stop().await;
}

#[tokio::test]
async fn no_data_in_a_200_is_a_negatively_cached_404() {
    let app = TestApp::spawn().await;
    app.upstream
        .route("/album/999999999", Step::file(200, "deezer/no-data.json"));
    for _ in 0..3 {
        let r = app.get("/v1/deezer/album/999999999").send().await.unwrap();
        assert_eq!(r.status(), 404);
        assert_eq!(error_code(r).await, "upstream-not-found");
    }
    assert_eq!(app.upstream.count(), 1, "404 remembered");
    assert_eq!(
        app.db
            .count("SELECT count(*) FROM larder_cache WHERE status = 404")
            .await,
        1
    );
    app.stop().await;
}

#[tokio::test]
async fn a_quota_error_in_a_200_pauses_deezer_and_the_fill_is_retried() {
    let app = TestApp::spawn().await;
    app.upstream
        .script("/track/3135556", [Step::file(200, "deezer/quota.json")]);
    app.upstream
        .route("/track/3135556", Step::file(200, "deezer/track.json"));
    let r = app
        .get("/v1/deezer/track/3135556")
        .header("prefer", "wait=25")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let body = r.text().await.unwrap();
    assert!(body.contains("Harder, Better"), "{body}");
    let hits = app.upstream.hits();
    assert_eq!(hits.len(), 2);
    assert_eq!(
        app.db
            .count(
                "SELECT count(*) FROM larder_rate WHERE provider = 'deezer' \
                 AND paused_until > now() - interval '1 minute'"
            )
            .await,
        1,
        "the lane was paused"
    );
    // About one quota window (5 s) later; a deferred job can start a little
    // early, as the queue schedules in whole seconds.
    let gap = hits[1].at - hits[0].at;
    assert!(gap >= Duration::from_secs(4), "retried after {gap:?}");
    assert_eq!(
        cached_rows(&app).await,
        1,
        "the quota answer was not stored"
    );
    app.stop().await;
}

#[tokio::test]
async fn other_errors_in_a_200_fail_the_fill_and_are_not_cached() {
    let app = TestApp::spawn().await;
    app.upstream
        .route("/search", Step::file(200, "deezer/missing-parameter.json"));
    let r = app.get("/v1/deezer/search?q=x").send().await.unwrap();
    assert_eq!(r.status(), 502);
    assert_eq!(error_code(r).await, "upstream-rejected");
    assert_eq!(cached_rows(&app).await, 0);
    assert_eq!(app.upstream.count(), 1, "not retried");
    // Nothing poisoned: the next request asks again.
    assert_eq!(
        app.get("/v1/deezer/search?q=x")
            .send()
            .await
            .unwrap()
            .status(),
        502
    );
    assert_eq!(app.upstream.count(), 2);
    assert_eq!(cached_rows(&app).await, 0);
    app.stop().await;
}
