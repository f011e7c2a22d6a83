//! One fill's conversation with its upstream: ask the adapter for each call,
//! take a rate slot in the call's lane, put the credential (or login token)
//! on it, make it, retry what is passing, and let the adapter read the
//! answers.
//!
//! A rate slot further ahead than `max_rate_wait` is never slept on in a
//! worker slot: the fill stops with [`Stop::Defer`], holding the slot, and
//! the job is re-scheduled in the queue for the slot's time. An upstream's
//! "slow down" pauses its lane for every worker and defers the same way.

use std::time::{Duration, Instant};

use bytes::Bytes;
use larder_jobs::names;
use larder_jobs::provider::{
    Fill, Product, Rate, Request, Response, Verdict, asset_product, classify_asset,
};
use larder_jobs::store::{Cause, FailKind, Failure};
use larder_jobs::token::TokenError;
use rand::Rng;

use crate::fetch::Fetcher;
use crate::upstream::CallError;

/// At most this many upstream calls in one fill (an adapter bug or a loop in
/// the upstream's answers must not run forever).
const MAX_CALLS: usize = 8;

/// A rate slot reserved for a deferred fill: `(lane, mark)` (see
/// [`larder_jobs::rate::Reservation`]).
pub type Slot = (String, i64);

/// Why a fill stopped without a product.
#[derive(Debug)]
pub enum Stop {
    Failed(Failure),
    /// Run the fill again `after` from now, with the rate slot it holds.
    Defer {
        after: Duration,
        slot: Option<Slot>,
    },
    /// The database failed: the queue runs the job again.
    Store(larder_jobs::Error),
}

enum Called {
    Found(Response),
    NotFound(Bytes),
}

impl Fetcher {
    /// Run the fill's calls and read the answers into what is stored.
    /// `ticket` is a slot reserved when the job was deferred; it is consumed
    /// by the first call in its lane (and handed back by the caller if not).
    pub(crate) async fn converse(
        &self,
        fill: &Fill<'_>,
        ticket: &mut Option<Slot>,
        failures: &mut u32,
    ) -> Result<Product, Stop> {
        let adapter = fill.settings.def.adapter;
        let deadline = Instant::now() + larder_jobs::store::JOB_BUDGET;
        let mut answers: Vec<Response> = Vec::new();
        while let Some(request) = adapter.next_call(fill, &answers) {
            if answers.len() >= MAX_CALLS {
                tracing::error!(
                    provider = fill.settings.def.id,
                    "too many upstream calls in one fill"
                );
                return Err(Stop::Failed(FailKind::Upstream.into()));
            }
            match self
                .call(fill, &request, ticket, failures, deadline)
                .await?
            {
                Called::Found(r) => answers.push(r),
                Called::NotFound(body) => return Ok(Product::NotFound(body)),
            }
        }
        // An image is an image whatever the provider: sniffed, never read
        // by the provider's own `finish`.
        let product = match answers.last() {
            Some(last) if last.download.is_some() => answers
                .pop()
                .ok_or_else(|| "no answer".to_owned())
                .and_then(asset_product),
            _ => adapter.finish(fill, answers),
        };
        product.map_err(|why| {
            tracing::debug!(
                provider = fill.settings.def.id,
                why,
                "upstream answer unusable; not cached"
            );
            Stop::Failed(Failure::new(FailKind::Upstream, Cause::InvalidBody))
        })
    }

