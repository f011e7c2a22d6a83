//! The real `larder` binary as separate processes on one database.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::process::Stdio;
use std::time::{Duration, Instant};

use futures_util::future::join_all;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

use crate::helpers::*;

const MOVIE: &str = "/v1/tmdb/movie/550";

pub(crate) struct Proc {
    pub(crate) child: Child,
    pub(crate) addr: Option<SocketAddr>,
}

/// Start `larder ARGS` with `env`; for API processes, wait for the address
/// it listens on (read from its JSON logs).
pub(crate) async fn start(args: &[&str], env: &BTreeMap<String, String>) -> Proc {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_larder"));
    cmd.args(args)
        .env_clear()
        .envs(env)
        .env("LARDER_LOG_FORMAT", "json")
        .env("RUST_LOG", "info")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    let mut child = cmd.spawn().expect("spawn larder");
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = tokio::sync::oneshot::channel();
    tokio::spawn(async move {
        let mut tx = Some(tx);
        let mut lines = BufReader::new(stderr).lines();
        while let Ok(Some(line)) = lines.next_line().await {
            if std::env::var_os("TEST_LOG").is_some() {
                eprintln!("[larder] {line}");
            }
            if let Ok(v) = serde_json::from_str::<serde_json::Value>(&line)
                && v["fields"]["message"] == "API listening"
                && let Some(addr) = v["fields"]["addr"].as_str()
                && let Some(tx) = tx.take()
            {
                let _ = tx.send(addr.parse::<SocketAddr>().unwrap());
            }
        }
    });
    let is_api = matches!(args.first(), Some(&"api") | Some(&"all") | None);
    let addr = if is_api {
        Some(
            tokio::time::timeout(Duration::from_secs(30), rx)
                .await
                .expect("API did not start")
                .expect("API exited"),
        )
    } else {
        None
    };
    Proc { child, addr }
}

/// A loopback address nothing listens on right now.
pub(crate) fn free_addr() -> SocketAddr {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
}

fn sigterm(p: &Proc) {
    let pid = p.child.id().expect("running") as i32;
    // SAFETY: sending a signal to our own child process.
    unsafe {
        libc::kill(pid, libc::SIGTERM);
    }
}

pub(crate) async fn exits_cleanly(mut p: Proc) {
    sigterm(&p);
    let status = tokio::time::timeout(Duration::from_secs(40), p.child.wait())
        .await
        .expect("process did not stop after SIGTERM")
        .unwrap();
    assert!(status.success(), "exit status {status}");
}

pub(crate) async fn ready(http: &reqwest::Client, addr: SocketAddr) {
    eventually(Duration::from_secs(20), || async {
        http.get(format!("http://{addr}/readyz"))
            .send()
            .await
            .is_ok_and(|r| r.status() == 200)
    })
    .await;
}

/// `larder all` and `larder api` on `env`, both ready.
pub(crate) async fn all_and_api(env: &BTreeMap<String, String>) -> (Proc, Proc) {
    let a = start(&["all"], env).await;
    let b = start(&["api"], env).await;
    let http = reqwest::Client::new();
    ready(&http, a.addr.unwrap()).await;
    ready(&http, b.addr.unwrap()).await;
    (a, b)
}

/// Two `larder api` and two `larder worker --concurrency 4` processes on
/// `env`, the APIs ready; the workers serve metrics on `metrics`.
pub(crate) struct Cluster {
    pub(crate) apis: Vec<Proc>,
    pub(crate) workers: Vec<Proc>,
    pub(crate) addrs: Vec<SocketAddr>,
    pub(crate) http: reqwest::Client,
}

impl Cluster {
    pub(crate) async fn start(env: &BTreeMap<String, String>, metrics: [SocketAddr; 2]) -> Cluster {
        let apis = vec![start(&["api"], env).await, start(&["api"], env).await];
        let mut workers = Vec::new();
        for addr in metrics {
            let mut env = env.clone();
            env.insert("LARDER_METRICS_LISTEN".into(), addr.to_string());
            workers.push(start(&["worker", "--concurrency", "4"], &env).await);
        }
        let http = reqwest::Client::builder()
            .pool_max_idle_per_host(200)
            .build()
            .unwrap();
        for a in &apis {
            ready(&http, a.addr.unwrap()).await;
        }
        let addrs = apis.iter().map(|a| a.addr.unwrap()).collect();
        Cluster {
            apis,
            workers,
            addrs,
            http,
        }
    }

