//! Each provider's recent failures, shared by every process through
//! Postgres: workers record them, `/health` reports the failing ones.

use std::time::Duration;

use chrono::{DateTime, Utc};
use sqlx::PgPool;

use crate::error::Error;
use crate::failure::Cause;

#[derive(Clone)]
pub struct ProviderHealth {
    pool: PgPool,
}

/// A provider whose last fill failed, and how.
#[derive(Debug, Clone)]
pub struct Failing {
    pub provider: String,
    /// The class of the last failure (`connect`, `status 503`…).
    pub last_error: String,
    pub since: DateTime<Utc>,
}

impl ProviderHealth {
    pub fn new(pool: PgPool) -> Self {
        ProviderHealth { pool }
    }

    pub async fn failed(&self, provider: &str, cause: Cause) -> Result<(), Error> {
        sqlx::query(
            "INSERT INTO larder_provider_health (provider, last_error, last_error_at)
             VALUES ($1, $2, now())
             ON CONFLICT (provider) DO UPDATE
                SET last_error = EXCLUDED.last_error, last_error_at = EXCLUDED.last_error_at",
        )
        .bind(provider)
        .bind(cause.to_string())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    pub async fn succeeded(&self, provider: &str) -> Result<(), Error> {
        sqlx::query(
            "INSERT INTO larder_provider_health (provider, last_ok_at) VALUES ($1, now())
             ON CONFLICT (provider) DO UPDATE SET last_ok_at = EXCLUDED.last_ok_at",
        )
        .bind(provider)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Providers whose last outcome within `within` was a failure.
    pub async fn failing(&self, within: Duration) -> Result<Vec<Failing>, Error> {
        let rows: Vec<(String, String, DateTime<Utc>)> = sqlx::query_as(
            "SELECT provider, last_error, last_error_at FROM larder_provider_health
              WHERE last_error_at > now() - make_interval(secs => $1)
                AND (last_ok_at IS NULL OR last_ok_at < last_error_at)
              ORDER BY provider",
        )
        .bind(within.as_secs_f64())
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(|(provider, last_error, since)| Failing {
                provider,
                last_error,
                since,
            })
            .collect())
    }
}
