//! Probes, health, metrics and the provider listing.

use std::sync::atomic::Ordering;
use std::time::Duration;

use hyper::StatusCode;
use larder_jobs::health::ProviderHealth;
use larder_jobs::names;
use serde_json::json;

use crate::reply::{Reply, json, text};
use crate::state::State;

const PROBE_TIMEOUT: Duration = Duration::from_secs(2);
const QUEUE_STATES: [&str; 6] = ["pending", "queued", "running", "done", "failed", "killed"];

async fn database_ok(state: &State) -> bool {
    let ping = sqlx::query("SELECT 1").execute(state.store.pool());
    matches!(tokio::time::timeout(PROBE_TIMEOUT, ping).await, Ok(Ok(_)))
}

/// 200 only when the database answers, migrations are applied and the fill
/// listener is connected.
pub async fn readyz(state: &State) -> Reply {
    let listener = state.listener_up.load(Ordering::SeqCst);
    let migrated = tokio::time::timeout(
        PROBE_TIMEOUT,
        larder_jobs::db::migrations_applied(state.store.pool()),
    )
    .await;
    let (database, migrations) = match migrated {
        Ok(Ok(m)) => (true, m),
        _ => (false, false),
    };
    let ready = database && migrations && listener;
    let status = if ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    json(
        status,
        &json!({"ready": ready, "database": database, "migrations": migrations, "listener": listener}),
    )
}

/// Queue rows for every state (0 where none), or `None` when the database
/// does not answer in time.
async fn queue_by_state(state: &State) -> Option<Vec<(&'static str, i64)>> {
    let rows = tokio::time::timeout(PROBE_TIMEOUT, state.store.queue_depth())
        .await
        .ok()?
        .ok()?;
    Some(
        QUEUE_STATES
            .iter()
            .map(|s| (*s, rows.iter().find(|(k, _)| k == s).map_or(0, |(_, n)| *n)))
            .collect(),
    )
}

pub async fn health(state: &State) -> Reply {
    let database = database_ok(state).await;
    let queue = match queue_by_state(state).await {
        Some(q) => json!(
            q.into_iter()
                .map(|(s, n)| (s.to_string(), json!(n)))
                .collect::<serde_json::Map<_, _>>()
        ),
        None => json!(null),
    };
    let workers = match tokio::time::timeout(
        PROBE_TIMEOUT,
        state.store.workers_seen(Duration::from_secs(60)),
    )
    .await
    {
        Ok(Ok(n)) => json!(n),
        _ => json!(null),
    };
    let providers: serde_json::Map<_, _> = state
        .providers
        .iter()
        .map(|p| {
            (
                p.def.id.to_string(),
                json!(state.overrides.enabled(p).is_ok()),
            )
        })
        .collect();
    // Providers whose last fill in the past 5 minutes failed, and how.
    let failing = match tokio::time::timeout(
        PROBE_TIMEOUT,
        ProviderHealth::new(state.store.pool().clone()).failing(Duration::from_secs(300)),
    )
    .await
    {
        Ok(Ok(list)) => list,
        _ => Vec::new(),
    };
    let failing_json: Vec<_> = failing
        .iter()
        .map(|f| json!({"provider": f.provider, "last_error": f.last_error, "since": f.since}))
        .collect();
    let ok = database && failing.is_empty();
    // 200 either way: this is for people and dashboards; /readyz is for
    // orchestrators.
    json(
        StatusCode::OK,
        &json!({
            "status": if ok { "ok" } else { "degraded" },
            "failing_providers": failing_json,
            "version": env!("CARGO_PKG_VERSION"),
            "database": database,
            "listener": state.listener_up.load(Ordering::SeqCst),
            "queue": queue,
            "workers_seen": workers,
            "fills_in_progress_here": state.flights.len(),
            "providers": providers,
        }),
    )
}

/// Prometheus text. The queue gauge is read fresh on each scrape.
pub async fn metrics(state: &State) -> Reply {
    for (s, n) in queue_by_state(state).await.unwrap_or_default() {
        metrics::gauge!(names::QUEUE_JOBS, "state" => s).set(n as f64);
    }
    let (entries, bytes) = state.hot.size();
    metrics::gauge!(names::HOT_ENTRIES).set(entries as f64);
    metrics::gauge!(names::HOT_BYTES).set(bytes as f64);
    if let Some(disk) = &state.disk {
        let (entries, bytes) = disk.size();
        metrics::gauge!(names::DISK_ENTRIES).set(entries as f64);
        metrics::gauge!(names::DISK_BYTES).set(bytes as f64);
    }
    text(
        StatusCode::OK,
        "text/plain; version=0.0.4",
        names::exposition(state.metrics.render()),
    )
}

/// `GET /v1/providers`: what can be asked, and which providers are on.
pub fn providers(state: &State) -> Reply {
    let list: Vec<_> = state
        .providers
        .iter()
        .map(|p| {
            let resources: Vec<_> = p
                .def
                .resources
                .iter()
                .map(|r| {
                    let ttl = state
                        .overrides
                        .ttl(p.def.id, r.ttl_for(p.def, &state.config));
                    json!({
                        "name": r.name,
                        "route": format!("/v1/{}/{}", p.def.id, r.route),
                        "params": r.params.iter().filter(|x| !r.is_path_param(x.name)).map(|x| json!({
                            "name": x.name,
                            "type": x.kind.describe(),
                            "required": x.required,
                            "default": x.default,
                        })).collect::<Vec<_>>(),
                        "ttl_seconds": ttl.fresh.as_secs(),
                        "stale_seconds": ttl.stale.as_secs(),
                        "negative_ttl_seconds": ttl.negative.as_secs(),
                        "max_stale_on_error_seconds": ttl.max_stale_on_error.as_secs(),
                    })
                })
                .collect();
            let enabled = state.overrides.enabled(p);
            let rate = state.overrides.rate(p);
            json!({
                "id": p.def.id,
                "title": p.def.title,
                "enabled": enabled.is_ok(),
                "disabled_reason": enabled.err(),
                "rate": rate.to_string(),
                "rate_per_second": rate.per_second_f64(),
                "concurrency": p.concurrency,
                "resources": resources,
            })
        })
        .collect();
    json(StatusCode::OK, &json!({ "providers": list }))
}
