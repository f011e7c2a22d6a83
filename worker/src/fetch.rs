//! The fetch step: one job in, one outcome out (the integration tests drive
//! it through the real queue).
//!
//! Re-check the cache → take a place in the provider's lane (its
//! concurrency cap) → run the fill's conversation with the upstream
//! ([`crate::fill`]) → store the entry, end the in-flight record and notify
//! waiters in one transaction (or end it with the failure, leaving any old
//! entry untouched: errors are never cached) → or, when the lane's rate is
//! booked ahead, hand the fill to a job re-scheduled for its slot.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use dashmap::DashMap;
use larder_jobs::assets::{POINTER_TYPE, Storage};
use larder_jobs::config::Config;
use larder_jobs::job::{FetchJob, FetchReason};
use larder_jobs::key::CacheKey;
use larder_jobs::names;
use larder_jobs::provider::{Catalogue, Fill, Overrides, Product, ProviderSettings};
use larder_jobs::rate::RateLimiter;
use larder_jobs::store::{FailKind, NewEntry, Start, Store};
use larder_jobs::token::{SharedToken, Tokens};
use tokio::sync::Semaphore;

use crate::fill::{Slot, Stop};
use crate::upstream::Upstream;

/// A fill deferred this many times fails (as `overloaded`) instead of
/// being deferred again.
const MAX_DEFERRALS: u32 = 20;
/// How long a fill that has its answer keeps trying to store it while the
/// database is away, before the queue runs the job again (and the upstream
/// is asked again). Within [`larder_jobs::store::INFLIGHT_ABANDONED`] with
/// the job's own budget.
const STORE_PATIENCE: Duration = Duration::from_secs(30);

/// How a job ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The entry was stored (200 or 404).
    Stored { status: u16 },
    /// The entry was already fresh; no upstream call.
    Skipped,
    /// The fill was handed to a job that runs later (its rate slot, or an
    /// upstream's pause).
    Deferred(Duration),
    /// The fill failed; waiters were told. The reason is what operators
    /// see on the failed job (`/admin/jobs?state=failed`).
    Failed(FailKind, String),
    /// The payload could not be understood; dropped.
    Invalid(String),
}

/// What a fill carries from one deferred job to the next.
#[derive(Debug, Clone, Copy)]
struct Progress {
    deferrals: u32,
    failures: u32,
    /// Times the provider's concurrency cap sent the fill back.
    waits: u32,
}

pub struct Fetcher {
    pub(crate) config: Arc<Config>,
    pub(crate) store: Store,
    pub(crate) limiter: RateLimiter,
    pub(crate) tokens: Tokens,
    /// This process's copy of each provider's login token.
    pub(crate) tokens_seen: DashMap<&'static str, SharedToken>,
    /// One renewal per provider at a time in this process.
    pub(crate) login_locks: DashMap<&'static str, Arc<tokio::sync::Mutex<()>>>,
    pub(crate) upstream: Upstream,
    pub(crate) providers: HashMap<&'static str, ProviderSettings>,
    /// Built-in and custom providers.
    pub(crate) catalogue: Catalogue,
    /// Provider failures, for operators.
    reporter: crate::report::Reporter,
    /// Per-provider concurrency caps in this process.
    permits: HashMap<&'static str, Arc<Semaphore>>,
    /// Round-robin cursor over each provider's key pool and mirrors.
    cursor: AtomicUsize,
    /// Where images go.
    pub(crate) storage: Storage,
    /// Operators' changes to providers (enabled, rate, TTL), re-read every
    /// few seconds.
    pub(crate) overrides: Arc<Overrides>,
}

