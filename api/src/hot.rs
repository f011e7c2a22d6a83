//! The in-process cache in front of Postgres. A hit here costs no database
//! round trip. It is kept coherent across API processes by notifications:
//! every fill and purge is announced, and each process drops its copy; a
//! process whose listener lost its connection drops everything.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use hyper::header::HeaderValue;
use larder_jobs::coding::{self, Coding};
use larder_jobs::key::CacheKey;
use larder_jobs::store::Entry;

/// An entry ready to serve: header values prebuilt, times in unix millis.
#[derive(Debug)]
pub struct HotEntry {
    pub key: String,
    pub status: u16,
    pub content_type: HeaderValue,
    /// The entity tag of this representation: the stored one for identity,
    /// with `-gzip` inside the quotes for gzip (RFC 9110 §8.8.3: one tag
    /// per representation).
    pub etag: HeaderValue,
    /// Coded by `coding`.
    pub body: Bytes,
    pub coding: Coding,
    pub fetched_at: i64,
    pub fresh_until: i64,
    pub stale_until: i64,
    pub keep_until: i64,
    /// Answers served from this entry since the hits were last taken
    /// ([`HotCache::take_hits`]): refresh-ahead's popularity, counted
    /// without a database write per hit.
    pub hits: AtomicU32,
    /// Held by the disk tier (its body a slice of the tier's files): its
    /// identity copy is kept there only, not in memory.
    pub on_disk: bool,
}

/// Where an entry stands at a given instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Freshness {
    Fresh,
    /// Past fresh, inside the stale window: serve and refresh.
    Stale,
    /// Past the stale window, inside max_stale_on_error: fill, and serve this
    /// only if the fill fails.
    OnErrorOnly,
    Dead,
}

pub fn now_millis() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

impl HotEntry {
    pub fn from_entry(key: &str, e: &Entry) -> Option<Arc<HotEntry>> {
        Some(Arc::new(HotEntry {
            key: key.to_owned(),
            status: e.status,
            content_type: HeaderValue::from_str(&e.content_type).ok()?,
            etag: HeaderValue::from_str(&coded_etag(&e.etag, e.coding)).ok()?,
            body: e.body.clone(),
            coding: e.coding,
            fetched_at: e.fetched_at.timestamp_millis(),
            fresh_until: e.fresh_until.timestamp_millis(),
            stale_until: e.stale_until.timestamp_millis(),
            keep_until: e.keep_until.timestamp_millis(),
            hits: AtomicU32::new(0),
            on_disk: false,
        }))
    }

    /// The same entry as identity: a gzip body inflated (at most `limit`
    /// bytes).
    pub fn identity(&self, limit: usize) -> std::io::Result<HotEntry> {
        let body = match self.coding {
            Coding::Identity => self.body.clone(),
            Coding::Gzip => coding::gunzip(&self.body, limit)?,
        };
        let etag = self
            .etag
            .to_str()
            .unwrap_or_default()
            .replace("-gzip\"", "\"");
        Ok(HotEntry {
            key: self.key.clone(),
            status: self.status,
            content_type: self.content_type.clone(),
            etag: HeaderValue::from_str(&etag).map_err(std::io::Error::other)?,
            body,
            coding: Coding::Identity,
            fetched_at: self.fetched_at,
            fresh_until: self.fresh_until,
            stale_until: self.stale_until,
            keep_until: self.keep_until,
            hits: AtomicU32::new(0),
            on_disk: false,
        })
    }

    /// A fresh 200 entry (tests).
    #[cfg(test)]
    pub(crate) fn for_test(key: &str, body: Bytes, coding: Coding) -> HotEntry {
        HotEntry {
            key: key.into(),
            status: 200,
            content_type: HeaderValue::from_static("application/json"),
            etag: HeaderValue::from_static("\"e\""),
            body,
            coding,
            fetched_at: 0,
            fresh_until: i64::MAX,
            stale_until: i64::MAX,
            keep_until: i64::MAX,
            hits: AtomicU32::new(0),
            on_disk: false,
        }
    }

