//! The fetch step: one job in, one outcome out (the integration tests drive
//! it through the real queue).
//!
//! Re-check the cache → for each attempt: take a rate-limit slot, call the
//! upstream (mirrors and pooled keys in turn), classify → store the entry,
//! end the in-flight record and notify waiters in one transaction (or end it
//! with the failure, leaving any old entry untouched: errors are never cached).

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use larder_jobs::config::Config;
use larder_jobs::job::{FetchJob, FetchReason};
use larder_jobs::names;
use larder_jobs::provider::{Catalogue, ProviderSettings, Resolved};
use larder_jobs::rate::RateLimiter;
use larder_jobs::store::{FailKind, JOB_BUDGET, NewEntry, Store};
use rand::Rng;

use crate::upstream::{Answer, CallError, Upstream};

/// How a job ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The entry was stored (200 or 404).
    Stored { status: u16, calls: u32 },
    /// The entry was already fresh; no upstream call.
    Skipped,
    /// The fill failed; waiters were told.
    Failed(FailKind),
    /// The payload could not be understood; dropped.
    Invalid(String),
}

pub struct Fetcher {
    config: Arc<Config>,
    store: Store,
    limiter: RateLimiter,
    upstream: Upstream,
    providers: HashMap<&'static str, ProviderSettings>,
    /// Round-robin cursor over each provider's key pool and mirrors.
    cursor: AtomicUsize,
}

impl Fetcher {
    pub fn new(config: Arc<Config>, store: Store) -> Result<Self, crate::Error> {
        let providers = ProviderSettings::all(&config)
            .into_iter()
            .map(|s| (s.def.id, s))
            .collect();
        Ok(Fetcher {
            upstream: Upstream::new(&config.upstream)
                .map_err(|e| crate::Error::Setup(e.to_string()))?,
            limiter: RateLimiter::new(store.pool().clone()),
            store,
            config,
            providers,
            cursor: AtomicUsize::new(0),
        })
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
        let result = self.run(job, job_id).await;
        let outcome = match &result {
            Ok(Outcome::Stored { .. } | Outcome::Skipped) => "ok",
            Ok(Outcome::Failed(_) | Outcome::Invalid(_)) => "failed",
            Err(_) => "retry",
        };
        metrics::counter!(names::JOBS, "kind" => job.kind(), "outcome" => outcome).increment(1);
        metrics::histogram!(names::JOB_DURATION, "kind" => job.kind())
            .record(started.elapsed().as_secs_f64());
        result
    }

    /// End `job_id`'s fill of `key` as rejected (a job that cannot run).
    pub async fn fail(
        &self,
        key: &larder_jobs::key::CacheKey,
        job_id: &str,
    ) -> Result<(), larder_jobs::Error> {
        self.store.fail(key, Some(job_id), FailKind::Rejected).await
    }

    async fn run(&self, job: &FetchJob, job_id: &str) -> Result<Outcome, larder_jobs::Error> {
        let FetchJob::Fetch { key, reason } = job;
        let resolved = match Catalogue::builtin().resolve_key(key) {
            Ok(r) => r,
            Err(e) => {
                tracing::error!(error = %e, "fetch job with an invalid key; dropped");
                // Still end the fill so nobody waits on it.
                if let Some(k) = larder_jobs::key::CacheKey::from_stored(key) {
                    self.fail(&k, job_id).await?;
                }
                return Ok(Outcome::Invalid(e.message));
            }
        };
        let key = &resolved.key;
        let settings = match self.providers.get(resolved.provider.id) {
            Some(s) if s.enabled.is_ok() => s,
            other => {
                let why = other
                    .and_then(|s| s.enabled.clone().err())
                    .unwrap_or_default();
                tracing::warn!(
                    provider = resolved.provider.id,
                    why,
                    "fetch for a disabled provider"
                );
                self.fail(key, job_id).await?;
                return Ok(Outcome::Failed(FailKind::Rejected));
            }
        };
        // A prewarm refetches even a fresh entry; anything else is skipped
        // when someone filled the key meanwhile.
        if self
            .store
            .start_fill(key, job_id, *reason != FetchReason::Prewarm)
            .await?
        {
            return Ok(Outcome::Skipped);
        }

        let ttl = resolved.ttl(&self.config);
        tracing::debug!(key = %key, "fetching");
        match self.fetch_with_retries(settings, &resolved).await {
            Ok((entry, calls)) => {
                self.store.complete(key, Some(job_id), &entry, &ttl).await?;
                tracing::debug!(key = %key, "stored");
                Ok(Outcome::Stored {
                    status: entry.status,
                    calls,
                })
            }
            Err(kind) => {
                self.store.fail(key, Some(job_id), kind).await?;
                Ok(Outcome::Failed(kind))
            }
        }
    }