    /// One call, with retries of what is passing.
    async fn call(
        &self,
        fill: &Fill<'_>,
        request: &Request,
        ticket: &mut Option<Slot>,
        failures: &mut u32,
        deadline: Instant,
    ) -> Result<Called, Stop> {
        let cfg = &self.config.upstream;
        let def = fill.settings.def;
        let adapter = def.adapter;
        // The lane: the provider whose rate this call counts against.
        let lane = match request.rate_as {
            Some(other) => self.providers.get(other).unwrap_or(fill.settings),
            None => fill.settings,
        };
        let mut last = Failure::from(FailKind::Upstream);
        let mut renewed = false;
        let mut refused_token: Option<String> = None;
        // Passing failures count across deferrals (`failures` travels with
        // the job); slow-downs and one token renewal do not count, but the
        // loop stays bounded.
        for attempt in 0..cfg.attempts + 4 {
            // However the upstream behaves, the job ends within its budget,
            // so its fill record is never presumed abandoned while it runs.
            if Instant::now() + cfg.timeout > deadline {
                tracing::warn!(provider = def.id, "fill out of time; failed");
                return Err(Stop::Failed(last));
            }
            self.take_slot(lane.def.id, &self.overrides.rate(lane), ticket)
                .await?;
            let turn = self.next_turn();
            let mut made = request.clone();
            let token = if made.authorized && adapter.login(fill.settings).is_some() {
                Some(self.token(fill, refused_token.take()).await?)
            } else {
                None
            };
            adapter.authorize(
                fill,
                &mut made,
                fill.settings.credential(turn),
                token.as_deref(),
            );
            let urls = fill.settings.base_urls(request.host);
            if urls.is_empty() {
                tracing::error!(
                    provider = def.id,
                    host = request.host,
                    "no base URL for host"
                );
                return Err(Stop::Failed(FailKind::Rejected.into()));
            }
            let base = fill_base(&urls[turn % urls.len()], fill);
            let backoff = match self
                .upstream
                .call(lane.def.id, &base, &made, fill.settings.user_agent())
                .await
            {
                Ok(response) => match if request.asset {
                    classify_asset(&response)
                } else {
                    adapter.classify(fill, request, &response)
                } {
                    Verdict::Found => return Ok(Called::Found(response)),
                    Verdict::NotFound(body) => return Ok(Called::NotFound(body)),
                    Verdict::SlowDown(asked) => {
                        let pause = asked.unwrap_or(Duration::from_secs(1));
                        self.slow_down(lane.def.id, pause).await?;
                        last = Failure::new(FailKind::Upstream, Cause::Status(response.status));
                        if pause > self.config.worker.max_rate_wait {
                            return Err(Stop::Defer {
                                after: pause,
                                slot: None,
                            });
                        }
                        // The next reservation lands after the pause.
                        Duration::ZERO
                    }
                    Verdict::Retry(why) => {
                        tracing::debug!(
                            provider = def.id,
                            attempt,
                            why,
                            "upstream failing; will retry"
                        );
                        last = Failure::new(FailKind::Upstream, status_or_body(response.status));
                        self.count_failure(failures)
                    }
                    Verdict::Unauthorized if token.is_some() && !renewed => {
                        // A refused login token: renew it once, then retry.
                        renewed = true;
                        refused_token = token;
                        Duration::ZERO
                    }
                    Verdict::Unauthorized | Verdict::Rejected(_) => {
                        tracing::debug!(
                            provider = def.id,
                            status = response.status,
                            "upstream refused the request; not retried"
                        );
                        return Err(Stop::Failed(Failure::new(
                            FailKind::Rejected,
                            Cause::Status(response.status),
                        )));
                    }
                    Verdict::Garbage(why) => {
                        tracing::debug!(
                            provider = def.id,
                            why,
                            "upstream sent garbage; not cached"
                        );
                        return Err(Stop::Failed(Failure::new(
                            FailKind::Upstream,
                            Cause::InvalidBody,
                        )));
                    }
                },
                Err(CallError::Timeout) => {
                    tracing::debug!(provider = def.id, attempt, "upstream timeout; will retry");
                    last = FailKind::Timeout.into();
                    self.count_failure(failures)
                }
                Err(CallError::TooLarge(cap)) => {
                    tracing::debug!(
                        provider = def.id,
                        cap,
                        "upstream body too large; not cached"
                    );
                    return Err(Stop::Failed(Failure::new(
                        FailKind::Upstream,
                        Cause::InvalidBody,
                    )));
                }
                Err(CallError::Spool(e)) => {
                    tracing::warn!(provider = def.id, error = %e, "cannot spool a download; asset storage failing");
                    return Err(Stop::Failed(FailKind::Storage.into()));
                }
                Err(CallError::Transport(e)) => {
                    tracing::debug!(provider = def.id, attempt, error = %e, "upstream unreachable; will retry");
                    last = Failure::new(FailKind::Upstream, Cause::of_transport(&e));
                    self.count_failure(failures)
                }
            };
            if *failures >= cfg.attempts || Instant::now() + backoff + cfg.timeout > deadline {
                break;
            }
            tokio::time::sleep(backoff).await;
        }
        Err(Stop::Failed(last))
    }

    /// Wait for a rate slot in `lane`: the deferred job's own slot, or a new
    /// one that is near enough to wait for here. A slot further ahead
    /// defers the fill to it.
    async fn take_slot(
        &self,
        lane: &'static str,
        rate: &Rate,
        ticket: &mut Option<Slot>,
    ) -> Result<(), Stop> {
        if let Some((l, mark)) = ticket.take() {
            if l != lane {
                *ticket = Some((l, mark));
            } else {
                // The queue ran this job at its slot (on the database clock),
                // unless the upstream asked to slow down meanwhile.
                let paused = self.limiter.paused_for(lane).await.map_err(Stop::Store)?;
                if paused.is_zero() {
                    return Ok(());
                }
                self.release(lane, rate, mark).await;
                return Err(Stop::Defer {
                    after: paused,
                    slot: None,
                });
            }
        }
        let horizon = self.config.worker.lane_horizon;
        let slot = self
            .limiter
            .reserve_within(lane, rate, horizon)
            .await
            .map_err(Stop::Store)?;
        let wait = slot.wait;
        if !slot.granted {
            tracing::warn!(
                provider = lane,
                ?wait,
                "rate booked beyond the lane horizon; fill refused"
            );
            return Err(Stop::Failed(FailKind::Overloaded.into()));
        }
        if !wait.is_zero() {
            // A gauge only because `metrics` counters are whole numbers;
            // it only ever grows, like a counter.
            metrics::gauge!(names::RATE_LIMIT_WAIT, "provider" => lane)
                .increment(wait.as_secs_f64());
        }
        if wait <= self.config.worker.max_rate_wait {
            tokio::time::sleep(wait).await;
            return Ok(());
        }
        Err(Stop::Defer {
            after: wait,
            slot: Some((lane.to_owned(), slot.mark)),
        })
    }

