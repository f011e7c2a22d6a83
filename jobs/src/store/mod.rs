//! The cache store: every query that touches cache entries, in-flight fill
//! records and fill notifications (the two fill-ending functions they call
//! live in `migrations/`). Kept behind this one type so another
//! backend can stand beside Postgres later.
//!
//! The fill protocol, which makes "one upstream call per key" hold across
//! every process:
//!
//! 1. A reader that misses calls [`Store::enqueue`]. In one transaction it
//!    takes `pg_advisory_xact_lock(xxh3(key))`, re-reads the entry, and
//!    either finds it fresh (a fill landed meanwhile), finds an in-flight row
//!    (someone else's fill is under way: join it), or inserts the in-flight
//!    row *and* the queue job. The unique in-flight row is the safety net if
//!    the lock were ever bypassed.
//! 2. The worker calls [`Store::complete`] or [`Store::fail`] (SQL functions
//!    `larder_complete` / `larder_end_fill` from the migrations, one round
//!    trip each), which take the same lock, write the entry (or not), delete
//!    the in-flight row and `pg_notify('larder_fill', …)` in one transaction.
//!
//! Because both sides hold the lock, a fill either commits before the
//! reader's re-check (the reader sees the entry) or after the reader's
//! commit (the reader is already listening): no lost wake-ups.

use std::time::Duration;

use apalis_core::task::{builder::TaskBuilder, task_id::TaskId};
use bytes::Bytes;
use chrono::{DateTime, Utc};
use sqlx::{PgPool, Row};

use crate::coding::{self, Coding};
use crate::error::Error;
pub use crate::failure::{Cause, FailKind, Failure, FillNotice};
use crate::job::{FETCH_MAX_ATTEMPTS, FETCH_QUEUE, FetchJob, FetchReason};
use crate::key::CacheKey;
use crate::provider::Ttl;

mod admin;
mod assets;
mod schedule;
mod snapshots;
mod upkeep;
pub use admin::{EntryInfo, JobInfo, JobState, Retried};
pub use assets::AssetRecord;
use upkeep::like_escape;

/// The channel fill outcomes are announced on.
pub const FILL_CHANNEL: &str = "larder_fill";
/// The channel purges are announced on (payload: the key prefix).
pub const PURGE_CHANNEL: &str = "larder_purge";
/// The channel key revocations are announced on.
pub const KEYS_CHANNEL: &str = "larder_keys";
/// The longest one fetch job may run (all attempts, waits and backoffs).
pub const JOB_BUDGET: Duration = Duration::from_secs(90);
/// An in-flight record not touched for this long is presumed abandoned (its
/// job was lost beyond recovery) and may be replaced by a new fill. A worker
/// touches the record when it starts the job, so this covers one job's
/// budget plus orphan recovery of a dead worker (3 heartbeats) with room.
pub const INFLIGHT_ABANDONED: Duration = Duration::from_secs(150);

/// A stored entry.
#[derive(Debug, Clone)]
pub struct Entry {
    /// 200, or 404 for a negative entry.
    pub status: u16,
    pub content_type: String,
    /// As stored: coded by `coding`.
    pub body: Bytes,
    pub coding: Coding,
    /// The entity tag of the body as the upstream sent it (identity); a
    /// coded representation's tag is derived from it.
    pub etag: String,
    pub fetched_at: DateTime<Utc>,
    pub fresh_until: DateTime<Utc>,
    pub stale_until: DateTime<Utc>,
    pub keep_until: DateTime<Utc>,
}

/// What a worker stores after a successful (or 404) upstream answer.
#[derive(Debug, Clone)]
pub struct NewEntry {
    pub status: u16,
    pub content_type: String,
    /// Decoded (identity); [`Store::complete`] compresses it.
    pub body: Bytes,
}

/// The result of [`Store::start_fill`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Start {
    /// The entry is fresh; the fill was ended.
    Fresh,
    /// This job owns the fill: fetch.
    Owned,
    /// Another job owns the fill (or none does): do nothing.
    NotOwner,
}

/// The result of [`Store::enqueue`].
#[derive(Debug)]
pub enum Enqueued {
    /// The entry turned fresh meanwhile; here it is.
    Fresh(Entry),
    /// This call started the fill.
    Started,
    /// A fill was already under way; wait for it.
    Joined,
    /// The provider has as many fills queued as it may: nothing enqueued.
    Full,
}

#[derive(Clone)]
pub struct Store {
    pool: PgPool,
    /// Fills of one provider recorded at once, past which a new one is
    /// refused ([`Enqueued::Full`]).
    queue_cap: i64,
}

