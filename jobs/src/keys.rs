//! Service keys: random bearer tokens, stored only as SHA-256, shown once.

use std::time::Duration;

use chrono::{DateTime, Utc};
use rand::RngCore;
use serde::Serialize;
use sha2::{Digest, Sha256};
use sqlx::{PgPool, Row};

use crate::error::Error;
use crate::store::KEYS_CHANNEL;

/// The scope that grants every provider.
pub const ALL_SCOPES: &str = "*";

/// A key's quota: at most `calls` requests per `seconds`, counted in fixed
/// windows across every API process.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Quota {
    pub calls: u32,
    pub seconds: u32,
}

impl Quota {
    /// `600/min`, `10/s`, `5000/h`, `100/30s`, `20000/d`.
    pub fn parse(text: &str) -> Result<Quota, String> {
        let rate = crate::provider::Rate::parse(text, 1).map_err(|_| {
            format!("quota {text:?}: expected N/s, N/min, N/h, N/d or N/<duration>")
        })?;
        if rate.calls > i32::MAX as u32 {
            return Err(format!("quota {text:?}: at most {} calls", i32::MAX));
        }
        let seconds = rate.per.as_secs();
        if !text.contains('/')
            || seconds == 0
            || rate.per.subsec_nanos() != 0
            || seconds > 86_400 * 31
        {
            return Err(format!(
                "quota {text:?}: expected N per whole seconds, up to a month (600/min)"
            ));
        }
        Ok(Quota {
            calls: rate.calls,
            seconds: seconds as u32,
        })
    }

    fn from_columns(calls: Option<i32>, seconds: Option<i32>) -> Option<Quota> {
        match (calls, seconds) {
            (Some(c), Some(s)) if c > 0 && s > 0 => Some(Quota {
                calls: c as u32,
                seconds: s as u32,
            }),
            _ => None,
        }
    }
}

impl std::fmt::Display for Quota {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.seconds {
            1 => write!(f, "{}/s", self.calls),
            60 => write!(f, "{}/min", self.calls),
            3600 => write!(f, "{}/h", self.calls),
            86400 => write!(f, "{}/d", self.calls),
            s => write!(f, "{}/{s}s", self.calls),
        }
    }
}

/// A key as listed (never with its token).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct KeyInfo {
    pub id: i64,
    pub name: String,
    /// The token's first characters, to tell keys apart.
    pub prefix: String,
    pub scopes: Vec<String>,
    /// `600/min`, or none.
    pub quota: Option<String>,
    pub created_at: DateTime<Utc>,
    pub expires_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
}

/// A key that authenticated a request.
#[derive(Debug, Clone)]
pub struct Grant {
    pub id: i64,
    pub scopes: Vec<String>,
    pub expires_at: Option<DateTime<Utc>>,
    pub quota: Option<Quota>,
}

impl Grant {
    pub fn allows(&self, provider: &str) -> bool {
        self.scopes.iter().any(|s| s == ALL_SCOPES || s == provider)
    }
    pub fn expired(&self, now: DateTime<Utc>) -> bool {
        self.expires_at.is_some_and(|e| e <= now)
    }
}

