//! A new user's first hour: the binary and the scripts as they are run by
//! hand, failing fast and saying what to do.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Output, Stdio};
use std::time::{Duration, Instant};

use tokio::process::Command;

use crate::helpers::*;

const LARDER: &str = env!("CARGO_BIN_EXE_larder");

fn repo(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(path)
}

/// Run a command to its end (at most `limit`), with only `env` and PATH.
async fn run(
    program: &Path,
    args: &[&str],
    env: &BTreeMap<String, String>,
    limit: Duration,
) -> Output {
    let mut cmd = Command::new(program);
    cmd.args(args)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .envs(env)
        .stdin(Stdio::null())
        .kill_on_drop(true);
    tokio::time::timeout(limit, cmd.output())
        .await
        .unwrap_or_else(|_| {
            panic!(
                "{} {args:?} still running after {limit:?}",
                program.display()
            )
        })
        .expect("run")
}

/// Run `larder ARGS` to its end (at most a minute).
async fn larder(args: &[&str], env: &BTreeMap<String, String>) -> Output {
    run(Path::new(LARDER), args, env, Duration::from_secs(60)).await
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn db_env(db: &TestDb) -> BTreeMap<String, String> {
    BTreeMap::from([("DATABASE_URL".to_string(), db.url.clone())])
}

#[tokio::test]
async fn larder_all_exits_at_once_naming_a_taken_port() {
    let db = TestDb::new().await;
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    for cmd in ["all", "api"] {
        let mut env = db_env(&db);
        env.insert("LARDER_LISTEN".into(), addr.clone());
        let started = Instant::now();
        let out = larder(&[cmd], &env).await;
        let err = stderr(&out);
        assert!(
            !out.status.success(),
            "larder {cmd} kept running or succeeded: {err}"
        );
        assert!(
            started.elapsed() < Duration::from_secs(15),
            "larder {cmd} took {:?}",
            started.elapsed()
        );
        assert!(
            err.contains(&addr),
            "larder {cmd} does not name {addr}: {err}"
        );
        assert!(
            err.to_lowercase().contains("in use"),
            "larder {cmd} does not say why: {err}"
        );
    }
    db.drop_db().await;
}

#[tokio::test]
async fn a_process_that_cannot_reach_postgres_exits_within_seconds_naming_it() {
    // A port nothing listens on.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("postgres://larder:sekrit@127.0.0.1:{port}/larder");
    for cmd in ["all", "worker", "migrate"] {
        let env = BTreeMap::from([("DATABASE_URL".to_string(), url.clone())]);
        let started = Instant::now();
        let out = larder(&[cmd], &env).await;
        let err = stderr(&out);
        assert!(!out.status.success(), "larder {cmd}: {err}");
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "larder {cmd} took {:?}",
            started.elapsed()
        );
        assert!(
            err.contains(&format!("127.0.0.1:{port}")),
            "larder {cmd} does not name the database: {err}"
        );
        assert!(
            err.to_lowercase().contains("refused"),
            "larder {cmd} does not say why: {err}"
        );
        assert!(
            !err.contains("sekrit"),
            "larder {cmd} printed the password: {err}"
        );
    }
}

#[tokio::test]
async fn a_bad_configuration_file_is_named_with_the_reason() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nope.toml");
    let bad = dir.path().join("bad.toml");
    std::fs::write(&bad, "[providers.tmdb]\nrate = \"fast\"\n").unwrap();
    for (file, why) in [(&missing, "no such file"), (&bad, "rate")] {
        let file = file.to_str().unwrap();
        let out = larder(&["--config", file, "all"], &BTreeMap::new()).await;
        let err = stderr(&out);
        assert!(!out.status.success(), "{file}: {err}");
        assert!(err.contains(file), "does not name {file}: {err}");
        assert!(
            err.to_lowercase().contains(why),
            "does not say {why:?}: {err}"
        );
    }
}

#[tokio::test]
async fn the_default_log_level_is_quiet_about_postgres_notices_and_check_shows_effective_values() {
    let db = TestDb::new().await;
    let env = db_env(&db);
    // The database is migrated already: every IF NOT EXISTS says "skipping".
    for _ in 0..2 {
        let out = larder(&["migrate"], &env).await;
        assert!(out.status.success(), "{}", stderr(&out));
        let err = stderr(&out);
        assert!(
            !err.contains("already exists"),
            "a NOTICE reached the default log: {err}"
        );
    }
    let out = larder(&["check"], &env).await;
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        !text.contains("= []"),
        "check printed an empty value: {text}"
    );
    assert!(
        text.contains("https://api.themoviedb.org"),
        "check does not show TMDB's effective base URL: {text}"
    );
    let err = stderr(&out);
    assert!(
        err.contains("database connections per process: api 8, worker 10 (concurrency 16), all 18"),
        "check does not print the connection budget: {err}"
    );
    db.drop_db().await;
}

