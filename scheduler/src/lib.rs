//! `larder scheduler`: runs `schedules.toml`.
//!
//! Every schedule waits for its next cron tick (in its time zone) and fires
//! it by claiming the `(schedule, tick)` row and enqueuing its fills in the
//! same transaction, so a tick fires once however many schedulers run, and
//! a scheduler killed mid-tick leaves nothing half-done (another one, or
//! the same one restarted, claims the tick). On start, the last tick that
//! was due and never fired (every scheduler was down) fires once; older
//! missed ticks do not fire as a burst.
//!
//! Prewarm fills refetch even fresh entries and go through the one fill
//! per key of any miss; refresh-ahead fills are the keys the API processes
//! counted as popular whose freshness is about to end.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use larder_jobs::config::Config;
use larder_jobs::job::FetchReason;
use larder_jobs::key::CacheKey;
use larder_jobs::names;
use larder_jobs::provider::ProviderSettings;
use larder_jobs::schedule::Schedule;
use larder_jobs::store::Store;
use sqlx::PgPool;
use tokio::sync::watch;

/// Most keys one refresh-ahead tick refreshes.
const REFRESH_AHEAD_MAX: usize = 10_000;
/// How long fired ticks and hit counts are kept.
const KEEP_TICKS: Duration = Duration::from_secs(7 * 86_400);
const KEEP_HITS: Duration = Duration::from_secs(86_400);

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{0}")]
    Schedules(String),
}

/// Run every configured schedule until `shutdown`.
pub async fn run(
    config: Arc<Config>,
    pool: PgPool,
    shutdown: impl Future<Output = ()> + Send,
) -> Result<(), Error> {
    let loaded = larder_jobs::schedule::load_configured(&config).map_err(Error::Schedules)?;
    let Some((path, schedules)) = loaded else {
        tracing::info!("no schedules.toml (LARDER_SCHEDULES): the scheduler has nothing to run");
        shutdown.await;
        return Ok(());
    };
    tracing::info!(
        file = %path.display(),
        schedules = schedules.len(),
        "scheduler running"
    );
    for s in &schedules {
        for w in s.warnings(&config) {
            tracing::warn!("{w}");
        }
    }
    // Keys of disabled providers (no credential) would only fail every tick.
    let off: Vec<&'static str> = ProviderSettings::all(&config)
        .iter()
        .filter(|p| p.enabled.is_err())
        .map(|p| p.def.id)
        .collect();
    let off = Arc::new(off);
    let (stop_tx, stop_rx) = watch::channel(false);
    let store = Store::new(pool);
    let mut tasks = Vec::new();
    for s in schedules {
        tasks.push(tokio::spawn(run_schedule(
            s,
            store.clone(),
            config.clone(),
            off.clone(),
            stop_rx.clone(),
        )));
    }
    tasks.push(tokio::spawn(prune(store.clone(), stop_rx.clone())));
    shutdown.await;
    let _ = stop_tx.send(true);
    for t in tasks {
        let _ = t.await;
    }
    Ok(())
}

async fn run_schedule(
    s: Schedule,
    store: Store,
    config: Arc<Config>,
    off: Arc<Vec<&'static str>>,
    mut stop: watch::Receiver<bool>,
) {
    // The last tick that was due, if nobody fired it (all schedulers down).
    let now = Utc::now();
    let mut last = now;
    if let Some(due) = s.last_at_or_before(now) {
        match store.last_tick(&s.name).await {
            Ok(Some(fired)) if fired >= due => {}
            Ok(_) => {
                tracing::info!(schedule = s.name, tick = %due, "a tick was missed while no scheduler ran; firing it once");
                fire(&s, due, &store, &config, &off).await;
            }
            Err(e) => tracing::warn!(schedule = s.name, error = %e, "cannot read the last tick"),
        }
    }
    loop {
        let Some(next) = s.next_after(last) else {
            tracing::warn!(schedule = s.name, "no next tick; schedule ends");
            return;
        };
        let wait = (next - Utc::now()).to_std().unwrap_or(Duration::ZERO);
        tokio::select! {
            _ = stop.wait_for(|v| *v) => return,
            _ = tokio::time::sleep(wait) => {}
        }
        // The clock may be slightly early after a sleep: wait the rest.
        if let Ok(rest) = (next - Utc::now()).to_std() {
            tokio::time::sleep(rest).await;
        }
        fire(&s, next, &store, &config, &off).await;
        last = next;
    }
}