    /// `n` concurrent GETs of `path` spread over the APIs, willing to wait
    /// 30 s: each answer's status and body.
    pub(crate) async fn get_all(&self, path: &str, n: usize) -> Vec<(u16, bytes::Bytes)> {
        let calls = (0..n).map(|i| {
            let url = format!("http://{}{path}", self.addrs[i % self.addrs.len()]);
            let http = self.http.clone();
            async move {
                let r = http
                    .get(url)
                    .header("prefer", "wait=30")
                    .send()
                    .await
                    .unwrap();
                (r.status().as_u16(), r.bytes().await.unwrap())
            }
        });
        join_all(calls).await
    }

    pub(crate) async fn stop(self) {
        for p in self.apis.into_iter().chain(self.workers) {
            exits_cleanly(p).await;
        }
    }
}

#[tokio::test]
async fn two_apis_and_two_workers_make_one_upstream_call_for_200_callers() {
    init_logs();
    let db = TestDb::new().await;
    let upstream = Upstream::start().await;
    upstream.set_delay(Duration::from_millis(300));
    let env = env_for(&db, &upstream);
    let metrics_addrs = [free_addr(), free_addr()];
    let cluster = Cluster::start(&env, metrics_addrs).await;
    let http = cluster.http.clone();
    let results = cluster.get_all(MOVIE, 200).await;
    let statuses: Vec<u16> = results.iter().map(|r| r.0).collect();
    assert!(statuses.iter().all(|s| *s == 200), "{statuses:?}");
    assert!(
        results.windows(2).all(|w| w[0].1 == w[1].1),
        "one body for all"
    );
    assert_eq!(
        upstream.count(),
        1,
        "exactly one upstream request across processes"
    );
    // Worker processes serve their own metrics: the one call shows in one of them.
    let mut seen = 0;
    for addr in metrics_addrs {
        let text = http
            .get(format!("http://{addr}/metrics"))
            .send()
            .await
            .expect("worker metrics endpoint")
            .text()
            .await
            .unwrap();
        if text.contains("larder_upstream_requests_total{provider=\"tmdb\",status=\"200\"} 1") {
            seen += 1;
        }
    }
    assert_eq!(seen, 1, "one worker made the call");
    cluster.stop().await;
    db.drop_db().await;
}

#[tokio::test]
async fn a_worker_killed_mid_job_loses_nothing() {
    init_logs();
    let db = TestDb::new().await;
    let upstream = Upstream::start().await;
    // The first call never answers: its worker will be killed holding it.
    upstream.script("/3/movie/550", [Step::hang()]);
    let env = env_for(&db, &upstream);
    let api = start(&["api"], &env).await;
    let addr = api.addr.unwrap();
    let mut doomed = start(&["worker"], &env).await;
    let http = reqwest::Client::new();
    ready(&http, addr).await;
    let r = http
        .get(format!("http://{addr}{MOVIE}"))
        .header("prefer", "wait=0")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 202);
    upstream.wait_for_hits(1).await;

    doomed.child.kill().await.unwrap(); // SIGKILL
    let killed_at = Instant::now();
    let rescuer = start(&["worker"], &env).await;
    let r = http
        .get(format!("http://{addr}{MOVIE}"))
        .header("prefer", "wait=30")
        .send()
        .await
        .unwrap();
    let mut status = r.status().as_u16();
    // A clean 202 is allowed while the job waits for orphan recovery; keep asking.
    while status == 202 && killed_at.elapsed() < Duration::from_secs(60) {
        status = http
            .get(format!("http://{addr}{MOVIE}"))
            .header("prefer", "wait=30")
            .send()
            .await
            .unwrap()
            .status()
            .as_u16();
    }
    assert_eq!(status, 200, "the job ran again on another worker");
    assert!(
        killed_at.elapsed() < Duration::from_secs(60),
        "recovered in {:?}",
        killed_at.elapsed()
    );
    assert_eq!(upstream.count(), 2);
    exits_cleanly(api).await;
    exits_cleanly(rescuer).await;
    db.drop_db().await;
}

