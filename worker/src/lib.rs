//! larder's workers: pull fetch jobs from the Postgres queue (apalis), run
//! [`fetch::Fetcher::execute`] on each, and keep the queue tidy.
//!
//! Crash safety comes from apalis-postgres: every worker heartbeats, and a
//! worker silent for three heartbeats has its jobs handed to another (see
//! `WorkerConfig::heartbeat`). Pubsub wake-up means an idle worker picks up a
//! new job within milliseconds rather than at its next poll.

mod assets;
pub mod fetch;
mod fill;
mod report;
pub mod upstream;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use apalis::prelude::*;
use apalis_core::backend::ext::poll_strategy::Strategy;
use apalis_core::error::AbortError;
use apalis_postgres::{PostgresStorage, Pubsub};
use larder_jobs::config::Config;
use larder_jobs::job::{FETCH_QUEUE, FetchJob};
use larder_jobs::key::CacheKey;
use larder_jobs::names;
use larder_jobs::store::Store;
use sqlx::PgPool;

pub use fetch::{Fetcher, Outcome};

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("worker setup failed: {0}")]
    Setup(String),
    #[error("worker stopped with an error: {0}")]
    Run(String),
}

/// A unique worker name: apalis registers workers by name, and a second
/// process under the same name would be refused.
pub fn worker_name() -> String {
    let host = std::env::var("HOSTNAME").unwrap_or_else(|_| "local".into());
    format!(
        "larder-{host}-{}-{:04x}",
        std::process::id(),
        rand::random::<u16>()
    )
}

/// Why a fill failed: the error a failed job ends with (apalis keeps it in
/// the job's `last_result`; the job's status is `Killed`, never retried by
/// the queue itself).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct FillFailed(pub String);

async fn handle(
    payload: serde_json::Value,
    fetcher: Data<Arc<Fetcher>>,
    id: TaskId,
) -> Result<(), BoxDynError> {
    let job: FetchJob = match serde_json::from_value(payload.clone()) {
        Ok(job) => job,
        Err(e) => {
            // A payload we cannot read will never become readable: fail it
            // for good instead of letting the queue retry it, and end its
            // fill (if it names a key) so nobody waits on it.
            tracing::error!(error = %e, "undecodable fetch job dropped");
            metrics::counter!(names::JOBS, "kind" => "unknown", "outcome" => "failed").increment(1);
            if let Some(key) = payload
                .get("key")
                .and_then(|k| k.as_str())
                .and_then(CacheKey::from_stored)
            {
                fetcher.fail(&key, &id.to_string()).await?;
            }
            return Err(Box::new(AbortError::new(FillFailed(format!(
                "undecodable job: {e}"
            )))));
        }
    };
    // A bug in one adapter must not take the whole worker down: the fill
    // fails (its waiters are told) and the job is not run again.
    let job_id = id.to_string();
    // The fill's span: a child of the request that started it, when that
    // request was traced (OTLP export on).
    let FetchJob::Fetch { key: job_key, .. } = &job;
    let span = tracing::debug_span!("fill", key = %job_key, job = %job_id);
    if let Some(parent) = job.trace() {
        larder_jobs::trace::set_parent(&span, parent);
    }
    let run = std::panic::AssertUnwindSafe(tracing::Instrument::instrument(
        fetcher.execute(&job, &job_id),
        span,
    ));
    let result = match futures_util::FutureExt::catch_unwind(run).await {
        Ok(result) => result,
        Err(_) => {
            let FetchJob::Fetch { key, .. } = &job;
            tracing::error!(key, "fetch job panicked; fill failed");
            metrics::counter!(names::JOBS, "kind" => job.kind(), "outcome" => "failed")
                .increment(1);
            if let Some(key) = CacheKey::from_stored(key) {
                fetcher.fail(&key, &job_id).await?;
            }
            return Err(Box::new(AbortError::new(FillFailed(
                "the fill panicked (a bug: see the worker's log)".into(),
            ))));
        }
    };
    match result {
        // A failed fill is over (its waiters were told, its key will be
        // asked again): the job ends for good with its reason, which
        // operators see among the failed jobs and may retry.
        Ok(Outcome::Failed(_, reason) | Outcome::Invalid(reason)) => {
            Err(Box::new(AbortError::new(FillFailed(reason))))
        }
        Ok(outcome) => {
            tracing::debug!(?outcome, "job done");
            Ok(())
        }
        Err(e) => {
            // The database is busy or away: pause (with jitter) before the
            // job goes back to the queue, so a storm of failing jobs is not
            // run again at once, adding to the load that failed them.
            if e.is_unavailable() || e.is_overloaded() {
                let pause = Duration::from_millis(500 + rand::random::<u64>() % 1500);
                tokio::time::sleep(pause).await;
            }
            tracing::warn!(error = %e, "job could not finish; the queue will run it again");
            Err(Box::new(e))
        }
    }
}