/// Fire one tick: retried a few times when the database fails, within the
/// schedule's interval.
async fn fire(s: &Schedule, tick: DateTime<Utc>, store: &Store, config: &Config, off: &[&str]) {
    let catalogue = config.catalogue();
    let deadline = tokio::time::Instant::now() + s.interval().min(Duration::from_secs(60));
    let mut attempt = 0u32;
    loop {
        let result = async {
            let mut keys = s.keys(tick, &catalogue).map_err(|e| e.to_string())?;
            keys.extend(each_keys(s, tick, store, config).await);
            keys.retain(|k| !off.contains(&k.provider()));
            let prewarmed = keys.len();
            if let Some(r) = s.refresh_ahead {
                let popular = store
                    .popular_expiring(r.within, r.window, r.min_hits, REFRESH_AHEAD_MAX)
                    .await
                    .map_err(|e| e.to_string())?;
                keys.extend(popular);
            }
            let fired = store
                .fire_tick(&s.name, tick, &keys, FetchReason::Prewarm)
                .await
                .map_err(|e| e.to_string())?;
            Ok::<_, String>((fired, prewarmed, keys.len() - prewarmed))
        }
        .await;
        match result {
            Ok((Some(started), prewarmed, refreshed)) => {
                metrics::counter!(names::SCHEDULER_TICKS, "schedule" => s.name.clone(), "outcome" => "fired")
                    .increment(1);
                if prewarmed > 0 {
                    metrics::counter!(names::SCHEDULED_KEYS, "schedule" => s.name.clone(), "kind" => "prewarm")
                        .increment(prewarmed as u64);
                }
                if refreshed > 0 {
                    metrics::counter!(names::SCHEDULED_KEYS, "schedule" => s.name.clone(), "kind" => "refresh_ahead")
                        .increment(refreshed as u64);
                }
                tracing::debug!(schedule = s.name, %tick, prewarmed, refreshed, started, "tick fired");
                return;
            }
            Ok((None, _, _)) => {
                metrics::counter!(names::SCHEDULER_TICKS, "schedule" => s.name.clone(), "outcome" => "skipped")
                    .increment(1);
                tracing::debug!(schedule = s.name, %tick, "tick fired by another scheduler");
                return;
            }
            Err(e) => {
                attempt += 1;
                let pause =
                    Duration::from_millis((250u64 << attempt.min(5)) + rand::random::<u64>() % 250);
                if tokio::time::Instant::now() + pause > deadline {
                    metrics::counter!(names::SCHEDULER_TICKS, "schedule" => s.name.clone(), "outcome" => "failed")
                        .increment(1);
                    tracing::warn!(schedule = s.name, %tick, error = e, "tick failed");
                    return;
                }
                tracing::debug!(schedule = s.name, %tick, error = e, "tick failed; trying again");
                tokio::time::sleep(pause).await;
            }
        }
    }
}

/// The keys of every id the schedule's lists name (`prewarm_each`), read
/// from the lists' cached entries. A list not cached yet names nothing.
async fn each_keys(
    s: &Schedule,
    tick: DateTime<Utc>,
    store: &Store,
    config: &Config,
) -> Vec<CacheKey> {
    let catalogue = config.catalogue();
    let today = s.today(tick);
    let mut out = Vec::new();
    for e in &s.prewarm_each {
        let Ok(list) = larder_jobs::schedule::expand(&e.list, today, &catalogue) else {
            continue;
        };
        let Some(key) = list.first() else { continue };
        let entry = match store.lookup(key).await {
            Ok(Some(entry)) if entry.status == 200 => entry,
            Ok(_) => continue,
            Err(e) => {
                tracing::debug!(error = %e, "list not read; its ids skipped this tick");
                continue;
            }
        };
        let body = match entry.coding {
            larder_jobs::coding::Coding::Gzip => {
                match larder_jobs::coding::gunzip(&entry.body, config.upstream.max_body_bytes) {
                    Ok(b) => b,
                    Err(_) => continue,
                }
            }
            larder_jobs::coding::Coding::Identity => entry.body.clone(),
        };
        let Ok(doc) = serde_json::from_slice::<serde_json::Value>(&body) else {
            continue;
        };
        for id in larder_jobs::schedule::ids_at(&doc, &e.ids) {
            let encoded: String = form_urlencoded::byte_serialize(id.as_bytes()).collect();
            if let Ok(keys) =
                larder_jobs::schedule::expand(&e.path.replace('*', &encoded), today, &catalogue)
            {
                out.extend(keys);
            }
        }
    }
    out
}

/// Hourly: forget old ticks and hit counts.
async fn prune(store: Store, mut stop: watch::Receiver<bool>) {
    loop {
        if let Err(e) = store.prune_schedule_state(KEEP_TICKS, KEEP_HITS).await {
            tracing::debug!(error = %e, "pruning scheduler state failed");
        }
        tokio::select! {
            _ = stop.wait_for(|v| *v) => return,
            _ = tokio::time::sleep(Duration::from_secs(3600)) => {}
        }
    }
}
