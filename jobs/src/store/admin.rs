//! What operators read and change through `/admin`: cache entries by
//! prefix, queue jobs by state and their failures, a job's retry.

use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::Row;

use super::upkeep::like_escape;
use super::{Enqueued, Store};
use crate::error::Error;
use crate::job::{FETCH_QUEUE, FetchReason};
use crate::key::CacheKey;

/// A cache entry as listed (never its body).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct EntryInfo {
    pub key: String,
    pub status: i16,
    pub content_type: String,
    /// Bytes as stored (compressed when the entry is).
    pub bytes: i64,
    pub encoding: Option<String>,
    pub fetched_at: DateTime<Utc>,
    pub fresh_until: DateTime<Utc>,
    pub stale_until: DateTime<Utc>,
}

/// A queue job's state as operators name it: apalis's statuses, with
/// `Killed` (a fill that failed for good) shown as `failed`, and `Failed`
/// (a job the queue will run again) as `retrying`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobState {
    Pending,
    Running,
    Done,
    Failed,
    Retrying,
}

impl JobState {
    pub const ALL: [JobState; 5] = [
        JobState::Pending,
        JobState::Running,
        JobState::Done,
        JobState::Failed,
        JobState::Retrying,
    ];

    pub fn parse(s: &str) -> Option<JobState> {
        JobState::ALL.into_iter().find(|j| j.as_str() == s)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            JobState::Pending => "pending",
            JobState::Running => "running",
            JobState::Done => "done",
            JobState::Failed => "failed",
            JobState::Retrying => "retrying",
        }
    }

    /// The apalis statuses this state covers.
    fn statuses(self) -> &'static [&'static str] {
        match self {
            JobState::Pending => &["Pending", "Queued"],
            JobState::Running => &["Running"],
            JobState::Done => &["Done"],
            JobState::Failed => &["Killed"],
            JobState::Retrying => &["Failed"],
        }
    }

    fn from_status(status: &str) -> JobState {
        JobState::ALL
            .into_iter()
            .find(|j| j.statuses().contains(&status))
            .unwrap_or(JobState::Pending)
    }
}

/// A queue job as listed.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct JobInfo {
    pub id: String,
    /// The cache key it fills.
    pub key: Option<String>,
    /// `fetch`, `refresh` or `prewarm`.
    pub kind: Option<String>,
    pub state: &'static str,
    pub attempts: i32,
    pub max_attempts: i32,
    pub run_at: DateTime<Utc>,
    pub done_at: Option<DateTime<Utc>>,
    /// Why it failed, for failed jobs.
    pub error: Option<String>,
}

/// A retried job: the key it filled and what enqueuing it again did.
#[derive(Debug)]
pub struct Retried {
    pub key: String,
    pub outcome: Enqueued,
}

const JOB_COLUMNS: &str = "id, status, attempts, max_attempts, run_at, done_at,
    convert_from(job, 'UTF8')::jsonb ->> 'key' AS key,
    convert_from(job, 'UTF8')::jsonb ->> 'reason' AS reason,
    last_result ->> 'Err' AS error";

fn job_from_row(r: &sqlx::postgres::PgRow) -> Result<JobInfo, Error> {
    let status: String = r.try_get("status")?;
    let error: Option<String> = r.try_get("error")?;
    Ok(JobInfo {
        id: r.try_get("id")?,
        key: r.try_get("key")?,
        kind: r.try_get("reason")?,
        state: JobState::from_status(&status).as_str(),
        attempts: r.try_get("attempts")?,
        max_attempts: r.try_get("max_attempts")?,
        run_at: r.try_get("run_at")?,
        done_at: r.try_get("done_at")?,
        error: error.map(|e| e.trim_start_matches("AbortError: ").to_owned()),
    })
}

