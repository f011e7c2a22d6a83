//! Per-provider rate limiting shared by every worker through Postgres.
//!
//! GCRA in reservation form, computed in one statement on the database
//! clock, so workers on different machines with skewed clocks still agree:
//! each call advances the provider's theoretical arrival time (TAT) by one
//! emission interval and is told how long to sleep before its slot. A burst
//! of `burst` calls may go back to back. A 429 from the upstream sets
//! `paused_until`, which every later reservation waits for.

use std::time::Duration;

use sqlx::PgPool;

use crate::error::Error;
use crate::provider::Rate;

#[derive(Clone)]
pub struct RateLimiter {
    pool: PgPool,
}

impl RateLimiter {
    pub fn new(pool: PgPool) -> Self {
        RateLimiter { pool }
    }

    /// Reserve the next slot for `provider` at `rate`; returns how long to
    /// wait before making the call. A slot reserved and then not used must be
    /// handed back with [`RateLimiter::release`].
    pub async fn reserve(&self, provider: &str, rate: &Rate) -> Result<Duration, Error> {
        let interval = rate.interval();
        let tolerance = interval * f64::from(rate.burst.saturating_sub(1));
        let wait: f64 = sqlx::query_scalar(
            "WITH c AS (SELECT clock_timestamp() AS t)
             INSERT INTO larder_rate AS r (provider, tat)
             SELECT $1, c.t + make_interval(secs => $2) FROM c
             ON CONFLICT (provider) DO UPDATE
                SET tat = GREATEST(r.tat, (SELECT t FROM c), r.paused_until) + make_interval(secs => $2)
             RETURNING GREATEST(0, EXTRACT(EPOCH FROM
                 GREATEST(tat - make_interval(secs => $2 + $3), paused_until) - (SELECT t FROM c)
             ))::float8",
        )
        .bind(provider)
        .bind(interval)
        .bind(tolerance)
        .fetch_one(&self.pool)
        .await?;
        Ok(Duration::from_secs_f64(wait.max(0.0)))
    }

    /// Hand back one slot reserved and not used (a fill that was deferred
    /// past it, skipped, or gave up), so the schedule does not run ahead of
    /// real demand. Later reservations move up by one interval; slots already
    /// handed out keep their times.
    pub async fn release(&self, provider: &str, rate: &Rate) -> Result<(), Error> {
        sqlx::query(
            "UPDATE larder_rate
                SET tat = GREATEST(clock_timestamp(), tat - make_interval(secs => $2))
              WHERE provider = $1",
        )
        .bind(provider)
        .bind(rate.interval())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Hold every call to `provider` until `for_` from now (a 429's Retry-After).
    pub async fn pause(&self, provider: &str, for_: Duration) -> Result<(), Error> {
        sqlx::query(
            "INSERT INTO larder_rate AS r (provider, tat, paused_until)
             VALUES ($1, clock_timestamp(), clock_timestamp() + make_interval(secs => $2))
             ON CONFLICT (provider) DO UPDATE
                SET paused_until = GREATEST(r.paused_until, EXCLUDED.paused_until)",
        )
        .bind(provider)
        .bind(for_.as_secs_f64())
        .execute(&self.pool)
        .await?;
        Ok(())
    }
}
