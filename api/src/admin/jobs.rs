//! `/admin/overview`, `/admin/jobs` and a failed job's retry.

use std::time::Duration;

use hyper::StatusCode;
use larder_jobs::store::{Enqueued, JobState};
use serde_json::{Map, Value, json};

use super::{Call, bad, json, missing};
use crate::reply::{ApiError, Reply};

const MAX_LIMIT: i64 = 500;

/// Queue depth by state, workers seen, entries cached.
pub(crate) async fn overview(call: &Call<'_>) -> Result<Reply, ApiError> {
    let store = &call.state.store;
    let mut queue: Map<String, Value> = JobState::ALL
        .iter()
        .map(|s| (s.as_str().to_owned(), json!(0)))
        .collect();
    for (status, n) in store.queue_depth().await? {
        let state = match status.as_str() {
            "killed" => "failed",
            "failed" => "retrying",
            "queued" => "pending",
            other => other,
        };
        let sum = queue.get(state).and_then(Value::as_i64).unwrap_or(0) + n;
        queue.insert(state.to_owned(), json!(sum));
    }
    let workers = store.workers_seen(Duration::from_secs(60)).await?;
    let entries = store.count_entries().await?;
    Ok(json(
        StatusCode::OK,
        &json!({ "queue": queue, "workers": workers, "cache": { "entries": entries } }),
    ))
}

/// `GET /admin/jobs?state=failed&limit=50`.
pub(crate) async fn list(call: &Call<'_>) -> Result<Reply, ApiError> {
    let state = match call.query_param("state") {
        None => JobState::Failed,
        Some(s) => JobState::parse(&s).ok_or_else(|| {
            bad(
                "invalid-state",
                "state: pending, running, done, failed or retrying",
            )
        })?,
    };
    let limit = call.limit(50, MAX_LIMIT)?;
    let jobs = call.state.store.jobs(state, limit).await?;
    Ok(json(
        StatusCode::OK,
        &json!({ "state": state.as_str(), "jobs": jobs }),
    ))
}

/// `POST /admin/jobs/{id}/retry`: a new fill of the failed job's key.
pub(crate) async fn retry(call: &Call<'_>) -> Result<Reply, ApiError> {
    let id = call.param.as_str();
    if id.is_empty() || id.len() > 64 || !id.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return Err(bad("invalid-id", "not a job id"));
    }
    let retried = call
        .state
        .store
        .retry_job(id)
        .await?
        .ok_or_else(|| missing("job-not-found", format!("no failed job {id}")))?;
    let outcome = match retried.outcome {
        Enqueued::Started | Enqueued::Fresh(_) => "started",
        Enqueued::Joined => "joined",
        Enqueued::Full => {
            return Err(ApiError::queue_full(
                retried.key.split('/').next().unwrap_or(""),
            ));
        }
    };
    tracing::info!(target: "larder::admin", job = id, key = %retried.key, outcome, "admin: job retried");
    Ok(json(
        StatusCode::ACCEPTED,
        &json!({ "retried": id, "key": retried.key, "outcome": outcome }),
    ))
}
