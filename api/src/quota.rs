//! Per-key quotas (`600/min`), counted across every API process without a
//! database write per request.
//!
//! Each process counts a key's requests in memory, per fixed window
//! (aligned on the epoch), and every [`FLUSH_EVERY`] adds what it counted
//! to `larder_quota_usage` in one statement that also reads back every
//! process's total for the keys it tracks. A request is allowed while the
//! last total known plus what this process counted since stays under the
//! quota. The first request of a key here reads the total first, so a
//! process that starts late (or a key's first request on another process)
//! sees what the others have used; a new window starts from zero and the
//! next flush brings the others' counts in. Between flushes the processes
//! may together let through a few more than the quota (at most what each
//! receives within one flush interval); never fewer. A database that does
//! not answer never refuses a request: counts go on in memory.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use dashmap::DashMap;
use hyper::StatusCode;
use larder_jobs::keys::{Grant, Quota};
use sqlx::PgPool;
use tokio::sync::watch;

use crate::reply::ApiError;

/// How often counts are added to the database and totals read back.
pub const FLUSH_EVERY: Duration = Duration::from_millis(250);
/// Keys tracked at once per process (each is a few atomics).
const MAX_TRACKED: usize = 200_000;

struct Counter {
    /// The window counted (seconds since the epoch at its start).
    window: AtomicI64,
    seconds: AtomicI64,
    /// Counted here and not yet added to the database.
    local: AtomicU64,
    /// Every process's total as last read (this process's added part included).
    known: AtomicU64,
}

#[derive(Default)]
pub struct Quotas {
    counters: DashMap<i64, Arc<Counter>>,
}

fn now_secs() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

impl Quotas {
    /// Count one request of `grant`'s key; a 429 when its quota is used up.
    pub async fn check(&self, pool: &PgPool, grant: &Grant) -> Result<(), ApiError> {
        let Some(quota) = grant.quota else {
            return Ok(());
        };
        let now = now_secs();
        let seconds = i64::from(quota.seconds.max(1));
        let window = now - now.rem_euclid(seconds);
        let counter = match self.counters.get(&grant.id).map(|c| c.clone()) {
            Some(c) => c,
            None => match self.track(pool, grant.id, window, seconds).await {
                Some(c) => c,
                // Past the bound of keys tracked: not counted (logged).
                None => return Ok(()),
            },
        };
        let seen = counter.window.load(Ordering::Acquire);
        if seen != window || counter.seconds.load(Ordering::Relaxed) != seconds {
            // A new window (or the quota changed): one request resets it,
            // from zero; the next flush (within 250 ms) brings in what the
            // other processes counted meanwhile. No database read here, so
            // a window boundary never holds requests up.
            if counter
                .window
                .compare_exchange(seen, window, Ordering::AcqRel, Ordering::Acquire)
                .is_ok()
            {
                counter.local.store(0, Ordering::Relaxed);
                counter.known.store(0, Ordering::Relaxed);
                counter.seconds.store(seconds, Ordering::Relaxed);
            }
        }
        let used = counter.known.load(Ordering::Relaxed) + counter.local.load(Ordering::Relaxed);
        if used >= u64::from(quota.calls) {
            return Err(exceeded(quota, window + seconds - now));
        }
        counter.local.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }

    /// Start counting key `id` here, from the database's total for this
    /// window (other processes may have counted already); a database that
    /// does not answer counts as zero (the next flush corrects it).
    async fn track(
        &self,
        pool: &PgPool,
        id: i64,
        window: i64,
        seconds: i64,
    ) -> Option<Arc<Counter>> {
        if self.counters.len() >= MAX_TRACKED {
            static WARNED: std::sync::Once = std::sync::Once::new();
            WARNED.call_once(|| {
                tracing::warn!("more than {MAX_TRACKED} keys with quotas active at once: the others are not counted")
            });
            return None;
        }
        let total = read_total(pool, id, window).await.unwrap_or(0);
        let fresh = Arc::new(Counter {
            window: AtomicI64::new(window),
            seconds: AtomicI64::new(seconds),
            local: AtomicU64::new(0),
            known: AtomicU64::new(total),
        });
        Some(self.counters.entry(id).or_insert(fresh).clone())
    }