    async fn fetch_with_retries(
        &self,
        settings: &ProviderSettings,
        resolved: &Resolved,
    ) -> Result<(NewEntry, u32), FailKind> {
        let cfg = &self.config.upstream;
        let provider = settings.def;
        let path = resolved.upstream_path_and_query();
        // However the upstream behaves, the job ends within its budget, so
        // its fill record is never presumed abandoned while it still runs.
        let deadline = Instant::now() + JOB_BUDGET;
        let mut last = FailKind::Upstream;
        for attempt in 0..cfg.attempts {
            let wait = self
                .limiter
                .reserve(provider.id, settings.rate, settings.burst)
                .await
                .map_err(|e| {
                    tracing::error!(error = %e, "rate limiter unavailable");
                    FailKind::Upstream
                })?;
            if Instant::now() + wait + cfg.timeout > deadline {
                tracing::warn!(
                    provider = provider.id,
                    ?wait,
                    "rate-limit slot beyond the job's budget; giving up"
                );
                return Err(last);
            }
            if !wait.is_zero() {
                // A gauge only because `metrics` counters are whole numbers;
                // it only ever grows, like a counter.
                metrics::gauge!(names::RATE_LIMIT_WAIT, "provider" => provider.id)
                    .increment(wait.as_secs_f64());
                tokio::time::sleep(wait).await;
            }
            let turn = self.cursor.fetch_add(1, Ordering::Relaxed);
            let base = &settings.base_urls[turn % settings.base_urls.len()];
            let api_key =
                (!settings.keys.is_empty()).then(|| &settings.keys[turn % settings.keys.len()]);
            let backoff = match self.upstream.call(provider, base, &path, api_key).await {
                Ok(Answer::Ok { body, content_type }) => {
                    return match check_json(&body) {
                        Ok(()) => Ok((
                            NewEntry {
                                status: 200,
                                content_type: json_content_type(&content_type),
                                body,
                            },
                            attempt + 1,
                        )),
                        Err(why) => {
                            tracing::warn!(
                                provider = provider.id,
                                why,
                                "upstream sent an invalid body; not cached"
                            );
                            Err(FailKind::Upstream)
                        }
                    };
                }
                Ok(Answer::NotFound { body }) => {
                    // A 404 that is not the API's own JSON comes from a proxy
                    // or a misconfigured mirror: not a fact worth remembering.
                    if check_json(&body).is_err() {
                        tracing::warn!(
                            provider = provider.id,
                            "non-JSON 404 from upstream; not cached"
                        );
                        return Err(FailKind::Upstream);
                    }
                    return Ok((
                        NewEntry {
                            status: 404,
                            content_type: "application/json".into(),
                            body,
                        },
                        attempt + 1,
                    ));
                }
                Ok(Answer::Rejected(status)) => {
                    tracing::warn!(
                        provider = provider.id,
                        status,
                        "upstream rejected the request; not retried"
                    );
                    return Err(FailKind::Rejected);
                }
                Ok(Answer::TooMany { retry_after }) => {
                    last = FailKind::Upstream;
                    let asked = retry_after.unwrap_or(Duration::from_secs(1));
                    // Never hold a provider longer than retry_after_max,
                    // whatever the upstream asks.
                    let pause = asked.min(cfg.retry_after_max);
                    if asked > cfg.retry_after_max {
                        tracing::warn!(
                            provider = provider.id,
                            ?asked,
                            "Retry-After beyond retry_after_max; giving up"
                        );
                        let _ = self.limiter.pause(provider.id, pause).await;
                        return Err(FailKind::Upstream);
                    }
                    // Every worker waits: the next reservation lands after the pause.
                    if let Err(e) = self.limiter.pause(provider.id, pause).await {
                        // Without a recorded pause other workers would not
                        // hold back; give up rather than hammer.
                        tracing::error!(error = %e, "could not record provider pause");
                        return Err(FailKind::Upstream);
                    }
                    Duration::ZERO
                }
                Ok(Answer::ServerError(status)) => {
                    tracing::info!(
                        provider = provider.id,
                        status,
                        attempt,
                        "upstream 5xx; will retry"
                    );
                    last = FailKind::Upstream;
                    backoff(cfg.backoff_base, cfg.backoff_max, attempt)
                }
                Err(CallError::Timeout) => {
                    tracing::info!(
                        provider = provider.id,
                        attempt,
                        "upstream timeout; will retry"
                    );
                    last = FailKind::Timeout;
                    backoff(cfg.backoff_base, cfg.backoff_max, attempt)
                }
                Err(CallError::TooLarge(cap)) => {
                    tracing::warn!(
                        provider = provider.id,
                        cap,
                        "upstream body too large; not cached"
                    );
                    return Err(FailKind::Upstream);
                }
                Err(CallError::Transport(e)) => {
                    tracing::info!(provider = provider.id, attempt, error = %e, "upstream unreachable; will retry");
                    last = FailKind::Upstream;
                    backoff(cfg.backoff_base, cfg.backoff_max, attempt)
                }
            };
            if attempt + 1 < cfg.attempts {
                if Instant::now() + backoff > deadline {
                    break;
                }
                tokio::time::sleep(backoff).await;
            }
        }
        Err(last)
    }
}

/// Exponential backoff with full jitter: uniform in `[0, min(max, base·2^n)]`.
/// (A few lines; a crate would not make them clearer.)
fn backoff(base: Duration, max: Duration, attempt: u32) -> Duration {
    let ceiling = base.saturating_mul(1u32 << attempt.min(16)).min(max);
    ceiling.mul_f64(rand::rng().random::<f64>())
}

fn check_json(body: &[u8]) -> Result<(), String> {
    serde_json::from_slice::<serde::de::IgnoredAny>(body)
        .map(|_| ())
        .map_err(|e| e.to_string())
}

/// Keep the upstream's JSON media type (and charset); anything else that
/// parsed as JSON is labelled plainly.
fn json_content_type(upstream: &str) -> String {
    if upstream.to_ascii_lowercase().contains("json") {
        upstream.to_owned()
    } else {
        "application/json".into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_and_is_capped() {
        let base = Duration::from_millis(100);
        let max = Duration::from_secs(1);
        for attempt in 0..20 {
            let d = backoff(base, max, attempt);
            assert!(
                d <= base * 2u32.pow(attempt.min(10)) && d <= max,
                "{attempt}: {d:?}"
            );
        }
    }

    #[test]
    fn bodies_must_be_json() {
        assert!(check_json(br#"{"id":550}"#).is_ok());
        assert!(check_json(b"<html>").is_err());
        assert!(check_json(br#"{"id":55"#).is_err());
    }
}
