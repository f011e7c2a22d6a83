//! `/admin/keys`: list, create (the token is in this answer only), one key,
//! its quota, revoke.

use hyper::{Method, StatusCode};
use larder_jobs::keys::{ALL_SCOPES, Quota};
use serde::Deserialize;
use serde_json::json;

use super::{Call, bad, json, missing};
use crate::reply::{ApiError, Reply};

/// `POST /admin/keys`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewKey {
    /// A name to know the key by (1 to 100 characters).
    pub name: String,
    /// Providers the key may read; none or `["*"]`: every provider.
    #[serde(default)]
    pub scopes: Vec<String>,
    /// Lifetime such as `30d` or `12h`; none: never expires.
    #[serde(default)]
    pub expires_in: Option<String>,
    /// Requests per window such as `600/min`; none: no quota.
    #[serde(default)]
    pub quota: Option<String>,
}

/// `PATCH /admin/keys/{id}`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct KeyPatch {
    /// `600/min`, or `null` to remove the quota (required: `{}` changes
    /// nothing and is refused).
    #[serde(default, deserialize_with = "super::providers::present")]
    #[schema(value_type = Option<String>)]
    pub quota: Option<Option<String>>,
}

fn quota(text: Option<&str>) -> Result<Option<Quota>, ApiError> {
    text.map(|t| Quota::parse(t).map_err(|e| bad("invalid-quota", e)))
        .transpose()
}

fn key_id(call: &Call<'_>) -> Result<i64, ApiError> {
    call.param
        .parse::<i64>()
        .ok()
        .filter(|id| *id > 0)
        .ok_or_else(|| bad("invalid-id", format!("{:?} is not a key id", call.param)))
}

pub(crate) async fn list(call: &Call<'_>) -> Result<Reply, ApiError> {
    let keys = call.state.keys.list().await?;
    Ok(json(StatusCode::OK, &json!({ "keys": keys })))
}

pub(crate) async fn create(call: &mut Call<'_>) -> Result<Reply, ApiError> {
    let new: NewKey = call.json().await?;
    let name = new.name.trim();
    if name.is_empty() || name.chars().count() > 100 || name.chars().any(char::is_control) {
        return Err(bad(
            "invalid-name",
            "name: 1 to 100 characters, no control characters",
        ));
    }
    for s in &new.scopes {
        if s != ALL_SCOPES && call.state.catalogue.provider(s).is_none() {
            return Err(bad("invalid-scope", format!("unknown scope {s:?}")));
        }
    }
    let expires_in = new
        .expires_in
        .as_deref()
        .map(|t| {
            humantime::parse_duration(t)
                .ok()
                .filter(|d| !d.is_zero() && d.as_secs() < 100 * 365 * 86400)
                .ok_or_else(|| {
                    bad(
                        "invalid-expires-in",
                        format!("expires_in {t:?}: expected a duration such as 30d or 12h"),
                    )
                })
        })
        .transpose()?;
    let quota = quota(new.quota.as_deref())?;
    let (info, token) = call
        .state
        .keys
        .create(name, &new.scopes, expires_in, quota)
        .await?;
    tracing::info!(
        target: "larder::admin",
        key = info.id,
        name = %info.name,
        scopes = %info.scopes.join(","),
        expires_at = ?info.expires_at,
        quota = info.quota.as_deref().unwrap_or("none"),
        "admin: key created"
    );
    Ok(json(
        StatusCode::CREATED,
        &json!({ "key": info, "token": token }),
    ))
}

/// `GET`, `PATCH` (quota), `DELETE` (revoke) one key.
pub(crate) async fn one(call: &mut Call<'_>) -> Result<Reply, ApiError> {
    let id = key_id(call)?;
    let keys = &call.state.keys;
    let not_found = || missing("key-not-found", format!("no key {id}"));
    match call.method {
        Method::PATCH => {
            let patch: KeyPatch = call.json().await?;
            let Some(quota_text) = patch.quota else {
                return Err(bad("empty-patch", "set quota (a quota, or null)"));
            };
            let quota = quota(quota_text.as_deref())?;
            let info = keys.set_quota(id, quota).await?.ok_or_else(not_found)?;
            tracing::info!(
                target: "larder::admin",
                key = id,
                quota = info.quota.as_deref().unwrap_or("none"),
                "admin: key quota set"
            );
            Ok(json(StatusCode::OK, &json!(info)))
        }
        Method::DELETE => {
            if !keys.revoke(id).await? {
                return Err(not_found());
            }
            tracing::info!(target: "larder::admin", key = id, "admin: key revoked");
            Ok(json(StatusCode::OK, &json!({ "revoked": id })))
        }
        _ => {
            let info = keys.get(id).await?.ok_or_else(not_found)?;
            Ok(json(StatusCode::OK, &json!(info)))
        }
    }
}