/// Another run's databases are left alone while its process lives; those of
/// runs that are gone are dropped; a run drops its own at its end.
#[tokio::test]
async fn test_runs_drop_only_their_own_databases_and_those_of_dead_runs() {
    let admin = sqlx::PgPool::connect(&admin_url()).await.unwrap();
    let mut alive = std::process::Command::new("sleep")
        .arg("600")
        .spawn()
        .unwrap();
    let mut gone = std::process::Command::new("true").spawn().unwrap();
    gone.wait().unwrap();
    let tag = rand::random::<u32>();
    let live_db = format!("larder_t_{}_{tag:08x}", alive.id());
    let dead_db = format!("larder_t_{}_{tag:08x}", gone.id());
    for name in [&live_db, &dead_db] {
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE DATABASE \"{name}\"")))
            .execute(&admin)
            .await
            .unwrap();
    }
    let exists = |name: String| {
        let admin = admin.clone();
        async move {
            sqlx::query_scalar::<_, bool>(
                "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)",
            )
            .bind(name)
            .fetch_one(&admin)
            .await
            .unwrap()
        }
    };
    let script = repo("scripts/drop-test-dbs");
    let env = |run: String| {
        BTreeMap::from([
            ("LARDER_TEST_DATABASE_URL".to_string(), admin_url()),
            ("LARDER_TEST_RUN".to_string(), run),
        ])
    };
    // A third run starts: it drops the dead run's database only.
    let out = run(
        &script,
        &["orphans"],
        &env("1".into()),
        Duration::from_secs(60),
    )
    .await;
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        exists(live_db.clone()).await,
        "a live run's database was dropped"
    );
    assert!(
        !exists(dead_db.clone()).await,
        "a dead run's database is left"
    );
    // The live run ends: it drops its own.
    let out = run(
        &script,
        &["mine"],
        &env(alive.id().to_string()),
        Duration::from_secs(60),
    )
    .await;
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(!exists(live_db).await, "a run left its own database");
    alive.kill().unwrap();
    alive.wait().unwrap();
}

/// A throwaway PostgreSQL cluster with password authentication (SCRAM) on
/// a free loopback port: what many users already run.
struct PasswordCluster {
    dir: tempfile::TempDir,
    bin: PathBuf,
    port: u16,
}

const SUPERUSER_PASSWORD: &str = "su-Secret-1";

impl PasswordCluster {
    fn bin_dir() -> PathBuf {
        let mut found: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
            .expect("PostgreSQL's server binaries in /usr/lib/postgresql")
            .filter_map(|e| Some(e.ok()?.path().join("bin")))
            .filter(|p| p.join("initdb").exists())
            .collect();
        found.sort_by_key(|p| {
            p.parent()
                .and_then(|v| v.file_name()?.to_str()?.parse::<u32>().ok())
                .unwrap_or(0)
        });
        found.pop().expect("initdb")
    }

    /// Run a server binary, as the `postgres` user when we are root
    /// (PostgreSQL refuses to run as root).
    fn server_cmd(&self, tool: &str) -> std::process::Command {
        let tool = self.bin.join(tool);
        if is_root() {
            let mut c = std::process::Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(tool);
            c
        } else {
            std::process::Command::new(tool)
        }
    }

    fn start() -> PasswordCluster {
        let dir = tempfile::Builder::new()
            .prefix("larder-pgpw-")
            .tempdir()
            .unwrap();
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let cluster = PasswordCluster {
            bin: Self::bin_dir(),
            dir,
            port,
        };
        let path = cluster.dir.path();
        std::fs::write(path.join("pw"), SUPERUSER_PASSWORD).unwrap();
        if is_root() {
            let ok = std::process::Command::new("chown")
                .args(["-R", "postgres:postgres"])
                .arg(path)
                .status()
                .unwrap();
            assert!(ok.success());
        }
        let status = cluster
            .server_cmd("initdb")
            .arg("-D")
            .arg(path.join("data"))
            .args([
                "-U",
                "postgres",
                "--auth=scram-sha-256",
                "--no-sync",
                "-E",
                "UTF8",
            ])
            .arg(format!("--pwfile={}", path.join("pw").display()))
            .stdout(Stdio::null())
            .status()
            .unwrap();
        assert!(status.success(), "initdb");
        let status = cluster
            .server_cmd("pg_ctl")
            .arg("-D")
            .arg(path.join("data"))
            .args(["-w", "-t", "60", "-l"])
            .arg(path.join("log"))
            .arg("-o")
            .arg(format!(
                "-p {port} -k {} -c listen_addresses=127.0.0.1 -c fsync=off",
                path.display()
            ))
            .arg("start")
            .stdout(Stdio::null())
            .status()
            .unwrap();
        assert!(status.success(), "pg_ctl start");
        cluster
    }

    fn url(&self, user: &str, password: Option<&str>, db: &str) -> String {
        let creds = match password {
            Some(p) => format!("{user}:{p}"),
            None => user.to_string(),
        };
        format!("postgres://{creds}@127.0.0.1:{}/{db}", self.port)
    }

