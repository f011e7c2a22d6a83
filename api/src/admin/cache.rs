//! `/admin/cache` (browse and purge by key prefix) and `/admin/prewarm`.

use hyper::{Method, StatusCode};
use larder_jobs::job::FetchReason;
use larder_jobs::store::Enqueued;
use serde::Deserialize;
use serde_json::json;

use super::{Call, bad, json};
use crate::reply::{ApiError, Reply};

/// Entries listed at most per page.
const MAX_LIMIT: i64 = 1000;
/// Paths one prewarm request may name (each may expand, with `*`).
const MAX_PATHS: usize = 100;
/// Keys one prewarm request may start, after expansion.
const MAX_KEYS: usize = 2000;

/// `POST /admin/prewarm`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Prewarm {
    /// larder paths such as `/v1/tmdb/movie/550`; `*` in a segment stands
    /// for every value of a parameter with a list of values, `{today}` for
    /// today's date (UTC).
    #[schema(min_items = 1, max_items = 100)]
    pub paths: Vec<String>,
}

fn prefix(call: &Call<'_>) -> Result<String, ApiError> {
    let prefix = call.query_param("prefix").unwrap_or_default();
    if prefix.len() > 1024 || prefix.chars().any(char::is_control) {
        return Err(bad(
            "invalid-prefix",
            "prefix: up to 1024 characters, no control characters",
        ));
    }
    Ok(prefix)
}

/// `GET` (browse) or `DELETE` (purge) entries whose key starts with `prefix`.
pub(crate) async fn entries(call: &Call<'_>) -> Result<Reply, ApiError> {
    let prefix = prefix(call)?;
    let store = &call.state.store;
    if call.method == Method::DELETE {
        if prefix.is_empty() && call.query_param("confirm").as_deref() != Some("yes") {
            return Err(bad(
                "confirm-required",
                "an empty prefix purges the whole cache: add confirm=yes",
            ));
        }
        let purged = store.purge(&prefix).await?;
        // This process forgets at once; the others on the notification.
        call.state.hot.clear();
        if let Some(disk) = &call.state.disk {
            disk.clear();
        }
        tracing::info!(target: "larder::admin", prefix = %prefix, purged, "admin: cache purged");
        return Ok(json(StatusCode::OK, &json!({ "purged": purged })));
    }
    let limit = call.limit(50, MAX_LIMIT)?;
    let entries = store.entries_like(&prefix, limit).await?;
    let total = if prefix.is_empty() {
        store.count_entries().await?
    } else {
        store.count_like(&prefix).await?
    };
    Ok(json(
        StatusCode::OK,
        &json!({ "prefix": prefix, "entries": entries, "total": total }),
    ))
}

/// Start a fill of every key the paths name (refetched even when fresh;
/// joined when one is under way).
pub(crate) async fn prewarm(call: &mut Call<'_>) -> Result<Reply, ApiError> {
    let body: Prewarm = call.json().await?;
    if body.paths.is_empty() || body.paths.len() > MAX_PATHS {
        return Err(bad("invalid-paths", format!("paths: 1 to {MAX_PATHS}")));
    }
    let state = call.state;
    let today = chrono::Utc::now().date_naive();
    let mut keys = Vec::new();
    for path in &body.paths {
        let expanded = larder_jobs::schedule::expand(path, today, &state.catalogue)
            .map_err(|e| bad("invalid-path", format!("{path}: {e}")))?;
        keys.extend(expanded.into_iter().map(|k| (path.clone(), k)));
        if keys.len() > MAX_KEYS {
            return Err(bad(
                "too-many-keys",
                format!("these paths name more than {MAX_KEYS} keys"),
            ));
        }
    }
    let mut results = Vec::with_capacity(keys.len());
    for (path, key) in keys {
        let enabled = state
            .provider(key.provider())
            .map(|p| state.overrides.enabled(p));
        let outcome = match enabled {
            Some(Err(why)) => format!("disabled: {why}"),
            _ => match state.store.enqueue(&key, FetchReason::Prewarm).await? {
                Enqueued::Started | Enqueued::Fresh(_) => "started".into(),
                Enqueued::Joined => "joined".into(),
                Enqueued::Full => "queue-full".into(),
            },
        };
        results.push(json!({ "path": path, "key": key.as_str(), "outcome": outcome }));
    }
    tracing::info!(
        target: "larder::admin",
        paths = ?body.paths,
        keys = results.len(),
        "admin: prewarm"
    );
    Ok(json(StatusCode::ACCEPTED, &json!({ "results": results })))
}
