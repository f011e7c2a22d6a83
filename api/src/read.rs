//! `GET /v1/{provider}/{resource…}`: the cached read.

use std::sync::Arc;
use std::time::Duration;

use hyper::header::{
    AGE, CACHE_CONTROL, CONTENT_ENCODING, CONTENT_TYPE, ETAG, HeaderName, HeaderValue,
    IF_NONE_MATCH, VARY,
};
use hyper::{HeaderMap, Response, StatusCode};
use larder_jobs::coding::Coding;
use larder_jobs::job::FetchReason;
use larder_jobs::key::CacheKey;
use larder_jobs::provider::Resolved;

use crate::flight::{self, FillResult};
use crate::hot::{Freshness, HotEntry, now_millis};
use crate::meter::Lookup;
use crate::negotiate::Accept;
use crate::reply::{ApiError, Body, Reply, pending};
use crate::state::State;

pub const X_CACHE: HeaderName = HeaderName::from_static("x-cache");
const MAX_WAIT: u64 = 30;

pub async fn read(
    state: &Arc<State>,
    headers: &HeaderMap,
    provider: &str,
    rest: &str,
    query: &str,
    head_only: bool,
) -> Result<Reply, ApiError> {
    crate::auth::check(state, headers, Some(provider)).await?;
    read_open(state, headers, provider, rest, query, head_only).await
}

/// A cached read without the service-key check (routes that are public
/// upstream too: TMDB's image host).
pub async fn read_open(
    state: &Arc<State>,
    headers: &HeaderMap,
    provider: &str,
    rest: &str,
    query: &str,
    head_only: bool,
) -> Result<Reply, ApiError> {
    let reply = read_entry(state, headers, provider, rest, query).await?;
    crate::image::attach(state, reply, head_only).await
}

async fn read_entry(
    state: &Arc<State>,
    headers: &HeaderMap,
    provider: &str,
    rest: &str,
    query: &str,
) -> Result<Reply, ApiError> {
    let resolution = resolve(state, provider, rest, query)?;
    let resolved = &resolution.resolved;
    let provider = resolved.provider.id;
    if let Some(Err(why)) = state.provider(provider).map(|p| state.overrides.enabled(p)) {
        return Err(ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "provider-disabled",
            format!("{provider} is disabled: {why}"),
        ));
    }
    let key = &resolved.key;
    let want = &Want {
        state,
        inm: headers.get(IF_NONE_MATCH),
        accept: Accept::from_headers(headers),
        generation: state.hot.generation(),
        hash: key.hash(),
    };
    let budget = || prefer_wait(headers).unwrap_or(state.config.wait_budget);
    let hot = held(state, key, want.accept.gzip);
    let entry = match hot {
        Some(e) => Some(e),
        None => {
            // This process is already filling this key, which had no entry:
            // join without asking the database. Not a caller who will not
            // wait (`Prefer: wait=0`): it wants what is stored now, and the
            // fill may have just stored it, its notice not read yet.
            let joined = if budget().is_zero() {
                None
            } else {
                state.flights.join_miss(key)
            };
            if let Some(rx) = joined {
                state.meter.lookup(provider, Lookup::Miss);
                return answer_fill(provider, flight::wait(rx, budget()).await, None, want);
            }
            state.lookups.get(state, key).await?
        }
    };
    let now = now_millis();
    let fallback = match entry {
        Some(e) => match e.freshness(now) {
            Freshness::Fresh => {
                state.meter.lookup(provider, Lookup::Hit);
                return serve(&e, "HIT", want, now);
            }
            Freshness::Stale => {
                state.meter.lookup(provider, Lookup::Stale);
                // One background refresh: the flight deduplicates it.
                drop(state.flights.join(state, key, FetchReason::Refresh, true));
                return serve(&e, "STALE", want, now);
            }
            Freshness::OnErrorOnly => Some(e),
            Freshness::Dead => None,
        },
        None => None,
    };
    state.meter.lookup(provider, Lookup::Miss);
    let rx = state
        .flights
        .join(state, key, FetchReason::Miss, fallback.is_some());
    answer_fill(provider, flight::wait(rx, budget()).await, fallback, want)
}

/// The entry this process holds for `key`: in memory, else in the disk
/// tier. A client that takes no gzip is served the identity copy when one
/// is held (it goes with the entry: see `hot`).
fn held(state: &State, key: &CacheKey, gzip: bool) -> Option<Arc<HotEntry>> {
    let (hash, k) = (key.hash(), key.as_str());
    let memory = match gzip {
        true => state.hot.get(hash, k),
        false => state
            .hot
            .get_copy(hash, k)
            .or_else(|| state.hot.get(hash, k)),
    };
    state.meter.hot(memory.is_some());
    memory.or_else(|| state.disk.as_ref()?.get(hash, k, !gzip))
}

