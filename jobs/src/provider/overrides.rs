//! Operators' changes to providers at run time (`PATCH /admin/providers/…`):
//! enabled, rate, TTL. Kept in Postgres (`larder_provider_overrides`), so
//! they survive restarts, and held in memory by every process, which
//! re-reads them every few seconds (API processes also at once, on the
//! `larder_providers` notification). A provider without an override is as
//! configured.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use serde::Serialize;
use sqlx::PgPool;
use tokio::sync::watch;

use super::{ProviderSettings, Rate, Ttl};
use crate::error::Error;

/// The channel override changes are announced on (payload: the provider).
pub const PROVIDERS_CHANNEL: &str = "larder_providers";
/// How often every process re-reads the overrides.
pub const REFRESH_EVERY: Duration = Duration::from_secs(2);

/// One provider's overrides; `None` is "as configured".
#[derive(Debug, Clone, Default, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Override {
    pub enabled: Option<bool>,
    /// As the operator wrote it (`10/s`).
    pub rate: Option<String>,
    /// The fresh TTL of every resource of the provider.
    #[serde(serialize_with = "as_humantime")]
    #[schema(value_type = Option<String>)]
    pub ttl: Option<Duration>,
}

fn as_humantime<S: serde::Serializer>(d: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
    match d {
        Some(d) => s.serialize_str(&humantime::format_duration(*d).to_string()),
        None => s.serialize_none(),
    }
}

/// A change to one provider's overrides: a field `Some(None)` clears that
/// override, `None` leaves it.
#[derive(Debug, Clone, Default)]
pub struct OverridePatch {
    pub enabled: Option<Option<bool>>,
    /// Already checked with [`Rate::parse`].
    pub rate: Option<Option<String>>,
    pub ttl: Option<Option<Duration>>,
}

#[derive(Default)]
pub struct Overrides {
    by_provider: RwLock<Arc<HashMap<String, Override>>>,
    /// Whether any provider is switched off here: the read path asks only then.
    any_disabled: AtomicBool,
    /// One reload at a time, so an older read never replaces a newer one.
    reloading: tokio::sync::Mutex<()>,
}

impl Overrides {
    pub fn get(&self, provider: &str) -> Option<Override> {
        self.snapshot().get(provider).cloned()
    }

    fn snapshot(&self) -> Arc<HashMap<String, Override>> {
        self.by_provider
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Whether `settings`' provider may be used: as configured, unless an
    /// operator switched it off. Switching on cannot supply a missing
    /// credential.
    pub fn enabled(&self, settings: &ProviderSettings) -> Result<(), String> {
        settings.enabled.clone()?;
        if self.any_disabled.load(Ordering::Relaxed)
            && self
                .snapshot()
                .get(settings.def.id)
                .is_some_and(|o| o.enabled == Some(false))
        {
            return Err("disabled by an operator".into());
        }
        Ok(())
    }

    /// The rate `settings`' provider runs at now (the burst stays configured).
    pub fn rate(&self, settings: &ProviderSettings) -> Rate {
        self.snapshot()
            .get(settings.def.id)
            .and_then(|o| o.rate.as_deref())
            .and_then(|r| Rate::parse(r, settings.rate.burst).ok())
            .unwrap_or(settings.rate)
    }

    /// `ttl` with `provider`'s TTL override applied.
    pub fn ttl(&self, provider: &str, mut ttl: Ttl) -> Ttl {
        if let Some(fresh) = self.snapshot().get(provider).and_then(|o| o.ttl) {
            ttl.fresh = fresh;
        }
        ttl
    }

    /// Read every override from the database.
    pub async fn reload(&self, pool: &PgPool) -> Result<(), Error> {
        let _one = self.reloading.lock().await;
        type Row = (String, Option<bool>, Option<String>, Option<f64>);
        let rows: Vec<Row> = sqlx::query_as(
            "SELECT provider, enabled, rate, ttl_seconds FROM larder_provider_overrides",
        )
        .fetch_all(pool)
        .await?;
        let map: HashMap<String, Override> = rows
            .into_iter()
            .map(|(p, enabled, rate, ttl)| {
                let ttl = ttl
                    .filter(|s| s.is_finite() && *s >= 0.0)
                    .map(Duration::from_secs_f64);
                (p, Override { enabled, rate, ttl })
            })
            .collect();
        let any_disabled = map.values().any(|o| o.enabled == Some(false));
        *self.by_provider.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(map);
        self.any_disabled.store(any_disabled, Ordering::Relaxed);
        Ok(())
    }

    /// Re-read the overrides every [`REFRESH_EVERY`] until `stop`.
    pub fn keep_fresh(self: &Arc<Self>, pool: PgPool, mut stop: watch::Receiver<bool>) {
        let me = self.clone();
        tokio::spawn(async move {
            loop {
                if let Err(e) = me.reload(&pool).await {
                    tracing::debug!(error = %e, "provider overrides not re-read");
                }
                tokio::select! {
                    _ = stop.wait_for(|v| *v) => return,
                    _ = tokio::time::sleep(REFRESH_EVERY) => {}
                }
            }
        });
    }

    /// Apply `patch` to `provider`'s overrides, announce it, and return the
    /// overrides now in force.
    pub async fn apply(
        pool: &PgPool,
        provider: &str,
        patch: &OverridePatch,
    ) -> Result<Override, Error> {
        let mut tx = pool.begin().await?;
        let (enabled, rate, ttl): (Option<bool>, Option<String>, Option<f64>) = sqlx::query_as(
            "INSERT INTO larder_provider_overrides AS o (provider) VALUES ($1)
             ON CONFLICT (provider) DO UPDATE SET updated_at = now()
             RETURNING o.enabled, o.rate, o.ttl_seconds",
        )
        .bind(provider)
        .fetch_one(&mut *tx)
        .await?;
        let enabled = patch.enabled.unwrap_or(enabled);
        let rate = patch.rate.clone().unwrap_or(rate);
        let ttl = match patch.ttl {
            Some(t) => t.map(|d| d.as_secs_f64()),
            None => ttl,
        };
        sqlx::query(
            "UPDATE larder_provider_overrides
                SET enabled = $2, rate = $3, ttl_seconds = $4, updated_at = now()
              WHERE provider = $1",
        )
        .bind(provider)
        .bind(enabled)
        .bind(&rate)
        .bind(ttl)
        .execute(&mut *tx)
        .await?;
        sqlx::query("SELECT pg_notify($1, $2)")
            .bind(PROVIDERS_CHANNEL)
            .bind(provider)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(Override {
            enabled,
            rate,
            ttl: ttl.map(Duration::from_secs_f64),
        })
    }
}