/// Run a worker with `concurrency` jobs at once until `shutdown` resolves;
/// jobs in hand are finished, jobs fetched but not started are handed back.
///
/// apalis stops a worker whose backend fails (the database went away), so
/// this supervises it: a worker that stops on its own is started again, under
/// a new name, with backoff, until shutdown. Its unfinished jobs are picked
/// up by orphan recovery like a crashed worker's.
pub async fn run(
    config: Arc<Config>,
    pool: PgPool,
    queue_pool: Option<PgPool>,
    concurrency: usize,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), Error> {
    let fetcher = Arc::new(Fetcher::new(config.clone(), Store::new(pool.clone()))?);
    // The queue (apalis: its LISTEN, polls, acks, heartbeats) has a pool of
    // its own, so fills that use up theirs never starve the poller. Best
    // opened by the caller before anything else (`db::queue_pool`).
    let queue_pool = match queue_pool {
        Some(p) => p,
        None => larder_jobs::db::queue_pool(&config.database_url.0, config.db_synchronous_commit)
            .await
            .map_err(|e| Error::Setup(e.to_string()))?,
    };
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    tokio::spawn(async move {
        shutdown.await;
        let _ = stop_tx.send(true);
    });
    if let Err(e) = fetcher.overrides.reload(&pool).await {
        tracing::warn!(error = %e, "provider overrides not read; retrying in the background");
    }
    fetcher.overrides.keep_fresh(pool.clone(), stop_rx.clone());
    let pruner = tokio::spawn(prune_loop(
        Store::new(pool.clone()),
        config.worker.keep_finished_jobs,
        Duration::from_secs(86_400 * u64::from(config.history_days)),
        stop_rx.clone(),
    ));
    let mut backoff = Duration::from_millis(250);
    loop {
        let started = std::time::Instant::now();
        let result = run_once(
            &config,
            &queue_pool,
            concurrency,
            fetcher.clone(),
            stop_rx.clone(),
        )
        .await;
        if *stop_rx.borrow() {
            break;
        }
        match result {
            Ok(()) => tracing::warn!("worker stopped by itself; starting again"),
            Err(e) => tracing::warn!(error = %e, "worker failed; starting again"),
        }
        if started.elapsed() > Duration::from_secs(60) {
            backoff = Duration::from_millis(250);
        }
        let mut stop = stop_rx.clone();
        tokio::select! {
            _ = tokio::time::sleep(backoff) => {}
            _ = stop.wait_for(|v| *v) => break,
        }
        backoff = (backoff * 2).min(Duration::from_secs(10));
    }
    let _ = pruner.await;
    Ok(())
}

async fn run_once(
    config: &Config,
    pool: &PgPool,
    concurrency: usize,
    fetcher: Arc<Fetcher>,
    mut stop: tokio::sync::watch::Receiver<bool>,
) -> Result<(), Error> {
    let queue_config = apalis_postgres::Config::default()
        .queue(FETCH_QUEUE)
        .batch_size(concurrency)
        .heartbeat_interval(config.worker.heartbeat)
        .missed_heartbeats(3);
    // Wake on NOTIFY for new jobs (milliseconds), and poll too: apalis only
    // notifies on INSERT, so jobs handed back by a dead worker or awaiting a
    // retry are found by the poll.
    let wake = Strategy::new()
        .stream(Pubsub::new(pool.clone(), FETCH_QUEUE.to_string()))
        .interval(config.worker.poll);
    let backend = PostgresStorage::<serde_json::Value>::new(pool)
        .with_config(queue_config)
        .poll_with_strategy(wake);
    let name = worker_name();
    tracing::info!(worker = %name, concurrency, "worker started");
    let worker = WorkerBuilder::new(name.as_str())
        .backend(backend)
        // apalis drives admitted calls concurrently (FuturesUnordered); jobs
        // are I/O-bound, so no per-job task spawn is needed.
        .concurrency(concurrency)
        .data(fetcher)
        .build(handle);
    let result = worker
        .run_until(async move {
            let _ = stop.wait_for(|v| *v).await;
            Ok::<(), WorkerError>(())
        })
        .await;
    tracing::info!(worker = %name, "worker stopped");
    result.map_err(|e| Error::Run(e.to_string()))
}

/// Every minute (with jitter, so many workers spread out): delete finished
/// queue rows, dead cache entries and abandoned in-flight records.
async fn prune_loop(
    store: Store,
    keep_finished: Duration,
    keep_history: Duration,
    mut stop: tokio::sync::watch::Receiver<bool>,
) {
    loop {
        let pause = Duration::from_secs(45) + Duration::from_millis(rand::random::<u64>() % 30_000);
        tokio::select! {
            _ = tokio::time::sleep(pause) => {}
            _ = stop.changed() => return,
        }
        match store.prune(keep_finished).await {
            Ok([jobs, entries, inflight]) if jobs + entries + inflight > 0 => {
                tracing::info!(jobs, entries, inflight, "pruned");
            }
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "prune failed"),
        }
        if let Err(e) = store.prune_snapshots(keep_history).await {
            tracing::warn!(error = %e, "pruning snapshots failed");
        }
    }
}