    async fn exec(&self, sql: &str) {
        let pool =
            sqlx::PgPool::connect(&self.url("postgres", Some(SUPERUSER_PASSWORD), "postgres"))
                .await
                .unwrap();
        sqlx::raw_sql(sqlx::AssertSqlSafe(sql.to_string()))
            .execute(&pool)
            .await
            .unwrap();
        pool.close().await;
    }
}

impl Drop for PasswordCluster {
    fn drop(&mut self) {
        let _ = self
            .server_cmd("pg_ctl")
            .arg("-D")
            .arg(self.dir.path().join("data"))
            .args(["-m", "immediate", "stop"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}

#[tokio::test]
async fn setup_works_with_a_postgres_that_asks_for_passwords_and_says_what_to_do_when_it_cannot() {
    let cluster = PasswordCluster::start();
    cluster
        .exec("CREATE ROLE app LOGIN CREATEDB CREATEROLE PASSWORD 'app-Pass-2'; CREATE ROLE plain LOGIN PASSWORD 'plain-Pass-3'")
        .await;
    let script = repo("scripts/ensure-postgres");
    let port = cluster.port;
    let ensure = |url: String, args: &'static [&'static str]| {
        let script = script.clone();
        async move {
            let env = BTreeMap::from([("DATABASE_URL".to_string(), url)]);
            run(&script, args, &env, Duration::from_secs(60)).await
        }
    };

    // The password in DATABASE_URL is all it takes: the script and larder.
    let good = cluster.url("app", Some("app-Pass-2"), "larder");
    let out = ensure(good.clone(), &[]).await;
    assert!(out.status.success(), "{}", stderr(&out));
    let env = BTreeMap::from([("DATABASE_URL".to_string(), good.clone())]);
    let out = larder(&["migrate"], &env).await;
    assert!(out.status.success(), "larder migrate: {}", stderr(&out));
    let out = ensure(good, &["--createdb"]).await;
    assert!(out.status.success(), "{}", stderr(&out));

    // When it cannot help, it says what to do, and never echoes a password.
    let shown = format!("postgres://app:PASSWORD@127.0.0.1:{port}/larder");
    let cases: [(String, &[&str], &[&str]); 4] = [
        (
            cluster.url("app", Some("wrong-Pass-9"), "larder"),
            &[],
            &["refused the password", &shown],
        ),
        (
            cluster.url("app", None, "larder"),
            &[],
            &["asks role \"app\" for a password", &shown],
        ),
        (
            cluster.url("plain", Some("plain-Pass-3"), "plaindb"),
            &[],
            &[
                "may not create it",
                "CREATE DATABASE \"plaindb\" OWNER \"plain\"",
            ],
        ),
        (
            cluster.url("plain", Some("plain-Pass-3"), "postgres"),
            &["--createdb"],
            &["ALTER ROLE \"plain\" CREATEDB"],
        ),
    ];
    for (url, args, says) in cases {
        let out = ensure(url.clone(), args).await;
        let err = stderr(&out);
        assert!(!out.status.success(), "{url}: {err}");
        for s in says {
            assert!(err.contains(s), "{url}: does not say {s:?}: {err}");
        }
        for secret in ["wrong-Pass-9", "plain-Pass-3", "app-Pass-2"] {
            assert!(!err.contains(secret), "printed a password: {err}");
        }
        assert!(!err.contains("psql:"), "a bare psql error: {err}");
    }

    // larder itself, with the wrong password: at once, naming the server.
    let env = BTreeMap::from([(
        "DATABASE_URL".to_string(),
        cluster.url("app", Some("wrong-Pass-9"), "larder"),
    )]);
    let started = Instant::now();
    let out = larder(&["all"], &env).await;
    let err = stderr(&out);
    assert!(!out.status.success());
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "took {:?}",
        started.elapsed()
    );
    assert!(err.contains(&format!("127.0.0.1:{port}")), "{err}");
    assert!(err.contains("password authentication failed"), "{err}");
    assert!(!err.contains("wrong-Pass-9"), "{err}");
}

/// A process whose pool cannot fit in what the server has left says so at
/// start, with the figures.
#[tokio::test]
async fn a_pool_larger_than_the_servers_room_is_warned_about_at_start() {
    use tokio::io::{AsyncBufReadExt, BufReader};
    let db = TestDb::new().await;
    let mut cmd = Command::new(LARDER);
    cmd.arg("api")
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("DATABASE_URL", &db.url)
        .env("LARDER_LISTEN", "127.0.0.1:0")
        .env("LARDER_DB_MAX_CONNECTIONS", "500")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    let mut child = cmd.spawn().unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let warned = tokio::time::timeout(Duration::from_secs(30), async {
        while let Ok(Some(line)) = lines.next_line().await {
            if line.contains("may open 500 database connections") {
                return line;
            }
        }
        panic!("larder api exited without the warning");
    })
    .await
    .expect("no warning about the pool within 30 s");
    assert!(warned.contains("max_connections"), "{warned}");
    child.kill().await.unwrap();
    db.drop_db().await;
}
