//! Upstream faults and database outages.

use std::time::Duration;

use futures_util::future::join_all;

use crate::helpers::*;

const MOVIE: &str = "/v1/tmdb/movie/550";
const UP: &str = "/3/movie/550";

async fn cached(app: &TestApp) -> i64 {
    app.db.count("SELECT count(*) FROM larder_cache").await
}

#[tokio::test]
async fn server_errors_are_retried_until_success() {
    let app = TestApp::spawn().await;
    app.upstream
        .script(UP, [Step::status(500), Step::status(500)]);
    let r = app.get(MOVIE).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.text().await.unwrap().contains("Fight Club"));
    assert_eq!(app.upstream.count(), 3);
    app.stop().await;
}

#[tokio::test]
async fn retry_after_pauses_the_provider() {
    let app = TestApp::spawn().await;
    app.upstream
        .script(UP, [Step::status(429).header("retry-after", "2")]);
    let r = app
        .get(MOVIE)
        .header("prefer", "wait=20")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let hits = app.upstream.hits();
    assert_eq!(hits.len(), 2);
    let gap = hits[1].at - hits[0].at;
    assert!(
        gap >= Duration::from_secs(2),
        "next call after {gap:?}, Retry-After was 2 s"
    );
    app.stop().await;
}

#[tokio::test]
async fn a_hanging_upstream_is_a_504_and_nothing_is_cached() {
    let app = TestApp::with_env(&[
        ("LARDER_UPSTREAM_TIMEOUT", "300ms"),
        ("LARDER_UPSTREAM_ATTEMPTS", "2"),
    ])
    .await;
    app.upstream.script(UP, [Step::hang(), Step::hang()]);
    let r = app.get(MOVIE).send().await.unwrap();
    assert_eq!(r.status(), 504);
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["error"]["code"], "upstream-timeout");
    assert_eq!(cached(&app).await, 0);
    assert_eq!(app.upstream.count(), 2);
    // Nothing poisoned: the next request fetches again and succeeds.
    let r = app.get(MOVIE).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["x-cache"], "MISS");
    app.stop().await;
}

#[tokio::test]
async fn malformed_json_is_a_502_and_nothing_is_cached() {
    let app = TestApp::spawn().await;
    app.upstream
        .script(UP, [Step::body(200, "{\"id\": 550, \"title\": ")]);
    let r = app.get(MOVIE).send().await.unwrap();
    assert_eq!(r.status(), 502);
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["error"]["code"], "upstream-error");
    assert_eq!(cached(&app).await, 0);
    app.upstream
        .script(UP, [Step::body(200, "<html>maintenance</html>")]);
    assert_eq!(app.get(MOVIE).send().await.unwrap().status(), 502);
    assert_eq!(cached(&app).await, 0);
    app.stop().await;
}

#[tokio::test]
async fn a_failed_fill_wakes_every_waiter_at_once() {
    let app = TestApp::with_env(&[("LARDER_UPSTREAM_ATTEMPTS", "2")]).await;
    // Slow failures, so that all callers are waiting before the fill fails.
    let slow = Duration::from_millis(700);
    app.upstream.script(
        UP,
        [Step::status(503).delay(slow), Step::status(503).delay(slow)],
    );
    // With a 30 s budget, a waiter not woken by the failure would get 202.
    let results =
        join_all((0..30).map(|_| app.get(MOVIE).header("prefer", "wait=30").send())).await;
    for r in results {
        let r = r.unwrap();
        assert_eq!(r.status(), 502);
    }
    assert_eq!(app.upstream.count(), 2, "one fill, two attempts");
    app.stop().await;
}

#[tokio::test]
async fn other_4xx_are_not_cached_and_not_retried() {
    let app = TestApp::spawn().await;
    app.upstream.script(UP, [Step::status(401)]);
    let r = app.get(MOVIE).send().await.unwrap();
    assert_eq!(r.status(), 502);
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["error"]["code"], "upstream-rejected");
    assert_eq!(app.upstream.count(), 1);
    assert_eq!(cached(&app).await, 0);
    app.stop().await;
}

