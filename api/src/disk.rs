//! The optional local disk tier (`LARDER_DISK_CACHE_DIR`): bodies beyond
//! the in-process cache kept in files on local disk and served from the
//! kernel's page cache, as nginx's disk cache and Varnish's file storage
//! are, so a library larger than the in-process cache is not read from the
//! database on every hit.
//!
//! **Layout.** A ring of segment files (at most [`SEGMENT_BYTES`] each,
//! `LARDER_DISK_CACHE_BYTES` in all). Entries are appended to the newest
//! segment with `pwrite`; when the ring is full the oldest segment is
//! retired with every entry in it (first in, first out: popular keys come
//! back on their next read). Each segment is mapped read-only, and a hit's
//! body is a slice of that mapping: no read call and no copy, the socket
//! write takes the bytes from the page cache. What is served from an entry
//! (status, content type, entity tag, times, hit count) stays in memory
//! beside it; only bodies are on disk.
//!
//! **Bounds.** Disk: `LARDER_DISK_CACHE_BYTES`. Memory: each entry is
//! charged at least [`MIN_CHARGE`] bytes of its segment, so the in-memory
//! index holds at most one entry per 4 KiB of the budget (about 300 bytes
//! each). The mapped pages are the kernel's page cache, not the process's
//! heap: under memory pressure the kernel drops them and a hit reads the
//! disk (the request's thread waits, as nginx's worker does).
//!
//! **Files.** Segments are unnamed files (`O_TMPFILE`): nothing else can
//! open or truncate them, several processes can share one folder, and
//! nothing outlives the process, not even after `SIGKILL`.
//!
//! **Invalidation** is the in-process cache's, so it is as correct: a fill
//! notice removes the key, a purge notice clears the tier, and so does the
//! LISTEN connection coming back (notifications may have been missed while
//! it was away); an entry read from the database is kept only if nothing
//! was removed since the read began (the in-process cache's generation,
//! checked again after the insert). A process starts with the tier empty,
//! so one that restarts after missing notifications never serves an entry
//! purged or refilled meanwhile.

use std::collections::VecDeque;
use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::AtomicU32;
use std::sync::{Mutex, MutexGuard, OnceLock, PoisonError};

use bytes::Bytes;
use dashmap::DashMap;
use larder_jobs::names;

use larder_jobs::config::DiskDir;

use crate::hot::{HotCache, HotEntry, now_millis};

/// The largest segment file; the tier is retired by this much at a time
/// (less for a small tier: an eighth of it).
const SEGMENT_BYTES: u64 = 64 * 1024 * 1024;
/// The least an entry is charged in its segment, so tiny entries cannot
/// grow the in-memory index past one entry per 4 KiB of the budget.
const MIN_CHARGE: u64 = 4096;

pub struct DiskTier {
    dir: PathBuf,
    segment_bytes: u64,
    max_segments: usize,
    /// Entries as stored.
    entries: DashMap<u64, Held>,
    /// Identity copies of gzipped entries, for clients that take no coding.
    copies: DashMap<u64, Held>,
    ring: Mutex<Ring>,
    /// `larder_disk_cache_lookups_total`, hit and miss.
    lookups: OnceLock<[metrics::Counter; 2]>,
}

struct Held {
    segment: u64,
    entry: Arc<HotEntry>,
}

struct Ring {
    segments: VecDeque<Arc<Segment>>,
    /// Where the next body goes in the newest segment.
    offset: u64,
    /// What the newest segment's entries are charged (at least `offset`).
    charged: u64,
    next_id: u64,
}

struct Segment {
    id: u64,
    file: File,
    map: memmap2::Mmap,
}

/// A body: a slice of a segment's mapping (the segment lives while any
/// answer still sends it).
struct Slice {
    segment: Arc<Segment>,
    start: usize,
    len: usize,
}

impl AsRef<[u8]> for Slice {
    fn as_ref(&self) -> &[u8] {
        &self.segment.map[self.start..self.start + self.len]
    }
}

#[derive(Debug, thiserror::Error)]
#[error("disk cache {dir}: {why}")]
pub struct DiskError {
    dir: String,
    why: String,
}

/// Which of the two maps.
#[derive(Clone, Copy)]
enum Kind {
    Entry,
    Copy,
}