    pub fn freshness(&self, now: i64) -> Freshness {
        if now < self.fresh_until {
            Freshness::Fresh
        } else if now < self.stale_until {
            Freshness::Stale
        } else if now < self.keep_until {
            Freshness::OnErrorOnly
        } else {
            Freshness::Dead
        }
    }

    /// Seconds since the upstream answered.
    pub fn age(&self, now: i64) -> u64 {
        ((now - self.fetched_at).max(0) / 1000) as u64
    }

    /// Seconds of freshness left.
    pub fn max_age(&self, now: i64) -> u64 {
        ((self.fresh_until - now).max(0) / 1000) as u64
    }
}

/// A coded representation's entity tag, from the identity one.
fn coded_etag(etag: &str, coding: Coding) -> String {
    match coding {
        Coding::Identity => etag.to_owned(),
        Coding::Gzip => match etag.strip_suffix('"') {
            Some(open) => format!("{open}-gzip\""),
            None => format!("{etag}-gzip"),
        },
    }
}

/// The hits counted on `entries` since the last call, summed by key and
/// reset.
pub fn sum_hits(entries: impl Iterator<Item = Arc<HotEntry>>) -> Vec<(String, u32)> {
    let mut out: std::collections::HashMap<String, u32> = std::collections::HashMap::new();
    for e in entries {
        let n = e.hits.swap(0, Ordering::Relaxed);
        if n > 0 {
            *out.entry(e.key.clone()).or_default() += n;
        }
    }
    out.into_iter().collect()
}

/// Fixed cost of one hot entry beyond its texts.
const ENTRY_OVERHEAD: usize = 400;

/// Size-bounded (by what entries weigh), keyed by the key's xxh3.
///
/// Two caches: the entries as stored, and the identity copies of gzipped
/// ones made for clients that accept no coding. The copies have a budget of
/// their own (a quarter of the entries', on top), so a crowd of such clients
/// cannot push the stored entries out (every copy is ~5× its entry) and send
/// every other request to the database.
///
/// Every removal bumps a generation. A reader captures it before reading
/// the database and inserts what it read only if no removal happened
/// meanwhile: otherwise a purge or fill that landed during the read would be
/// undone by the older copy.
#[derive(Clone)]
pub struct HotCache {
    inner: Option<moka::sync::Cache<u64, Arc<HotEntry>>>,
    copies: Option<moka::sync::Cache<u64, Arc<HotEntry>>>,
    generation: Arc<AtomicU64>,
}

/// A cache of at most `max_bytes`, entries weighed by what they hold.
fn weighed(max_bytes: u64) -> Option<moka::sync::Cache<u64, Arc<HotEntry>>> {
    (max_bytes > 0).then(|| {
        moka::sync::Cache::builder()
            .max_capacity(max_bytes)
            .weigher(|_, e: &Arc<HotEntry>| {
                // What an entry really holds: its body, key and header
                // texts, and the fixed parts (the entry and its Arc,
                // moka's node, order-queue links and map slot: about
                // 400 bytes). `bench/run.sh memory` checks the sum.
                let texts = e.key.len() + e.content_type.len() + e.etag.len();
                (e.body.len() + texts + ENTRY_OVERHEAD)
                    .try_into()
                    .unwrap_or(u32::MAX)
            })
            .build()
    })
}

impl HotCache {
    /// Entries up to `max_bytes`, identity copies up to a quarter of it.
    pub fn new(max_bytes: u64) -> Self {
        HotCache {
            inner: weighed(max_bytes),
            copies: weighed(max_bytes / 4),
            generation: Arc::new(AtomicU64::new(0)),
        }
    }