#[tokio::test]
async fn cli_keys_and_the_first_run_key() {
    init_logs();
    let db = TestDb::new().await;
    let upstream = Upstream::start().await;
    let mut env = env_for(&db, &upstream);
    env.insert("LARDER_AUTH".into(), "required".into());

    // First start with no keys: one `default` key is created and printed once.
    let mut all = start(&["all"], &env).await;
    let addr = all.addr.unwrap();
    let mut stdout = BufReader::new(all.child.stdout.take().unwrap()).lines();
    let mut printed = Vec::new();
    while let Ok(Ok(Some(line))) =
        tokio::time::timeout(Duration::from_secs(1), stdout.next_line()).await
    {
        printed.push(line);
    }
    let default_token = printed.last().expect("a token was printed").clone();
    assert!(default_token.starts_with("lk_"), "{printed:?}");

    let run = |args: &[&str]| {
        let env = env.clone();
        let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        async move {
            let out = Command::new(env!("CARGO_BIN_EXE_larder"))
                .args(&args)
                .env_clear()
                .envs(&env)
                .output()
                .await
                .unwrap();
            assert!(
                out.status.success(),
                "{args:?}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            String::from_utf8(out.stdout).unwrap()
        }
    };
    let out = run(&[
        "keys",
        "create",
        "--name",
        "jellyfin",
        "--scopes",
        "tmdb",
        "--expires-in",
        "30d",
    ])
    .await;
    let token = out.lines().last().unwrap().to_string();
    assert!(token.starts_with("lk_") && token.len() > 40, "{out}");
    let list = run(&["keys", "list"]).await;
    assert!(
        list.contains("jellyfin") && list.contains("default"),
        "{list}"
    );
    assert!(!list.contains(&token), "tokens are never listed");

    let http = reqwest::Client::new();
    ready(&http, addr).await;
    let get = |t: &str, path: &str| {
        http.get(format!("http://{addr}{path}"))
            .bearer_auth(t)
            .send()
    };
    assert_eq!(get(&token, MOVIE).await.unwrap().status(), 200);
    assert_eq!(
        get(&token, "/v1/openmeteo/forecast?latitude=1&longitude=2")
            .await
            .unwrap()
            .status(),
        403
    );
    assert_eq!(get(&default_token, MOVIE).await.unwrap().status(), 200);

    let id = list
        .lines()
        .find(|l| l.contains("jellyfin"))
        .and_then(|l| l.split_whitespace().next())
        .unwrap()
        .to_string();
    run(&["keys", "revoke", &id]).await;
    eventually(Duration::from_secs(5), || async {
        get(&token, MOVIE).await.unwrap().status() == 401
    })
    .await;

    // A second start does not make another default key.
    exits_cleanly(all).await;
    let again = start(&["all"], &env).await;
    let keys = run(&["keys", "list"]).await;
    assert_eq!(keys.matches("default").count(), 1, "{keys}");
    exits_cleanly(again).await;
    db.drop_db().await;
}

#[tokio::test]
async fn fills_and_purges_reach_every_api_process_in_memory_cache() {
    init_logs();
    let db = TestDb::new().await;
    let upstream = Upstream::start().await;
    let env = env_for(&db, &upstream);
    let (a, b) = all_and_api(&env).await;
    let http = reqwest::Client::new();
    let (a_addr, b_addr) = (a.addr.unwrap(), b.addr.unwrap());
    let x_cache = |addr: SocketAddr| {
        let http = http.clone();
        async move {
            let r = http
                .get(format!("http://{addr}{MOVIE}"))
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 200);
            r.headers()["x-cache"].to_str().unwrap().to_string()
        }
    };
    // A document large enough for b to keep an inflated copy for a client
    // that accepts no coding.
    let fixture = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/tmdb/movie/550.json"
    ))
    .unwrap();
    let mut doc: serde_json::Value = serde_json::from_str(&fixture).unwrap();
    doc["overview"] = "A ticking-time-bomb insomniac. ".repeat(1000).into();
    upstream.script("/3/movie/550", [Step::body(200, &doc.to_string())]);
    let plain = reqwest::Client::builder().no_gzip().build().unwrap();
    let title = |addr: SocketAddr| {
        let plain = plain.clone();
        async move {
            let r = plain
                .get(format!("http://{addr}{MOVIE}"))
                .send()
                .await
                .unwrap();
            assert!(r.headers().get("content-encoding").is_none());
            let doc: serde_json::Value = r.json().await.unwrap();
            doc["title"].as_str().unwrap_or_default().to_owned()
        }
    };
    assert_eq!(x_cache(a_addr).await, "MISS");
    assert_eq!(x_cache(a_addr).await, "HIT");
    assert_eq!(x_cache(b_addr).await, "HIT");
    assert_eq!(title(b_addr).await, "Fight Club");
    // The upstream's answer changes; a purge must drop every copy.
    doc["title"] = "Fight Club (restored)".into();
    upstream.script("/3/movie/550", [Step::body(200, &doc.to_string())]);
    let out = Command::new(env!("CARGO_BIN_EXE_larder"))
        .args(["purge", "tmdb/movie/"])
        .env_clear()
        .envs(&env)
        .output()
        .await
        .unwrap();
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("purged 1 entries"));
    // Both processes drop their copy: the next read fills again.
    eventually(Duration::from_secs(5), || async {
        x_cache(b_addr).await == "MISS"
    })
    .await;
    assert_eq!(
        x_cache(a_addr).await,
        "HIT",
        "a's copy was replaced by the new fill"
    );
    assert_eq!(title(b_addr).await, "Fight Club (restored)");
    assert_eq!(title(a_addr).await, "Fight Club (restored)");
    assert_eq!(upstream.count(), 2);
    exits_cleanly(a).await;
    exits_cleanly(b).await;
    db.drop_db().await;
}

