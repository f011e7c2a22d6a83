//! Why a fill failed, in words a client and an operator can act on: the
//! class of failure (as waiters and `/health` are told) and its cause.

use std::fmt;

use crate::key::{CacheKey, hash_hex};

/// What went wrong with the upstream, in classes that mean something to
/// whoever has to fix it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cause {
    /// The host name did not resolve.
    Dns,
    /// No connection (refused, unreachable, reset).
    Connect,
    Timeout,
    Tls,
    /// The upstream answered with this status.
    Status(u16),
    /// The answer was not what the provider sends (not JSON, a changed
    /// page, too large).
    InvalidBody,
    /// The provider's login failed.
    Login,
    /// Larder's own limits (the provider's rate is booked too far ahead).
    Busy,
    /// Asset storage failed (the folder, the S3 store).
    Storage,
    Unknown,
}

impl fmt::Display for Cause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Cause::Dns => f.write_str("dns"),
            Cause::Connect => f.write_str("connect"),
            Cause::Timeout => f.write_str("timeout"),
            Cause::Tls => f.write_str("tls"),
            Cause::Status(s) => write!(f, "status {s}"),
            Cause::InvalidBody => f.write_str("invalid body"),
            Cause::Login => f.write_str("login"),
            Cause::Busy => f.write_str("busy"),
            Cause::Storage => f.write_str("storage"),
            Cause::Unknown => f.write_str("unknown"),
        }
    }
}

impl Cause {
    /// A token without spaces, for notification payloads.
    pub fn token(self) -> String {
        self.to_string().replace(' ', "-")
    }

    pub fn parse_token(s: &str) -> Cause {
        match s {
            "dns" => Cause::Dns,
            "connect" => Cause::Connect,
            "timeout" => Cause::Timeout,
            "tls" => Cause::Tls,
            "invalid-body" => Cause::InvalidBody,
            "login" => Cause::Login,
            "busy" => Cause::Busy,
            "storage" => Cause::Storage,
            other => other
                .strip_prefix("status-")
                .and_then(|n| n.parse().ok())
                .map(Cause::Status)
                .unwrap_or(Cause::Unknown),
        }
    }

    /// The class of a transport error, read from its cause chain.
    pub fn of_transport(chain: &str) -> Cause {
        let c = chain.to_ascii_lowercase();
        if c.contains("dns error")
            || c.contains("failed to lookup")
            || c.contains("name or service not known")
        {
            Cause::Dns
        } else if c.contains("certificate") || c.contains("tls") || c.contains("handshake") {
            Cause::Tls
        } else if c.contains("timed out") {
            Cause::Timeout
        } else {
            Cause::Connect
        }
    }
}

/// A failed fill: how waiters are answered, and why.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Failure {
    pub kind: FailKind,
    pub cause: Cause,
}

impl Failure {
    pub fn new(kind: FailKind, cause: Cause) -> Self {
        Failure { kind, cause }
    }

    /// For operators: `upstream-error: status 503`.
    pub fn reason(&self) -> String {
        format!("{}: {}", self.kind.as_str(), self.cause)
    }
}

impl From<FailKind> for Failure {
    fn from(kind: FailKind) -> Self {
        let cause = match kind {
            FailKind::Timeout => Cause::Timeout,
            FailKind::Overloaded => Cause::Busy,
            FailKind::Storage => Cause::Storage,
            _ => Cause::Unknown,
        };
        Failure { kind, cause }
    }
}

/// Why a fill failed, as waiters are told.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailKind {
    /// Upstream answered 5xx/429 after every retry, or the body was bad: 502.
    Upstream,
    /// Upstream did not answer in time: 504.
    Timeout,
    /// Upstream refused the request (4xx other than 404): 502, not cached.
    Rejected,
    /// The provider's rate is booked beyond the lane horizon (or its pause
    /// runs past it): 503, try later.
    Overloaded,
    /// Asset storage could not keep the download: 503, nothing stored.
    Storage,
}

impl FailKind {
    pub fn as_str(self) -> &'static str {
        match self {
            FailKind::Upstream => "upstream-error",
            FailKind::Timeout => "upstream-timeout",
            FailKind::Rejected => "upstream-rejected",
            FailKind::Overloaded => "overloaded",
            FailKind::Storage => "storage-unavailable",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "upstream-error" => Some(FailKind::Upstream),
            "upstream-timeout" => Some(FailKind::Timeout),
            "upstream-rejected" => Some(FailKind::Rejected),
            "overloaded" => Some(FailKind::Overloaded),
            "storage-unavailable" => Some(FailKind::Storage),
            _ => None,
        }
    }
}

/// A fill outcome as carried by a notification.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FillNotice {
    /// An entry (200 or 404) was stored: read it.
    Stored,
    Failed(Failure),
}

impl FillNotice {
    /// Payload: `<hash hex> stored` or `<hash hex> failed:<kind>`.
    pub fn payload(self, key: &CacheKey) -> String {
        match self {
            FillNotice::Stored => format!("{} stored", hash_hex(key.hash())),
            FillNotice::Failed(f) => format!(
                "{} failed:{}:{}",
                hash_hex(key.hash()),
                f.kind.as_str(),
                f.cause.token()
            ),
        }
    }

    pub fn parse(payload: &str) -> Option<(u64, FillNotice)> {
        let (hash, what) = payload.split_once(' ')?;
        let hash = u64::from_str_radix(hash, 16).ok()?;
        let notice = match what {
            "stored" => FillNotice::Stored,
            other => {
                let rest = other.strip_prefix("failed:")?;
                let (kind, cause) = rest.split_once(':').unwrap_or((rest, "unknown"));
                FillNotice::Failed(Failure::new(
                    FailKind::parse(kind)?,
                    Cause::parse_token(cause),
                ))
            }
        };
        Some((hash, notice))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn causes_round_trip_as_tokens() {
        for c in [
            Cause::Dns,
            Cause::Connect,
            Cause::Timeout,
            Cause::Tls,
            Cause::Status(503),
            Cause::InvalidBody,
            Cause::Login,
            Cause::Busy,
            Cause::Storage,
            Cause::Unknown,
        ] {
            assert_eq!(Cause::parse_token(&c.token()), c);
        }
        assert_eq!(Cause::Status(429).to_string(), "status 429");
        assert_eq!(
            Cause::of_transport(
                "error sending request: client error (Connect): dns error: failed to lookup address information"
            ),
            Cause::Dns
        );
        assert_eq!(
            Cause::of_transport(
                "error sending request: client error (Connect): tcp connect error: Connection refused (os error 111)"
            ),
            Cause::Connect
        );
    }
}
