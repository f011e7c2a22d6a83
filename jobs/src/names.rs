//! Metric names (part of the product contract) and their
//! descriptions. Labels stay low-cardinality: never a key, path or id.

use metrics::{Unit, describe_counter, describe_gauge, describe_histogram};

pub const HTTP_REQUESTS: &str = "larder_http_requests_total";
pub const HTTP_DURATION: &str = "larder_http_request_duration_seconds";
pub const CACHE_LOOKUPS: &str = "larder_cache_lookups_total";
pub const FILLS_COALESCED: &str = "larder_fills_coalesced_total";
pub const FILL_WAIT: &str = "larder_fill_wait_seconds";
pub const UPSTREAM_REQUESTS: &str = "larder_upstream_requests_total";
pub const UPSTREAM_DURATION: &str = "larder_upstream_request_duration_seconds";
pub const RATE_LIMIT_WAIT: &str = "larder_rate_limit_wait_seconds_total";
pub const JOBS: &str = "larder_jobs_total";
pub const JOB_DURATION: &str = "larder_job_duration_seconds";
pub const QUEUE_JOBS: &str = "larder_queue_jobs";
/// The API's in-process cache: lookups by result (hit, miss), entries
/// held and the bytes they weigh (compressed, as held).
pub const HOT_LOOKUPS: &str = "larder_hot_cache_lookups_total";
pub const HOT_ENTRIES: &str = "larder_hot_cache_entries";
pub const HOT_BYTES: &str = "larder_hot_cache_bytes";
/// The disk tier's lookups by result (hit, miss).
pub const DISK_LOOKUPS: &str = "larder_disk_cache_lookups_total";
/// What the disk tier holds: entries (identity copies included), and the
/// bytes of its files in use.
pub const DISK_ENTRIES: &str = "larder_disk_cache_entries";
pub const DISK_BYTES: &str = "larder_disk_cache_bytes";
/// Database reads of entries: keys read, and the batched queries they took.
pub const DB_READ_KEYS: &str = "larder_db_read_keys_total";
pub const DB_READ_BATCHES: &str = "larder_db_read_batches_total";
/// Scheduler ticks by schedule and outcome (fired, skipped: fired by
/// another scheduler, failed).
pub const SCHEDULER_TICKS: &str = "larder_scheduler_ticks_total";
/// Keys a fired tick asked to fill, by schedule and kind (prewarm,
/// refresh_ahead); those with a fill under way join it.
pub const SCHEDULED_KEYS: &str = "larder_scheduled_keys_total";
/// Asset fills enqueued because a stored record referenced them.
pub const PREFETCHED: &str = "larder_assets_prefetched_total";
/// Bytes of assets (images) written to storage (identical bytes count once).
pub const ASSETS_STORED_BYTES: &str = "larder_assets_stored_bytes_total";

/// Counters that grow by fractions (seconds): `metrics` counters are whole
/// numbers, so these are recorded as gauges that only grow, and typed as
/// the counters they are when rendered (see [`exposition`]).
pub const FLOAT_COUNTERS: &[&str] = &[RATE_LIMIT_WAIT];

/// A render of the Prometheus recorder as served on `/metrics`: the
/// [`FLOAT_COUNTERS`] typed `counter` (a gauge named `…_total` is a lint
/// error for `promtool check metrics`, and `rate()` is what they are for).
pub fn exposition(mut text: String) -> String {
    for name in FLOAT_COUNTERS {
        let gauge = format!("# TYPE {name} gauge\n");
        if let Some(at) = text.find(&gauge) {
            text.replace_range(at..at + gauge.len(), &format!("# TYPE {name} counter\n"));
        }
    }
    text
}

/// Register descriptions with whatever recorder is installed.
pub fn describe() {
    describe_counter!(HTTP_REQUESTS, "HTTP requests answered, by route and status");
    describe_counter!(
        DISK_LOOKUPS,
        "Disk tier lookups (LARDER_DISK_CACHE_DIR) by result (hit, miss)"
    );
    describe_histogram!(
        HTTP_DURATION,
        Unit::Seconds,
        "HTTP request duration, by route"
    );
    describe_counter!(
        CACHE_LOOKUPS,
        "Cache lookups by provider and result (hit, stale, miss)"
    );
    describe_counter!(
        FILLS_COALESCED,
        "Requests that joined a fill already under way"
    );
    describe_histogram!(
        FILL_WAIT,
        Unit::Seconds,
        "Time a missing request waited for its fill"
    );
    describe_counter!(UPSTREAM_REQUESTS, "Upstream calls by provider and status");
    describe_histogram!(
        UPSTREAM_DURATION,
        Unit::Seconds,
        "Upstream call duration by provider"
    );
    // A gauge that only grows (`metrics` counters cannot carry fractions),
    // served as a counter (see `exposition`).
    describe_gauge!(
        RATE_LIMIT_WAIT,
        Unit::Seconds,
        "Total time spent waiting for rate-limit slots"
    );
    describe_counter!(JOBS, "Jobs run by kind and outcome (ok, retry, failed)");
    describe_histogram!(JOB_DURATION, Unit::Seconds, "Job duration by kind");
    describe_gauge!(QUEUE_JOBS, "Queue rows by state");
    describe_counter!(
        HOT_LOOKUPS,
        "In-process cache lookups of the API by result (hit, miss)"
    );
    describe_gauge!(HOT_ENTRIES, "Entries in the API's in-process cache");
    describe_gauge!(
        DISK_ENTRIES,
        "Entries in the API's disk tier (identity copies included)"
    );
    describe_gauge!(
        DISK_BYTES,
        Unit::Bytes,
        "Bytes of the API's disk tier files in use"
    );
    describe_gauge!(
        HOT_BYTES,
        Unit::Bytes,
        "Bytes the API's in-process cache holds (bodies as stored, compressed)"
    );
    describe_counter!(
        DB_READ_KEYS,
        "Entries the API read from the database (not in its in-process cache)"
    );
    describe_counter!(
        DB_READ_BATCHES,
        "Batched database reads of entries (keys / batches = keys per round trip)"
    );
    describe_counter!(
        SCHEDULER_TICKS,
        "Scheduler ticks by schedule and outcome (fired, skipped: fired elsewhere, failed)"
    );
    describe_counter!(
        SCHEDULED_KEYS,
        "Keys fired ticks asked to fill, by schedule and kind (prewarm, refresh_ahead)"
    );
    describe_counter!(
        PREFETCHED,
        "Image fills enqueued because a stored record references them, by provider"
    );
    describe_counter!(
        ASSETS_STORED_BYTES,
        Unit::Bytes,
        "Bytes of assets written to storage, by provider (identical bytes once)"
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn float_counters_are_typed_counter() {
        let text = format!(
            "# HELP {RATE_LIMIT_WAIT} wait\n# TYPE {RATE_LIMIT_WAIT} gauge\n{RATE_LIMIT_WAIT}{{provider=\"tmdb\"}} 0.25\n\n# TYPE {QUEUE_JOBS} gauge\n"
        );
        let served = exposition(text);
        assert!(served.contains(&format!("# TYPE {RATE_LIMIT_WAIT} counter\n")));
        assert!(served.contains(&format!("{RATE_LIMIT_WAIT}{{provider=\"tmdb\"}} 0.25\n")));
        assert!(served.contains(&format!("# TYPE {QUEUE_JOBS} gauge\n")));
    }
}