    /// Count a passing failure; the backoff before the next attempt.
    fn count_failure(&self, failures: &mut u32) -> Duration {
        let cfg = &self.config.upstream;
        *failures += 1;
        backoff(cfg.backoff_base, cfg.backoff_max, *failures - 1)
    }

    /// Hand back a slot reserved and not used. Best effort: a slot not
    /// handed back only spaces the lane's next call by one interval more.
    pub(crate) async fn release(&self, lane: &str, rate: &Rate, mark: i64) {
        if let Err(e) = self.limiter.release(lane, rate, mark).await {
            tracing::warn!(provider = lane, error = %e, "could not hand back a rate slot");
        }
    }

    /// Pause `lane` for every worker (capped at the lane horizon).
    async fn slow_down(&self, lane: &'static str, asked: Duration) -> Result<(), Stop> {
        let horizon = self.config.upstream.retry_after_max;
        tracing::warn!(
            provider = lane,
            ?asked,
            "upstream asks to slow down; provider paused for every worker"
        );
        self.limiter
            .pause(lane, asked.min(horizon))
            .await
            .map_err(Stop::Store)?;
        if asked > horizon {
            return Err(Stop::Failed(FailKind::Overloaded.into()));
        }
        Ok(())
    }

    /// The provider's login token: this process's copy while it is not due
    /// for renewal, else the shared one, else a new login (one for every
    /// worker of every process). `refused`: a token the upstream just refused.
    async fn token(&self, fill: &Fill<'_>, refused: Option<String>) -> Result<String, Stop> {
        let id = fill.settings.def.id;
        let seen = || {
            self.tokens_seen
                .get(id)
                .filter(|t| t.renew_at > chrono::Utc::now())
                .map(|t| t.value.expose().to_owned())
                .filter(|v| Some(v) != refused.as_ref())
        };
        if let Some(v) = seen() {
            return Ok(v);
        }
        // One renewal per process at a time: the others wait here, not on a
        // database connection, and take what it got.
        let lock = self.login_locks.entry(id).or_default().clone();
        let _one = lock.lock().await;
        if let Some(v) = seen() {
            return Ok(v);
        }
        if refused.is_none()
            && let Some(t) = self.tokens.current(id).await.map_err(Stop::Store)?
        {
            let value = t.value.expose().to_owned();
            self.tokens_seen.insert(id, t);
            return Ok(value);
        }
        let adapter = fill.settings.def.adapter;
        let Some(login) = adapter.login(fill.settings) else {
            return Err(Stop::Failed(FailKind::Rejected.into()));
        };
        let result = self
            .tokens
            .renew(id, refused.as_deref(), || async {
                let urls = fill.settings.base_urls(login.host);
                let base = urls.first().ok_or("no base URL for the login host")?;
                let response = self
                    .upstream
                    .call(id, base, &login, fill.settings.user_agent())
                    .await
                    .map_err(|e| e.to_string())?;
                if !(200..300).contains(&response.status) {
                    return Err(format!("login answered {}", response.status));
                }
                let token = adapter.read_token(&response)?;
                tracing::info!(provider = id, "logged in; token shared with every worker");
                Ok((token.value, token.lifetime))
            })
            .await;
        match result {
            Ok(t) => {
                let value = t.value.expose().to_owned();
                self.tokens_seen.insert(id, t);
                Ok(value)
            }
            Err(TokenError::Store(e)) => Err(Stop::Store(e)),
            Err(TokenError::Login(why)) => {
                tracing::debug!(provider = id, why, "login failed; nothing cached");
                Err(Stop::Failed(Failure::new(FailKind::Upstream, Cause::Login)))
            }
        }
    }
}

/// A base URL with `{param}` placeholders filled from the fill (Wikipedia's
/// `{lang}`). Values come from validated parameters.
fn fill_base(base: &str, fill: &Fill<'_>) -> String {
    if !base.contains('{') {
        return base.to_owned();
    }
    let mut out = base.to_owned();
    for p in fill.resolved.resource.params {
        // Only a DNS label may go into a host name; anything else leaves the
        // placeholder, and the call fails rather than go elsewhere.
        if let Some(value) = fill.param(p.name)
            && !value.is_empty()
            && value.len() <= 63
            && value.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        {
            out = out.replace(&format!("{{{}}}", p.name), value);
        }
    }
    out
}

/// Exponential backoff with full jitter: uniform in `[0, min(max, base·2^n)]`.
/// (A few lines; a crate would not make them clearer.)
pub(crate) fn backoff(base: Duration, max: Duration, attempt: u32) -> Duration {
    let ceiling = base.saturating_mul(1u32 << attempt.min(16)).min(max);
    ceiling.mul_f64(rand::rng().random::<f64>())
}

/// A failing status's cause; a 2xx that had to be retried was a bad body.
fn status_or_body(status: u16) -> Cause {
    if (200..300).contains(&status) {
        Cause::InvalidBody
    } else {
        Cause::Status(status)
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
}
