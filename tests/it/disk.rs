//! The optional disk tier (`LARDER_DISK_CACHE_DIR`): hits beyond memory
//! come from local disk, and it forgets what is purged or refilled in any
//! process, within the same notifications as the in-process cache, and
//! across a restart.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::Duration;

use tokio::process::Command;

use crate::helpers::*;
use crate::processes::{exits_cleanly, ready, start};

const MOVIE: &str = "/v1/tmdb/movie/550";

/// Ready, with its LISTEN connection up: that connection's first connect
/// clears the tier (notifications before it are unknown), so what is read
/// before it may be dropped.
async fn listening(http: &reqwest::Client, addr: SocketAddr) {
    ready(http, addr).await;
    eventually(Duration::from_secs(10), || async {
        let r = http.get(format!("http://{addr}/readyz")).send().await;
        match r {
            Ok(r) => r
                .json::<serde_json::Value>()
                .await
                .is_ok_and(|v| v["listener"] == true),
            Err(_) => false,
        }
    })
    .await;
}

/// `larder_disk_cache_lookups_total{result="hit"}` of the process at `addr`.
async fn disk_hits(http: &reqwest::Client, addr: SocketAddr) -> u64 {
    metric(
        http,
        addr,
        "larder_disk_cache_lookups_total{result=\"hit\"} ",
    )
    .await
}

/// The value of the series `series` (name and labels, then a space).
async fn metric(http: &reqwest::Client, addr: SocketAddr, series: &str) -> u64 {
    let text = metrics_at(http, addr).await;
    text.lines()
        .find(|l| l.starts_with(series))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|n| n.parse::<f64>().ok())
        .map_or(0, |n| n as u64)
}

async fn title(http: &reqwest::Client, addr: SocketAddr) -> String {
    let r = http
        .get(format!("http://{addr}{MOVIE}"))
        .header("prefer", "wait=30")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let doc: serde_json::Value = r.json().await.unwrap();
    doc["title"].as_str().unwrap_or_default().to_owned()
}

fn with_title(t: &str) -> String {
    let fixture = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/tmdb/movie/550.json"
    ))
    .unwrap();
    let mut doc: serde_json::Value = serde_json::from_str(&fixture).unwrap();
    doc["title"] = t.into();
    doc.to_string()
}

async fn purge(env: &BTreeMap<String, String>) {
    let out = Command::new(env!("CARGO_BIN_EXE_larder"))
        .args(["purge", "tmdb/movie/"])
        .env_clear()
        .envs(env)
        .output()
        .await
        .unwrap();
    assert!(out.status.success());
}

#[tokio::test]
async fn the_disk_tier_serves_hits_and_forgets_what_is_purged_or_refilled() {
    init_logs();
    let db = TestDb::new().await;
    let upstream = Upstream::start().await;
    // One folder for both processes: segment files are unnamed, so
    // processes cannot see, wipe or truncate each other's.
    let dir = tempdir();
    let mut env = env_for(&db, &upstream);
    env.insert("LARDER_ADMIN_TOKEN".into(), "disk-test-admin-token".into());
    // No in-process cache: every hit is the disk tier's or the database's.
    let with_disk = |dir: &std::path::Path| {
        let mut env = env.clone();
        env.insert("LARDER_HOT_CACHE_BYTES".into(), "0".into());
        env.insert("LARDER_DISK_CACHE_DIR".into(), dir.display().to_string());
        env
    };
    upstream.script("/3/movie/550", [Step::body(200, &with_title("One"))]);
    let a = start(&["all"], &with_disk(&dir)).await;
    let b_env = with_disk(&dir);
    let b = start(&["api"], &b_env).await;
    let http = reqwest::Client::new();
    let (a_addr, b_addr) = (a.addr.unwrap(), b.addr.unwrap());
    listening(&http, a_addr).await;
    listening(&http, b_addr).await;
    assert_eq!(title(&http, a_addr).await, "One");
    // b reads the database once, then its disk.
    assert_eq!(title(&http, b_addr).await, "One");
    let before = disk_hits(&http, b_addr).await;
    assert_eq!(title(&http, b_addr).await, "One");
    assert_eq!(title(&http, b_addr).await, "One");
    assert_eq!(disk_hits(&http, b_addr).await, before + 2);
    // A client that decodes nothing itself: asking gzip, it gets the stored
    // bytes from the disk tier; asking no coding, the identity copy (made
    // once, then kept on disk too). The same document each time.
    let raw = reqwest::Client::builder()
        .no_gzip()
        .no_brotli()
        .no_zstd()
        .build()
        .unwrap();
    let gz = raw
        .get(format!("http://{b_addr}{MOVIE}"))
        .header("accept-encoding", "gzip")
        .send()
        .await
        .unwrap();
    assert_eq!(gz.headers()["content-encoding"], "gzip");
    let mut doc = String::new();
    std::io::Read::read_to_string(
        &mut flate2::read::GzDecoder::new(&gz.bytes().await.unwrap()[..]),
        &mut doc,
    )
    .unwrap();
    let doc: serde_json::Value = serde_json::from_str(&doc).unwrap();
    assert_eq!(doc["title"], "One");
    for _ in 0..2 {
        let plain = raw
            .get(format!("http://{b_addr}{MOVIE}"))
            .send()
            .await
            .unwrap();
        assert!(plain.headers().get("content-encoding").is_none());
        assert_eq!(plain.json::<serde_json::Value>().await.unwrap(), doc);
    }
    assert_eq!(disk_hits(&http, b_addr).await, before + 5);
    // The entry and its identity copy.
    assert_eq!(metric(&http, b_addr, "larder_disk_cache_entries ").await, 2);
    // Nothing named in the folder: nothing can outlive the processes.
    assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 0);

    // A refill elsewhere (a prewarm through a's worker) replaces b's copy.
    upstream.script("/3/movie/550", [Step::body(200, &with_title("Two"))]);
    let r = http
        .post(format!("http://{a_addr}/admin/prewarm"))
        .bearer_auth("disk-test-admin-token")
        .json(&serde_json::json!({"paths": [MOVIE]}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 202);
    eventually(Duration::from_secs(10), || async {
        title(&http, b_addr).await == "Two"
    })
    .await;

    // b stops; meanwhile the entry is purged and refilled; b starts again
    // with the same folder and never serves the old copy.
    assert_eq!(title(&http, b_addr).await, "Two"); // on b's disk now
    exits_cleanly(b).await;
    upstream.script("/3/movie/550", [Step::body(200, &with_title("Three"))]);
    purge(&env).await;
    assert_eq!(title(&http, a_addr).await, "Three");
    let b = start(&["api"], &b_env).await;
    let b_addr = b.addr.unwrap();
    listening(&http, b_addr).await;
    assert_eq!(title(&http, b_addr).await, "Three");
    exits_cleanly(b).await;
    exits_cleanly(a).await;
    db.drop_db().await;
}

/// A fresh folder below the temporary directory.
fn tempdir() -> std::path::PathBuf {
    std::env::temp_dir().join(format!(
        "larder-disk-{}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64)
    ))
}
