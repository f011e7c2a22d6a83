//! Calling an upstream: one HTTP request with a timeout and a body cap.
//! What the answer means is the provider adapter's to say; retries live in
//! [`crate::fill`].

use std::time::{Duration, Instant};

use larder_jobs::config::UpstreamConfig;
use larder_jobs::names;
use larder_jobs::provider::{Method, Request, Response};

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

/// Sent when a provider's terms ask for nothing more specific.
const USER_AGENT: &str = concat!("larder/", env!("CARGO_PKG_VERSION"));

impl Upstream {
    pub fn new(config: &UpstreamConfig) -> Result<Self, reqwest::Error> {
        let client = reqwest::Client::builder()
            .timeout(config.timeout)
            .connect_timeout(config.timeout.min(Duration::from_secs(5)))
            .pool_idle_timeout(Duration::from_secs(60))
            .user_agent(USER_AGENT)
            // A redirect within the upstream's origin is followed (an API
            // moving a resource); one to another origin is not (the answer
            // would be cached under this provider's key): the 3xx stands,
            // and the adapter reads it as the failure it is.
            .redirect(reqwest::redirect::Policy::custom(|attempt| {
                let same = attempt
                    .previous()
                    .first()
                    .is_some_and(|first| first.origin() == attempt.url().origin());
                if attempt.previous().len() >= 5 {
                    attempt.error("too many redirects")
                } else if same {
                    attempt.follow()
                } else {
                    attempt.stop()
                }
            }))
            .build()?;
        Ok(Upstream {
            client,
            max_body: config.max_body_bytes,
        })
    }

    /// Make `request` against `base`. `provider` labels the metrics. The
    /// request may carry a credential: it never appears in logs or errors.
    pub async fn call(
        &self,
        provider: &'static str,
        base: &str,
        request: &Request,
        user_agent: Option<&str>,
    ) -> Result<Response, CallError> {
        let url = format!("{}{}", base.trim_end_matches('/'), request.path);
        let mut builder = match request.method {
            Method::Get => self.client.get(&url),
            Method::Post => self.client.post(&url),
        };
        // A request's own headers replace the defaults (GitHub's Accept).
        if !request
            .headers
            .iter()
            .any(|(n, _)| n.eq_ignore_ascii_case("accept"))
        {
            builder = builder.header("accept", "application/json");
        }
        if let Some(ua) = user_agent {
            builder = builder.header("user-agent", ua);
        }
        for (name, value) in &request.headers {
            builder = builder.header(*name, value);
        }
        if let Some((content_type, body)) = &request.body {
            builder = builder
                .header("content-type", *content_type)
                .body(body.clone());
        }
        let started = Instant::now();
        let result = self.send(builder).await;
        let status_label = match &result {
            Ok(r) => r.status.to_string(),
            Err(CallError::Timeout) => "timeout".into(),
            Err(_) => "error".into(),
        };
        metrics::counter!(names::UPSTREAM_REQUESTS, "provider" => provider, "status" => status_label)
            .increment(1);
        metrics::histogram!(names::UPSTREAM_DURATION, "provider" => provider)
            .record(started.elapsed().as_secs_f64());
        if let Ok(r) = &result {
            tracing::debug!(
                provider,
                status = r.status,
                elapsed_ms = started.elapsed().as_millis() as u64,
                "upstream call"
            );
        }
        result
    }

    async fn send(&self, request: reqwest::RequestBuilder) -> Result<Response, CallError> {
        let mut response = request.send().await.map_err(classify)?;
        let status = response.status().as_u16();
        let headers = response
            .headers()
            .iter()
            .filter_map(|(k, v)| Some((k.as_str().to_owned(), v.to_str().ok()?.to_owned())))
            .collect();
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
        Ok(Response {
            status,
            headers,
            body: body.into(),
        })
    }
}

fn classify(e: reqwest::Error) -> CallError {
    if e.is_timeout() {
        CallError::Timeout
    } else {
        // Strip the URL: it may carry a credential in its query. Keep the
        // whole cause chain: "error sending request" alone says nothing.
        let e = e.without_url();
        let mut text = e.to_string();
        let mut source = std::error::Error::source(&e);
        while let Some(s) = source {
            text.push_str(": ");
            text.push_str(&s.to_string());
            source = s.source();
        }
        CallError::Transport(text)
    }
}