#[tokio::test]
async fn stale_if_error_serves_the_old_entry_when_the_refresh_fails() {
    let app = TestApp::with_env(&[
        ("LARDER_UPSTREAM_ATTEMPTS", "2"),
        // This test ages entries in the database directly.
        ("LARDER_HOT_CACHE_BYTES", "0"),
        ("LARDER_DISK_CACHE_DIR", "off"),
    ])
    .await;
    let fresh = app.get(MOVIE).send().await.unwrap().text().await.unwrap();
    // Past the stale window, still inside max_stale_on_error.
    app.db
        .exec("UPDATE larder_cache SET fresh_until = now() - interval '2 days', stale_until = now() - interval '1 day'")
        .await;
    app.upstream
        .script(UP, [Step::status(500), Step::status(500)]);
    let r = app.get(MOVIE).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["x-cache"], "STALE");
    assert_eq!(r.text().await.unwrap(), fresh);
    assert_eq!(app.upstream.count(), 3);
    app.stop().await;
}

#[tokio::test]
async fn database_outage_is_503_and_recovers_without_restart() {
    let app = TestApp::spawn_with(Options {
        db_proxy: true,
        ..Default::default()
    })
    .await;
    let proxy = app.proxy.as_ref().unwrap();
    let get = |path: &str| app.http.get(app.url(path)).send();
    assert_eq!(get(MOVIE).await.unwrap().status(), 200);

    proxy.set_up(false);
    let r = get("/v1/tmdb/tv/1399").await.unwrap();
    assert_eq!(r.status(), 503);
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["error"]["code"], "database-unavailable");
    eventually(Duration::from_secs(10), || async {
        get("/readyz").await.is_ok_and(|r| r.status() == 503)
    })
    .await;

    proxy.set_up(true);
    eventually(Duration::from_secs(20), || async {
        get("/v1/tmdb/tv/1399")
            .await
            .is_ok_and(|r| r.status() == 200)
    })
    .await;
    eventually(Duration::from_secs(10), || async {
        get("/readyz").await.is_ok_and(|r| r.status() == 200)
    })
    .await;
    app.stop().await;
}

#[tokio::test]
async fn pruning_removes_finished_jobs_dead_entries_and_abandoned_fills() {
    let app = TestApp::spawn().await;
    assert_eq!(app.get(MOVIE).send().await.unwrap().status(), 200);
    assert_eq!(
        app.get("/v1/tmdb/tv/1399").send().await.unwrap().status(),
        200
    );
    eventually(Duration::from_secs(10), || async {
        app.db
            .count("SELECT count(*) FROM apalis.jobs WHERE status = 'Done'")
            .await
            == 2
    })
    .await;
    // One job finished long ago, one entry past every window, one fill
    // record abandoned long ago.
    app.db
        .exec("UPDATE apalis.jobs SET done_at = now() - interval '2 hours' WHERE id = (SELECT min(id) FROM apalis.jobs)")
        .await;
    app.db
        .exec("UPDATE larder_cache SET keep_until = now() - interval '1 second' WHERE key = 'tmdb/tv/1399'")
        .await;
    app.db
        .exec("INSERT INTO larder_inflight (key, job_id, reason, started_at) VALUES ('tmdb/movie/1', 'x', 'miss', now() - interval '1 hour')")
        .await;
    let store = larder_jobs::store::Store::new(app.db.pool.clone());
    let pruned = store.prune(Duration::from_secs(3600)).await.unwrap();
    assert_eq!(pruned, [1, 1, 1]);
    assert_eq!(app.db.count("SELECT count(*) FROM apalis.jobs").await, 1);
    assert_eq!(app.db.count("SELECT count(*) FROM larder_cache").await, 1);
    assert_eq!(
        app.db.count("SELECT count(*) FROM larder_inflight").await,
        0
    );
    app.stop().await;
}