impl Fetcher {
    pub fn new(config: Arc<Config>, store: Store) -> Result<Self, crate::Error> {
        let providers: HashMap<_, _> = ProviderSettings::all(&config)
            .into_iter()
            .map(|s| (s.def.id, s))
            .collect();
        let permits = providers
            .values()
            .filter_map(|s| Some((s.def.id, Arc::new(Semaphore::new(s.concurrency?)))))
            .collect();
        for s in providers.values() {
            s.def
                .adapter
                .check_settings(s)
                .map_err(|e| crate::Error::Setup(format!("{}: {e}", s.def.id)))?;
        }
        let storage = Storage::from_config(&config.storage)
            .map_err(|e| crate::Error::Setup(e.to_string()))?;
        let swept = storage.sweep_spool();
        if swept > 0 {
            tracing::info!(swept, "removed downloads left by a stopped worker");
        }
        Ok(Fetcher {
            catalogue: config.catalogue(),
            reporter: crate::report::Reporter::new(larder_jobs::health::ProviderHealth::new(
                store.pool().clone(),
            )),
            upstream: Upstream::new(&config.upstream)
                .map_err(|e| crate::Error::Setup(e.to_string()))?
                .with_spool(storage.spool_dir(), config.storage.max_asset_bytes),
            storage,
            limiter: RateLimiter::new(store.pool().clone()),
            tokens: Tokens::new(store.pool().clone()),
            tokens_seen: DashMap::new(),
            login_locks: DashMap::new(),
            store,
            config,
            providers,
            permits,
            cursor: AtomicUsize::new(0),
            overrides: Default::default(),
        })
    }

    pub(crate) fn next_turn(&self) -> usize {
        self.cursor.fetch_add(1, Ordering::Relaxed)
    }

    /// Run one job. `Err` only when the store itself failed (the database is
    /// away): the queue will hand the job out again.
    /// `job_id` is the queue's id of this job: it owns the key's fill record.
    #[tracing::instrument(skip_all, fields(kind = job.kind()))]
    pub async fn execute(
        &self,
        job: &FetchJob,
        job_id: &str,
    ) -> Result<Outcome, larder_jobs::Error> {
        let started = Instant::now();
        let kind = self.kind(job);
        let result = self.run(job, job_id).await;
        let outcome = match &result {
            Ok(Outcome::Stored { .. } | Outcome::Skipped) => "ok",
            Ok(Outcome::Deferred(_)) => "deferred",
            Ok(Outcome::Failed(..) | Outcome::Invalid(_)) => "failed",
            Err(_) => "retry",
        };
        metrics::counter!(names::JOBS, "kind" => kind, "outcome" => outcome).increment(1);
        metrics::histogram!(names::JOB_DURATION, "kind" => kind)
            .record(started.elapsed().as_secs_f64());
        result
    }

