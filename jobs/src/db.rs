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
    let options = PgConnectOptions::from_str(url)?
        .application_name("larder")
        .options([(
            "synchronous_commit",
            if synchronous_commit { "on" } else { "off" },
        )]);
    Ok(PgPoolOptions::new()
        .max_connections(max_connections)
        // A few connections kept open, so a burst does not wait for
        // connection set-up (and TLS negotiation) on its critical path.
        .min_connections(max_connections.min(4))
        .acquire_timeout(Duration::from_secs(3))
        .test_before_acquire(false)
        .connect_lazy_with(options))
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