impl Store {
    /// Entries whose key starts with `prefix`, in key order, at most `limit`.
    pub async fn entries_like(&self, prefix: &str, limit: i64) -> Result<Vec<EntryInfo>, Error> {
        let rows = sqlx::query(
            "SELECT key, status, content_type, octet_length(body)::int8 AS bytes, encoding,
                    fetched_at, fresh_until, stale_until
               FROM larder_cache WHERE key LIKE $1 ORDER BY key LIMIT $2",
        )
        .bind(format!("{}%", like_escape(prefix)))
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(EntryInfo {
                    key: r.try_get("key")?,
                    status: r.try_get("status")?,
                    content_type: r.try_get("content_type")?,
                    bytes: r.try_get("bytes")?,
                    encoding: r.try_get("encoding")?,
                    fetched_at: r.try_get("fetched_at")?,
                    fresh_until: r.try_get("fresh_until")?,
                    stale_until: r.try_get("stale_until")?,
                })
            })
            .collect()
    }

    /// How many entries there are: the planner's estimate when the table is
    /// large (counting millions of rows for a dashboard refreshed every
    /// few seconds is not worth it), else the count.
    pub async fn count_entries(&self) -> Result<i64, Error> {
        let estimate: f32 = sqlx::query_scalar(
            "SELECT reltuples FROM pg_class WHERE oid = 'larder_cache'::regclass",
        )
        .fetch_one(&self.pool)
        .await?;
        if estimate > 100_000.0 {
            return Ok(estimate as i64);
        }
        self.count_like("").await
    }

    /// How many entries' keys start with `prefix`.
    pub async fn count_like(&self, prefix: &str) -> Result<i64, Error> {
        Ok(
            sqlx::query_scalar("SELECT count(*) FROM larder_cache WHERE key LIKE $1")
                .bind(format!("{}%", like_escape(prefix)))
                .fetch_one(&self.pool)
                .await?,
        )
    }

    /// Fetch jobs in `state`, newest first, at most `limit`.
    pub async fn jobs(&self, state: JobState, limit: i64) -> Result<Vec<JobInfo>, Error> {
        let sql = format!(
            "SELECT {JOB_COLUMNS} FROM apalis.jobs
              WHERE job_type = $1 AND status = ANY($2)
              ORDER BY COALESCE(done_at, run_at) DESC, id DESC LIMIT $3"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(FETCH_QUEUE)
            .bind(state.statuses())
            .bind(limit)
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(job_from_row).collect()
    }

    /// The last `limit` failed fills of `provider`.
    pub async fn failed_jobs_of(&self, provider: &str, limit: i64) -> Result<Vec<JobInfo>, Error> {
        let sql = format!(
            "SELECT {JOB_COLUMNS} FROM apalis.jobs
              WHERE job_type = $1 AND status = 'Killed'
                AND convert_from(job, 'UTF8')::jsonb ->> 'key' LIKE $2
              ORDER BY done_at DESC NULLS LAST LIMIT $3"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(FETCH_QUEUE)
            .bind(format!("{}/%", like_escape(provider)))
            .bind(limit)
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(job_from_row).collect()
    }

    /// The last `per_provider` failed fills of every provider, newest first.
    pub async fn recent_failures(
        &self,
        per_provider: i64,
    ) -> Result<Vec<(String, JobInfo)>, Error> {
        let sql = format!(
            "SELECT * FROM (
                SELECT {JOB_COLUMNS},
                       split_part(convert_from(job, 'UTF8')::jsonb ->> 'key', '/', 1) AS provider,
                       row_number() OVER (
                           PARTITION BY split_part(convert_from(job, 'UTF8')::jsonb ->> 'key', '/', 1)
                           ORDER BY done_at DESC NULLS LAST) AS n
                  FROM apalis.jobs WHERE job_type = $1 AND status = 'Killed'
                   AND done_at > now() - interval '1 day') f
              WHERE n <= $2 ORDER BY provider, n"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(FETCH_QUEUE)
            .bind(per_provider)
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|r| Ok((r.try_get("provider")?, job_from_row(r)?)))
            .collect()
    }

    /// How long each paused provider stays paused (an upstream's "slow
    /// down"), in seconds.
    pub async fn paused(&self) -> Result<Vec<(String, f64)>, Error> {
        Ok(sqlx::query_as(
            "SELECT provider,
                    EXTRACT(EPOCH FROM paused_until - clock_timestamp())::float8
               FROM larder_rate WHERE paused_until > clock_timestamp()",
        )
        .fetch_all(&self.pool)
        .await?)
    }

    /// Run a failed job's fill again: a new fill of its key (refetched even
    /// if an entry exists, joined if one is under way), and the failed job
    /// leaves the list. Only a job that has ended for good: one the queue
    /// will run again still owns its fill. `None` when no such job.
    pub async fn retry_job(&self, id: &str) -> Result<Option<Retried>, Error> {
        let key: Option<Option<String>> = sqlx::query_scalar(
            "SELECT convert_from(job, 'UTF8')::jsonb ->> 'key' FROM apalis.jobs
              WHERE id = $1 AND job_type = $2
                AND (status = 'Killed' OR (status = 'Failed' AND attempts >= max_attempts))",
        )
        .bind(id)
        .bind(FETCH_QUEUE)
        .fetch_optional(&self.pool)
        .await?;
        let Some(key) = key.flatten().as_deref().and_then(CacheKey::from_stored) else {
            return Ok(None);
        };
        let outcome = self.enqueue(&key, FetchReason::Prewarm).await?;
        if !matches!(outcome, Enqueued::Full) {
            sqlx::query(
                "DELETE FROM apalis.jobs WHERE id = $1
                    AND (status = 'Killed' OR (status = 'Failed' AND attempts >= max_attempts))",
            )
            .bind(id)
            .execute(&self.pool)
            .await?;
        }
        Ok(Some(Retried {
            key: key.as_str().to_owned(),
            outcome,
        }))
    }
}
