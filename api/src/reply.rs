//! Responses: the one API error type, JSON helpers.

use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use futures_util::Stream;
use http_body_util::Full;
use hyper::body::{Frame, SizeHint};
use hyper::header::{ALLOW, CONTENT_TYPE, HeaderValue, RETRY_AFTER};
use hyper::{Response, StatusCode};
use larder_jobs::RequestError;
use larder_jobs::store::{FailKind, Failure};

pub type Reply = Response<Body>;

/// A response body: bytes in memory (every JSON answer), or a stream of
/// an asset from storage (an image too large to hold), of known length.
pub enum Body {
    Full(Full<Bytes>),
    Stream {
        stream: Pin<Box<dyn Stream<Item = std::io::Result<Bytes>> + Send>>,
        len: u64,
    },
}

impl Body {
    pub fn new(bytes: Bytes) -> Body {
        Body::Full(Full::new(bytes))
    }

    pub fn stream(
        stream: Pin<Box<dyn Stream<Item = std::io::Result<Bytes>> + Send>>,
        len: u64,
    ) -> Body {
        Body::Stream { stream, len }
    }
}

impl Default for Body {
    fn default() -> Self {
        Body::Full(Full::default())
    }
}

impl hyper::body::Body for Body {
    type Data = Bytes;
    type Error = std::io::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, std::io::Error>>> {
        match self.get_mut() {
            Body::Full(full) => Pin::new(full)
                .poll_frame(cx)
                .map_err(|never| match never {}),
            Body::Stream { stream, .. } => stream
                .as_mut()
                .poll_next(cx)
                .map(|item| item.map(|chunk| chunk.map(Frame::data))),
        }
    }

    fn is_end_stream(&self) -> bool {
        match self {
            Body::Full(full) => full.is_end_stream(),
            Body::Stream { .. } => false,
        }
    }

    fn size_hint(&self) -> SizeHint {
        match self {
            Body::Full(full) => full.size_hint(),
            Body::Stream { len, .. } => SizeHint::with_exact(*len),
        }
    }
}

/// Every error the API answers with: a status and a stable kebab-case code.
/// 5xx details are logged where they happen, never sent to the client.
#[derive(Debug, Clone)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    /// Sent as `Retry-After` (seconds).
    pub retry_after: Option<u64>,
    /// Sent as `Allow` (a 405's methods).
    pub allow: Option<String>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            status,
            code,
            message: message.into(),
            retry_after: None,
            allow: None,
        }
    }
    pub fn unauthorized(message: &str) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "unauthorized", message)
    }
    pub fn forbidden(message: String) -> Self {
        Self::new(StatusCode::FORBIDDEN, "forbidden", message)
    }
    pub fn not_found() -> Self {
        Self::new(StatusCode::NOT_FOUND, "not-found", "no such route")
    }
    pub fn method() -> Self {
        Self::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "method-not-allowed",
            "only GET and HEAD are served",
        )
    }
    pub fn uri_too_long() -> Self {
        Self::new(
            StatusCode::URI_TOO_LONG,
            "uri-too-long",
            "the request URI is too long",
        )
    }
    /// larder at one of its own bounds: come back shortly.
    pub fn overloaded() -> Self {
        ApiError {
            retry_after: Some(1),
            ..Self::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "overloaded",
                "too many fills in progress here; try again shortly",
            )
        }
    }
    /// The database has no connection for us right now (pool exhausted,
    /// server at its connection limit): shed, come back shortly.
    pub fn database_busy() -> Self {
        ApiError {
            retry_after: Some(1),
            ..Self::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "overloaded",
                "the database has no connection free; try again shortly",
            )
        }
    }
    /// The provider's queue is at its cap: come back when it has drained.
    pub fn queue_full(provider: &str) -> Self {
        ApiError {
            retry_after: Some(30),
            ..Self::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "queue-full",
                format!("{provider}: too many fills queued; try again later"),
            )
        }
    }
    pub fn unavailable() -> Self {
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "database-unavailable",
            "the database is not reachable; try again shortly",
        )
    }
    /// Asset storage (the folder, the S3 store) failed: nothing was served
    /// or stored; the next request tries again.
    pub fn storage_unavailable() -> Self {
        ApiError {
            retry_after: Some(5),
            ..Self::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "storage-unavailable",
                "asset storage is not available; try again shortly",
            )
        }
    }
    pub fn upstream_not_found() -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "upstream-not-found",
            "the upstream has no such resource",
        )
    }
    /// A failed fill, naming the provider and the class of the failure
    /// (dns, connect, timeout, tls, status N, invalid body, login).
    pub fn fill_failed(provider: &str, failure: Failure) -> Self {
        let cause = failure.cause;
        match failure.kind {
            FailKind::Timeout => Self::new(
                StatusCode::GATEWAY_TIMEOUT,
                "upstream-timeout",
                format!("{provider}: the upstream did not answer in time ({cause})"),
            ),
            FailKind::Upstream => Self::new(
                StatusCode::BAD_GATEWAY,
                "upstream-error",
                format!("{provider}: the upstream failed after retries ({cause})"),
            ),
            FailKind::Rejected => Self::new(
                StatusCode::BAD_GATEWAY,
                "upstream-rejected",
                format!("{provider}: the upstream refused the request ({cause})"),
            ),
            FailKind::Overloaded => ApiError {
                retry_after: Some(60),
                ..Self::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "overloaded",
                    format!(
                        "{provider}: its upstream rate is booked too far ahead; try again later"
                    ),
                )
            },
            FailKind::Storage => Self::storage_unavailable(),
        }
    }

    pub fn into_reply(self) -> Reply {
        let body = serde_json::json!({"error": {"code": self.code, "message": self.message}});
        let mut reply = json(self.status, &body);
        if let Some(secs) = self.retry_after {
            reply
                .headers_mut()
                .insert(RETRY_AFTER, HeaderValue::from(secs));
        }
        if let Some(allow) = self.allow.and_then(|a| HeaderValue::try_from(a).ok()) {
            reply.headers_mut().insert(ALLOW, allow);
        }
        reply
    }
}

impl From<RequestError> for ApiError {
    fn from(e: RequestError) -> Self {
        ApiError::new(StatusCode::BAD_REQUEST, e.code, e.message)
    }
}

impl From<larder_jobs::Error> for ApiError {
    fn from(e: larder_jobs::Error) -> Self {
        if e.is_overloaded() {
            tracing::warn!(error = %e, "database busy; request shed");
            ApiError::database_busy()
        } else if e.is_unavailable() {
            tracing::warn!(error = %e, "database unavailable");
            ApiError::unavailable()
        } else {
            tracing::error!(error = %e, "internal error");
            ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                "internal error",
            )
        }
    }
}

pub fn json(status: StatusCode, value: &serde_json::Value) -> Reply {
    let mut r = Response::new(Body::new(Bytes::from(value.to_string())));
    *r.status_mut() = status;
    r.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    r
}

pub fn text(status: StatusCode, content_type: &'static str, body: impl Into<Bytes>) -> Reply {
    let mut r = Response::new(Body::new(body.into()));
    *r.status_mut() = status;
    r.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    r
}

/// 202: the fill goes on; come back in `retry_after` seconds.
pub fn pending(retry_after: u64) -> Reply {
    let mut r = json(
        StatusCode::ACCEPTED,
        &serde_json::json!({"status": "pending", "retry_after": retry_after}),
    );
    r.headers_mut()
        .insert(RETRY_AFTER, HeaderValue::from(retry_after));
    r
}
