//! Queue payloads. One enum per queue; constructors hide serialisation.

use serde::{Deserialize, Serialize};

/// The apalis queue that carries fetch jobs. Always named: the default would
/// be the Rust type path, which changes when code moves.
pub const FETCH_QUEUE: &str = "larder.fetch";

/// How many times apalis may hand a fetch job out. Upstream retries with
/// backoff happen inside one attempt; attempts beyond the first only happen
/// when a worker died holding the job (orphan recovery) or the store failed.
pub const FETCH_MAX_ATTEMPTS: usize = 5;

/// A fetch job: fill (or refresh) one cache key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum FetchJob {
    /// Fetch `key` from its upstream and store it. The key is the canonical
    /// text; the worker parses it again against the catalogue.
    Fetch {
        key: String,
        /// Why it was enqueued. A `Miss` is skipped when the entry turned
        /// fresh meanwhile; a `Refresh` when it is fresh again; a `Prewarm`
        /// always fetches.
        #[serde(default)]
        reason: FetchReason,
        /// A rate slot already reserved for this fill's first upstream call
        /// in that lane (the job was deferred until it): `(lane, mark)`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        slot: Option<(String, i64)>,
        /// How many times this fill was deferred (bounded).
        #[serde(default, skip_serializing_if = "is_zero")]
        deferrals: u32,
        /// Passing upstream failures so far (retries count across deferrals).
        #[serde(default, skip_serializing_if = "is_zero")]
        failures: u32,
        /// Times the provider's concurrency cap sent the fill back (its
        /// next wait grows with it).
        #[serde(default, skip_serializing_if = "is_zero")]
        waits: u32,
        /// The W3C `traceparent` of the request that started the fill (with
        /// OTLP export on), so the fill joins its trace.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        trace: Option<String>,
    },
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FetchReason {
    #[default]
    Miss,
    Refresh,
    Prewarm,
}

impl FetchReason {
    pub fn as_str(self) -> &'static str {
        match self {
            FetchReason::Miss => "miss",
            FetchReason::Refresh => "refresh",
            FetchReason::Prewarm => "prewarm",
        }
    }
}

impl FetchJob {
    pub fn fetch(key: &crate::key::CacheKey, reason: FetchReason) -> Self {
        FetchJob::Fetch {
            key: key.as_str().to_owned(),
            reason,
            slot: None,
            deferrals: 0,
            failures: 0,
            waits: 0,
            trace: None,
        }
    }

    /// This job, part of the trace `traceparent` names.
    pub fn traced(mut self, traceparent: Option<String>) -> Self {
        let FetchJob::Fetch { trace, .. } = &mut self;
        *trace = traceparent;
        self
    }

    /// The trace this job belongs to.
    pub fn trace(&self) -> Option<&str> {
        let FetchJob::Fetch { trace, .. } = self;
        trace.as_deref()
    }

    pub fn to_bytes(&self) -> Vec<u8> {
        // Serialising a plain enum of strings cannot fail.
        serde_json::to_vec(self).unwrap_or_default()
    }

    /// The label used in metrics.
    pub fn kind(&self) -> &'static str {
        match self {
            FetchJob::Fetch { .. } => "fetch",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payload_round_trips_and_old_payloads_decode() {
        let job = FetchJob::Fetch {
            key: "tmdb/movie/550".into(),
            reason: FetchReason::Refresh,
            slot: Some(("tmdb".into(), 1_800_000_000_000)),
            deferrals: 2,
            failures: 1,
            waits: 3,
            trace: Some("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01".into()),
        };
        let back: FetchJob = serde_json::from_slice(&job.to_bytes()).unwrap();
        assert_eq!(back, job);
        let old: FetchJob = serde_json::from_str(r#"{"kind":"fetch","key":"k"}"#).unwrap();
        assert_eq!(
            old,
            FetchJob::Fetch {
                key: "k".into(),
                reason: FetchReason::Miss,
                slot: None,
                deferrals: 0,
                failures: 0,
                waits: 0,
                trace: None,
            }
        );
    }
}
