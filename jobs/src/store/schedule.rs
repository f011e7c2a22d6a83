//! The scheduler's queries: claiming a tick together with the jobs it
//! enqueues, counting hits, and finding popular keys about to expire.

use std::time::Duration;

use apalis_core::task::{builder::TaskBuilder, task_id::TaskId};
use chrono::{DateTime, Utc};

use super::{INFLIGHT_ABANDONED, Store};
use crate::error::Error;
use crate::job::{FETCH_MAX_ATTEMPTS, FETCH_QUEUE, FetchJob, FetchReason};
use crate::key::CacheKey;

/// Keys enqueued per statement.
const BATCH: usize = 500;

impl Store {
    /// Fire `schedule`'s tick `tick` unless another scheduler has: the tick
    /// row and every job it enqueues commit together (a scheduler killed
    /// mid-tick leaves nothing, and another can claim the tick). Keys with a
    /// fill under way join it (one upstream call). `None`: claimed
    /// elsewhere; `Some(n)`: `n` fills started.
    pub async fn fire_tick(
        &self,
        schedule: &str,
        tick: DateTime<Utc>,
        keys: &[CacheKey],
        reason: FetchReason,
    ) -> Result<Option<usize>, Error> {
        let mut tx = self.pool.begin().await?;
        let claimed = sqlx::query(
            "INSERT INTO larder_ticks (schedule, tick) VALUES ($1, $2)
             ON CONFLICT DO NOTHING RETURNING 1",
        )
        .bind(schedule)
        .bind(tick)
        .fetch_optional(&mut *tx)
        .await?
        .is_some();
        if !claimed {
            tx.rollback().await?;
            return Ok(None);
        }
        let mut unique: Vec<CacheKey> = Vec::with_capacity(keys.len());
        for k in keys {
            if !unique.contains(k) {
                unique.push(k.clone());
            }
        }
        let mut started = 0;
        for batch in unique.chunks(BATCH) {
            started += enqueue_batch(&mut tx, batch, reason).await?;
        }
        sqlx::query("UPDATE larder_ticks SET enqueued = $3 WHERE schedule = $1 AND tick = $2")
            .bind(schedule)
            .bind(tick)
            .bind(started as i32)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(Some(started))
    }

    /// The last tick of `schedule` that fired.
    pub async fn last_tick(&self, schedule: &str) -> Result<Option<DateTime<Utc>>, Error> {
        Ok(
            sqlx::query_scalar("SELECT max(tick) FROM larder_ticks WHERE schedule = $1")
                .bind(schedule)
                .fetch_one(&self.pool)
                .await?,
        )
    }

    /// Add hits counted in memory (one statement for the batch).
    pub async fn record_hits(&self, hits: &[(String, u32)]) -> Result<(), Error> {
        if hits.is_empty() {
            return Ok(());
        }
        let keys: Vec<&str> = hits.iter().map(|(k, _)| k.as_str()).collect();
        let counts: Vec<i32> = hits
            .iter()
            .map(|(_, n)| i32::try_from(*n).unwrap_or(i32::MAX))
            .collect();
        sqlx::query(
            "INSERT INTO larder_hits (key, minute, hits)
             SELECT k, date_trunc('minute', now()), n FROM unnest($1::text[], $2::int[]) AS t(k, n)
             ON CONFLICT (key, minute) DO UPDATE SET hits = larder_hits.hits + EXCLUDED.hits",
        )
        .bind(&keys)
        .bind(&counts)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Keys hit at least `min_hits` times over `window` whose entry stops
    /// being fresh within `within` (successes only), most hit first.
    pub async fn popular_expiring(
        &self,
        within: Duration,
        window: Duration,
        min_hits: u32,
        limit: usize,
    ) -> Result<Vec<CacheKey>, Error> {
        let rows: Vec<String> = sqlx::query_scalar(
            "SELECT h.key FROM (
                 SELECT key, sum(hits) AS n FROM larder_hits
                  WHERE minute > now() - make_interval(secs => $2)
                  GROUP BY key HAVING sum(hits) >= $3
             ) h JOIN larder_cache c ON c.key = h.key
             WHERE c.status = 200 AND c.fresh_until < now() + make_interval(secs => $1)
             ORDER BY h.n DESC LIMIT $4",
        )
        .bind(within.as_secs_f64())
        .bind(window.as_secs_f64() + 60.0)
        .bind(i64::from(min_hits))
        .bind(limit as i64)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .iter()
            .filter_map(|k| CacheKey::from_stored(k))
            .collect())
    }

    /// Forget ticks and hit counts older than these.
    pub async fn prune_schedule_state(&self, ticks: Duration, hits: Duration) -> Result<(), Error> {
        sqlx::query("DELETE FROM larder_ticks WHERE tick < now() - make_interval(secs => $1)")
            .bind(ticks.as_secs_f64())
            .execute(&self.pool)
            .await?;
        sqlx::query("DELETE FROM larder_hits WHERE minute < now() - make_interval(secs => $1)")
            .bind(hits.as_secs_f64())
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}

