//! How a worker tells operators that a provider is failing: one WARN a
//! minute per provider (not a line per fill), and the provider's state in
//! Postgres for `/health` (written at most every few seconds).

use std::time::{Duration, Instant};

use dashmap::DashMap;
use larder_jobs::health::ProviderHealth;
use larder_jobs::store::Failure;

const WARN_EVERY: Duration = Duration::from_secs(60);
const RECORD_EVERY: Duration = Duration::from_secs(5);

#[derive(Default)]
struct State {
    failing: bool,
    recorded: Option<Instant>,
    warned: Option<Instant>,
    /// Failures since the last WARN.
    unsaid: u32,
}

pub struct Reporter {
    health: ProviderHealth,
    states: DashMap<&'static str, State>,
}

impl Reporter {
    pub fn new(health: ProviderHealth) -> Self {
        Reporter {
            health,
            states: DashMap::new(),
        }
    }

    pub async fn failed(&self, provider: &'static str, failure: Failure) {
        let now = Instant::now();
        let record = {
            let mut s = self.states.entry(provider).or_default();
            s.failing = true;
            s.unsaid += 1;
            if s.warned.is_none_or(|t| now - t >= WARN_EVERY) {
                tracing::warn!(
                    provider,
                    cause = %failure.cause,
                    code = failure.kind.as_str(),
                    fills = s.unsaid,
                    "provider failing (one line a minute while it lasts)"
                );
                s.warned = Some(now);
                s.unsaid = 0;
            }
            let due = s.recorded.is_none_or(|t| now - t >= RECORD_EVERY);
            if due {
                s.recorded = Some(now);
            }
            due
        };
        if record && let Err(e) = self.health.failed(provider, failure.cause).await {
            tracing::debug!(error = %e, "could not record a provider failure");
        }
    }

    pub async fn succeeded(&self, provider: &'static str) {
        let was_failing = self
            .states
            .get_mut(provider)
            .is_some_and(|mut s| std::mem::take(&mut s.failing));
        if was_failing {
            tracing::info!(provider, "provider answering again");
            if let Some(mut s) = self.states.get_mut(provider) {
                s.warned = None;
                s.recorded = None;
            }
            if let Err(e) = self.health.succeeded(provider).await {
                tracing::debug!(error = %e, "could not record a provider recovery");
            }
        }
    }
}
