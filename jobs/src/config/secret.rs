//! Values that must not be printed: credentials, and the password in a
//! database URL.

use std::fmt;

use serde::{Deserialize, Serialize, Serializer};

/// A secret string: redacted in `Debug` and serialisation.
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(transparent)]
pub struct Secret(pub(super) String);

impl Secret {
    pub fn new(s: impl Into<String>) -> Self {
        Secret(s.into())
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

impl Serialize for Secret {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str("[redacted]")
    }
}

/// A database URL; its password is redacted when printed.
#[derive(Clone, Deserialize)]
#[serde(transparent)]
pub struct DatabaseUrl(pub String);

impl DatabaseUrl {
    pub fn redacted(&self) -> String {
        // postgres://user:password@host/db → postgres://user:[redacted]@host/db;
        // a query that names a password (`?password=`, `sslpassword=`) is
        // dropped whole.
        let (s, query) = match self.0.split_once('?') {
            Some((base, q)) if q.to_ascii_lowercase().contains("password") => (base, "?[redacted]"),
            Some((base, q)) => (base, &self.0[base.len()..base.len() + 1 + q.len()]),
            None => (self.0.as_str(), ""),
        };
        format!("{}{query}", Self::redact_userinfo(s))
    }

    fn redact_userinfo(s: &str) -> String {
        if let Some(scheme_end) = s.find("://") {
            let rest = &s[scheme_end + 3..];
            if let Some(at) = rest.rfind('@') {
                let userinfo = &rest[..at];
                if let Some(colon) = userinfo.find(':') {
                    return format!(
                        "{}{}:[redacted]{}",
                        &s[..scheme_end + 3],
                        &userinfo[..colon],
                        &rest[at..]
                    );
                }
            }
        }
        s.to_owned()
    }
}

impl fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.redacted())
    }
}

impl Serialize for DatabaseUrl {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.redacted())
    }
}
