//! Calling an upstream: one HTTP request with a timeout and a body cap, and
//! the classification of its answer. Retries live in [`crate::fetch`].

use std::time::{Duration, Instant, SystemTime};

use bytes::Bytes;
use larder_jobs::config::{Secret, UpstreamConfig};
use larder_jobs::names;
use larder_jobs::provider::{Inject, ProviderDef};

/// What one call produced.
#[derive(Debug)]
pub enum Answer {
    /// A 2xx with its body and content type.
    Ok { body: Bytes, content_type: String },
    /// 404: the resource does not exist upstream.
    NotFound { body: Bytes },
    /// 429, with how long the upstream asked us to wait.
    TooMany { retry_after: Option<Duration> },
    /// 5xx: try again later.
    ServerError(u16),
    /// Another 4xx (or 3xx): our request is wrong; retrying will not help.
    Rejected(u16),
}

#[derive(Debug, thiserror::Error)]
pub enum CallError {
    #[error("upstream timed out")]
    Timeout,
    #[error("upstream transport error: {0}")]
    Transport(String),
    #[error("upstream body larger than {0} bytes")]
    TooLarge(usize),
}

#[derive(Clone)]
pub struct Upstream {
    client: reqwest::Client,
    max_body: usize,
}

impl Upstream {
    pub fn new(config: &UpstreamConfig) -> Result<Self, reqwest::Error> {
        let client = reqwest::Client::builder()
            .timeout(config.timeout)
            .connect_timeout(config.timeout.min(Duration::from_secs(5)))
            .pool_idle_timeout(Duration::from_secs(60))
            .user_agent(concat!("larder/", env!("CARGO_PKG_VERSION")))
            .build()?;
        Ok(Upstream {
            client,
            max_body: config.max_body_bytes,
        })
    }

    /// Make one call to `base` + `path_and_query`, injecting `key` as the
    /// provider wants it. The key never appears in logs or errors.
    pub async fn call(
        &self,
        provider: &ProviderDef,
        base: &str,
        path_and_query: &str,
        key: Option<&Secret>,
    ) -> Result<Answer, CallError> {
        let mut url = format!("{}{}", base.trim_end_matches('/'), path_and_query);
        let mut bearer = None;
        if let (Some(cred), Some(key)) = (provider.credential, key) {
            match cred.inject {
                Inject::Query(name) => append_query(&mut url, name, key.expose()),
                // v4 read-access tokens are JWTs; v3 keys are 32 hex chars.
                Inject::TmdbKey if key.expose().starts_with("eyJ") => bearer = Some(key.expose()),
                Inject::TmdbKey => append_query(&mut url, "api_key", key.expose()),
            }
        }
        let mut request = self.client.get(&url).header("accept", "application/json");
        if let Some(token) = bearer {
            request = request.bearer_auth(token);
        }
        let started = Instant::now();
        let result = self.send(request).await;
        let status_label = match &result {
            Ok((status, _, _, _)) => status.to_string(),
            Err(CallError::Timeout) => "timeout".into(),
            Err(_) => "error".into(),
        };
        metrics::counter!(names::UPSTREAM_REQUESTS, "provider" => provider.id, "status" => status_label)
            .increment(1);
        metrics::histogram!(names::UPSTREAM_DURATION, "provider" => provider.id)
            .record(started.elapsed().as_secs_f64());
        let (status, content_type, retry_after, body) = result?;
        tracing::debug!(
            provider = provider.id,
            status,
            elapsed_ms = started.elapsed().as_millis() as u64,
            "upstream call"
        );
        Ok(match status {
            200..=299 => Answer::Ok { body, content_type },
            404 => Answer::NotFound { body },
            429 => Answer::TooMany { retry_after },
            500..=599 => Answer::ServerError(status),
            other => Answer::Rejected(other),
        })
    }

    async fn send(
        &self,
        request: reqwest::RequestBuilder,
    ) -> Result<(u16, String, Option<Duration>, Bytes), CallError> {
        let mut response = request.send().await.map_err(classify)?;
        let status = response.status().as_u16();
        let headers = response.headers();
        let content_type = headers
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("application/json")
            .to_owned();
        let retry_after = headers
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(parse_retry_after);
        if response
            .content_length()
            .is_some_and(|n| n as usize > self.max_body)
        {
            return Err(CallError::TooLarge(self.max_body));
        }
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(classify)? {
            if body.len() + chunk.len() > self.max_body {
                return Err(CallError::TooLarge(self.max_body));
            }
            body.extend_from_slice(&chunk);
        }
        Ok((status, content_type, retry_after, Bytes::from(body)))
    }
}

fn append_query(url: &mut String, name: &str, value: &str) {
    url.push(if url.contains('?') { '&' } else { '?' });
    url.push_str(name);
    url.push('=');
    url.push_str(&form_encode(value));
}

fn form_encode(v: &str) -> String {
    v.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn classify(e: reqwest::Error) -> CallError {
    if e.is_timeout() {
        CallError::Timeout
    } else {
        // Strip the URL: it may carry a credential in its query.
        CallError::Transport(e.without_url().to_string())
    }
}

/// `Retry-After` is either delta-seconds or an HTTP date.
pub fn parse_retry_after(v: &str) -> Option<Duration> {
    let v = v.trim();
    if let Ok(secs) = v.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let when = httpdate::parse_http_date(v).ok()?;
    Some(
        when.duration_since(SystemTime::now())
            .unwrap_or(Duration::ZERO),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_takes_seconds_and_dates() {
        assert_eq!(parse_retry_after("2"), Some(Duration::from_secs(2)));
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT"),
            Some(Duration::ZERO)
        );
        let later = httpdate::fmt_http_date(SystemTime::now() + Duration::from_secs(30));
        let d = parse_retry_after(&later).unwrap();
        assert!(
            d > Duration::from_secs(25) && d <= Duration::from_secs(30),
            "{d:?}"
        );
        assert_eq!(parse_retry_after("soon"), None);
    }

    #[test]
    fn credentials_are_query_encoded() {
        let mut url = "http://x/3/movie/1?language=de".to_string();
        append_query(&mut url, "api_key", "a b&c");
        assert_eq!(url, "http://x/3/movie/1?language=de&api_key=a%20b%26c");
    }
}