/// Start fills of `keys` in one statement (plus the queue's insert): the
/// keys' advisory locks in hash order (so two batches never deadlock, and a
/// single enqueue of one of them waits its turn), a fill record for each
/// key that has none (or an abandoned one), and a job for each record won.
/// Keys with a fill under way are joined, not enqueued again.
async fn enqueue_batch(
    tx: &mut sqlx::PgConnection,
    keys: &[CacheKey],
    reason: FetchReason,
) -> Result<usize, Error> {
    let mut locks: Vec<i64> = keys.iter().map(CacheKey::lock_id).collect();
    locks.sort_unstable();
    locks.dedup();
    sqlx::query("SELECT pg_advisory_xact_lock(l) FROM unnest($1::bigint[]) AS l ORDER BY l")
        .bind(&locks)
        .execute(&mut *tx)
        .await?;
    let texts: Vec<&str> = keys.iter().map(CacheKey::as_str).collect();
    let task_ids: Vec<TaskId> = keys
        .iter()
        .map(|_| TaskId::from(ulid::Ulid::generate()))
        .collect();
    let ids: Vec<String> = task_ids.iter().map(ToString::to_string).collect();
    let won: Vec<(String, String)> = sqlx::query_as(
        "INSERT INTO larder_inflight (key, job_id, reason)
         SELECT k, j, $3 FROM unnest($1::text[], $2::text[]) AS t(k, j)
         ON CONFLICT (key) DO UPDATE
            SET job_id = EXCLUDED.job_id, reason = EXCLUDED.reason, started_at = now()
            WHERE larder_inflight.started_at < now() - make_interval(secs => $4)
              AND NOT EXISTS (
                  SELECT 1 FROM apalis.jobs j
                   WHERE j.id = larder_inflight.job_id
                     AND (j.status IN ('Pending', 'Queued', 'Running')
                          OR (j.status = 'Failed' AND j.attempts < j.max_attempts)))
         RETURNING key, job_id",
    )
    .bind(&texts)
    .bind(&ids)
    .bind(reason.as_str())
    .bind(INFLIGHT_ABANDONED.as_secs_f64())
    .fetch_all(&mut *tx)
    .await?;
    if won.is_empty() {
        return Ok(0);
    }
    let mut tasks = Vec::with_capacity(won.len());
    for (key, job_id) in &won {
        let Some(i) = keys.iter().position(|k| k.as_str() == key) else {
            continue;
        };
        let (key, id) = (&keys[i], task_ids[i].clone());
        if ids[i] != *job_id {
            continue;
        }
        tasks.push(
            TaskBuilder::new(FetchJob::fetch(key, reason).to_bytes())
                .task_id(id)
                .max_attempts(FETCH_MAX_ATTEMPTS)
                .build(),
        );
    }
    let n = tasks.len();
    apalis_postgres::queries::push_tasks(&mut *tx, FETCH_QUEUE, tasks)
        .await
        .map_err(|e| Error::Queue(e.to_string()))?;
    Ok(n)
}