impl DiskTier {
    /// The tier `LARDER_DISK_CACHE_DIR` asks for, at most
    /// `LARDER_DISK_CACHE_BYTES` and half the file system's free space.
    /// A size of 0 turns it off. `auto` is the system's temporary folder,
    /// unless it is in memory
    /// (tmpfs: the tier would be memory outside the in-process cache's
    /// budget) or cannot be written; a folder given is used or the start
    /// fails.
    pub fn start(dir: &DiskDir, bytes: u64) -> Result<Option<DiskTier>, DiskError> {
        let (dir, auto) = match dir {
            _ if bytes == 0 => return Ok(None),
            DiskDir::Off => return Ok(None),
            DiskDir::Auto => (std::env::temp_dir(), true),
            DiskDir::At(dir) => (dir.clone(), false),
        };
        let fail = |why: String| DiskError {
            dir: dir.display().to_string(),
            why,
        };
        let opened = std::fs::create_dir_all(&dir)
            .and_then(|()| rustix::fs::statfs(&dir).map_err(std::io::Error::from))
            .map_err(|e| fail(e.to_string()))
            .and_then(|fs| {
                if in_memory(&fs) {
                    if auto {
                        return Err(fail(
                            "in memory (tmpfs): set LARDER_DISK_CACHE_DIR to a folder on disk"
                                .into(),
                        ));
                    }
                    tracing::warn!(dir = %dir.display(), "the disk tier's folder is in memory (tmpfs)");
                }
                let free = fs.f_bavail.saturating_mul(fs.f_bsize as u64);
                if free / 2 < 8 * 1024 * 1024 {
                    return Err(fail(format!("only {free} bytes free")));
                }
                let bytes = bytes.min(free / 2);
                DiskTier::open(&dir, bytes).map(|t| (t, bytes))
            });
        match opened {
            Ok((tier, bytes)) => {
                tracing::info!(dir = %dir.display(), bytes, "disk tier on");
                Ok(Some(tier))
            }
            Err(e) if auto => {
                tracing::info!(error = %e, "disk tier off");
                Ok(None)
            }
            Err(e) => Err(e),
        }
    }

    /// The tier in `dir` (created if missing), at most `bytes` on disk.
    pub fn open(dir: &Path, bytes: u64) -> Result<DiskTier, DiskError> {
        let segment_bytes = (bytes / 8).clamp(1024 * 1024, SEGMENT_BYTES);
        let tier = DiskTier {
            dir: dir.to_owned(),
            segment_bytes,
            max_segments: usize::try_from(bytes / segment_bytes)
                .unwrap_or(usize::MAX)
                .max(2),
            entries: DashMap::new(),
            copies: DashMap::new(),
            ring: Mutex::new(Ring {
                segments: VecDeque::new(),
                offset: 0,
                charged: 0,
                next_id: 0,
            }),
            lookups: OnceLock::new(),
        };
        std::fs::create_dir_all(dir).map_err(|e| tier.error(e))?;
        // The first segment now: a folder we cannot write is a start-up
        // error, not a silent tier that keeps nothing.
        let first = tier.segment(0).map_err(|e| tier.error(e))?;
        let mut ring = tier.ring();
        ring.segments.push_back(first);
        ring.next_id = 1;
        drop(ring);
        Ok(tier)
    }

    fn ring(&self) -> MutexGuard<'_, Ring> {
        self.ring.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn error(&self, e: std::io::Error) -> DiskError {
        DiskError {
            dir: self.dir.display().to_string(),
            why: e.to_string(),
        }
    }

    /// A new, empty segment file, mapped.
    fn segment(&self, id: u64) -> std::io::Result<Arc<Segment>> {
        let file = tempfile::tempfile_in(&self.dir)?;
        file.set_len(self.segment_bytes)?;
        // SAFETY: the file is unnamed (O_TMPFILE) and private to this
        // process, never truncated, and a region is only read after it was
        // written, never written again: the mapped bytes do not change
        // under a reader.
        let map = unsafe { memmap2::Mmap::map(&file)? };
        Ok(Arc::new(Segment { id, file, map }))
    }

    /// `key`'s entry, if kept and not past its last day of service; its
    /// identity copy first, when kept, for a client that takes no coding.
    pub fn get(&self, hash: u64, key: &str, identity: bool) -> Option<Arc<HotEntry>> {
        let found = identity
            .then(|| self.find(Kind::Copy, hash, key))
            .flatten()
            .or_else(|| self.find(Kind::Entry, hash, key));
        // Handles made once (on first use: the recorder is installed after
        // the tier opens), not looked up in the registry per hit.
        let [hit, miss] = self.lookups.get_or_init(|| {
            ["hit", "miss"].map(|r| metrics::counter!(names::DISK_LOOKUPS, "result" => r))
        });
        match found {
            Some(_) => hit.increment(1),
            None => miss.increment(1),
        }
        found
    }

    /// `key`'s identity copy, if kept.
    pub fn get_copy(&self, hash: u64, key: &str) -> Option<Arc<HotEntry>> {
        self.find(Kind::Copy, hash, key)
    }

