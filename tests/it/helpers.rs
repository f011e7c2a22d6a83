//! Test harness: a database per test, the fixture upstream, the app in
//! process (API + worker) or as real processes of the `larder` binary.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Once};
use std::time::Duration;

use larder_jobs::config::Config;
use sqlx::PgPool;
use tokio::sync::watch;

pub use crate::upstream::{Step, Upstream};

pub const ADMIN_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";

pub fn init_logs() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        if std::env::var_os("TEST_LOG").is_some() {
            tracing_subscriber::fmt()
                .with_env_filter(std::env::var("RUST_LOG").unwrap_or_else(|_| "info".into()))
                .with_test_writer()
                .init();
        }
    });
}

/// The maintenance database of the test cluster (`LARDER_TEST_DATABASE_URL`,
/// default the local `postgres` database).
pub fn admin_url() -> String {
    std::env::var("LARDER_TEST_DATABASE_URL").unwrap_or_else(|_| ADMIN_URL.to_string())
}

/// A fresh, migrated database owned by one test.
pub struct TestDb {
    pub name: String,
    pub url: String,
    pub pool: PgPool,
}

impl TestDb {
    pub async fn new() -> TestDb {
        let base = admin_url();
        // `larder_t_<run>_…`: scripts/test drops its own run's databases
        // (and those of runs that are gone), never another live run's.
        let run = std::env::var("LARDER_TEST_RUN").unwrap_or_else(|_| "0".into());
        let name = format!("larder_t_{run}_{:016x}", rand::random::<u64>());
        let url = match base.rsplit_once('/') {
            Some((prefix, _)) => format!("{prefix}/{name}"),
            None => panic!("bad LARDER_TEST_DATABASE_URL"),
        };
        larder_jobs::db::create_if_missing(&url)
            .await
            .expect("create test database");
        let pool = larder_jobs::db::pool(&url, 20).unwrap();
        larder_jobs::db::migrate(&pool)
            .await
            .expect("migrate test database");
        TestDb { name, url, pool }
    }

    /// The server's `host:port`, as the URL names it.
    pub fn server(&self) -> String {
        let rest = self.url.split_once("://").map_or(&*self.url, |(_, r)| r);
        let authority = rest.split('/').next().unwrap_or(rest);
        authority
            .rsplit('@')
            .next()
            .unwrap_or(authority)
            .to_string()
    }

    pub async fn count(&self, sql: &str) -> i64 {
        sqlx::query_scalar(sqlx::AssertSqlSafe(sql.to_string()))
            .fetch_one(&self.pool)
            .await
            .unwrap()
    }

    /// Run SQL (test set-up only: aging entries and the like).
    pub async fn exec(&self, sql: &str) {
        sqlx::raw_sql(sqlx::AssertSqlSafe(sql.to_string()))
            .execute(&self.pool)
            .await
            .unwrap();
    }

    pub async fn drop_db(self) {
        self.pool.close().await;
        let admin = PgPool::connect(&admin_url()).await.unwrap();
        let _ = sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
            "DROP DATABASE IF EXISTS {} WITH (FORCE)",
            self.name
        )))
        .execute(&admin)
        .await;
    }
}

/// The environment a test app or process gets.
pub fn env_for(db: &TestDb, upstream: &Upstream) -> BTreeMap<String, String> {
    let mut env = BTreeMap::new();
    env.insert("DATABASE_URL".into(), db.url.clone());
    env.insert("LARDER_LISTEN".into(), "127.0.0.1:0".into());
    env.insert("LARDER_AUTH".into(), "off".into());
    // Every provider on the fixture upstream, every setting it needs set.
    for def in larder_jobs::provider::Catalogue::builtin().providers() {
        let id = larder_jobs::config::env_name(def.id);
        for host in def.hosts {
            let name = match host.name {
                "" => format!("LARDER_{id}_BASE_URL"),
                h => format!("LARDER_{id}_{}_BASE_URL", larder_jobs::config::env_name(h)),
            };
            env.insert(name, upstream.url());
        }
        for s in def.settings.iter().filter(|s| s.required) {
            env.insert(s.env.into(), format!("test-{}", s.name));
        }
    }
    env.insert("TMDB_API_KEY".into(), "testkey1".into());
    env.insert("LARDER_UPSTREAM_BACKOFF_BASE".into(), "20ms".into());
    // No schedules unless a test brings its own: the repository's
    // schedules.toml would prewarm TMDB's lists when `larder all` starts.
    let none = std::env::temp_dir().join("larder-test-no-schedules.toml");
    if !none.exists() {
        let _ = std::fs::write(&none, "");
    }
    env.insert("LARDER_SCHEDULES".into(), none.display().to_string());
    env.insert("LARDER_WORKER_HEARTBEAT".into(), "1s".into());
    env
}