/// SHA-256 hex of a token: what is stored and looked up.
pub fn hash_token(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// Whether `token` has the shape of a token larder issues: `lk_` and 48 hex.
pub fn looks_like_token(token: &str) -> bool {
    token.len() == 51
        && token.starts_with("lk_")
        && token[3..].bytes().all(|b| b.is_ascii_hexdigit())
}

fn new_token() -> String {
    let mut bytes = [0u8; 24];
    rand::rng().fill_bytes(&mut bytes);
    format!("lk_{}", hex::encode(bytes))
}

#[derive(Clone)]
pub struct Keys {
    pool: PgPool,
}

const KEY_COLUMNS: &str = "id, name, token_prefix, scopes, created_at, expires_at, revoked_at, quota_calls, quota_seconds";

fn info_from_row(r: &sqlx::postgres::PgRow) -> Result<KeyInfo, Error> {
    Ok(KeyInfo {
        id: r.try_get("id")?,
        name: r.try_get("name")?,
        prefix: r.try_get("token_prefix")?,
        scopes: r.try_get("scopes")?,
        quota: Quota::from_columns(r.try_get("quota_calls")?, r.try_get("quota_seconds")?)
            .map(|q| q.to_string()),
        created_at: r.try_get("created_at")?,
        expires_at: r.try_get("expires_at")?,
        revoked_at: r.try_get("revoked_at")?,
    })
}

impl Keys {
    pub fn new(pool: PgPool) -> Self {
        Keys { pool }
    }

    /// Create a key; returns it and its token (the only time the token exists).
    pub async fn create(
        &self,
        name: &str,
        scopes: &[String],
        expires_in: Option<Duration>,
        quota: Option<Quota>,
    ) -> Result<(KeyInfo, String), Error> {
        let mut tx = self.pool.begin().await?;
        let created = self
            .create_in(&mut *tx, name, scopes, expires_in, quota)
            .await?;
        notify_keys(&mut tx, created.0.id).await?;
        tx.commit().await?;
        Ok(created)
    }

    async fn create_in<'e, E>(
        &self,
        exec: E,
        name: &str,
        scopes: &[String],
        expires_in: Option<Duration>,
        quota: Option<Quota>,
    ) -> Result<(KeyInfo, String), Error>
    where
        E: sqlx::PgExecutor<'e>,
    {
        let token = new_token();
        let scopes: Vec<String> = if scopes.is_empty() {
            vec![ALL_SCOPES.to_string()]
        } else {
            scopes.to_vec()
        };
        let sql = format!(
            "INSERT INTO larder_keys
                    (name, token_hash, token_prefix, scopes, expires_at, quota_calls, quota_seconds)
             VALUES ($1, $2, $3, $4, now() + make_interval(secs => $5), $6, $7)
             RETURNING {KEY_COLUMNS}"
        );
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(name)
            .bind(hash_token(&token))
            .bind(&token[..10])
            .bind(&scopes)
            .bind(expires_in.map(|d| d.as_secs_f64()))
            .bind(quota.map(|q| q.calls as i32))
            .bind(quota.map(|q| q.seconds as i32))
            .fetch_one(exec)
            .await?;
        Ok((info_from_row(&row)?, token))
    }

    /// First run: when no key exists at all, create `default` with every
    /// scope and return its token. Serialised by an advisory lock so that of
    /// many processes starting together exactly one creates it.
    pub async fn ensure_default(&self) -> Result<Option<String>, Error> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("SELECT pg_advisory_xact_lock(hashtext('larder.default-key'))")
            .execute(&mut *tx)
            .await?;
        let any: bool = sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM larder_keys)")
            .fetch_one(&mut *tx)
            .await?;
        if any {
            return Ok(None);
        }
        let (info, token) = self.create_in(&mut *tx, "default", &[], None, None).await?;
        notify_keys(&mut tx, info.id).await?;
        tx.commit().await?;
        Ok(Some(token))
    }

    pub async fn list(&self) -> Result<Vec<KeyInfo>, Error> {
        let sql = format!("SELECT {KEY_COLUMNS} FROM larder_keys ORDER BY id");
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(info_from_row).collect()
    }

    /// Revoke a key; every API process forgets it at once. False if no such key.
    pub async fn revoke(&self, id: i64) -> Result<bool, Error> {
        let mut tx = self.pool.begin().await?;
        let n = sqlx::query(
            "UPDATE larder_keys SET revoked_at = COALESCE(revoked_at, now()) WHERE id = $1",
        )
        .bind(id)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        notify_keys(&mut tx, id).await?;
        tx.commit().await?;
        Ok(n > 0)
    }

    /// Set or clear a key's quota; every API process applies it at once.
    /// `None` if no such key.
    pub async fn set_quota(&self, id: i64, quota: Option<Quota>) -> Result<Option<KeyInfo>, Error> {
        let mut tx = self.pool.begin().await?;
        let sql = format!(
            "UPDATE larder_keys SET quota_calls = $2, quota_seconds = $3 WHERE id = $1
             RETURNING {KEY_COLUMNS}"
        );
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(id)
            .bind(quota.map(|q| q.calls as i32))
            .bind(quota.map(|q| q.seconds as i32))
            .fetch_optional(&mut *tx)
            .await?;
        let Some(row) = row else {
            return Ok(None);
        };
        notify_keys(&mut tx, id).await?;
        tx.commit().await?;
        Ok(Some(info_from_row(&row)?))
    }

    /// One key by id.
    pub async fn get(&self, id: i64) -> Result<Option<KeyInfo>, Error> {
        let sql = format!("SELECT {KEY_COLUMNS} FROM larder_keys WHERE id = $1");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(info_from_row).transpose()
    }

    /// Every live key by token hash, at most `limit` of them (the API keeps
    /// them in memory, so an unknown token costs no query).
    pub async fn live(&self, limit: i64) -> Result<Vec<(String, Grant)>, Error> {
        let rows = sqlx::query(
            "SELECT id, token_hash, scopes, expires_at, quota_calls, quota_seconds FROM larder_keys
             WHERE revoked_at IS NULL AND (expires_at IS NULL OR expires_at > now())
             ORDER BY id LIMIT $1",
        )
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok((
                    r.try_get("token_hash")?,
                    Grant {
                        id: r.try_get("id")?,
                        scopes: r.try_get("scopes")?,
                        expires_at: r.try_get("expires_at")?,
                        quota: Quota::from_columns(
                            r.try_get("quota_calls")?,
                            r.try_get("quota_seconds")?,
                        ),
                    },
                ))
            })
            .collect()
    }

    /// The live key whose token hashes to `token_hash`, if any.
    pub async fn verify(&self, token_hash: &str) -> Result<Option<Grant>, Error> {
        let row = sqlx::query(
            "SELECT id, scopes, expires_at, quota_calls, quota_seconds FROM larder_keys
             WHERE token_hash = $1 AND revoked_at IS NULL",
        )
        .bind(token_hash)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|r| {
            Ok(Grant {
                id: r.try_get("id")?,
                scopes: r.try_get("scopes")?,
                expires_at: r.try_get("expires_at")?,
                quota: Quota::from_columns(r.try_get("quota_calls")?, r.try_get("quota_seconds")?),
            })
        })
        .transpose()
    }
}

