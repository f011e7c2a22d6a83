//! The optional local disk tier (`LARDER_DISK_CACHE_DIR`): entries read
//! from PostgreSQL are kept on local disk (foyer's hybrid cache, a small
//! memory part in front of a block store), so a library larger than the
//! in-process cache is read from local disk rather than from the database.
//!
//! Its invalidation is the in-process cache's, so it is as correct:
//! - a fill notice removes the key, a purge notice clears the tier, and so
//!   does the LISTEN connection coming back (notifications may have been
//!   missed while it was away);
//! - an entry read from the database is kept only if nothing was removed
//!   since the read began (the in-process cache's generation);
//! - every process starts with the tier empty (its folder is wiped, nothing
//!   recovered), so a process that restarts after missing notifications
//!   never serves an entry purged or refilled meanwhile.

use std::path::Path;

use bytes::Bytes;
use chrono::{DateTime, Utc};
use foyer::{
    BlockEngineConfig, DeviceBuilder, FsDeviceBuilder, HybridCache, HybridCacheBuilder,
    HybridCachePolicy, PsyncIoEngineConfig,
};
use larder_jobs::coding::Coding;
use larder_jobs::key::CacheKey;
use larder_jobs::names;
use larder_jobs::store::Entry;

/// The memory part in front of the disk (the in-process cache is the real
/// memory tier).
const MEMORY_BYTES: usize = 8 * 1024 * 1024;
/// foyer's block size: the largest entry kept (larger ones are read from
/// the database).
const BLOCK_BYTES: usize = 4 * 1024 * 1024;

pub struct DiskTier {
    cache: HybridCache<u64, Vec<u8>>,
}

#[derive(Debug, thiserror::Error)]
#[error("disk cache {dir}: {why}")]
pub struct DiskError {
    dir: String,
    why: String,
}

impl DiskTier {
    /// Open the tier in `dir` (emptied first), at most `bytes` on disk.
    pub async fn open(dir: &Path, bytes: u64) -> Result<DiskTier, DiskError> {
        let fail = |why: String| DiskError {
            dir: dir.display().to_string(),
            why,
        };
        if dir.exists() {
            std::fs::remove_dir_all(dir).map_err(|e| fail(e.to_string()))?;
        }
        std::fs::create_dir_all(dir).map_err(|e| fail(e.to_string()))?;
        let capacity = usize::try_from(bytes)
            .unwrap_or(usize::MAX)
            .max(4 * BLOCK_BYTES);
        let device = FsDeviceBuilder::new(dir)
            .with_capacity(capacity)
            .build()
            .map_err(|e| fail(e.to_string()))?;
        let cache = HybridCacheBuilder::new()
            .with_name("larder-disk")
            .with_policy(HybridCachePolicy::WriteOnInsertion)
            .memory(MEMORY_BYTES)
            .with_weighter(|_, v: &Vec<u8>| 8 + v.len())
            .storage()
            .with_io_engine_config(PsyncIoEngineConfig::new())
            .with_engine_config(BlockEngineConfig::new(device).with_block_size(BLOCK_BYTES))
            .build()
            .await
            .map_err(|e| fail(e.to_string()))?;
        Ok(DiskTier { cache })
    }

    /// `key`'s entry, if kept (and not past its last day of service).
    pub async fn get(&self, key: &CacheKey) -> Option<Entry> {
        let found = match self.cache.get(&key.hash()).await {
            Ok(Some(e)) => decode(key.as_str(), e.value()),
            Ok(None) => None,
            Err(e) => {
                tracing::debug!(error = %e, "disk cache read failed");
                None
            }
        };
        let found = found.filter(|e| e.keep_until > Utc::now());
        let result = if found.is_some() { "hit" } else { "miss" };
        metrics::counter!(names::DISK_LOOKUPS, "result" => result).increment(1);
        found
    }

