//! The scheduler: ticks fire once across schedulers, survive a SIGKILL,
//! bad files are refused with their line, and refresh-ahead keeps a
//! popular short-lived key warm.

use std::time::Duration;

use crate::helpers::*;
use crate::processes::{exits_cleanly, start};

fn schedules_file(text: &str) -> tempfile::NamedTempFile {
    let f = tempfile::Builder::new().suffix(".toml").tempfile().unwrap();
    std::fs::write(f.path(), text).unwrap();
    f
}

async fn ticks(db: &TestDb, schedule: &str) -> i64 {
    db.count(&format!(
        "SELECT count(*) FROM larder_ticks WHERE schedule = '{schedule}'"
    ))
    .await
}

#[tokio::test]
async fn two_schedulers_fire_each_tick_once_and_one_survives_the_others_kill() {
    init_logs();
    let db = TestDb::new().await;
    let upstream = Upstream::start().await;
    let file = schedules_file(
        "[[schedule]]\nname = \"every-second\"\ncron = \"* * * * * *\"\nprewarm = [\"/v1/tmdb/configuration\"]\n",
    );
    let mut env = env_for(&db, &upstream);
    env.insert("LARDER_SCHEDULES".into(), file.path().display().to_string());
    let worker = start(&["worker"], &env).await;
    let mut a = start(&["scheduler"], &env).await;
    let b = start(&["scheduler"], &env).await;
    // Let a few ticks go by with both running.
    eventually(Duration::from_secs(20), || async {
        ticks(&db, "every-second").await >= 4
    })
    .await;
    // Every fired tick asked for its key once: as many upstream calls as
    // ticks that started a fill (a tick whose previous fill still runs
    // joins it).
    let settle = |db: &TestDb| {
        let db = db.pool.clone();
        async move {
            let mut last = -1;
            loop {
                let inflight: i64 = sqlx::query_scalar("SELECT count(*) FROM larder_inflight")
                    .fetch_one(&db)
                    .await
                    .unwrap();
                let enqueued: i64 =
                    sqlx::query_scalar("SELECT coalesce(sum(enqueued), 0) FROM larder_ticks")
                        .fetch_one(&db)
                        .await
                        .unwrap();
                if inflight == 0 && enqueued == last {
                    return enqueued;
                }
                last = enqueued;
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    };
    // SIGKILL one: the other keeps the ticks coming.
    a.child.kill().await.unwrap();
    let before = ticks(&db, "every-second").await;
    eventually(Duration::from_secs(20), || async {
        ticks(&db, "every-second").await >= before + 3
    })
    .await;
    exits_cleanly(b).await;
    let enqueued = tokio::time::timeout(Duration::from_secs(20), settle(&db))
        .await
        .expect("fills settle");
    let calls = upstream
        .hits()
        .iter()
        .filter(|h| h.path == "/3/configuration")
        .count() as i64;
    assert_eq!(calls, enqueued, "one upstream call per fill a tick started");
    let fired = ticks(&db, "every-second").await;
    assert!(
        enqueued >= fired - 2 && enqueued <= fired,
        "{enqueued} fills for {fired} ticks"
    );
    // Ticks are one second apart, each once (the primary key says so; this
    // says none was skipped while a scheduler ran).
    let gaps: Vec<f64> = sqlx::query_scalar(
        "SELECT EXTRACT(EPOCH FROM tick - lag(tick) OVER (ORDER BY tick))::float8
           FROM larder_ticks WHERE schedule = 'every-second' ORDER BY tick OFFSET 1",
    )
    .fetch_all(&db.pool)
    .await
    .unwrap();
    assert!(gaps.iter().all(|g| *g == 1.0), "{gaps:?}");
    exits_cleanly(worker).await;
    db.drop_db().await;
}

#[tokio::test]
async fn a_bad_schedules_file_is_refused_with_its_line_and_reason() {
    let file = schedules_file(
        "timezone = \"UTC\"\n\n[[schedule]]\nname = \"x\"\ncron = \"0 */5 * * *\"\nprewarm = [\"/v1/tmdb/configuration\"]\n",
    );
    for args in [&["check"][..], &["scheduler"][..]] {
        let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_larder"))
            .args(args)
            .env("LARDER_SCHEDULES", file.path())
            .env("DATABASE_URL", "postgres://postgres@127.0.0.1:1/none")
            .output()
            .await
            .unwrap();
        assert!(!out.status.success(), "{args:?}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.contains(&format!("{}:5: cron", file.path().display()))
                && stderr.contains("expected 6 fields"),
            "{args:?}: {stderr}"
        );
    }
    // And a schedule that goes cold between its ticks is pointed out.
    let file = schedules_file(
        "[[schedule]]\nname = \"slow\"\ncron = \"0 0 0 * * *\"\nprewarm = [\"/v1/tmdb/trending/all/day\"]\n",
    );
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_larder"))
        .arg("check")
        .env("LARDER_SCHEDULES", file.path())
        .output()
        .await
        .unwrap();
    assert!(out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("goes cold between ticks"), "{stderr}");
}

#[tokio::test]
async fn refresh_ahead_keeps_a_popular_short_lived_key_warm() {
    let file = schedules_file(
        "[[schedule]]\nname = \"ahead\"\ncron = \"* * * * * *\"\nrefresh_ahead = { within = \"2s\", min_hits = 2, window = \"1m\" }\n",
    );
    let app = TestApp::spawn_with(Options {
        env: vec![
            ("LARDER_SCHEDULES", file.path().display().to_string()),
            ("LARDER_HIT_FLUSH_INTERVAL", "200ms".into()),
        ],
        config_file: Some("[providers.tmdb]\nttl = \"3s\"\nstale = \"1s\"\n".into()),
        ..Default::default()
    })
    .await;
    let config = std::sync::Arc::new(
        larder_jobs::config::Config::load(None, &{
            let mut env = env_for(&app.db, &app.upstream);
            env.insert("LARDER_SCHEDULES".into(), file.path().display().to_string());
            env
        })
        .unwrap(),
    );
    let (stop, rx) = tokio::sync::watch::channel(false);
    let scheduler = tokio::spawn(larder_scheduler::run(
        config,
        app.db.pool.clone(),
        async move {
            let mut rx = rx;
            let _ = rx.wait_for(|v| *v).await;
        },
    ));
    let first = app.get("/v1/tmdb/movie/550").send().await.unwrap();
    assert_eq!(first.headers()["x-cache"], "MISS");
    // Three TTLs of steady traffic: never a MISS, never STALE.
    let until = tokio::time::Instant::now() + Duration::from_secs(10);
    let mut seen = std::collections::BTreeMap::<String, usize>::new();
    while tokio::time::Instant::now() < until {
        let r = app.get("/v1/tmdb/movie/550").send().await.unwrap();
        assert_eq!(r.status(), 200);
        *seen
            .entry(r.headers()["x-cache"].to_str().unwrap().to_owned())
            .or_default() += 1;
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(seen.keys().collect::<Vec<_>>(), vec!["HIT"], "{seen:?}");
    assert!(
        app.upstream.count() >= 3,
        "refreshed ahead of every expiry: {} upstream calls",
        app.upstream.count()
    );
    let _ = stop.send(true);
    scheduler.await.unwrap().unwrap();
    app.stop().await;
}

#[tokio::test]
async fn prewarm_each_fills_every_id_a_list_names() {
    let file = schedules_file(
        "[[schedule]]\nname = \"trending-and-its-movies\"\ncron = \"* * * * * *\"\nprewarm = [\"/v1/tmdb/trending/movie/week\"]\nprewarm_each = [{ list = \"/v1/tmdb/trending/movie/week\", ids = \"results.*.id\", path = \"/v1/tmdb/movie/*\" }]\n",
    );
    let app = TestApp::spawn().await;
    let mut env = env_for(&app.db, &app.upstream);
    env.insert("LARDER_SCHEDULES".into(), file.path().display().to_string());
    let config = std::sync::Arc::new(larder_jobs::config::Config::load(None, &env).unwrap());
    let (stop, mut rx) = tokio::sync::watch::channel(false);
    let scheduler = tokio::spawn(larder_scheduler::run(
        config,
        app.db.pool.clone(),
        async move {
            let _ = rx.wait_for(|v| *v).await;
        },
    ));
    let list: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/tmdb/trending/movie/week.json"
        ))
        .unwrap(),
    )
    .unwrap();
    let ids: Vec<i64> = list["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_i64().unwrap())
        .collect();
    assert!(!ids.is_empty());
    // The list first, then (a tick later) every movie it names.
    eventually(Duration::from_secs(20), || async {
        let mut all = true;
        for id in &ids {
            all &= app
                .db
                .count(&format!(
                    "SELECT count(*) FROM larder_cache WHERE key = 'tmdb/movie/{id}'"
                ))
                .await
                == 1;
        }
        all
    })
    .await;
    let _ = stop.send(true);
    scheduler.await.unwrap().unwrap();
    app.stop().await;
}

#[tokio::test]
async fn a_tick_missed_while_no_scheduler_ran_fires_once_on_start_not_as_a_burst() {
    let file = schedules_file(
        "[[schedule]]\nname = \"daily\"\ncron = \"0 0 0 * * *\"\nprewarm = [\"/v1/tmdb/configuration\"]\n",
    );
    let app = TestApp::spawn().await;
    // The last tick that fired was three days ago: two were missed before today's.
    app.db
        .exec("INSERT INTO larder_ticks (schedule, tick) VALUES ('daily', date_trunc('day', now()) - interval '3 days')")
        .await;
    let mut env = env_for(&app.db, &app.upstream);
    env.insert("LARDER_SCHEDULES".into(), file.path().display().to_string());
    let config = std::sync::Arc::new(larder_jobs::config::Config::load(None, &env).unwrap());
    let (stop, rx) = tokio::sync::watch::channel(false);
    // Two schedulers start together.
    let mut runs = Vec::new();
    for _ in 0..2 {
        let mut rx = rx.clone();
        runs.push(tokio::spawn(larder_scheduler::run(
            config.clone(),
            app.db.pool.clone(),
            async move {
                let _ = rx.wait_for(|v| *v).await;
            },
        )));
    }
    eventually(Duration::from_secs(10), || async {
        app.upstream
            .hits()
            .iter()
            .any(|h| h.path == "/3/configuration")
    })
    .await;
    let _ = stop.send(true);
    for r in runs {
        r.await.unwrap().unwrap();
    }
    assert_eq!(
        ticks(&app.db, "daily").await,
        2,
        "the old one and today's, once"
    );
    let today: i64 = app
        .db
        .count("SELECT count(*) FROM larder_ticks WHERE schedule = 'daily' AND tick = date_trunc('day', now())")
        .await;
    assert_eq!(today, 1);
    assert_eq!(
        app.upstream
            .hits()
            .iter()
            .filter(|h| h.path == "/3/configuration")
            .count(),
        1
    );
    app.stop().await;
}