/// Answer a miss from its fill's result; `fallback` is an old entry that may
/// be served (as STALE) when the fill fails or is still going.
fn answer_fill(
    provider: &str,
    result: Option<FillResult>,
    fallback: Option<Arc<HotEntry>>,
    want: &Want<'_>,
) -> Result<Reply, ApiError> {
    let stale_or = |err: ApiError| match &fallback {
        Some(e) => serve(e, "STALE", want, now_millis()),
        None => Err(err),
    };
    match result {
        Some(FillResult::Entry(e)) => {
            let now = now_millis();
            let label = if e.freshness(now) == Freshness::Fresh {
                "MISS"
            } else {
                "STALE"
            };
            serve(&e, label, want, now)
        }
        Some(FillResult::Failed(failure)) => stale_or(ApiError::fill_failed(provider, failure)),
        Some(FillResult::Unavailable) => stale_or(ApiError::unavailable()),
        Some(FillResult::Busy) => stale_or(ApiError::database_busy()),
        Some(FillResult::Overloaded) => stale_or(ApiError::overloaded()),
        Some(FillResult::QueueFull) => stale_or(ApiError::queue_full(provider)),
        Some(FillResult::Expired) | None => match &fallback {
            Some(e) => serve(e, "STALE", want, now_millis()),
            None => Ok(pending(1)),
        },
    }
}

/// Requests for popular keys repeat byte for byte: remember how each exact
/// path and query resolved (successes only, bounded), so a hit skips parsing.
pub type Resolutions = moka::sync::Cache<u64, Arc<Resolution>>;

/// How one exact request path and query resolved.
pub struct Resolution {
    path: String,
    query: String,
    resolved: Resolved,
}

/// The resolution cache's budget, in bytes of request and key text. Its
/// admission policy (TinyLFU) keeps popular requests when a flood of
/// one-off ones (padded with equivalent but distinct query strings) arrives;
/// the budget keeps the flood from growing the process.
const RESOLUTIONS_BYTES: u64 = 32 * 1024 * 1024;

pub fn resolutions() -> Resolutions {
    moka::sync::Cache::builder()
        .weigher(|_, r: &Arc<Resolution>| {
            // The texts and the parsed values, plus the fixed parts.
            let text = r.path.len() + r.query.len() + 2 * r.resolved.key.as_str().len();
            u32::try_from(text + 256).unwrap_or(u32::MAX)
        })
        .max_capacity(RESOLUTIONS_BYTES)
        .build()
}

fn resolve(
    state: &State,
    provider: &str,
    rest: &str,
    query: &str,
) -> Result<Arc<Resolution>, ApiError> {
    let mut h = xxhash_rust::xxh3::Xxh3::new();
    h.update(provider.as_bytes());
    h.update(b"/");
    h.update(rest.as_bytes());
    h.update(b"?");
    h.update(query.as_bytes());
    let id = h.digest();
    if let Some(r) = state.resolutions.get(&id)
        && r.resolved.provider.id == provider
        && r.path == rest
        && r.query == query
    {
        return Ok(r);
    }
    let resolved = state.catalogue.resolve(provider, rest, query)?;
    let r = Arc::new(Resolution {
        path: rest.to_owned(),
        query: query.to_owned(),
        resolved,
    });
    state.resolutions.insert(id, r.clone());
    Ok(r)
}

/// `Prefer: wait=N` (RFC 7240), N clamped to 0..=30. Unparseable
/// preferences are ignored, as the RFC asks.
fn prefer_wait(headers: &HeaderMap) -> Option<Duration> {
    headers
        .get_all("prefer")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split([',', ';']))
        .find_map(|p| {
            let (k, v) = p.trim().split_once('=')?;
            if !k.trim().eq_ignore_ascii_case("wait") {
                return None;
            }
            let n: u64 = v.trim().trim_matches('"').parse().ok()?;
            Some(Duration::from_secs(n.min(MAX_WAIT)))
        })
}

pub(crate) fn etag_matches(inm: &HeaderValue, etag: &HeaderValue) -> bool {
    let Ok(inm) = inm.to_str() else { return false };
    let etag = etag.to_str().unwrap_or_default();
    inm.split(',')
        .map(str::trim)
        .any(|t| t == "*" || t.trim_start_matches("W/") == etag)
}

/// What the request asks of the answer beyond the key.
pub struct Want<'a> {
    state: &'a State,
    inm: Option<&'a HeaderValue>,
    accept: Accept,
    /// The hot cache's generation when the request began (see
    /// [`crate::hot::HotCache::insert`]).
    generation: u64,
    /// The key's hash.
    hash: u64,
}