    /// The hits counted on every entry held (entries and copies of one key
    /// summed) since the last call, resetting them.
    pub fn take_hits(&self) -> Vec<(String, u32)> {
        crate::hot::sum_hits(
            [&self.entries, &self.copies]
                .into_iter()
                .flat_map(|m| m.iter().map(|h| h.entry.clone()).collect::<Vec<_>>()),
        )
    }

    fn map(&self, kind: Kind) -> &DashMap<u64, Held> {
        match kind {
            Kind::Entry => &self.entries,
            Kind::Copy => &self.copies,
        }
    }

    fn find(&self, kind: Kind, hash: u64, key: &str) -> Option<Arc<HotEntry>> {
        let held = self.map(kind).get(&hash)?;
        let e = &held.entry;
        (e.key == key && e.keep_until > now_millis()).then(|| e.clone())
    }

    /// Keep `e` (read from the database since `generation`); the kept
    /// entry, its body on disk, when kept.
    pub fn insert(
        &self,
        hot: &HotCache,
        generation: u64,
        hash: u64,
        e: &HotEntry,
    ) -> Option<Arc<HotEntry>> {
        self.keep(Kind::Entry, hot, generation, hash, e)
    }

    /// Keep an identity copy made from an entry read since `generation`.
    pub fn insert_copy(
        &self,
        hot: &HotCache,
        generation: u64,
        hash: u64,
        e: &HotEntry,
    ) -> Option<Arc<HotEntry>> {
        self.keep(Kind::Copy, hot, generation, hash, e)
    }

    fn keep(
        &self,
        kind: Kind,
        hot: &HotCache,
        generation: u64,
        hash: u64,
        e: &HotEntry,
    ) -> Option<Arc<HotEntry>> {
        let len = e.body.len() as u64;
        if len == 0 || len > self.segment_bytes || hot.generation() != generation {
            return None;
        }
        let mut ring = self.ring();
        let charge = len.max(MIN_CHARGE);
        if ring.offset + len > self.segment_bytes || ring.charged + charge > self.segment_bytes {
            self.roll(&mut ring).ok()?;
        }
        let segment = ring.segments.back()?.clone();
        let start = ring.offset;
        if let Err(err) = segment.file.write_all_at(&e.body, start) {
            // A full disk or a failing one: keep nothing, serve on.
            tracing::debug!(error = %err, "disk cache write failed");
            return None;
        }
        ring.offset += len;
        ring.charged += charge;
        let body = Bytes::from_owner(Slice {
            segment: segment.clone(),
            start: start as usize,
            len: len as usize,
        });
        let kept = Arc::new(e.with_body(body));
        // Inserted under the ring's lock: a segment retired meanwhile would
        // otherwise leave this entry pointing into it.
        self.map(kind).insert(
            hash,
            Held {
                segment: segment.id,
                entry: kept.clone(),
            },
        );
        drop(ring);
        // A removal between the check above and the insert: undo.
        if hot.generation() != generation {
            self.map(kind)
                .remove_if(&hash, |_, h| Arc::ptr_eq(&h.entry, &kept));
            return None;
        }
        Some(kept)
    }

    /// Start a new segment, retiring the oldest when the ring is full.
    fn roll(&self, ring: &mut Ring) -> std::io::Result<()> {
        let id = ring.next_id;
        let fresh = self.segment(id)?;
        ring.next_id += 1;
        while ring.segments.len() >= self.max_segments {
            let Some(old) = ring.segments.pop_front() else {
                break;
            };
            // Its file goes when the last answer sending from it is done.
            self.entries.retain(|_, h| h.segment != old.id);
            self.copies.retain(|_, h| h.segment != old.id);
        }
        ring.segments.push_back(fresh);
        ring.offset = 0;
        ring.charged = 0;
        Ok(())
    }

    pub fn remove(&self, hash: u64) {
        self.entries.remove(&hash);
        self.copies.remove(&hash);
    }

    /// Forget everything (the files' space is reused as the ring turns).
    pub fn clear(&self) {
        self.entries.clear();
        self.copies.clear();
    }

    /// Entries held (copies included) and the bytes of disk in use.
    pub fn size(&self) -> (u64, u64) {
        let ring = self.ring();
        let full = ring.segments.len().saturating_sub(1) as u64;
        let used = full * self.segment_bytes + ring.offset;
        ((self.entries.len() + self.copies.len()) as u64, used)
    }
}

impl HotEntry {
    /// The same entry with `body`, a slice of the disk tier's files.
    pub fn with_body(&self, body: Bytes) -> HotEntry {
        HotEntry {
            key: self.key.clone(),
            status: self.status,
            content_type: self.content_type.clone(),
            etag: self.etag.clone(),
            body,
            coding: self.coding,
            fetched_at: self.fetched_at,
            fresh_until: self.fresh_until,
            stale_until: self.stale_until,
            keep_until: self.keep_until,
            hits: AtomicU32::new(0),
            on_disk: true,
        }
    }
}

