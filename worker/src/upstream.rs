//! Calling an upstream: one HTTP request with a timeout and a body cap.
//! What the answer means is the provider adapter's to say; retries live in
//! [`crate::fill`].

use std::time::{Duration, Instant};

use larder_jobs::assets::{Spool, SpoolError};
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
    TooLarge(u64),
    /// The download could not be written to its spool file (the storage
    /// side failing, not the upstream).
    #[error("cannot spool the download: {0}")]
    Spool(String),
}

#[derive(Clone)]
pub struct Upstream {
    client: reqwest::Client,
    max_body: usize,
    /// Where asset downloads are spooled, and their size cap.
    spool: Option<(std::path::PathBuf, u64)>,
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
            spool: None,
        })
    }

    /// Spool asset downloads to `dir`, refusing more than `cap` bytes.
    pub fn with_spool(mut self, dir: std::path::PathBuf, cap: u64) -> Self {
        self.spool = Some((dir, cap));
        self
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
        let spool = match (&self.spool, request.asset) {
            (Some((dir, cap)), true) => Some((dir.as_path(), *cap, url.as_str())),
            _ => None,
        };
        let result = self.send(builder, spool).await;
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

    /// Send and read the answer: whole into memory under the body cap, or,
    /// for a 2xx answer to an asset request (`spool`: the folder, the cap
    /// and the URL), streamed to a spool file, chunk by chunk.
    async fn send(
        &self,
        request: reqwest::RequestBuilder,
        spool: Option<(&std::path::Path, u64, &str)>,
    ) -> Result<Response, CallError> {
        let mut response = request.send().await.map_err(classify)?;
        let status = response.status().as_u16();
        let headers = response
            .headers()
            .iter()
            .filter_map(|(k, v)| Some((k.as_str().to_owned(), v.to_str().ok()?.to_owned())))
            .collect();
        if let Some((dir, cap, url)) = spool
            && (200..300).contains(&status)
        {
            if response.content_length().is_some_and(|n| n > cap) {
                return Err(CallError::TooLarge(cap));
            }
            let spooled = |e: SpoolError| match e {
                SpoolError::TooLarge(cap) => CallError::TooLarge(cap),
                SpoolError::Io(e) => CallError::Spool(e.to_string()),
            };
            let mut file = Spool::create(dir, cap).await.map_err(spooled)?;
            while let Some(chunk) = response.chunk().await.map_err(classify)? {
                file.write(&chunk).await.map_err(spooled)?;
            }
            let download = file.finish(url.to_owned()).await.map_err(spooled)?;
            return Ok(Response {
                status,
                headers,
                body: bytes::Bytes::new(),
                download: Some(std::sync::Arc::new(download)),
            });
        }
        let cap = self.max_body as u64;
        if response.content_length().is_some_and(|n| n > cap) {
            return Err(CallError::TooLarge(cap));
        }
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(classify)? {
            if (body.len() + chunk.len()) as u64 > cap {
                return Err(CallError::TooLarge(cap));
            }
            body.extend_from_slice(&chunk);
        }
        Ok(Response {
            status,
            headers,
            body: body.into(),
            download: None,
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
