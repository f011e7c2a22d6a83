//! `/admin/providers` (state, limits, recent failures; `PATCH` enabled,
//! rate, ttl) and `/admin/config`.

use std::collections::HashMap;
use std::time::Duration;

use hyper::{Method, StatusCode};
use larder_jobs::provider::{OverridePatch, Overrides, ProviderSettings, Rate};
use larder_jobs::store::JobInfo;
use serde::Deserialize;
use serde_json::{Value, json};

use super::{Call, bad, json, missing};
use crate::reply::{ApiError, Reply};
use crate::state::State;

/// Failed fills shown per provider.
const RECENT_ERRORS: i64 = 5;

/// `PATCH /admin/providers/{name}`: each field present sets that override;
/// `null` clears it (back to the configuration).
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProviderPatch {
    /// Switch the provider off (or back on: a missing credential stays missing).
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<bool>)]
    pub enabled: Option<Option<bool>>,
    /// Upstream calls allowed, such as `10/s`, `90/min` (the burst stays).
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub rate: Option<Option<String>>,
    /// Freshness of every resource of the provider, such as `1h`.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub ttl: Option<Option<String>>,
}

/// A field that is present (even as `null`) is `Some`.
pub(crate) fn present<'de, T, D>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    T: Deserialize<'de>,
    D: serde::Deserializer<'de>,
{
    Option::<T>::deserialize(d).map(Some)
}

fn describe(
    state: &State,
    p: &ProviderSettings,
    paused: &HashMap<String, f64>,
    errors: &[&JobInfo],
) -> Value {
    let o = state.overrides.get(p.def.id).unwrap_or_default();
    let enabled = state.overrides.enabled(p);
    let rate = state.overrides.rate(p);
    json!({
        "name": p.def.id,
        "title": p.def.title,
        "enabled": enabled.is_ok(),
        "disabled_reason": enabled.err(),
        "rate": rate.to_string(),
        "rate_per_second": rate.per_second_f64(),
        "burst": rate.burst,
        "configured_rate": p.rate.to_string(),
        "ttl": o.ttl.map(|d| humantime::format_duration(d).to_string()),
        "paused_for_seconds": paused.get(p.def.id).copied().unwrap_or(0.0),
        "overrides": o,
        "recent_errors": errors.iter().map(|j| json!({
            "at": j.done_at,
            "key": j.key,
            "error": j.error,
            "job": j.id,
        })).collect::<Vec<_>>(),
    })
}

async fn facts(state: &State) -> Result<(HashMap<String, f64>, Vec<(String, JobInfo)>), ApiError> {
    let paused = state.store.paused().await?.into_iter().collect();
    let failures = state.store.recent_failures(RECENT_ERRORS).await?;
    Ok((paused, failures))
}

pub(crate) async fn list(call: &Call<'_>) -> Result<Reply, ApiError> {
    let state = call.state;
    let (paused, failures) = facts(state).await?;
    let list: Vec<Value> = state
        .providers
        .iter()
        .map(|p| {
            let errors: Vec<&JobInfo> = failures
                .iter()
                .filter(|(id, _)| id == p.def.id)
                .map(|(_, j)| j)
                .collect();
            describe(state, p, &paused, &errors)
        })
        .collect();
    Ok(json(StatusCode::OK, &json!({ "providers": list })))
}

/// `GET` or `PATCH` one provider.
pub(crate) async fn one(call: &mut Call<'_>) -> Result<Reply, ApiError> {
    let state = call.state;
    let p = state.provider(&call.param).ok_or_else(|| {
        missing(
            "provider-not-found",
            format!("no provider {:?}", call.param),
        )
    })?;
    if call.method == Method::PATCH {
        let body: ProviderPatch = call.json().await?;
        let patch = check(&body, p)?;
        let now = Overrides::apply(state.store.pool(), p.def.id, &patch).await?;
        // This process at once; the others on the notification, or within
        // a few seconds.
        state.overrides.reload(state.store.pool()).await?;
        tracing::info!(
            target: "larder::admin",
            provider = p.def.id,
            enabled = ?now.enabled,
            rate = ?now.rate,
            ttl = ?now.ttl,
            "admin: provider overrides set"
        );
    }
    let (paused, failures) = facts(state).await?;
    let errors: Vec<&JobInfo> = failures
        .iter()
        .filter(|(id, _)| id == p.def.id)
        .map(|(_, j)| j)
        .collect();
    Ok(json(StatusCode::OK, &describe(state, p, &paused, &errors)))
}

fn check(body: &ProviderPatch, p: &ProviderSettings) -> Result<OverridePatch, ApiError> {
    if body.enabled.is_none() && body.rate.is_none() && body.ttl.is_none() {
        return Err(bad("empty-patch", "set enabled, rate or ttl"));
    }
    let rate = match &body.rate {
        Some(Some(text)) => {
            let rate = Rate::parse(text, p.rate.burst).map_err(|e| bad("invalid-rate", e))?;
            if rate.per_second_f64() > 100_000.0 {
                return Err(bad("invalid-rate", "rate: at most 100000/s"));
            }
            Some(Some(text.trim().to_owned()))
        }
        Some(None) => Some(None),
        None => None,
    };
    let ttl = match &body.ttl {
        Some(Some(text)) => {
            let d = humantime::parse_duration(text.trim())
                .ok()
                .filter(|d| *d >= Duration::from_secs(1) && *d <= Duration::from_secs(366 * 86400))
                .ok_or_else(|| {
                    bad(
                        "invalid-ttl",
                        format!("ttl {text:?}: a duration from 1s to 366d, such as 1h"),
                    )
                })?;
            Some(Some(d))
        }
        Some(None) => Some(None),
        None => None,
    };
    Ok(OverridePatch {
        enabled: body.enabled,
        rate,
        ttl,
    })
}

/// The configuration in effect, secrets redacted (as `larder check`).
pub(crate) fn config(state: &State) -> Value {
    serde_json::to_value(state.config.effective()).unwrap_or_else(|e| {
        tracing::error!(error = %e, "configuration not serialisable");
        json!({})
    })
}
