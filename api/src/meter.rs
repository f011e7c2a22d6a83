//! Metric handles for the request path, registered once per process.
//!
//! `counter!(name, "k" => v)` with label values from variables allocates its
//! labels and looks the metric up in the registry (hashing name and labels)
//! on every call; on the hit path that was three lookups per request. The
//! label sets here are small and fixed (routes, statuses, providers × lookup
//! results), so every handle is made up front and found by index.

use std::collections::HashMap;

use larder_jobs::names;
use larder_jobs::provider::Catalogue;
use metrics::{Counter, Histogram};

/// Route labels of `larder_http_requests_total` and `larder_http_request_duration_seconds`.
pub const ROUTES: [&str; 9] = [
    "read",
    "providers",
    "livez",
    "readyz",
    "health",
    "metrics",
    "image",
    "admin",
    "other",
];
/// Status labels: the statuses larder answers with, then `other`.
pub const STATUSES: [&str; 19] = [
    "200", "202", "304", "400", "401", "403", "404", "405", "414", "429", "500", "502", "503",
    "504", "302", "406", "201", "413", "other",
];
/// Result labels of `larder_cache_lookups_total`.
const RESULTS: [&str; 3] = ["hit", "stale", "miss"];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route {
    Read = 0,
    Providers,
    Livez,
    Readyz,
    Health,
    Metrics,
    /// `/t/p/…`: TMDB's image host, served by larder.
    Image,
    /// `/admin/*`.
    Admin,
    Other,
}

#[derive(Debug, Clone, Copy)]
pub enum Lookup {
    Hit = 0,
    Stale,
    Miss,
}

pub struct Meter {
    /// In-process cache lookups: hit, miss.
    hot: [Counter; 2],
    requests: Vec<Counter>,
    durations: Vec<Histogram>,
    lookups: HashMap<&'static str, [Counter; 3]>,
}

fn status_index(status: u16) -> usize {
    STATUSES
        .iter()
        .position(|s| s.parse() == Ok(status))
        .unwrap_or(STATUSES.len() - 1)
}

impl Meter {
    /// Register every handle (the recorder must be installed first).
    pub fn new(catalogue: &Catalogue) -> Meter {
        let requests = ROUTES
            .iter()
            .flat_map(|route| {
                STATUSES.iter().map(move |status| {
                    metrics::counter!(names::HTTP_REQUESTS, "route" => *route, "status" => *status)
                })
            })
            .collect();
        let durations = ROUTES
            .iter()
            .map(|route| metrics::histogram!(names::HTTP_DURATION, "route" => *route))
            .collect();
        let lookups = catalogue
            .providers()
            .map(|def| {
                let id: &'static str = def.id;
                let counter = |result: &'static str| {
                    metrics::counter!(names::CACHE_LOOKUPS, "provider" => id, "result" => result)
                };
                (id, RESULTS.map(counter))
            })
            .collect();
        Meter {
            hot: ["hit", "miss"].map(|r| metrics::counter!(names::HOT_LOOKUPS, "result" => r)),
            requests,
            durations,
            lookups,
        }
    }

    /// One request answered.
    pub fn request(&self, route: Route, status: u16, seconds: f64) {
        // The common answers first, without a search.
        let s = match status {
            200 => 0,
            304 => 2,
            other => status_index(other),
        };
        self.requests[route as usize * STATUSES.len() + s].increment(1);
        self.durations[route as usize].record(seconds);
    }

    /// One lookup in the in-process cache.
    pub fn hot(&self, hit: bool) {
        self.hot[usize::from(!hit)].increment(1);
    }

    /// One cache lookup of `provider`.
    pub fn lookup(&self, provider: &str, result: Lookup) {
        if let Some(c) = self.lookups.get(provider) {
            c[result as usize].increment(1);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_status_has_its_label() {
        assert_eq!(STATUSES[status_index(200)], "200");
        assert_eq!(STATUSES[status_index(304)], "304");
        assert_eq!(STATUSES[status_index(414)], "414");
        assert_eq!(STATUSES[status_index(504)], "504");
        assert_eq!(STATUSES[status_index(418)], "other");
        assert_eq!(ROUTES[Route::Other as usize], "other");
        assert_eq!(ROUTES[Route::Metrics as usize], "metrics");
    }
}