const ENTRY_COLUMNS: &str =
    "status, content_type, body, encoding, etag, fetched_at, fresh_until, stale_until, keep_until";

fn entry_from_row(row: &sqlx::postgres::PgRow) -> Result<Entry, Error> {
    let status: i16 = row.try_get("status")?;
    Ok(Entry {
        status: u16::try_from(status).map_err(|_| Error::Corrupt(format!("status {status}")))?,
        content_type: row.try_get("content_type")?,
        body: Bytes::from(row.try_get::<Vec<u8>, _>("body")?),
        coding: Coding::from_stored(row.try_get::<Option<&str>, _>("encoding")?)
            .map_err(Error::Corrupt)?,
        etag: row.try_get("etag")?,
        fetched_at: row.try_get("fetched_at")?,
        fresh_until: row.try_get("fresh_until")?,
        stale_until: row.try_get("stale_until")?,
        keep_until: row.try_get("keep_until")?,
    })
}

impl Store {
    pub fn new(pool: PgPool) -> Self {
        Store {
            pool,
            queue_cap: i64::MAX,
        }
    }

    /// Refuse a new fill when `cap` fills of its provider are already
    /// recorded (queued, deferred or running).
    pub fn with_queue_cap(mut self, cap: u64) -> Self {
        self.queue_cap = i64::try_from(cap).unwrap_or(i64::MAX);
        self
    }

    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// Read one entry.
    pub async fn lookup(&self, key: &CacheKey) -> Result<Option<Entry>, Error> {
        let sql = format!("SELECT {ENTRY_COLUMNS} FROM larder_cache WHERE key = $1");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(key.as_str())
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(entry_from_row).transpose()
    }

