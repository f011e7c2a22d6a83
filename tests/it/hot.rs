//! Hot lists through the whole path: each source from its fixture upstream,
//! the index, RSS, and a broken source serving its last list.

use std::time::Duration;

use crate::helpers::*;

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/hot");

/// The upstream path of each source (as `sources.rs` calls it) and its
/// fixture.
fn route(app: &TestApp, source: &str) {
    let s = larder_jobs::provider::hot::SOURCES
        .iter()
        .find(|s| s.id == source)
        .unwrap();
    let path = s.path.split('?').next().unwrap();
    let (file, ct) = ["json", "html", "xml"]
        .iter()
        .map(|ext| (format!("{FIXTURES}/{source}.{ext}"), *ext))
        .find(|(p, _)| std::path::Path::new(p).exists())
        .unwrap();
    let ct = match ct {
        "json" => "application/json; charset=utf-8",
        "html" => "text/html; charset=utf-8",
        _ => "application/rss+xml; charset=utf-8",
    };
    // Scripted (one answer, taken first): two sources share `/`.
    app.upstream
        .script(path, [Step::bytes(200, ct, std::fs::read(file).unwrap())]);
    // Douyin's token call sets the cookie its list call sends.
    if let Some((prelude, name)) = s.prelude {
        app.upstream.script(
            prelude.split('?').next().unwrap(),
            [Step::body(200, "{}").header("set-cookie", &format!("{name}=t0k3n; Path=/"))],
        );
    }
}

#[tokio::test]
async fn every_source_is_served_normalised_and_listed() {
    let app = TestApp::spawn().await;
    for s in larder_jobs::provider::hot::SOURCES {
        route(&app, s.id);
        let r = app.get(&format!("/v1/hot/{}", s.id)).send().await.unwrap();
        assert_eq!(r.status(), 200, "{}", s.id);
        let v: serde_json::Value = r.json().await.unwrap();
        assert_eq!(v["source"], s.id);
        let items = v["items"].as_array().unwrap();
        assert!(!items.is_empty(), "{}", s.id);
        for (n, item) in items.iter().enumerate() {
            assert_eq!(item["rank"], n + 1, "{}", s.id);
            assert!(
                item["url"].as_str().unwrap().starts_with("http"),
                "{}",
                s.id
            );
        }
        let hit = app.upstream.hits().into_iter().last().unwrap();
        assert_eq!(hit.path, s.path.split('?').next().unwrap(), "{}", s.id);
        if let Some((_, name)) = s.prelude {
            assert_eq!(hit.header("cookie"), Some(&*format!("{name}=t0k3n")));
        }
    }
    // The index: every source, its category, and when it was last fetched.
    let index = app.json("/v1/hot").await;
    let sources = index["sources"].as_array().unwrap();
    assert_eq!(sources.len(), larder_jobs::provider::hot::SOURCES.len());
    assert!(sources.iter().all(|s| s["updated"].is_string()), "{index}");
    assert!(index["categories"].as_array().unwrap().len() > 5);
    app.stop().await;
}

#[tokio::test]
async fn a_list_reads_as_rss_and_a_broken_source_keeps_its_last_list() {
    let app = TestApp::spawn_with(Options {
        config_file: Some("[providers.hot]\nttl = \"1s\"\nstale = \"1s\"\n".into()),
        ..Default::default()
    })
    .await;
    route(&app, "v2ex");
    let r = app.get("/v1/hot/v2ex?format=rss").send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(
        r.headers()["content-type"],
        "application/rss+xml; charset=utf-8"
    );
    let feed = r.text().await.unwrap();
    let channel = rss::Channel::read_from(feed.as_bytes()).unwrap();
    assert_eq!(channel.items().len(), 3);
    assert_eq!(channel.items()[0].title(), Some("大家现在用什么写后端？"));
    assert_eq!(
        channel.items()[0].link(),
        Some("https://www.v2ex.com/t/1050001")
    );
    // The site breaks (an empty list, then errors): the last list stays,
    // marked STALE with its age, never an empty success.
    app.upstream
        .route("/api/topics/hot.json", Step::body(200, "[]"));
    eventually(Duration::from_secs(15), || async {
        let r = app.get("/v1/hot/v2ex").send().await.unwrap();
        let stale = r.headers()["x-cache"] == "STALE";
        let v: serde_json::Value = r.json().await.unwrap();
        assert_eq!(v["items"].as_array().unwrap().len(), 3);
        stale
    })
    .await;
    let r = app.get("/v1/hot/v2ex").send().await.unwrap();
    assert!(r.headers()["age"].to_str().unwrap().parse::<u64>().unwrap() >= 1);
    app.stop().await;
}

