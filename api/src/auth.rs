//! Service-key authentication.
//!
//! Every API process holds the live keys in memory, by token hash (the
//! [`Keyring`]), so an unknown token is refused without a database query:
//! a flood of made-up tokens costs hashing, not Postgres. Keys created or
//! revoked anywhere are announced (NOTIFY) and the keyring reloads before
//! its next answer; an unknown token may also reload it, at most once a
//! second, in case an announcement was missed. Verified tokens are
//! remembered for a short while so the hit path needs no hashing (the
//! memory is keyed by the presented token; only its SHA-256 is ever stored
//! or logged).

use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use hyper::HeaderMap;
use hyper::header::AUTHORIZATION;
use larder_jobs::config::AuthMode;
use larder_jobs::keys::{Grant, hash_token, looks_like_token};

use crate::reply::ApiError;
use crate::state::State;

/// How long a verified token is remembered.
pub const GRANT_TTL: Duration = Duration::from_secs(30);
/// Keys held in memory; past it, tokens not among them are looked up.
const MAX_KEYS: usize = 100_000;
/// An unknown token reloads the keyring at most this often.
const RELOAD_ON_UNKNOWN: Duration = Duration::from_secs(1);

pub type Grants = moka::sync::Cache<String, Arc<Grant>>;

pub fn grant_cache() -> Grants {
    moka::sync::Cache::builder()
        .max_capacity(10_000)
        .time_to_live(GRANT_TTL)
        .build()
}

/// The live keys as last loaded.
struct KeySet {
    /// `State::grants_generation` when loading began.
    generation: u64,
    loaded: Instant,
    /// False when there were more than `MAX_KEYS`.
    complete: bool,
    by_hash: HashMap<String, Arc<Grant>>,
}

#[derive(Default)]
pub struct Keyring {
    current: RwLock<Option<Arc<KeySet>>>,
    loading: tokio::sync::Mutex<()>,
}

impl Keyring {
    fn get(&self) -> Option<Arc<KeySet>> {
        self.current
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// The key set, loaded at `generation` (and after `asked`, if given):
    /// loads it when it is older, one load at a time.
    async fn at(&self, state: &State, asked: Option<Instant>) -> Result<Arc<KeySet>, ApiError> {
        let usable = |set: &KeySet| {
            set.generation == state.grants_generation.load(Ordering::SeqCst)
                && asked.is_none_or(|t| set.loaded >= t)
        };
        if let Some(set) = self.get().filter(|s| usable(s)) {
            return Ok(set);
        }
        let _one = self.loading.lock().await;
        if let Some(set) = self.get().filter(|s| usable(s)) {
            return Ok(set); // loaded while we waited
        }
        let generation = state.grants_generation.load(Ordering::SeqCst);
        let loaded = Instant::now();
        let rows = state.keys.live(MAX_KEYS as i64 + 1).await?;
        let complete = rows.len() <= MAX_KEYS;
        if !complete {
            tracing::warn!(
                "more than {MAX_KEYS} live service keys: the others are looked up per request"
            );
        }
        let by_hash = rows
            .into_iter()
            .take(MAX_KEYS)
            .map(|(hash, grant)| (hash, Arc::new(grant)))
            .collect();
        let set = Arc::new(KeySet {
            generation,
            loaded,
            complete,
            by_hash,
        });
        *self.current.write().unwrap_or_else(|e| e.into_inner()) = Some(set.clone());
        Ok(set)
    }
}

pub(crate) fn bearer(headers: &HeaderMap) -> Option<&str> {
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
    check_token(state, bearer(headers), provider).await
}

/// Check a service key given some other way (the TMDB drop-in's `api_key`).
pub async fn check_token(
    state: &State,
    token: Option<&str>,
    provider: Option<&str>,
) -> Result<(), ApiError> {
    let token = token
        .ok_or_else(|| ApiError::unauthorized("missing Authorization: Bearer <service key>"))?;
    // Anything not shaped like a larder token is refused before it costs
    // even a hash.
    if !looks_like_token(token) {
        return Err(ApiError::unauthorized("unknown or revoked service key"));
    }
    let grant = match state.grants.get(token) {
        Some(g) => g,
        None => verify(state, token)
            .await?
            .ok_or_else(|| ApiError::unauthorized("unknown or revoked service key"))?,
    };
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
    if grant.quota.is_some() {
        state.quotas.check(state.store.pool(), &grant).await?;
    }
    Ok(())
}

/// The live key behind `token`, from the keyring.
async fn verify(state: &State, token: &str) -> Result<Option<Arc<Grant>>, ApiError> {
    let asked = Instant::now();
    let hash = hash_token(token);
    let mut set = state.keyring.at(state, None).await?;
    let mut grant = set.by_hash.get(&hash).cloned();
    if grant.is_none() && !set.complete {
        grant = state.keys.verify(&hash).await?.map(Arc::new);
    } else if grant.is_none() && set.loaded.elapsed() >= RELOAD_ON_UNKNOWN {
        // Perhaps a key created elsewhere whose announcement we missed.
        set = state.keyring.at(state, Some(asked)).await?;
        grant = set.by_hash.get(&hash).cloned();
    }
    // A revocation announced since the set was loaded must not be undone
    // by remembering what it said.
    if let Some(g) = &grant
        && state.grants_generation.load(Ordering::SeqCst) == set.generation
    {
        state.grants.insert(token.to_owned(), g.clone());
    }
    Ok(grant)
}
