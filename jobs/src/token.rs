//! Login tokens shared by every worker of every process (TheTVDB's month-long
//! JWT, Spotify's hour-long client-credentials token).
//!
//! One row per provider. A worker that finds no live token, or whose token
//! was just refused, renews it under the provider's advisory lock and
//! re-reads first, so however many workers notice expiry at once, one logs
//! in and the rest take its token.

use std::future::Future;
use std::time::Duration;

use chrono::{DateTime, Utc};
use sqlx::{PgPool, Row};

use crate::config::Secret;
use crate::error::Error;

/// A token and when to renew it (on the database clock, read back as UTC).
#[derive(Clone, Debug)]
pub struct SharedToken {
    pub value: Secret,
    pub renew_at: DateTime<Utc>,
}

#[derive(Clone)]
pub struct Tokens {
    pool: PgPool,
}

/// Why no token could be had.
#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    #[error(transparent)]
    Store(#[from] Error),
    #[error("login failed: {0}")]
    Login(String),
}

fn lock_id(provider: &str) -> i64 {
    xxhash_rust::xxh3::xxh3_64(format!("larder-token:{provider}").as_bytes()) as i64
}

/// Renew ahead of expiry: a tenth of the lifetime, at least a minute and at
/// most a day, but never more than half of it (a short-lived token is still
/// used before it is renewed).
pub fn renew_margin(lifetime: Duration) -> Duration {
    (lifetime / 10)
        .clamp(Duration::from_secs(60), Duration::from_secs(86_400))
        .min(lifetime / 2)
}

/// The longest lifetime believed (a year), whatever an upstream says.
const MAX_LIFETIME: Duration = Duration::from_secs(366 * 86_400);

impl Tokens {
    pub fn new(pool: PgPool) -> Self {
        Tokens { pool }
    }

    /// The provider's token if it is not due for renewal.
    pub async fn current(&self, provider: &str) -> Result<Option<SharedToken>, Error> {
        let row = sqlx::query(
            "SELECT token, renew_at FROM larder_tokens WHERE provider = $1 AND renew_at > now()",
        )
        .bind(provider)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|r| {
            Ok(SharedToken {
                value: Secret::new(r.try_get::<String, _>(0)?),
                renew_at: r.try_get(1)?,
            })
        })
        .transpose()
    }

    /// A live token other than `refused`: the one another worker just got,
    /// or a new one from `login` (returning the token and its lifetime),
    /// which runs under the provider's lock so only one worker logs in.
    pub async fn renew<F, Fut>(
        &self,
        provider: &str,
        refused: Option<&str>,
        login: F,
    ) -> Result<SharedToken, TokenError>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<(Secret, Duration), String>>,
    {
        let mut tx = self.pool.begin().await.map_err(Error::from)?;
        // A worker that froze holding the lock must not hold every other
        // one's connection forever.
        sqlx::query("SET LOCAL lock_timeout = '30s'")
            .execute(&mut *tx)
            .await
            .map_err(Error::from)?;
        sqlx::query("SELECT pg_advisory_xact_lock($1)")
            .bind(lock_id(provider))
            .execute(&mut *tx)
            .await
            .map_err(Error::from)?;
        let row = sqlx::query(
            "SELECT token, renew_at FROM larder_tokens WHERE provider = $1 AND renew_at > now()",
        )
        .bind(provider)
        .fetch_optional(&mut *tx)
        .await
        .map_err(Error::from)?;
        if let Some(row) = row {
            let token: String = row.try_get(0).map_err(Error::from)?;
            if Some(token.as_str()) != refused {
                tx.commit().await.map_err(Error::from)?;
                return Ok(SharedToken {
                    value: Secret::new(token),
                    renew_at: row.try_get(1).map_err(Error::from)?,
                });
            }
        }
        // The lock is held across the login call; it is bounded by the
        // upstream timeout, and it is what makes the login happen once.
        let (value, lifetime) = login().await.map_err(TokenError::Login)?;
        let lifetime = lifetime.min(MAX_LIFETIME);
        let renew_in = lifetime.saturating_sub(renew_margin(lifetime));
        let renew_at: DateTime<Utc> = sqlx::query_scalar(
            "INSERT INTO larder_tokens (provider, token, renew_at, expires_at)
             VALUES ($1, $2, now() + make_interval(secs => $3), now() + make_interval(secs => $4))
             ON CONFLICT (provider) DO UPDATE SET token = EXCLUDED.token,
                renew_at = EXCLUDED.renew_at, expires_at = EXCLUDED.expires_at, created_at = now()
             RETURNING renew_at",
        )
        .bind(provider)
        .bind(value.expose())
        .bind(renew_in.as_secs_f64())
        .bind(lifetime.as_secs_f64())
        .fetch_one(&mut *tx)
        .await
        .map_err(Error::from)?;
        tx.commit().await.map_err(Error::from)?;
        Ok(SharedToken { value, renew_at })
    }
}