/// The API and a worker running in this test's runtime.
pub struct TestApp {
    pub addr: SocketAddr,
    pub db: TestDb,
    pub upstream: Upstream,
    pub http: reqwest::Client,
    pub token: Option<String>,
    /// The database proxy, with `Options::db_proxy`.
    pub proxy: Option<TcpProxy>,
    stop: watch::Sender<bool>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

pub struct Options {
    pub env: Vec<(&'static str, String)>,
    pub worker: bool,
    /// A `larder.toml` for the app; `{upstream}` is replaced by the fixture
    /// upstream's URL.
    pub config_file: Option<String>,
    /// Every database connection through a [`TcpProxy`] (`TestApp::proxy`).
    pub db_proxy: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            env: vec![],
            worker: true,
            config_file: None,
            db_proxy: false,
        }
    }
}

impl TestApp {
    pub async fn spawn() -> TestApp {
        Self::spawn_with(Options::default()).await
    }

    /// An app with these environment variables on top of the harness's.
    pub async fn with_env(env: &[(&'static str, &str)]) -> TestApp {
        Self::spawn_with(Options {
            env: env.iter().map(|(k, v)| (*k, v.to_string())).collect(),
            ..Default::default()
        })
        .await
    }

    pub async fn spawn_with(opts: Options) -> TestApp {
        init_logs();
        let upstream = Upstream::start().await;
        let db = TestDb::new().await;
        let mut env = env_for(&db, &upstream);
        for (k, v) in opts.env {
            env.insert(k.to_string(), v);
        }
        if let Some(text) = opts.config_file {
            let path = std::env::temp_dir().join(format!("{}.toml", db.name));
            std::fs::write(&path, text.replace("{upstream}", &upstream.url())).unwrap();
            env.insert("LARDER_CONFIG".into(), path.display().to_string());
        }
        let mut url = db.url.clone();
        let proxy = if opts.db_proxy {
            let server = db.server();
            let proxy = TcpProxy::start(&server).await;
            url = url.replace(&server, &proxy.addr.to_string());
            env.insert("DATABASE_URL".into(), url.clone());
            Some(proxy)
        } else {
            None
        };
        let config = Arc::new(Config::load(None, &env).expect("test config"));
        let pool = larder_jobs::db::pool(&url, 20).unwrap();
        let (stop, stop_rx) = watch::channel(false);
        let wait = |mut rx: watch::Receiver<bool>| async move {
            let _ = rx.wait_for(|v| *v).await;
        };
        let api = larder_api::Api::build(config.clone(), pool.clone())
            .await
            .unwrap();
        let addr = api.local_addr();
        let mut tasks = vec![tokio::spawn({
            let rx = stop_rx.clone();
            async move { api.run(wait(rx)).await.unwrap() }
        })];
        if opts.worker {
            let concurrency = config.worker.concurrency;
            tasks.push(tokio::spawn(async move {
                larder_worker::run(config, pool, None, concurrency, wait(stop_rx))
                    .await
                    .unwrap()
            }));
        }
        let app = TestApp {
            addr,
            db,
            upstream,
            http: reqwest::Client::builder()
                .pool_max_idle_per_host(256)
                .build()
                .unwrap(),
            token: None,
            proxy,
            stop,
            tasks,
        };
        app.wait_ready().await;
        app
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    pub fn get(&self, path: &str) -> reqwest::RequestBuilder {
        let r = self.http.get(self.url(path));
        match &self.token {
            Some(t) => r.bearer_auth(t),
            None => r,
        }
    }

    /// GET `path` and read its JSON body.
    pub async fn json(&self, path: &str) -> serde_json::Value {
        self.get(path).send().await.unwrap().json().await.unwrap()
    }

    /// The app's `/metrics` text.
    pub async fn metrics(&self) -> String {
        metrics_at(&self.http, self.addr).await
    }

    pub async fn wait_ready(&self) {
        eventually(Duration::from_secs(15), || async {
            matches!(self.http.get(self.url("/readyz")).send().await, Ok(r) if r.status() == 200)
        })
        .await;
    }

    /// Stop the app (graceful) and drop its database.
    pub async fn stop(self) {
        let _ = self.stop.send(true);
        for t in self.tasks {
            let _ = tokio::time::timeout(Duration::from_secs(40), t).await;
        }
        self.db.drop_db().await;
    }
}

/// Wait until `f` holds, checking every 20 ms, or panic at the deadline.
pub async fn eventually<F, Fut>(deadline: Duration, mut f: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let end = tokio::time::Instant::now() + deadline;
    loop {
        if f().await {
            return;
        }
        if tokio::time::Instant::now() > end {
            panic!("condition not met within {deadline:?}");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The `/metrics` text of the process at `addr`.
pub async fn metrics_at(http: &reqwest::Client, addr: SocketAddr) -> String {
    http.get(format!("http://{addr}/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

/// The `error.code` of a JSON error answer.
pub async fn error_code(r: reqwest::Response) -> String {
    let body: serde_json::Value = r.json().await.unwrap();
    match body["error"]["code"].as_str() {
        Some(code) => code.to_owned(),
        None => panic!("no error code in {body}"),
    }
}

/// How many entries the cache holds.
pub async fn cached_rows(app: &TestApp) -> i64 {
    app.db.count("SELECT count(*) FROM larder_cache").await
}

/// The `max-age` of a served entry's `Cache-Control`, in seconds.
pub fn max_age(r: &reqwest::Response) -> u64 {
    let cc = r.headers()["cache-control"].to_str().unwrap();
    cc.trim_start_matches("public, max-age=").parse().unwrap()
}

/// A provider without its required setting `env` is off: `GET path` is a
/// 503 `provider-disabled` that names `env`, and the upstream hears nothing.
pub async fn assert_disabled(path: &str, env: &'static str) {
    let app = TestApp::with_env(&[(env, "")]).await;
    let r = app.get(path).send().await.unwrap();
    assert_eq!(r.status(), 503);
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["error"]["code"], "provider-disabled");
    assert!(
        body["error"]["message"].as_str().unwrap().contains(env),
        "{body}"
    );
    assert_eq!(app.upstream.count(), 0);
    app.stop().await;
}

/// A TCP proxy to Postgres that can cut every connection and refuse new
/// ones (a database outage without touching the shared server), and counts
/// the bytes clients send through it (the queries they make).
pub struct TcpProxy {
    pub addr: SocketAddr,
    up: watch::Sender<bool>,
    sent: Arc<std::sync::atomic::AtomicU64>,
}

impl TcpProxy {
    pub async fn start(target: &str) -> TcpProxy {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (up, up_rx) = watch::channel(true);
        let sent = Arc::new(std::sync::atomic::AtomicU64::new(0));
        let target: Arc<str> = target.into();
        let counter = sent.clone();
        tokio::spawn(async move {
            loop {
                let Ok((client, _)) = listener.accept().await else {
                    return;
                };
                if !*up_rx.borrow() {
                    continue; // dropped: connection refused in effect
                }
                let mut down = up_rx.clone();
                let target = target.clone();
                let counter = counter.clone();
                tokio::spawn(async move {
                    let Ok(server) = tokio::net::TcpStream::connect(&*target).await else {
                        return;
                    };
                    let (mut cr, mut cw) = client.into_split();
                    let (mut sr, mut sw) = server.into_split();
                    let up = async {
                        let mut buf = vec![0u8; 16 * 1024];
                        while let Ok(n) = cr.read(&mut buf).await {
                            if n == 0 || sw.write_all(&buf[..n]).await.is_err() {
                                break;
                            }
                            counter.fetch_add(n as u64, std::sync::atomic::Ordering::Relaxed);
                        }
                    };
                    let back = tokio::io::copy(&mut sr, &mut cw);
                    tokio::select! {
                        _ = up => {}
                        _ = back => {}
                        _ = down.wait_for(|v| !*v) => {}
                    }
                });
            }
        });
        TcpProxy { addr, up, sent }
    }

    pub fn set_up(&self, up: bool) {
        let _ = self.up.send(up);
    }

    /// Bytes clients have sent to Postgres through the proxy.
    pub fn sent(&self) -> u64 {
        self.sent.load(std::sync::atomic::Ordering::Relaxed)
    }
}

/// Whether the tests run as root (server binaries then run as `postgres`).
pub fn is_root() -> bool {
    std::process::Command::new("id")
        .arg("-u")
        .output()
        .map(|o| o.stdout.trim_ascii() == b"0")
        .unwrap_or(false)
}
