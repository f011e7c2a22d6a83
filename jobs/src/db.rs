//! Connecting, creating the database, migrating.

use std::str::FromStr;
use std::time::Duration;

use sqlx::migrate::MigrateDatabase;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{PgPool, Postgres};

use crate::error::Error;

/// larder's own migrations (the queue's come from apalis-postgres).
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../migrations");

/// Create the database named in `url` if it does not exist. Several processes
/// may race here; losing the race is fine.
pub async fn create_if_missing(url: &str) -> Result<(), Error> {
    if !Postgres::database_exists(url).await? {
        match Postgres::create_database(url).await {
            Ok(()) => tracing::info!("created database"),
            Err(sqlx::Error::Database(e)) if e.code().as_deref() == Some("42P04") => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(())
}

/// What a process runs, for its connection budget.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Api,
    Worker {
        concurrency: usize,
    },
    All {
        concurrency: usize,
    },
    /// `migrate`, `keys`, `purge`: a statement or two and exit.
    Tool,
}

/// Connections an API process's pool may open: one held by its LISTEN
/// connection, the rest for lookups (single-flighted per key) and enqueues
/// (one short transaction each).
pub const API_CONNECTIONS: u32 = 8;
/// Connections of a worker's queue pool (apalis): one held by its LISTEN,
/// two for polls, acks and heartbeats. Kept apart from the fills' pool.
pub const QUEUE_CONNECTIONS: u32 = 3;
/// Most connections a worker's fills may use.
pub const FILL_CONNECTIONS_MAX: u32 = 7;

/// The size of a process's main pool (`LARDER_DB_MAX_CONNECTIONS`
/// overrides it); a worker also opens [`QUEUE_CONNECTIONS`] = 3 for the
/// queue:
///
/// - API: [`API_CONNECTIONS`] = 8 (1 LISTEN + 7 for lookups and enqueues).
/// - worker: ⌈concurrency / 2⌉, at most [`FILL_CONNECTIONS_MAX`] = 7, for
///   its fills (a fill holds a connection only for its few short
///   statements, never across an upstream call, a rate wait or a sleep, so
///   jobs share them); with the queue's 3, concurrency 16 gives 10.
/// - all: the API's 8 and the fills' together (15 at the defaults, 18 with
///   the queue's); a tool: 2.
///
/// Four API and four worker processes at the defaults use at most
/// 4 × 8 + 4 × 10 = 72 of PostgreSQL's default `max_connections = 100`
/// (3 of which are reserved for superusers), leaving room for psql,
/// migrations and monitoring.
pub fn budget(role: Role) -> u32 {
    let fills = |c: usize| {
        u32::try_from(c.div_ceil(2))
            .unwrap_or(u32::MAX)
            .clamp(1, FILL_CONNECTIONS_MAX)
    };
    match role {
        Role::Api => API_CONNECTIONS,
        Role::Worker { concurrency } => fills(concurrency),
        Role::All { concurrency } => API_CONNECTIONS + fills(concurrency),
        Role::Tool => 2,
    }
}

/// Every connection a process may open: its main pool and, for a worker,
/// the queue's.
pub fn total(role: Role, main_pool: u32) -> u32 {
    match role {
        Role::Worker { .. } | Role::All { .. } => main_pool + QUEUE_CONNECTIONS,
        Role::Api | Role::Tool => main_pool,
    }
}

/// Compare a process's pool with what the server has room for. `None` when
/// it fits; otherwise the warning to log.
pub async fn check_room(pool: &PgPool, size: u32) -> Result<Option<String>, Error> {
    // `size`: every connection the process may open (see [`total`]).
    let (max, reserved, used): (i32, i32, i64) = sqlx::query_as(
        "SELECT current_setting('max_connections')::int,
                current_setting('superuser_reserved_connections')::int,
                (SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend')",
    )
    .fetch_one(pool)
    .await?;
    // Our own open connections are among `used`; they are part of `size`.
    let ours = i64::from(pool.size());
    let free = i64::from(max - reserved) - used + ours;
    Ok((i64::from(size) > free).then(|| {
        format!(
            "this process may open {size} database connections, but PostgreSQL has room for \
             {free} more (max_connections {max}, {reserved} reserved for superusers, {used} in use): \
             under load its pool will wait or fail. Raise max_connections, lower \
             LARDER_DB_MAX_CONNECTIONS, or run fewer processes per server (README: Scaling out)"
        )
    }))
}

/// A pool for `url`. Connections are not pinged before use (that would add a
/// round trip to every query); a broken one fails once and is dropped.
pub fn pool(url: &str, max_connections: u32) -> Result<PgPool, Error> {
    pool_with(url, max_connections, false)
}

/// [`pool`] with the session's `synchronous_commit` (see
/// `Config::db_synchronous_commit`).
pub fn pool_with(
    url: &str,
    max_connections: u32,
    synchronous_commit: bool,
) -> Result<PgPool, Error> {
    let (pool, options) = pool_options(url, max_connections, synchronous_commit)?;
    Ok(pool.connect_lazy_with(options))
}

fn pool_options(
    url: &str,
    max_connections: u32,
    synchronous_commit: bool,
) -> Result<(PgPoolOptions, PgConnectOptions), Error> {
    let options = PgConnectOptions::from_str(url)?
        .application_name("larder")
        .options([(
            "synchronous_commit",
            if synchronous_commit { "on" } else { "off" },
        )]);
    let pool = PgPoolOptions::new()
        .max_connections(max_connections)
        // A few connections kept open, so a burst does not wait for
        // connection set-up (and TLS negotiation) on its critical path.
        .min_connections(max_connections.min(4))
        .acquire_timeout(Duration::from_secs(3))
        // Connections opened for a burst are given back once it is over,
        // so other pools (this process's queue, other processes) can get
        // theirs under the server's or the role's limit.
        .idle_timeout(Duration::from_secs(30))
        .test_before_acquire(false);
    Ok((pool, options))
}

/// A worker's queue pool: [`QUEUE_CONNECTIONS`], opened now and kept for
/// the life of the process (no idle or lifetime expiry), so that a burst in
/// the process's main pool or in other processes can never leave the queue's
/// poller without a connection.
pub async fn queue_pool(url: &str, synchronous_commit: bool) -> Result<PgPool, Error> {
    let pool = pool_options(url, QUEUE_CONNECTIONS, synchronous_commit)?;
    let pool = pool
        .0
        .idle_timeout(None)
        .max_lifetime(None)
        .connect_lazy_with(pool.1);
    warm(&pool, QUEUE_CONNECTIONS).await;
    Ok(pool)
}

/// Open `n` connections of `pool` now (a lazy pool opens them on first
/// use), so that it holds its minimum before a burst elsewhere could take
/// every connection the server or the role allows. Best effort: a pool
/// that cannot connect now connects later.
pub async fn warm(pool: &PgPool, n: u32) {
    let mut held = Vec::new();
    for _ in 0..n {
        match pool.acquire().await {
            Ok(c) => held.push(c), // held, so the next acquire opens another
            Err(e) => {
                tracing::debug!(error = %e, "could not open every connection yet");
                break;
            }
        }
    }
}

/// Apply larder's and the queue's migrations. Safe to run concurrently: both
/// migrators serialise on an advisory lock.
pub async fn migrate(pool: &PgPool) -> Result<(), Error> {
    MIGRATOR.run(pool).await?;
    apalis_postgres::PostgresStorage::<()>::setup(pool)
        .await
        .map_err(|e| Error::Queue(e.to_string()))?;
    Ok(())
}

/// Whether every migration this binary knows has been applied.
pub async fn migrations_applied(pool: &PgPool) -> Result<bool, Error> {
    let latest = MIGRATOR.iter().map(|m| m.version).max().unwrap_or(0);
    let applied: Option<i64> =
        sqlx::query_scalar("SELECT max(version) FROM _sqlx_migrations WHERE success")
            .fetch_one(pool)
            .await?;
    Ok(applied.unwrap_or(0) >= latest)
}