#[tokio::test]
async fn a_superseded_job_cannot_end_another_jobs_fill() {
    let app = TestApp::spawn_with(Options {
        worker: false,
        ..Default::default()
    })
    .await;
    let r = app
        .get(MOVIE)
        .header("prefer", "wait=0")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 202);
    let key = larder_jobs::provider::Catalogue::builtin()
        .resolve("tmdb", "movie/550", "")
        .unwrap()
        .key;
    let store = larder_jobs::store::Store::new(app.db.pool.clone());
    let owner: String = sqlx::query_scalar("SELECT job_id FROM larder_inflight")
        .fetch_one(&app.db.pool)
        .await
        .unwrap();
    // A job presumed abandoned and replaced finally fails: the live fill stays.
    store
        .fail(
            &key,
            Some("01SUPERSEDEDJOB0000000000"),
            larder_jobs::store::FailKind::Upstream,
        )
        .await
        .unwrap();
    assert!(store.in_flight(&key).await.unwrap());
    store
        .fail(&key, Some(&owner), larder_jobs::store::FailKind::Upstream)
        .await
        .unwrap();
    assert!(!store.in_flight(&key).await.unwrap());
    app.stop().await;
}

#[tokio::test]
async fn an_enormous_retry_after_is_capped() {
    let app = TestApp::spawn().await;
    app.upstream
        .script(UP, [Step::status(429).header("retry-after", "1000000000")]);
    let r = app.get(MOVIE).send().await.unwrap();
    assert_eq!(r.status(), 503, "gives up instead of waiting 31 years");
    assert!(r.headers().contains_key("retry-after"));
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["error"]["code"], "overloaded");
    let paused_for: f64 = sqlx::query_scalar(
        "SELECT EXTRACT(EPOCH FROM paused_until - now())::float8 FROM larder_rate WHERE provider = 'tmdb'",
    )
    .fetch_one(&app.db.pool)
    .await
    .unwrap();
    assert!(
        paused_for <= 3601.0 && paused_for > 3000.0,
        "provider paused for {paused_for} s; cap is retry_after_max (1 h)"
    );
    app.stop().await;
}

#[tokio::test]
async fn an_undecodable_job_ends_its_fill_and_is_not_retried() {
    let app = TestApp::spawn().await;
    let id = "01JD0000000000000000000001";
    // A payload from some future version this worker cannot read, with its
    // fill record, as an API process would have written them.
    app.db
        .exec(&format!(
            "INSERT INTO larder_inflight (key, job_id, reason) VALUES ('tmdb/movie/550', '{id}', 'miss');
             INSERT INTO apalis.jobs (id, job_type, job, status, attempts, max_attempts, run_at, priority, metadata)
             VALUES ('{id}', 'larder.fetch', convert_to('{{\"kind\":\"mystery\",\"key\":\"tmdb/movie/550\"}}', 'UTF8'),
                     'Pending', 0, 5, now() - interval '1 second', 0, ''::hstore)"
        ))
        .await;
    eventually(Duration::from_secs(10), || async {
        app.db.count("SELECT count(*) FROM larder_inflight").await == 0
    })
    .await;
    // Ended for good (`Killed`: never run again), with the reason.
    eventually(Duration::from_secs(10), || async {
        app.db
            .count(&format!(
                "SELECT count(*) FROM apalis.jobs WHERE id = '{id}' AND status = 'Killed'
                    AND last_result ->> 'Err' LIKE '%undecodable job%'"
            ))
            .await
            == 1
    })
    .await;
    assert_eq!(app.upstream.count(), 0);
    app.stop().await;
}

/// A fill whose store fails in the database (here a trigger refuses the
/// first write) is run again; its waiters are never told of an upstream
/// error, and /health does not blame the provider.
#[tokio::test]
async fn a_database_error_during_a_fill_is_retried_never_reported_as_an_upstream_error() {
    let app = TestApp::spawn().await;
    app.db
        .exec(
            "CREATE SEQUENCE larder_test_fail;
             CREATE FUNCTION larder_test_fail() RETURNS trigger LANGUAGE plpgsql AS $$
             BEGIN
               IF nextval('larder_test_fail') = 1 THEN
                 RAISE EXCEPTION 'injected failure' USING ERRCODE = 'XX000';
               END IF;
               RETURN NEW;
             END $$;
             CREATE TRIGGER larder_test_fail BEFORE INSERT OR UPDATE ON larder_cache
               FOR EACH ROW EXECUTE FUNCTION larder_test_fail();",
        )
        .await;
    let r = app
        .get(MOVIE)
        .header("prefer", "wait=30")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
    // The first fill's answer was lost with its failed store: fetched again.
    assert_eq!(app.upstream.count(), 2);
    let h = app.json("/health").await;
    assert_eq!(h["status"], "ok", "{h}");
    app.stop().await;
}
