//! Per-provider lanes: a provider with a backlog never holds the workers
//! other providers need; slots not used go back; per-provider caps hold.

use std::time::Duration;

use crate::helpers::*;

fn forecast(i: usize) -> String {
    format!(
        "/v1/openmeteo/forecast?latitude={}&longitude=13.41",
        i as f64 / 10.0
    )
}

#[tokio::test]
async fn a_slow_providers_backlog_does_not_delay_another_provider() {
    // Open-Meteo at one call a second with a backlog of 100 fills; before
    // lanes, TMDB fills queued behind its rate waits for 12-20 s.
    let app = TestApp::with_env(&[
        ("LARDER_OPENMETEO_RATE", "1/s"),
        ("LARDER_OPENMETEO_BURST", "1"),
        ("LARDER_WORKER_CONCURRENCY", "4"),
    ])
    .await;
    for i in 0..100 {
        let r = app
            .get(&forecast(i))
            .header("prefer", "wait=0")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 202);
    }
    // Every backlog fill has been handed a slot and deferred to it.
    eventually(Duration::from_secs(20), || async {
        app.db
            .count("SELECT count(*) FROM apalis.jobs WHERE status = 'Pending' AND run_at > now() + interval '5 seconds'")
            .await
            >= 80
    })
    .await;
    for id in 1..=10 {
        let r = app
            .get(&format!("/v1/tmdb/movie/{}", 550 + id))
            .header("prefer", "wait=5")
            .send()
            .await
            .unwrap();
        // 404 (no fixture) is an answer too: what matters is that it came
        // within the budget, not a 202.
        assert!(
            r.status() == 200 || r.status() == 404,
            "tmdb fill {id} answered {} behind the backlog",
            r.status()
        );
    }
    let openmeteo_calls = app
        .upstream
        .hits()
        .iter()
        .filter(|h| h.path.ends_with("/forecast"))
        .count();
    assert!(
        openmeteo_calls < 60,
        "the backlog was still there: {openmeteo_calls} calls"
    );
    app.stop().await;
}

#[tokio::test]
async fn slots_beyond_the_horizon_are_refused_and_handed_back() {
    let app = TestApp::with_env(&[
        ("LARDER_OPENMETEO_RATE", "1/s"),
        ("LARDER_OPENMETEO_BURST", "1"),
        ("LARDER_WORKER_LANE_HORIZON", "5s"),
    ])
    .await;
    let mut statuses = Vec::new();
    let requests: Vec<_> = (0..20)
        .map(|i| app.get(&forecast(i)).header("prefer", "wait=2").send())
        .collect();
    for r in futures_util::future::join_all(requests).await {
        let r = r.unwrap();
        let status = r.status().as_u16();
        if status == 503 {
            assert!(r.headers().contains_key("retry-after"));
            let body: serde_json::Value = r.json().await.unwrap();
            assert_eq!(body["error"]["code"], "overloaded");
        }
        statuses.push(status);
    }
    let refused = statuses.iter().filter(|s| **s == 503).count();
    assert!(refused >= 10, "{statuses:?}");
    // Refused fills handed their slots back: the schedule is booked about
    // as far as the horizon, not 20 s ahead.
    let booked: f64 = sqlx::query_scalar(
        "SELECT EXTRACT(EPOCH FROM tat - now())::float8 FROM larder_rate WHERE provider = 'openmeteo'",
    )
    .fetch_one(&app.db.pool)
    .await
    .unwrap();
    assert!(booked < 8.0, "rate booked {booked} s ahead");
    app.stop().await;
}

#[tokio::test]
async fn a_provider_concurrency_cap_serialises_its_fills() {
    let app = TestApp::with_env(&[("LARDER_TMDB_CONCURRENCY", "1")]).await;
    app.upstream.set_delay(Duration::from_millis(300));
    let requests: Vec<_> = (0..4)
        .map(|i| app.get(&format!("/v1/tmdb/movie/{}", 600 + i)).send())
        .collect();
    for r in futures_util::future::join_all(requests).await {
        let status = r.unwrap().status();
        assert!(status == 200 || status == 404, "{status}");
    }
    let mut at: Vec<_> = app.upstream.hits().iter().map(|h| h.at).collect();
    at.sort();
    for pair in at.windows(2) {
        assert!(
            pair[1] - pair[0] >= Duration::from_millis(290),
            "two fills of a provider capped at 1 overlapped"
        );
    }
    app.stop().await;
}