    /// Add this process's counts to the database and read back the totals
    /// of every key tracked here; forget keys whose window ended a while ago.
    pub async fn flush(&self, pool: &PgPool) -> Result<(), sqlx::Error> {
        let now = now_secs();
        let mut added = (Vec::new(), Vec::new(), Vec::new());
        let mut tracked = (Vec::new(), Vec::new());
        let mut ended = Vec::new();
        let mut counters: Vec<(i64, Arc<Counter>)> = self
            .counters
            .iter()
            .map(|c| (*c.key(), c.value().clone()))
            .collect();
        // Rows locked in one order by every process: no deadlock between
        // two flushing the same keys.
        counters.sort_unstable_by_key(|(id, _)| *id);
        for (id, c) in &counters {
            let window = c.window.load(Ordering::Acquire);
            let delta = c.local.swap(0, Ordering::Relaxed);
            if delta > 0 {
                // Still counted here while the flush is under way.
                c.known.fetch_add(delta, Ordering::Relaxed);
                added.0.push(*id);
                added.1.push(window);
                added.2.push(delta as i64);
            }
            if window + c.seconds.load(Ordering::Relaxed) < now - 60 {
                ended.push(*id);
            } else {
                tracked.0.push(*id);
                tracked.1.push(window);
            }
        }
        for id in ended {
            self.counters
                .remove_if(&id, |_, c| c.local.load(Ordering::Relaxed) == 0);
        }
        if tracked.0.is_empty() && added.0.is_empty() {
            return Ok(());
        }
        let totals: Vec<(i64, i64, i64)> = sqlx::query_as(
            "WITH added AS (
                 INSERT INTO larder_quota_usage AS u (key_id, window_start, count)
                 SELECT * FROM unnest($1::int8[], $2::int8[], $3::int8[])
                 ON CONFLICT (key_id, window_start) DO UPDATE SET count = u.count + EXCLUDED.count
                 RETURNING key_id, window_start, count)
             SELECT key_id, window_start, count FROM added
             UNION ALL
             SELECT u.key_id, u.window_start, u.count
               FROM larder_quota_usage u
               JOIN unnest($4::int8[], $5::int8[]) AS t(key_id, window_start)
                 USING (key_id, window_start)
              WHERE NOT EXISTS (SELECT 1 FROM added a
                                 WHERE a.key_id = u.key_id AND a.window_start = u.window_start)",
        )
        .bind(&added.0)
        .bind(&added.1)
        .bind(&added.2)
        .bind(&tracked.0)
        .bind(&tracked.1)
        .fetch_all(pool)
        .await
        .inspect_err(|_| {
            // Not added: add them next time.
            for (i, id) in added.0.iter().enumerate() {
                if let Some(c) = self.counters.get(id)
                    && c.window.load(Ordering::Acquire) == added.1[i]
                {
                    let delta = added.2[i] as u64;
                    c.known.fetch_sub(
                        delta.min(c.known.load(Ordering::Relaxed)),
                        Ordering::Relaxed,
                    );
                    c.local.fetch_add(delta, Ordering::Relaxed);
                }
            }
        })?;
        for (id, window, count) in totals {
            if let Some(c) = self.counters.get(&id)
                && c.window.load(Ordering::Acquire) == window
            {
                c.known.store(count.max(0) as u64, Ordering::Relaxed);
            }
        }
        Ok(())
    }
}

async fn read_total(pool: &PgPool, id: i64, window: i64) -> Result<u64, sqlx::Error> {
    let total: Option<i64> = sqlx::query_scalar(
        "SELECT count FROM larder_quota_usage WHERE key_id = $1 AND window_start = $2",
    )
    .bind(id)
    .bind(window)
    .fetch_optional(pool)
    .await?;
    Ok(total.unwrap_or(0).max(0) as u64)
}

fn exceeded(quota: Quota, retry_after: i64) -> ApiError {
    ApiError {
        retry_after: Some(retry_after.max(1) as u64),
        ..ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "quota-exceeded",
            format!("this key's quota of {quota} is used up; try again when the window ends"),
        )
    }
}

/// Flush every [`FLUSH_EVERY`] until `stop`, then once more; drop usage
/// rows of windows long ended every few minutes.
pub async fn run(quotas: Arc<Quotas>, pool: PgPool, mut stop: watch::Receiver<bool>) {
    let mut rounds: u64 = 0;
    loop {
        let stopping = tokio::select! {
            _ = stop.wait_for(|v| *v) => true,
            _ = tokio::time::sleep(FLUSH_EVERY) => false,
        };
        if let Err(e) = quotas.flush(&pool).await {
            tracing::debug!(error = %e, "quota counts not flushed; kept for the next round");
        }
        rounds += 1;
        if rounds.is_multiple_of(1200) {
            let pruned = sqlx::query(
                "DELETE FROM larder_quota_usage u
                  WHERE u.window_start < EXTRACT(EPOCH FROM now())::int8 - 32 * 86400
                     OR NOT EXISTS (SELECT 1 FROM larder_keys k
                                     WHERE k.id = u.key_id
                                       AND u.window_start + COALESCE(k.quota_seconds, 0)
                                           > EXTRACT(EPOCH FROM now())::int8 - 60)",
            )
            .execute(&pool)
            .await;
            if let Err(e) = pruned {
                tracing::debug!(error = %e, "quota usage not pruned");
            }
        }
        if stopping {
            return;
        }
    }
}