    /// Capture before reading the database; pass to [`HotCache::insert`].
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::SeqCst)
    }

    pub fn get(&self, hash: u64, key: &str) -> Option<Arc<HotEntry>> {
        let e = self.inner.as_ref()?.get(&hash)?;
        (e.key == key).then_some(e)
    }

    /// Insert what was read from the database since `generation`, unless
    /// something was removed meanwhile.
    pub fn insert(&self, generation: u64, hash: u64, e: Arc<HotEntry>) {
        if let Some(c) = &self.inner
            && self.generation() == generation
        {
            c.insert(hash, e);
        }
    }

    /// The identity copy of an entry, if kept.
    pub fn get_copy(&self, hash: u64, key: &str) -> Option<Arc<HotEntry>> {
        let e = self.copies.as_ref()?.get(&hash)?;
        (e.key == key).then_some(e)
    }

    /// Keep an identity copy made from an entry read since `generation`
    /// (see [`HotCache::insert`]).
    pub fn insert_copy(&self, generation: u64, hash: u64, e: Arc<HotEntry>) {
        if let Some(c) = &self.copies
            && self.generation() == generation
        {
            c.insert(hash, e);
        }
    }

    /// Prepare an entry read from the database since `generation` for
    /// serving, and keep it (see [`HotCache::insert`]).
    pub fn remember(&self, generation: u64, key: &CacheKey, e: &Entry) -> Option<Arc<HotEntry>> {
        let hot = HotEntry::from_entry(key.as_str(), e)?;
        self.insert(generation, key.hash(), hot.clone());
        Some(hot)
    }

    /// Drop an entry and its identity copy.
    pub fn remove(&self, hash: u64) {
        self.generation.fetch_add(1, Ordering::SeqCst);
        for c in [&self.inner, &self.copies].into_iter().flatten() {
            c.invalidate(&hash);
        }
    }

    /// The hits counted on every entry held (entries and copies of one key
    /// summed) since the last call, resetting them.
    pub fn take_hits(&self) -> Vec<(String, u32)> {
        sum_hits(
            [&self.inner, &self.copies]
                .into_iter()
                .flatten()
                .flat_map(|c| c.iter().map(|(_, e)| e)),
        )
    }

    /// Entries held and the bytes they weigh (for the metrics).
    pub fn size(&self) -> (u64, u64) {
        [&self.inner, &self.copies]
            .into_iter()
            .flatten()
            .fold((0, 0), |(n, b), c| {
                (n + c.entry_count(), b + c.weighted_size())
            })
    }

    pub fn clear(&self) {
        self.generation.fetch_add(1, Ordering::SeqCst);
        for c in [&self.inner, &self.copies].into_iter().flatten() {
            c.invalidate_all();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(key: &str) -> Arc<HotEntry> {
        Arc::new(HotEntry::for_test(
            key,
            Bytes::from_static(b"{}"),
            Coding::Identity,
        ))
    }

    #[test]
    fn hits_are_taken_once_and_summed_over_entry_and_copy() {
        let hot = HotCache::new(1 << 20);
        let (a, b) = (entry("k/a"), entry("k/b"));
        hot.insert(hot.generation(), 1, a.clone());
        hot.insert_copy(hot.generation(), 1, entry("k/a"));
        hot.insert(hot.generation(), 2, b.clone());
        a.hits.fetch_add(3, Ordering::Relaxed);
        hot.get_copy(1, "k/a")
            .unwrap()
            .hits
            .fetch_add(2, Ordering::Relaxed);
        let mut taken = hot.take_hits();
        taken.sort();
        assert_eq!(taken, vec![("k/a".to_owned(), 5)]);
        assert!(hot.take_hits().is_empty());
    }

    #[test]
    fn a_removal_or_a_clear_drops_the_entry_and_its_copy_and_stops_older_reads() {
        let hot = HotCache::new(1 << 20);
        for wipe in [true, false] {
            let g = hot.generation();
            hot.insert(g, 1, entry("k"));
            hot.insert_copy(g, 1, entry("k"));
            assert!(hot.get(1, "k").is_some() && hot.get_copy(1, "k").is_some());
            if wipe {
                hot.clear();
            } else {
                hot.remove(1);
            }
            assert!(hot.get(1, "k").is_none(), "entry kept (clear: {wipe})");
            assert!(hot.get_copy(1, "k").is_none(), "copy kept (clear: {wipe})");
            // A read that began before the removal keeps nothing.
            hot.insert_copy(g, 1, entry("k"));
            hot.insert(g, 1, entry("k"));
            assert!(hot.get(1, "k").is_none() && hot.get_copy(1, "k").is_none());
        }
    }
}
