//! Snapshots of lists whose provider keeps their history (hot lists).

use std::time::Duration;

use bytes::Bytes;
use chrono::{DateTime, Utc};

use super::Store;
use crate::coding;
use crate::error::Error;
use crate::key::CacheKey;

/// Most snapshots one read returns.
const MAX_READ: i64 = 500;

impl Store {
    /// Keep a snapshot of `key`'s new answer, unless its `digest` (what
    /// makes two answers the same) is the last one kept's. `true` when one
    /// was written.
    pub async fn snapshot(&self, key: &CacheKey, body: &[u8], digest: u64) -> Result<bool, Error> {
        let digest = digest as i64;
        let packed = coding::gzip(body);
        let written = sqlx::query(
            "INSERT INTO larder_snapshots (key, digest, body)
             SELECT $1, $2, $3
              WHERE NOT EXISTS (
                  SELECT 1 FROM (
                      SELECT digest FROM larder_snapshots WHERE key = $1
                       ORDER BY fetched_at DESC LIMIT 1
                  ) last WHERE last.digest = $2)",
        )
        .bind(key.as_str())
        .bind(digest)
        .bind(packed.as_ref())
        .execute(&self.pool)
        .await?
        .rows_affected();
        Ok(written > 0)
    }

    /// `key`'s snapshots taken in `[from, to)`, oldest first, each inflated.
    pub async fn snapshots(
        &self,
        key: &str,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        max_body: usize,
    ) -> Result<Vec<(DateTime<Utc>, Bytes)>, Error> {
        let rows: Vec<(DateTime<Utc>, Vec<u8>)> = sqlx::query_as(
            "SELECT fetched_at, body FROM larder_snapshots
              WHERE key = $1 AND fetched_at >= $2 AND fetched_at < $3
              ORDER BY fetched_at LIMIT $4",
        )
        .bind(key)
        .bind(from)
        .bind(to)
        .bind(MAX_READ)
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter()
            .map(|(at, body)| {
                coding::gunzip(&body, max_body)
                    .map(|b| (at, b))
                    .map_err(|e| Error::Corrupt(format!("snapshot of {key}: {e}")))
            })
            .collect()
    }

    /// Forget snapshots older than `keep`.
    pub async fn prune_snapshots(&self, keep: Duration) -> Result<u64, Error> {
        Ok(sqlx::query(
            "DELETE FROM larder_snapshots WHERE fetched_at < now() - make_interval(secs => $1)",
        )
        .bind(keep.as_secs_f64())
        .execute(&self.pool)
        .await?
        .rows_affected())
    }
}
