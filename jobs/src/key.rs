//! Cache keys.

use std::fmt;

/// The canonical key of a cached resource: `provider/resource-path?sorted=params`.
///
/// Built by [`crate::provider::Catalogue::resolve`], so two requests that
/// mean the same thing always map to the same key (and, for ending a fill
/// whose key no longer resolves, by [`CacheKey::from_stored`]).
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct CacheKey {
    text: String,
    hash: u64,
}

impl CacheKey {
    pub(crate) fn new(text: String) -> Self {
        let hash = xxhash_rust::xxh3::xxh3_64(text.as_bytes());
        Self { text, hash }
    }

    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// xxh3 of the key: names the advisory lock and the fill notification.
    pub fn hash(&self) -> u64 {
        self.hash
    }

    /// The hash as the `bigint` Postgres advisory locks take.
    pub fn lock_id(&self) -> i64 {
        self.hash as i64
    }

    /// The provider part of the key.
    pub fn provider(&self) -> &str {
        self.text.split('/').next().unwrap_or_default()
    }
}

impl fmt::Debug for CacheKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CacheKey({})", self.text)
    }
}

impl fmt::Display for CacheKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

/// Formats a key hash the way fill notifications carry it.
pub fn hash_hex(hash: u64) -> String {
    format!("{hash:016x}")
}

impl CacheKey {
    /// Rebuild a key from text read back from the queue or the database,
    /// when it no longer resolves against the catalogue but the fill record
    /// named by it must still be ended. Prefer `Catalogue::resolve_key`.
    pub fn from_stored(text: &str) -> Option<CacheKey> {
        (!text.is_empty() && text.len() <= 4096).then(|| CacheKey::new(text.to_owned()))
    }
}
