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

/// A reserved rate slot.
#[derive(Debug, Clone, Copy)]
pub struct Reservation {
    /// How long until the slot (0 when it is now).
    pub wait: Duration,
    /// The schedule's end right after this reservation (µs since the epoch,
    /// database clock): names the slot for [`RateLimiter::release`].
    pub mark: i64,
    /// False when the slot would be beyond the horizon: nothing was booked.
    pub granted: bool,
}

#[derive(Clone)]
pub struct RateLimiter {
    pool: PgPool,
}

impl RateLimiter {
    pub fn new(pool: PgPool) -> Self {
        RateLimiter { pool }
    }

    /// Reserve the next slot for `provider` at `rate`, unless it is further
    /// than `horizon` away (then nothing is booked: `granted` is false).
    /// A slot reserved and then not used may be handed back with
    /// [`RateLimiter::release`].
    pub async fn reserve_within(
        &self,
        provider: &str,
        rate: &Rate,
        horizon: Duration,
    ) -> Result<Reservation, Error> {
        let interval = rate.interval();
        let tolerance = interval * f64::from(rate.burst.saturating_sub(1));
        let (wait, mark, granted): (f64, i64, bool) =
            sqlx::query_as("SELECT wait, mark, granted FROM larder_reserve($1, $2, $3, $4)")
                .bind(provider)
                .bind(interval)
                .bind(tolerance)
                .bind(horizon.as_secs_f64())
                .fetch_one(&self.pool)
                .await?;
        Ok(Reservation {
            wait: Duration::from_secs_f64(wait.max(0.0)),
            mark,
            granted,
        })
    }

    /// Reserve the next slot, however far ahead.
    pub async fn reserve(&self, provider: &str, rate: &Rate) -> Result<Reservation, Error> {
        self.reserve_within(provider, rate, Duration::from_secs(u32::MAX as u64))
            .await
    }

    /// How long `provider` is still paused by an upstream's "slow down".
    pub async fn paused_for(&self, provider: &str) -> Result<Duration, Error> {
        let secs: Option<f64> = sqlx::query_scalar(
            "SELECT EXTRACT(EPOCH FROM GREATEST(paused_until, clock_timestamp()) - clock_timestamp())::float8
               FROM larder_rate WHERE provider = $1",
        )
        .bind(provider)
        .fetch_optional(&self.pool)
        .await?;
        Ok(Duration::from_secs_f64(secs.unwrap_or(0.0).max(0.0)))
    }

    /// Hand back a slot reserved and not used (a fill refused past the
    /// horizon, skipped, or taken over), so the schedule does not run ahead
    /// of real demand. Only the last slot handed out can go back (`mark` is
    /// still the schedule's end): moving the schedule back under a later
    /// reservation would give two calls one time. Returns whether it went back.
    pub async fn release(&self, provider: &str, rate: &Rate, mark: i64) -> Result<bool, Error> {
        Ok(sqlx::query(
            "UPDATE larder_rate
                SET tat = GREATEST(clock_timestamp(), tat - make_interval(secs => $2))
              WHERE provider = $1 AND (EXTRACT(EPOCH FROM tat) * 1000000)::int8 = $3",
        )
        .bind(provider)
        .bind(rate.interval())
        .bind(mark)
        .execute(&self.pool)
        .await?
        .rows_affected()
            > 0)
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