#[tokio::test]
async fn every_changed_list_is_kept_as_a_snapshot_for_its_day() {
    let app = TestApp::spawn_with(Options {
        config_file: Some("[providers.hot]\nttl = \"1s\"\nstale = \"0s\"\n".into()),
        ..Default::default()
    })
    .await;
    let first = std::fs::read_to_string(format!("{FIXTURES}/v2ex.json")).unwrap();
    let second = first.replace("大家现在用什么写后端？", "Rust 还是 Go？");
    // The same list twice, then a changed one: two snapshots.
    app.upstream.script(
        "/api/topics/hot.json",
        [
            Step::body(200, &first),
            Step::body(200, &first),
            Step::body(200, &second),
        ],
    );
    // Asked until each scripted answer was fetched (the list lives 1 s).
    for n in 1..=3 {
        eventually(Duration::from_secs(10), || async {
            let r = app
                .get("/v1/hot/v2ex")
                .header("prefer", "wait=5")
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 200);
            app.upstream.count() >= n
        })
        .await;
    }
    eventually(Duration::from_secs(10), || async {
        app.db
            .count("SELECT count(*) FROM larder_snapshots WHERE key = 'hot/v2ex'")
            .await
            == 2
    })
    .await;
    let today = chrono::Utc::now().format("%Y-%m-%d").to_string();
    let h = app
        .json(&format!("/v1/hot/v2ex/history?date={today}"))
        .await;
    let snaps = h["snapshots"].as_array().unwrap();
    assert_eq!(snaps.len(), 2, "{h}");
    assert_eq!(snaps[0]["items"][0]["title"], "大家现在用什么写后端？");
    assert_eq!(snaps[1]["items"][0]["title"], "Rust 还是 Go？");
    // Another day, another zone, bad input.
    let h = app.json("/v1/hot/v2ex/history?date=2001-01-01").await;
    assert_eq!(h["snapshots"].as_array().unwrap().len(), 0);
    let h = app
        .json(&format!(
            "/v1/hot/v2ex/history?date={today}&tz=Pacific/Kiritimati"
        ))
        .await;
    assert_eq!(h["timezone"], "Pacific/Kiritimati");
    for bad in [
        "/v1/hot/v2ex/history?date=yesterday",
        "/v1/hot/v2ex/history?tz=Mars/Base",
        "/v1/hot/nope/history",
        "/v1/hot/v2ex/history?x=1",
    ] {
        let r = app.get(bad).send().await.unwrap();
        assert_eq!(r.status(), 400, "{bad}");
    }
    app.stop().await;
}

#[tokio::test]
async fn the_sports_schedule_of_a_day_is_normalised() {
    let app = TestApp::spawn().await;
    let body = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/sports/schedule.json"
    ))
    .unwrap();
    app.upstream.route(
        "/al/api/home/schedule",
        Step::bytes(200, "application/json", body),
    );
    let v = app
        .json("/v1/sports/schedule?type=hot&date=2025-01-05")
        .await;
    let matches = v["matches"].as_array().unwrap();
    assert_eq!(matches.len(), 3, "{v}");
    assert_eq!(matches[1]["status"], "live");
    assert_eq!(matches[1]["away"]["name"], "北京首钢");
    let hit = app.upstream.hits().into_iter().last().unwrap();
    assert_eq!(hit.query, "direction=forward&type=hot&date=2025-01-06");
    // Basketball only: the upstream's `all`, filtered.
    let v = app
        .json("/v1/sports/schedule?type=basketball&date=2025-01-05")
        .await;
    assert_eq!(v["matches"].as_array().unwrap().len(), 2);
    assert!(
        app.upstream
            .hits()
            .into_iter()
            .last()
            .unwrap()
            .query
            .contains("type=all")
    );
    let r = app
        .get("/v1/sports/schedule?date=2025-13-01")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    app.stop().await;
}