/// The representation of `e` to send: as stored when the client accepts its
/// coding, else the identity copy (inflated once and kept in the hot cache
/// beside the stored one, so a popular key is not inflated per hit).
fn representation(e: &Arc<HotEntry>, want: &Want<'_>) -> Result<Arc<HotEntry>, ApiError> {
    let accepted = match e.coding {
        Coding::Identity => want.accept.identity,
        Coding::Gzip => want.accept.gzip,
    };
    if accepted || e.status == 404 {
        return Ok(e.clone());
    }
    if !want.accept.identity {
        return Err(ApiError::new(
            StatusCode::NOT_ACCEPTABLE,
            "not-acceptable",
            "Accept-Encoding excludes every coding served (gzip, identity)",
        ));
    }
    let state = want.state;
    let kept = state
        .hot
        .get_copy(want.hash, &e.key)
        .or_else(|| state.disk.as_ref()?.get_copy(want.hash, &e.key));
    if let Some(copy) = kept
        && copy.fetched_at == e.fetched_at
    {
        return Ok(copy);
    }
    let copy = e
        .identity(state.config.upstream.max_body_bytes)
        .map(Arc::new)
        .map_err(|err| {
            tracing::error!(key = e.key, error = %err, "stored entry does not inflate");
            ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                "internal error",
            )
        })?;
    // Kept in memory beside an entry held in memory, and on disk when there
    // is a disk tier: memory holds the copies of the most popular entries
    // (a quarter of its budget), the disk tier the rest.
    if !e.on_disk {
        state
            .hot
            .insert_copy(want.generation, want.hash, copy.clone());
    }
    match &state.disk {
        Some(disk) => Ok(disk
            .insert_copy(&state.hot, want.generation, want.hash, &copy)
            .unwrap_or(copy)),
        None => Ok(copy),
    }
}

/// Answer from an entry: 200 (or 304), or the negative entry's 404.
fn serve(
    e: &Arc<HotEntry>,
    x_cache: &'static str,
    want: &Want<'_>,
    now: i64,
) -> Result<Reply, ApiError> {
    e.hits.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    if e.status == 404 {
        let mut r = ApiError::upstream_not_found().into_reply();
        r.headers_mut()
            .insert(X_CACHE, HeaderValue::from_static(x_cache));
        return Ok(r);
    }
    if e.content_type == POINTER_TYPE {
        return crate::image::head(&e.body, HeaderValue::from_static(x_cache), want.inm);
    }
    let e = &representation(e, want)?;
    let not_modified = want.inm.is_some_and(|v| etag_matches(v, &e.etag));
    let mut r = if not_modified {
        let mut r = Response::new(Body::default());
        *r.status_mut() = StatusCode::NOT_MODIFIED;
        r
    } else {
        let mut r = Response::new(Body::new(e.body.clone()));
        let h = r.headers_mut();
        h.insert(CONTENT_TYPE, e.content_type.clone());
        if e.coding == Coding::Gzip {
            h.insert(CONTENT_ENCODING, GZIP);
        }
        r
    };
    let h = r.headers_mut();
    h.insert(X_CACHE, HeaderValue::from_static(x_cache));
    h.insert(ETAG, e.etag.clone());
    h.insert(VARY, VARY_ACCEPT_ENCODING);
    h.insert(AGE, HeaderValue::from(e.age(now)));
    let cc = format!(
        "public, max-age={}",
        if x_cache == "STALE" {
            0
        } else {
            e.max_age(now)
        }
    );
    h.insert(
        CACHE_CONTROL,
        HeaderValue::from_str(&cc).unwrap_or(HeaderValue::from_static("no-cache")),
    );
    Ok(r)
}

const GZIP: HeaderValue = HeaderValue::from_static("gzip");
const POINTER_TYPE: HeaderValue = HeaderValue::from_static(larder_jobs::assets::POINTER_TYPE);
const VARY_ACCEPT_ENCODING: HeaderValue = HeaderValue::from_static("accept-encoding");

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_resolution_cache_is_bounded_in_bytes() {
        // 20,000 requests padded to 4 KB each: 80 MB of text if kept.
        let cache = resolutions();
        let pad = "x".repeat(4000);
        for i in 0..20_000u64 {
            let resolved = larder_jobs::provider::Catalogue::builtin()
                .resolve("openmeteo", "forecast", "latitude=1&longitude=2")
                .unwrap();
            cache.insert(
                i,
                Arc::new(Resolution {
                    path: "forecast".into(),
                    query: format!("latitude=1&longitude=2&{pad}{i}"),
                    resolved,
                }),
            );
        }
        cache.run_pending_tasks();
        let kept: usize = cache.iter().map(|(_, r)| r.query.len()).sum();
        assert!(
            kept as u64 <= RESOLUTIONS_BYTES,
            "{kept} bytes of requests kept"
        );
    }

    #[test]
    fn prefer_wait_parses_and_clamps() {
        let mut h = HeaderMap::new();
        assert_eq!(prefer_wait(&h), None);
        h.insert("prefer", HeaderValue::from_static("respond-async, wait=5"));
        assert_eq!(prefer_wait(&h), Some(Duration::from_secs(5)));
        h.insert("prefer", HeaderValue::from_static("wait=99"));
        assert_eq!(prefer_wait(&h), Some(Duration::from_secs(30)));
        h.insert("prefer", HeaderValue::from_static("wait=soon"));
        assert_eq!(prefer_wait(&h), None);
    }

    #[test]
    fn etags_match_lists_weak_and_star() {
        let etag = HeaderValue::from_static("\"abc\"");
        for inm in ["\"abc\"", "W/\"abc\"", "\"x\", \"abc\"", "*"] {
            assert!(
                etag_matches(&HeaderValue::from_str(inm).unwrap(), &etag),
                "{inm}"
            );
        }
        assert!(!etag_matches(&HeaderValue::from_static("\"abd\""), &etag));
    }
}
