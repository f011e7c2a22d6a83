//! The store's operator and housekeeping queries: purges, queue depth,
//! workers seen, pruning.

use std::time::Duration;

use sqlx::Row;

use super::{INFLIGHT_ABANDONED, PURGE_CHANNEL, Store};
use crate::error::Error;
use crate::job::FETCH_QUEUE;

impl Store {
    /// When each entry whose key starts with `prefix` was fetched.
    pub async fn fetched_like(
        &self,
        prefix: &str,
    ) -> Result<Vec<(String, chrono::DateTime<chrono::Utc>)>, Error> {
        let pattern = format!("{}%", like_escape(prefix));
        Ok(sqlx::query_as(
            "SELECT key, fetched_at FROM larder_cache WHERE key LIKE $1 AND status = 200 LIMIT 10000",
        )
        .bind(&pattern)
        .fetch_all(&self.pool)
        .await?)
    }

    /// Drop entries whose key starts with `prefix`; every API process is told
    /// so it drops its in-memory copies too.
    pub async fn purge(&self, prefix: &str) -> Result<u64, Error> {
        let mut tx = self.pool.begin().await?;
        let pattern = format!("{}%", like_escape(prefix));
        let n = sqlx::query("DELETE FROM larder_cache WHERE key LIKE $1")
            .bind(&pattern)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        sqlx::query("SELECT pg_notify($1, $2)")
            .bind(PURGE_CHANNEL)
            .bind(prefix)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(n)
    }

    /// Queue rows by state, for `/health` and the `larder_queue_jobs` gauge.
    pub async fn queue_depth(&self) -> Result<Vec<(String, i64)>, Error> {
        let rows = sqlx::query(
            "SELECT status, count(*) FROM apalis.jobs WHERE job_type = $1 GROUP BY status",
        )
        .bind(FETCH_QUEUE)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| Ok((r.try_get::<String, _>(0)?.to_lowercase(), r.try_get(1)?)))
            .collect()
    }

    /// Workers that sent a heartbeat within `within`.
    pub async fn workers_seen(&self, within: Duration) -> Result<i64, Error> {
        Ok(sqlx::query_scalar(
            "SELECT count(*) FROM apalis.workers
             WHERE worker_type = $1 AND last_seen > now() - make_interval(secs => $2)",
        )
        .bind(FETCH_QUEUE)
        .bind(within.as_secs_f64())
        .fetch_one(&self.pool)
        .await?)
    }

    /// Housekeeping: finished queue rows, dead entries, abandoned fill
    /// records. Returns rows deleted for each, in that order.
    pub async fn prune(&self, keep_finished: Duration) -> Result<[u64; 3], Error> {
        let jobs = sqlx::query(
            "DELETE FROM apalis.jobs
             WHERE job_type = $1 AND done_at < now() - make_interval(secs => $2)
               AND (status IN ('Done', 'Killed') OR (status = 'Failed' AND attempts >= max_attempts))",
        )
        .bind(FETCH_QUEUE)
        .bind(keep_finished.as_secs_f64())
        .execute(&self.pool)
        .await?
        .rows_affected();
        let entries = sqlx::query("DELETE FROM larder_cache WHERE keep_until < now()")
            .execute(&self.pool)
            .await?
            .rows_affected();
        let inflight = sqlx::query(
            "DELETE FROM larder_inflight WHERE started_at < now() - make_interval(secs => $1)",
        )
        .bind(INFLIGHT_ABANDONED.as_secs_f64() * 5.0)
        .execute(&self.pool)
        .await?
        .rows_affected();
        Ok([jobs, entries, inflight])
    }
}

/// `s` as a literal inside a `LIKE` pattern.
pub(super) fn like_escape(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_")
}