    /// The stored entries of `keys`, in one round trip (the API batches the
    /// lookups of concurrent requests into one of these).
    pub async fn lookup_many(&self, keys: &[&str]) -> Result<Vec<(String, Entry)>, Error> {
        let sql = format!("SELECT key, {ENTRY_COLUMNS} FROM larder_cache WHERE key = ANY($1)");
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(keys)
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|row| Ok((row.try_get("key")?, entry_from_row(row)?)))
            .collect()
    }

    /// Start a fill of `key` unless one is under way or the entry is fresh
    /// (see the module docs). A prewarm always enqueues, even over a fresh entry.
    pub async fn enqueue(&self, key: &CacheKey, reason: FetchReason) -> Result<Enqueued, Error> {
        self.enqueue_traced(key, reason, None).await
    }

    /// [`Store::enqueue`], the job part of the trace `traceparent` names.
    pub async fn enqueue_traced(
        &self,
        key: &CacheKey,
        reason: FetchReason,
        traceparent: Option<String>,
    ) -> Result<Enqueued, Error> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("SELECT pg_advisory_xact_lock($1)")
            .bind(key.lock_id())
            .execute(&mut *tx)
            .await?;
        if reason != FetchReason::Prewarm {
            let sql = format!(
                "SELECT {ENTRY_COLUMNS} FROM larder_cache WHERE key = $1 AND fresh_until > now()"
            );
            if let Some(row) = sqlx::query(sqlx::AssertSqlSafe(sql))
                .bind(key.as_str())
                .fetch_optional(&mut *tx)
                .await?
            {
                let entry = entry_from_row(&row)?;
                tx.commit().await?;
                return Ok(Enqueued::Fresh(entry));
            }
        }
        let job_id = TaskId::from(ulid::Ulid::generate());
        let claimed = sqlx::query(
            "INSERT INTO larder_inflight (key, job_id, reason) VALUES ($1, $2, $3)
             ON CONFLICT (key) DO UPDATE
                SET job_id = EXCLUDED.job_id, reason = EXCLUDED.reason, started_at = now()
                WHERE larder_inflight.started_at < now() - make_interval(secs => $4)
                  -- A fill whose job still waits in the queue (or runs) is
                  -- not abandoned, however long the queue is.
                  AND NOT EXISTS (
                      SELECT 1 FROM apalis.jobs j
                       WHERE j.id = larder_inflight.job_id
                         AND (j.status IN ('Pending', 'Queued', 'Running')
                              OR (j.status = 'Failed' AND j.attempts < j.max_attempts)))
             RETURNING 1",
        )
        .bind(key.as_str())
        .bind(job_id.to_string())
        .bind(reason.as_str())
        .bind(INFLIGHT_ABANDONED.as_secs_f64())
        .fetch_optional(&mut *tx)
        .await?
        .is_some();
        if !claimed {
            tx.commit().await?;
            return Ok(Enqueued::Joined);
        }
        if self.queue_cap < i64::MAX {
            // Counted after this fill's own record (and before others'
            // uncommitted ones: a burst may pass the cap by a few).
            let pattern = format!("{}/%", like_escape(key.provider()));
            let recorded: i64 =
                sqlx::query_scalar("SELECT count(*) FROM larder_inflight WHERE key LIKE $1")
                    .bind(&pattern)
                    .fetch_one(&mut *tx)
                    .await?;
            if recorded > self.queue_cap {
                tx.rollback().await?;
                return Ok(Enqueued::Full);
            }
        }
        let task = TaskBuilder::new(FetchJob::fetch(key, reason).traced(traceparent).to_bytes())
            .task_id(job_id)
            .max_attempts(FETCH_MAX_ATTEMPTS)
            .build();
        apalis_postgres::queries::push_tasks(&mut *tx, FETCH_QUEUE, vec![task])
            .await
            .map_err(|e| Error::Queue(e.to_string()))?;
        tx.commit().await?;
        Ok(Enqueued::Started)
    }

    /// Hand `job_id`'s fill of `key` to a new job that runs `after` from now
    /// (a fill deferred to its rate slot, or past an upstream's pause), in
    /// one transaction: the fill record names the new job and counts as
    /// started when it is due, so a fill deferred far ahead is not presumed
    /// abandoned. `false` when `job_id` no longer owns the fill (nothing is
    /// enqueued then).
    pub async fn defer(
        &self,
        key: &CacheKey,
        job_id: &str,
        job: &FetchJob,
        after: Duration,
    ) -> Result<bool, Error> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("SELECT pg_advisory_xact_lock($1)")
            .bind(key.lock_id())
            .execute(&mut *tx)
            .await?;
        let new_id = TaskId::from(ulid::Ulid::generate());
        let owned = sqlx::query(
            "UPDATE larder_inflight
                SET job_id = $3, started_at = now() + make_interval(secs => $4)
              WHERE key = $1 AND job_id = $2",
        )
        .bind(key.as_str())
        .bind(job_id)
        .bind(new_id.to_string())
        .bind(after.as_secs_f64())
        .execute(&mut *tx)
        .await?
        .rows_affected()
            > 0;
        if !owned {
            tx.commit().await?;
            return Ok(false);
        }
        let task = TaskBuilder::new(job.to_bytes())
            .task_id(new_id.clone())
            .max_attempts(FETCH_MAX_ATTEMPTS)
            .build();
        apalis_postgres::queries::push_tasks(&mut *tx, FETCH_QUEUE, vec![task])
            .await
            .map_err(|e| Error::Queue(e.to_string()))?;
        // Due on the database's clock (the one the queue picks by and the
        // rate slots are counted on), rounded up to the whole second the
        // queue keeps: a deferred fill never runs before its slot.
        sqlx::query(
            "UPDATE apalis.jobs
                SET run_at = to_timestamp(ceil(EXTRACT(EPOCH FROM clock_timestamp()) + $2))
              WHERE id = $1",
        )
        .bind(new_id.to_string())
        .bind(after.as_secs_f64())
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(true)
    }

    /// Whether a fill of `key` is recorded as under way.
    pub async fn in_flight(&self, key: &CacheKey) -> Result<bool, Error> {
        Ok(sqlx::query("SELECT 1 FROM larder_inflight WHERE key = $1")
            .bind(key.as_str())
            .fetch_optional(&self.pool)
            .await?
            .is_some())
    }

    /// Store a fetched entry, end the fill and wake its waiters, atomically.
    /// Times are computed on the database clock. Only the fill record owned
    /// by `job_id` is ended; the notice goes out regardless, since the entry
    /// changed and every process must drop its old copy. `job_id = None`
    /// ends whatever fill there is.
    pub async fn complete(
        &self,
        key: &CacheKey,
        job_id: Option<&str>,
        entry: &NewEntry,
        ttl: &Ttl,
    ) -> Result<(), Error> {
        let etag = format!("\"{:032x}\"", xxhash_rust::xxh3::xxh3_128(&entry.body));
        let fresh = if entry.status == 404 {
            ttl.negative
        } else {
            ttl.fresh
        };
        let (stale, keep) = if entry.status == 404 {
            (Duration::ZERO, Duration::ZERO)
        } else {
            (ttl.stale, ttl.max_stale_on_error.max(ttl.stale))
        };
        // Compressed once, here, for every reader (see `coding`); a large
        // body off the async threads.
        let (coded, body) = if entry.body.len() > 256 * 1024 {
            let (t, b) = (entry.content_type.clone(), entry.body.clone());
            tokio::task::spawn_blocking(move || coding::encode(&t, &b))
                .await
                .map_err(|e| Error::Corrupt(format!("compression failed: {e}")))?
        } else {
            coding::encode(&entry.content_type, &entry.body)
        };
        sqlx::query(
            "SELECT larder_complete($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)",
        )
        .bind(key.lock_id())
        .bind(key.as_str())
        .bind(job_id)
        .bind(key.provider())
        .bind(entry.status as i16)
        .bind(&entry.content_type)
        .bind(body.as_ref())
        .bind(coded.as_stored())
        .bind(&etag)
        .bind(fresh.as_secs_f64())
        .bind(stale.as_secs_f64())
        .bind(keep.as_secs_f64())
        .bind(FILL_CHANNEL)
        .bind(FillNotice::Stored.payload(key))
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// End the fill owned by `job_id` without storing anything (the entry,
    /// if any, stays as it was) and wake its waiters with the failure. When
    /// the record belongs to another job (this one was presumed abandoned and
    /// superseded), nothing is ended and nobody is told: that job's waiters
    /// wait for that job. `job_id = None` ends whatever fill there is.
    pub async fn fail(
        &self,
        key: &CacheKey,
        job_id: Option<&str>,
        failure: impl Into<Failure>,
    ) -> Result<(), Error> {
        self.end_fill(key, job_id, FillNotice::Failed(failure.into()))
            .await
    }

    /// End `job_id`'s fill of `key` (any fill when `None`) under the key's
    /// lock, announcing `notice` only if a fill was ended.
    async fn end_fill(
        &self,
        key: &CacheKey,
        job_id: Option<&str>,
        notice: FillNotice,
    ) -> Result<(), Error> {
        sqlx::query("SELECT larder_end_fill($1, $2, $3, $4, $5)")
            .bind(key.lock_id())
            .bind(key.as_str())
            .bind(job_id)
            .bind(FILL_CHANNEL)
            .bind(notice.payload(key))
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// A worker starting `job_id` for `key`: one statement on the database
    /// clock. When the entry is fresh (someone filled it meanwhile) the fill
    /// is ended (a second call): skip the fetch. When the fill record names
    /// another job (this one was deferred and its successor owns the fill,
    /// or it was presumed abandoned and taken over), skip it too: only the
    /// owner calls the upstream. Otherwise the record is touched, so time
    /// spent queued does not count towards [`INFLIGHT_ABANDONED`].
    pub async fn start_fill(
        &self,
        key: &CacheKey,
        job_id: &str,
        skip_if_fresh: bool,
    ) -> Result<Start, Error> {
        let (fresh, owned): (bool, bool) = sqlx::query_as(
            "WITH fresh AS (
                SELECT 1 FROM larder_cache WHERE $3 AND key = $1 AND fresh_until > now()
             ), touched AS (
                UPDATE larder_inflight SET started_at = now()
                WHERE key = $1 AND job_id = $2 AND NOT EXISTS (SELECT 1 FROM fresh)
                RETURNING 1
             )
             SELECT EXISTS (SELECT 1 FROM fresh), EXISTS (SELECT 1 FROM touched)",
        )
        .bind(key.as_str())
        .bind(job_id)
        .bind(skip_if_fresh)
        .fetch_one(&self.pool)
        .await?;
        if fresh {
            self.end_fill(key, Some(job_id), FillNotice::Stored).await?;
            return Ok(Start::Fresh);
        }
        Ok(if owned { Start::Owned } else { Start::NotOwner })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notices_round_trip() {
        let key = CacheKey::new("tmdb/movie/1".into());
        for n in [
            FillNotice::Stored,
            FillNotice::Failed(FailKind::Timeout.into()),
            FillNotice::Failed(Failure::new(FailKind::Upstream, Cause::Status(503))),
            FillNotice::Failed(Failure::new(FailKind::Rejected, Cause::Dns)),
        ] {
            assert_eq!(FillNotice::parse(&n.payload(&key)), Some((key.hash(), n)));
        }
        assert_eq!(FillNotice::parse("zz stored"), None);
        assert_eq!(FillNotice::parse("00 failed:weird"), None);
    }
}