    pub fn insert(&self, key: &CacheKey, e: &Entry) {
        if e.body.len() + 512 < BLOCK_BYTES {
            self.cache.insert(key.hash(), encode(key.as_str(), e));
        }
    }

    pub fn remove(&self, hash: u64) {
        self.cache.remove(&hash);
    }

    pub async fn clear(&self) {
        if let Err(e) = self.cache.clear().await {
            tracing::warn!(error = %e, "disk cache not cleared");
        }
    }
}

fn coding_byte(c: Coding) -> u8 {
    match c {
        Coding::Identity => 0,
        Coding::Gzip => 1,
    }
}

fn put_str(out: &mut Vec<u8>, s: &str) {
    out.extend_from_slice(&(s.len() as u32).to_le_bytes());
    out.extend_from_slice(s.as_bytes());
}

fn micros(t: DateTime<Utc>) -> [u8; 8] {
    t.timestamp_micros().to_le_bytes()
}

/// key, status, coding, content type, etag, four times, body.
fn encode(key: &str, e: &Entry) -> Vec<u8> {
    let mut out = Vec::with_capacity(64 + key.len() + e.body.len());
    put_str(&mut out, key);
    out.extend_from_slice(&e.status.to_le_bytes());
    out.push(coding_byte(e.coding));
    put_str(&mut out, &e.content_type);
    put_str(&mut out, &e.etag);
    for t in [e.fetched_at, e.fresh_until, e.stale_until, e.keep_until] {
        out.extend_from_slice(&micros(t));
    }
    out.extend_from_slice(&e.body);
    out
}

struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        if self.0.len() < n {
            return None;
        }
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Some(head)
    }
    fn str(&mut self) -> Option<&'a str> {
        let len = u32::from_le_bytes(self.take(4)?.try_into().ok()?) as usize;
        std::str::from_utf8(self.take(len)?).ok()
    }
    fn time(&mut self) -> Option<DateTime<Utc>> {
        DateTime::from_timestamp_micros(i64::from_le_bytes(self.take(8)?.try_into().ok()?))
    }
}

/// The entry `bytes` hold, when they are `key`'s (another key may share
/// the hash).
fn decode(key: &str, bytes: &[u8]) -> Option<Entry> {
    let mut r = Reader(bytes);
    if r.str()? != key {
        return None;
    }
    let status = u16::from_le_bytes(r.take(2)?.try_into().ok()?);
    let coding = match r.take(1)?[0] {
        0 => Coding::Identity,
        1 => Coding::Gzip,
        _ => return None,
    };
    let content_type = r.str()?.to_owned();
    let etag = r.str()?.to_owned();
    let (fetched_at, fresh_until, stale_until, keep_until) =
        (r.time()?, r.time()?, r.time()?, r.time()?);
    Some(Entry {
        status,
        content_type,
        body: Bytes::copy_from_slice(r.0),
        coding,
        etag,
        fetched_at,
        fresh_until,
        stale_until,
        keep_until,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_round_trip_and_other_keys_do_not_match() {
        let t = DateTime::from_timestamp_micros(1_800_000_000_123_456).unwrap();
        let e = Entry {
            status: 200,
            content_type: "application/json".into(),
            body: Bytes::from_static(b"\x1f\x8b gzipped"),
            coding: Coding::Gzip,
            etag: "\"abc\"".into(),
            fetched_at: t,
            fresh_until: t,
            stale_until: t,
            keep_until: t,
        };
        let bytes = encode("tmdb/movie/550", &e);
        let back = decode("tmdb/movie/550", &bytes).unwrap();
        assert_eq!(back.body, e.body);
        assert_eq!(back.etag, e.etag);
        assert_eq!(back.keep_until, t);
        assert!(matches!(back.coding, Coding::Gzip));
        assert!(decode("tmdb/movie/551", &bytes).is_none());
        assert!(decode("tmdb/movie/550", &bytes[..10]).is_none());
    }
}