/// Announce a key created or revoked: every API process reloads its keys.
async fn notify_keys(tx: &mut sqlx::PgConnection, id: i64) -> Result<(), Error> {
    sqlx::query("SELECT pg_notify($1, $2)")
        .bind(KEYS_CHANNEL)
        .bind(id.to_string())
        .execute(tx)
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issued_tokens_have_the_checked_shape() {
        let t = new_token();
        assert!(looks_like_token(&t), "{t}");
        assert!(!looks_like_token("lk_nope"));
        assert!(!looks_like_token(&t.replace("lk_", "xx_")));
        assert!(!looks_like_token(&format!("{t}0")));
        assert_eq!(hash_token(&t).len(), 64);
    }

    #[test]
    fn quotas_parse_and_print_back() {
        for text in ["600/min", "10/s", "5000/h", "100/30s", "20000/d"] {
            assert_eq!(Quota::parse(text).unwrap().to_string(), text);
        }
        assert_eq!(
            Quota::parse("600/min").unwrap(),
            Quota {
                calls: 600,
                seconds: 60
            }
        );
        for bad in [
            "",
            "600",
            "0/min",
            "5/0s",
            "5/500ms",
            "x/min",
            "5/fortnight",
            "1/400d",
        ] {
            assert!(Quota::parse(bad).is_err(), "{bad}");
        }
    }
}