/// tmpfs or ramfs: files there are memory.
#[allow(clippy::unnecessary_cast)] // f_type's type differs between platforms
fn in_memory(fs: &rustix::fs::StatFs) -> bool {
    const TMPFS_MAGIC: i64 = 0x0102_1994;
    const RAMFS_MAGIC: i64 = 0x8584_58f6;
    matches!(fs.f_type as i64, TMPFS_MAGIC | RAMFS_MAGIC)
}

#[cfg(test)]
mod tests {
    use super::*;
    use larder_jobs::coding::Coding;

    fn entry(key: &str, body: Vec<u8>) -> HotEntry {
        HotEntry::for_test(key, Bytes::from(body), Coding::Gzip)
    }

    #[test]
    fn bodies_round_trip_through_the_files_and_other_keys_do_not_match() {
        let dir = tempfile::tempdir().unwrap();
        let tier = DiskTier::open(dir.path(), 8 << 20).unwrap();
        let hot = HotCache::new(0);
        let body: Vec<u8> = (0..50_000u32).map(|i| (i % 251) as u8).collect();
        let kept = tier
            .insert(&hot, hot.generation(), 7, &entry("k/a", body.clone()))
            .unwrap();
        assert_eq!(kept.body, body);
        let got = tier.get(7, "k/a", false).unwrap();
        assert_eq!(got.body, body);
        assert_eq!(got.etag, "\"e\"");
        assert!(
            tier.get(7, "k/b", false).is_none(),
            "another key with the hash"
        );
        assert!(tier.get_copy(7, "k/a").is_none(), "copies are apart");
        // No file names: nothing in the folder.
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    }

    #[test]
    fn a_folder_given_is_used_and_a_size_of_zero_turns_the_tier_off() {
        let dir = tempfile::tempdir().unwrap();
        let at = DiskDir::At(dir.path().join("tier"));
        assert!(DiskTier::start(&at, 0).unwrap().is_none());
        assert!(DiskTier::start(&DiskDir::Off, 1 << 30).unwrap().is_none());
        // A small size is honoured (not refused for being small).
        let tier = DiskTier::start(&at, 1 << 20).unwrap().unwrap();
        let hot = HotCache::new(0);
        assert!(tier.insert(&hot, 0, 1, &entry("k", vec![1; 10])).is_some());
    }

    #[test]
    fn a_removal_during_a_read_keeps_nothing_and_clear_forgets_all() {
        let dir = tempfile::tempdir().unwrap();
        let tier = DiskTier::open(dir.path(), 8 << 20).unwrap();
        let hot = HotCache::new(1 << 20);
        let g = hot.generation();
        hot.remove(1);
        assert!(tier.insert(&hot, g, 1, &entry("k", vec![1; 10])).is_none());
        assert!(tier.get(1, "k", false).is_none());
        let g = hot.generation();
        tier.insert(&hot, g, 1, &entry("k", vec![1; 10])).unwrap();
        tier.insert_copy(&hot, g, 1, &entry("k", vec![2; 10]))
            .unwrap();
        tier.remove(1);
        assert!(tier.get(1, "k", false).is_none() && tier.get_copy(1, "k").is_none());
        tier.insert(&hot, g, 2, &entry("j", vec![1; 10])).unwrap();
        tier.clear();
        assert!(tier.get(2, "j", false).is_none());
    }

    #[test]
    fn the_ring_retires_the_oldest_entries_and_stays_within_its_bytes() {
        let dir = tempfile::tempdir().unwrap();
        // 2 MiB in 1 MiB segments.
        let tier = DiskTier::open(dir.path(), 2 << 20).unwrap();
        let hot = HotCache::new(0);
        let g = hot.generation();
        for i in 0..100u64 {
            // 100 KiB each: ~10 per segment.
            tier.insert(
                &hot,
                g,
                i,
                &entry(&format!("k/{i}"), vec![i as u8; 100 << 10]),
            )
            .unwrap();
        }
        assert!(tier.get(0, "k/0", false).is_none(), "the oldest is retired");
        let last = tier.get(99, "k/99", false).unwrap();
        assert!(last.body.iter().all(|b| *b == 99));
        let (n, used) = tier.size();
        assert!(n <= 20, "{n} entries held");
        assert!(used <= 2 << 20, "{used} bytes used");
        // Tiny entries are charged 4 KiB each: the index stays bounded.
        for i in 0..10_000u64 {
            tier.insert(&hot, g, 1000 + i, &entry(&format!("t/{i}"), vec![1; 8]));
        }
        let (n, _) = tier.size();
        assert!(n <= 2 * 256, "{n} tiny entries held");
    }
}