#[tokio::test]
async fn sigterm_lets_a_worker_finish_the_job_in_hand() {
    init_logs();
    let db = TestDb::new().await;
    let upstream = Upstream::start().await;
    upstream.script(
        "/3/movie/550",
        [Step::fixture().delay(Duration::from_millis(1500))],
    );
    let env = env_for(&db, &upstream);
    let api = start(&["api"], &env).await;
    let worker = start(&["worker"], &env).await;
    let addr = api.addr.unwrap();
    let http = reqwest::Client::new();
    ready(&http, addr).await;
    let r = http
        .get(format!("http://{addr}{MOVIE}"))
        .header("prefer", "wait=0")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 202);
    upstream.wait_for_hits(1).await;
    // The worker is mid-call: stopping it must not drop the job.
    exits_cleanly(worker).await;
    assert_eq!(
        db.count("SELECT count(*) FROM larder_cache").await,
        1,
        "the job in hand was finished before exit"
    );
    // Served from that entry: at once (a caller that comes before the API
    // has read the fill's notice joins the fill it is waiting on, MISS),
    // then from the cache, HIT; never fetched again.
    eventually(Duration::from_secs(5), || async {
        let r = http
            .get(format!("http://{addr}{MOVIE}"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        r.headers()["x-cache"] == "HIT"
    })
    .await;
    assert_eq!(upstream.count(), 1);
    exits_cleanly(api).await;
    db.drop_db().await;
}

/// TheTVDB's login token is shared through Postgres by every worker of every
/// process: a token that expires in the middle of 50 concurrent fills over
/// two worker processes is renewed by exactly one login, and a refused token
/// by one re-login, after which the refused call succeeds.
#[tokio::test]
async fn two_worker_processes_share_one_login_token() {
    init_logs();
    let db = TestDb::new().await;
    let upstream = Upstream::start().await;
    upstream.set_delay(Duration::from_millis(150));
    upstream.route(
        "/v4/login",
        Step::body(
            200,
            r#"{"status":"success","data":{"token":"fresh-token"}}"#,
        ),
    );
    for i in 1..=51 {
        upstream.route(
            &format!("/v4/series/{i}"),
            Step::body(
                200,
                &format!(r#"{{"status":"success","data":{{"id":{i}}}}}"#),
            ),
        );
    }
    let env = env_for(&db, &upstream);
    let api = start(&["api"], &env).await;
    let workers = [
        start(&["worker", "--concurrency", "4"], &env).await,
        start(&["worker", "--concurrency", "4"], &env).await,
    ];
    let addr = api.addr.unwrap();
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(64)
        .build()
        .unwrap();
    ready(&http, addr).await;
    eventually(Duration::from_secs(20), || async {
        db.count(
            "SELECT count(*) FROM apalis.workers WHERE last_seen > now() - interval '5 seconds'",
        )
        .await
            >= 2
    })
    .await;
    // A token every worker will take first, due for renewal mid-run (the
    // 50 fills take at least 1.05 s: 7 rounds of 8 at a time, 150 ms each).
    db.exec(
        "INSERT INTO larder_tokens (provider, token, renew_at, expires_at)
         VALUES ('thetvdb', 'old-token', now() + interval '600 milliseconds', now() + interval '1 hour')",
    )
    .await;
    let calls = (1..=50).map(|i| {
        let http = http.clone();
        async move {
            http.get(format!("http://{addr}/v1/thetvdb/series/{i}"))
                .header("prefer", "wait=30")
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }
    });
    let statuses = join_all(calls).await;
    assert!(statuses.iter().all(|s| *s == 200), "{statuses:?}");
    let hits = upstream.hits();
    let logins = hits.iter().filter(|h| h.path == "/v4/login").count();
    assert_eq!(logins, 1, "one login for every worker of both processes");
    let bearer = |t: &str| format!("Bearer {t}");
    let data: Vec<_> = hits.iter().filter(|h| h.path != "/v4/login").collect();
    let seen: std::collections::BTreeSet<_> =
        data.iter().map(|h| h.authorization.clone()).collect();
    assert!(
        data.iter()
            .any(|h| h.authorization.as_deref() == Some(&bearer("old-token"))),
        "{seen:?}"
    );
    assert!(
        data.iter()
            .any(|h| h.authorization.as_deref() == Some(&bearer("fresh-token")))
    );
    let login_at = hits.iter().find(|h| h.path == "/v4/login").unwrap().at;
    assert!(
        data.iter()
            .filter(|h| h.at > login_at + Duration::from_millis(300))
            .all(|h| h.authorization.as_deref() == Some(&bearer("fresh-token"))),
        "after the renewal every call uses the new token"
    );

    // The upstream refuses the token once: one re-login, and the fill succeeds.
    upstream.script("/v4/series/51", [Step::status(401)]);
    upstream.script(
        "/v4/login",
        [Step::body(
            200,
            r#"{"status":"success","data":{"token":"third-token"}}"#,
        )],
    );
    let r = http
        .get(format!("http://{addr}/v1/thetvdb/series/51"))
        .header("prefer", "wait=30")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let hits = upstream.hits();
    assert_eq!(hits.iter().filter(|h| h.path == "/v4/login").count(), 2);
    let last = hits.iter().rfind(|h| h.path == "/v4/series/51").unwrap();
    assert_eq!(
        last.authorization.as_deref(),
        Some(&bearer("third-token")[..])
    );
    let tokens = db
        .count("SELECT count(*) FROM larder_tokens WHERE token = 'third-token'")
        .await;
    assert_eq!(tokens, 1, "the new token is shared through Postgres");
    for p in std::iter::once(api).chain(workers) {
        exits_cleanly(p).await;
    }
    db.drop_db().await;
}

/// Distinct misses at once through real processes; every answer's status.
async fn storm(
    http: &reqwest::Client,
    api: SocketAddr,
    ids: std::ops::Range<u32>,
    wait: u32,
) -> Vec<(u32, u16, String)> {
    let calls = ids.map(|id| {
        let http = http.clone();
        async move {
            let r = http
                .get(format!("http://{api}/v1/tmdb/movie/{id}"))
                .header("prefer", format!("wait={wait}"))
                .send()
                .await
                .unwrap();
            let status = r.status().as_u16();
            let body = r.text().await.unwrap();
            (id, status, body)
        }
    });
    join_all(calls).await
}

/// Upstream calls per movie id.
fn calls_per_id(upstream: &Upstream) -> BTreeMap<String, usize> {
    let mut calls = BTreeMap::new();
    for h in upstream.hits() {
        *calls.entry(h.path).or_default() += 1;
    }
    calls
}

#[tokio::test]
async fn a_worker_with_fewer_connections_than_jobs_finishes_every_job_once() {
    init_logs();
    let db = TestDb::new().await;
    let upstream = Upstream::start().await;
    upstream.set_delay(Duration::from_millis(100));
    let env = env_for(&db, &upstream);
    let api = start(&["api"], &env).await;
    let mut small = env.clone();
    // Two connections for sixteen jobs at once (and the queue's own three).
    small.insert("LARDER_DB_MAX_CONNECTIONS".into(), "2".into());
    let worker = start(&["worker", "--concurrency", "16"], &small).await;
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(150)
        .build()
        .unwrap();
    ready(&http, api.addr.unwrap()).await;
    let answers = storm(&http, api.addr.unwrap(), 20_000..20_120, 30).await;
    for (id, status, body) in &answers {
        assert_eq!(*status, 404, "movie {id}: {body}"); // the fixture knows none of them
    }
    let calls = calls_per_id(&upstream);
    assert_eq!(calls.len(), 120, "{calls:?}");
    assert!(calls.values().all(|n| *n == 1), "{calls:?}");
    exits_cleanly(api).await;
    exits_cleanly(worker).await;
    db.drop_db().await;
}

/// PostgreSQL refusing connections (the role's CONNECTION LIMIT, below
/// what the pools would open): answers are shed as 503 `overloaded` or
/// wait, never a 5xx that blames the upstream; and it all recovers.
#[tokio::test]
async fn postgres_refusing_connections_sheds_and_recovers_never_blaming_the_upstream() {
    init_logs();
    let admin = sqlx::PgPool::connect(&admin_url()).await.unwrap();
    let run = std::env::var("LARDER_TEST_RUN").unwrap_or_else(|_| "0".into());
    let name = format!("larder_t_{run}_{:08x}", rand::random::<u32>());
    for sql in [
        format!("CREATE ROLE {name} LOGIN PASSWORD 'limited-pw' CONNECTION LIMIT 9"),
        // (A role that is not a superuser may only give databases to roles
        // it is a member of.)
        format!("GRANT {name} TO CURRENT_USER"),
        format!("CREATE DATABASE {name} OWNER {name}"),
    ] {
        sqlx::raw_sql(sqlx::AssertSqlSafe(sql))
            .execute(&admin)
            .await
            .unwrap();
    }
    let url = {
        let base = admin_url();
        let (prefix, _) = base.rsplit_once('/').unwrap();
        let (scheme, rest) = prefix.split_once("://").unwrap();
        let server = rest.rsplit('@').next().unwrap();
        format!("{scheme}://{name}:limited-pw@{server}/{name}")
    };
    let upstream = Upstream::start().await;
    upstream.set_delay(Duration::from_millis(50));
    let fake = TestDb {
        name: name.clone(),
        url: url.clone(),
        pool: admin.clone(),
    };
    let env = env_for(&fake, &upstream);
    // `all` may open 18 connections; the role may have 9.
    let app = start(&["all"], &env).await;
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(300)
        .build()
        .unwrap();
    ready(&http, app.addr.unwrap()).await;
    let answers = storm(&http, app.addr.unwrap(), 30_000..30_300, 5).await;
    for (id, status, body) in &answers {
        match status {
            404 | 202 => {}
            503 => assert!(body.contains("\"overloaded\""), "movie {id}: {body}"),
            _ => panic!("movie {id}: {status} {body}"),
        }
    }
    // Recovery: every key is answered in the end, filled once.
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        let again = storm(&http, app.addr.unwrap(), 30_000..30_300, 5).await;
        let mut seen = BTreeMap::<u16, usize>::new();
        for (_, s, _) in &again {
            *seen.entry(*s).or_default() += 1;
        }
        if seen.keys().all(|s| *s == 404) {
            break;
        }
        let sample: Vec<_> = again.iter().filter(|a| a.1 != 404).take(3).collect();
        assert!(
            Instant::now() < deadline,
            "no recovery: {seen:?} {sample:?}"
        );
    }
    let calls = calls_per_id(&upstream);
    assert_eq!(calls.len(), 300);
    let twice: Vec<_> = calls.iter().filter(|(_, n)| **n > 1).collect();
    assert!(twice.is_empty(), "keys fetched more than once: {twice:?}");
    exits_cleanly(app).await;
    for sql in [
        format!("DROP DATABASE {name} WITH (FORCE)"),
        format!("DROP ROLE {name}"),
    ] {
        sqlx::raw_sql(sqlx::AssertSqlSafe(sql))
            .execute(&admin)
            .await
            .unwrap();
    }
}

/// PgBouncer in session mode (what README recommends if one must sit in
/// front): larder works through it, NOTIFY wake-ups included.
#[tokio::test]
async fn larder_works_through_pgbouncer_in_session_mode() {
    init_logs();
    let db = TestDb::new().await;
    let upstream = Upstream::start().await;
    upstream.set_delay(Duration::from_millis(300));
    let dir = tempfile::Builder::new()
        .prefix("larder-pgb-")
        .tempdir()
        .unwrap();
    let port = free_addr().port();
    let server = db.server();
    let (host, pg_port) = server.rsplit_once(':').unwrap();
    // The test database's role, with its password if the URL has one:
    // PgBouncer logs in to the server with it.
    let creds = db
        .url
        .split_once("://")
        .unwrap()
        .1
        .rsplit_once('@')
        .unwrap()
        .0;
    let (user, password) = creds.split_once(':').unwrap_or((creds, ""));
    std::fs::write(
        dir.path().join("users.txt"),
        format!("\"{user}\" \"{password}\"\n"),
    )
    .unwrap();
    std::fs::write(
        dir.path().join("pgbouncer.ini"),
        format!(
            "[databases]\n* = host={host} port={pg_port}\n\n[pgbouncer]\n\
             listen_addr = 127.0.0.1\nlisten_port = {port}\nunix_socket_dir =\n\
             auth_type = trust\nauth_file = {dir}/users.txt\npool_mode = session\n\
             max_client_conn = 200\ndefault_pool_size = 60\n\
             ignore_startup_parameters = extra_float_digits,options\n\
             logfile = {dir}/pgbouncer.log\npidfile = {dir}/pgbouncer.pid\n",
            dir = dir.path().display()
        ),
    )
    .unwrap();
    let bin = ["/usr/sbin/pgbouncer", "/usr/bin/pgbouncer"]
        .into_iter()
        .find(|p| std::path::Path::new(p).exists())
        .expect("pgbouncer (Debian: apt-get install pgbouncer; scripts/test installs it)");
    let mut cmd = tokio::process::Command::new(bin);
    if is_root() {
        // PgBouncer refuses to run as root.
        std::process::Command::new("chown")
            .args(["-R", "postgres:postgres"])
            .arg(dir.path())
            .status()
            .unwrap();
        cmd.args(["-u", "postgres"]);
    }
    let mut bouncer = cmd
        .arg(dir.path().join("pgbouncer.ini"))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    eventually(Duration::from_secs(10), || async {
        tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_ok()
    })
    .await;

    let mut env = env_for(&db, &upstream);
    env.insert(
        "DATABASE_URL".into(),
        db.url.replace(&server, &format!("127.0.0.1:{port}")),
    );
    let app = start(&["all"], &env).await;
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(50)
        .build()
        .unwrap();
    ready(&http, app.addr.unwrap()).await;
    let calls = (0..50).map(|_| {
        let http = http.clone();
        let url = format!("http://{}{MOVIE}", app.addr.unwrap());
        async move {
            let r = http
                .get(url)
                .header("prefer", "wait=20")
                .send()
                .await
                .unwrap();
            r.status().as_u16()
        }
    });
    let statuses = join_all(calls).await;
    assert!(statuses.iter().all(|s| *s == 200), "{statuses:?}");
    assert_eq!(upstream.count(), 1, "one upstream call through PgBouncer");
    exits_cleanly(app).await;
    let _ = bouncer.kill().await;
    db.drop_db().await;
}