    /// The job's label: `asset` for an image's fill, `prewarm` for a
    /// scheduled one (prewarm or refresh-ahead), else `fetch`.
    fn kind(&self, job: &FetchJob) -> &'static str {
        let FetchJob::Fetch { key, reason, .. } = job;
        match self.catalogue.resolve_key(key) {
            Ok(r) if r.provider.adapter.is_asset(r.resource) => "asset",
            _ if *reason == FetchReason::Prewarm => "prewarm",
            _ => job.kind(),
        }
    }

    /// End `job_id`'s fill of `key` as rejected (a job that cannot run).
    pub async fn fail(&self, key: &CacheKey, job_id: &str) -> Result<(), larder_jobs::Error> {
        self.store.fail(key, Some(job_id), FailKind::Rejected).await
    }

    async fn run(&self, job: &FetchJob, job_id: &str) -> Result<Outcome, larder_jobs::Error> {
        let FetchJob::Fetch {
            key,
            reason,
            slot,
            deferrals,
            failures,
            waits,
            ..
        } = job;
        let mut ticket = slot.clone();
        let mut progress = Progress {
            deferrals: *deferrals,
            failures: *failures,
            waits: *waits,
        };
        let outcome = self
            .run_fill(key, *reason, &mut ticket, &mut progress, job_id)
            .await;
        // A slot this job held and did not use goes back to its lane; not
        // when the store failed, as the queue runs this same job again.
        if outcome.is_ok() {
            self.release_slot(ticket).await;
        }
        outcome
    }

    async fn run_fill(
        &self,
        key: &str,
        reason: FetchReason,
        ticket: &mut Option<Slot>,
        progress: &mut Progress,
        job_id: &str,
    ) -> Result<Outcome, larder_jobs::Error> {
        let resolved = match self.catalogue.resolve_key(key) {
            Ok(r) => r,
            Err(e) => {
                tracing::error!(error = %e, "fetch job with an invalid key; dropped");
                // Still end the fill so nobody waits on it.
                if let Some(k) = CacheKey::from_stored(key) {
                    self.fail(&k, job_id).await?;
                }
                return Ok(Outcome::Invalid(e.message));
            }
        };
        let key = &resolved.key;
        let settings = match self.providers.get(resolved.provider.id) {
            Some(s) if self.overrides.enabled(s).is_ok() => s,
            other => {
                let why = other
                    .and_then(|s| self.overrides.enabled(s).err())
                    .unwrap_or_default();
                tracing::warn!(
                    provider = resolved.provider.id,
                    why,
                    "fetch for a disabled provider"
                );
                self.fail(key, job_id).await?;
                return Ok(Outcome::Failed(
                    FailKind::Rejected,
                    format!("{} is disabled: {why}", resolved.provider.id),
                ));
            }
        };
        // A prewarm refetches even a fresh entry; anything else is skipped
        // when someone filled the key meanwhile.
        match self
            .store
            .start_fill(key, job_id, reason != FetchReason::Prewarm)
            .await?
        {
            Start::Owned => {}
            Start::Fresh => return Ok(Outcome::Skipped),
            Start::NotOwner => {
                // A job that already handed its fill on (and died before the
                // queue knew), or one presumed abandoned: the fill and any
                // slot it names belong to the job that owns it now.
                *ticket = None;
                tracing::debug!(key = %key, "fill owned by another job; skipped");
                return Ok(Outcome::Skipped);
            }
        }
        // The provider's cap in this process: a fill that finds it full for
        // a moment makes way for other providers' fills and comes back,
        // later each time it finds it full again.
        let _permit = match self.permits.get(settings.def.id) {
            Some(sem) => {
                let wait = self.config.worker.max_rate_wait;
                match tokio::time::timeout(wait, sem.clone().acquire_owned()).await {
                    Ok(Ok(p)) => Some(p),
                    _ => {
                        let after = Duration::from_millis(
                            (500u64 << progress.waits.min(5)) + rand::random::<u64>() % 500,
                        );
                        progress.waits += 1;
                        return self
                            .defer(key, job_id, reason, ticket.take(), *progress, after, false)
                            .await;
                    }
                }
            }
            None => None,
        };

        let fill = Fill {
            resolved: &resolved,
            settings,
        };
        tracing::debug!(key = %key, "fetching");
        match self.converse(&fill, ticket, &mut progress.failures).await {
            Ok(product) => {
                let entry = match product {
                    Product::Found { content_type, body } => NewEntry {
                        status: 200,
                        content_type,
                        body,
                    },
                    Product::NotFound(body) => NewEntry {
                        status: 404,
                        content_type: "application/json".into(),
                        body,
                    },
                    Product::Asset(download) => {
                        match self.keep_asset(settings.def.id, download).await? {
                            Ok(pointer) => NewEntry {
                                status: 200,
                                content_type: POINTER_TYPE.into(),
                                body: pointer.to_json(),
                            },
                            Err(failure) => {
                                self.store.fail(key, Some(job_id), failure).await?;
                                return Ok(Outcome::Failed(failure.kind, failure.reason()));
                            }
                        }
                    }
                };
                let ttl = self
                    .overrides
                    .ttl(settings.def.id, resolved.ttl(&self.config));
                self.keep(key, job_id, &entry, &ttl).await?;
                self.reporter.succeeded(settings.def.id).await;
                if entry.status == 200 && entry.content_type != POINTER_TYPE {
                    self.prefetch(&fill, &entry.body).await;
                    let adapter = settings.def.adapter;
                    if adapter.keeps_history(resolved.resource)
                        && let Err(e) = self
                            .store
                            .snapshot(key, &entry.body, adapter.history_digest(&entry.body))
                            .await
                    {
                        tracing::warn!(key = %key, error = %e, "snapshot not kept");
                    }
                }
                tracing::debug!(key = %key, "stored");
                Ok(Outcome::Stored {
                    status: entry.status,
                })
            }
            Err(Stop::Failed(failure)) => {
                // Recorded first: a client told of the failure finds
                // `/health` already saying so.
                if !matches!(failure.kind, FailKind::Overloaded | FailKind::Storage) {
                    self.reporter.failed(settings.def.id, failure).await;
                }
                self.store.fail(key, Some(job_id), failure).await?;
                Ok(Outcome::Failed(failure.kind, failure.reason()))
            }
            Err(Stop::Defer { after, slot }) => {
                self.defer(key, job_id, reason, slot, *progress, after, true)
                    .await
            }
            Err(Stop::Store(e)) => Err(e),
        }
    }

    /// Hand the fill to a job due `after` from now, holding `slot`.
    /// `counts`: whether this counts towards [`MAX_DEFERRALS`] (waiting for
    /// the lane's own cap does not).
    #[allow(clippy::too_many_arguments)]
    async fn defer(
        &self,
        key: &CacheKey,
        job_id: &str,
        reason: FetchReason,
        slot: Option<Slot>,
        progress: Progress,
        after: Duration,
        counts: bool,
    ) -> Result<Outcome, larder_jobs::Error> {
        let deferrals = progress.deferrals + u32::from(counts);
        if deferrals > MAX_DEFERRALS {
            self.release_slot(slot).await;
            tracing::warn!(key = %key, "fill deferred too often; failed as overloaded");
            self.store
                .fail(key, Some(job_id), FailKind::Overloaded)
                .await?;
            return Ok(Outcome::Failed(
                FailKind::Overloaded,
                "deferred too often (rate slots or the provider's pause too far ahead)".into(),
            ));
        }
        let job = FetchJob::Fetch {
            key: key.as_str().to_owned(),
            reason,
            slot: slot.clone(),
            deferrals,
            failures: progress.failures,
            waits: progress.waits,
            // The deferred job goes on in this fill's trace.
            trace: larder_jobs::trace::traceparent(&tracing::Span::current()),
        };
        if !self.store.defer(key, job_id, &job, after).await? {
            // This job's fill was taken over; the slot is not needed.
            self.release_slot(slot).await;
        }
        tracing::debug!(key = %key, ?after, "fill deferred");
        Ok(Outcome::Deferred(after))
    }

    /// Run a store operation, waiting out a database that is away for a
    /// moment (see [`Self::keep`]).
    pub(crate) async fn patiently<F, Fut>(&self, op: F) -> Result<(), larder_jobs::Error>
    where
        F: Fn() -> Fut,
        Fut: std::future::Future<Output = Result<(), larder_jobs::Error>>,
    {
        let until = Instant::now() + STORE_PATIENCE;
        let mut tries = 0u32;
        loop {
            match op().await {
                Err(e) if e.is_unavailable() && Instant::now() < until => {
                    tries += 1;
                    let pause = crate::fill::backoff(
                        Duration::from_millis(200),
                        Duration::from_secs(2),
                        tries,
                    )
                    .max(Duration::from_millis(50));
                    tracing::debug!(error = %e, ?pause, "database away; storing again");
                    tokio::time::sleep(pause).await;
                }
                other => return other,
            }
        }
    }

    /// Store a fill's answer. The upstream was asked once: a database that
    /// is away for a moment (refusing connections, restarting) is waited
    /// for here, answer in hand, rather than the job re-run and the upstream
    /// asked again.
    async fn keep(
        &self,
        key: &CacheKey,
        job_id: &str,
        entry: &NewEntry,
        ttl: &larder_jobs::provider::Ttl,
    ) -> Result<(), larder_jobs::Error> {
        self.patiently(|| self.store.complete(key, Some(job_id), entry, ttl))
            .await
    }

    async fn release_slot(&self, slot: Option<Slot>) {
        if let Some((lane, mark)) = slot
            && let Some(s) = self.providers.get(lane.as_str())
        {
            self.release(&lane, &self.overrides.rate(s), mark).await;
        }
    }
}
