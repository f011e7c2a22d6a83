//! Service-key authentication. Verified tokens are remembered for a short
//! while so the hit path needs no database round trip and no hashing (the
//! memory is keyed by the presented token; only its SHA-256 is ever stored
//! or logged). Revocations are announced and clear it in every process.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use hyper::HeaderMap;
use hyper::header::AUTHORIZATION;
use larder_jobs::config::AuthMode;
use larder_jobs::keys::{Grant, hash_token, looks_like_token};

use crate::reply::ApiError;
use crate::state::State;

/// How long a verified (or unknown) token is remembered.
pub const GRANT_TTL: Duration = Duration::from_secs(30);

pub type Grants = moka::sync::Cache<String, Option<Arc<Grant>>>;

pub fn grant_cache() -> Grants {
    moka::sync::Cache::builder()
        .max_capacity(10_000)
        .time_to_live(GRANT_TTL)
        .build()
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    let v = headers.get(AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = v.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

/// Check the caller may read `provider` (or any `/v1` route when `None`).
pub async fn check(
    state: &State,
    headers: &HeaderMap,
    provider: Option<&str>,
) -> Result<(), ApiError> {
    if state.config.auth == AuthMode::Off {
        return Ok(());
    }
    let token = bearer(headers)
        .ok_or_else(|| ApiError::unauthorized("missing Authorization: Bearer <service key>"))?;
    // Anything not shaped like a larder token is refused before it can cost
    // a database query or a place in the grant cache.
    if !looks_like_token(token) {
        return Err(ApiError::unauthorized("unknown or revoked service key"));
    }
    let grant = match state.grants.get(token) {
        Some(g) => g,
        None => {
            // A revocation announced while we read must not be undone by
            // remembering what we read.
            let generation = state.grants_generation.load(Ordering::SeqCst);
            let g = state.keys.verify(&hash_token(token)).await?.map(Arc::new);
            if state.grants_generation.load(Ordering::SeqCst) == generation {
                state.grants.insert(token.to_owned(), g.clone());
            }
            g
        }
    };
    let grant = grant.ok_or_else(|| ApiError::unauthorized("unknown or revoked service key"))?;
    if grant.expired(chrono::Utc::now()) {
        return Err(ApiError::unauthorized("service key expired"));
    }
    if let Some(p) = provider
        && !grant.allows(p)
    {
        return Err(ApiError::forbidden(format!(
            "this key's scopes do not include {p}"
        )));
    }
    Ok(())
}
