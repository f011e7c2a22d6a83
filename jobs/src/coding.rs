//! Content codings of stored entries.
//!
//! An entry is compressed once, when it is stored: gzip, the one coding
//! every HTTP client accepts, so the common client (a media server, a
//! browser, any HTTP library) is sent the stored bytes as they are, with no
//! work per hit; a client that accepts no coding gets them inflated (and the
//! API keeps that copy of a popular key in its in-process cache).
//! Measured on TMDB documents (`larder-bench codecs`, BENCHMARKS.md (h)):
//! gzip level 6 shrinks a 37 KB movie with credits and images 4.97× (zstd
//! level 3: 5.00×) and a 1.8 KB one 1.84× (zstd: 1.80×); libdeflate inflates
//! the 37 KB one in ~19 µs, no slower than zstd decodes it. Levels above 6
//! gain 2 % for twice the encode time. And most clients (.NET's HttpClient
//! of Jellyfin and Emby, Python, Java) accept gzip but not zstd, so a zstd
//! store would mean a second stored copy or recompression per hit.
//!
//! Types that are compressed already (images, archives) and small bodies
//! are stored as they came.

use std::io::Write;

use bytes::Bytes;
use flate2::Compression;

/// A body below this is stored as it came: gzip's header and trailer (18
/// bytes) and a request's headers outweigh what would be saved.
pub const MIN_BYTES: usize = 512;

/// How a stored body is coded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Coding {
    Identity,
    Gzip,
}

impl Coding {
    /// As stored in `larder_cache.encoding` (NULL for identity).
    pub fn as_stored(self) -> Option<&'static str> {
        match self {
            Coding::Identity => None,
            Coding::Gzip => Some("gzip"),
        }
    }

    pub fn from_stored(s: Option<&str>) -> Result<Coding, String> {
        match s {
            None | Some("") | Some("identity") => Ok(Coding::Identity),
            Some("gzip") => Ok(Coding::Gzip),
            Some(other) => Err(format!("unknown content coding {other:?}")),
        }
    }
}

/// Whether a body of this media type is worth compressing: text and the
/// structured formats (JSON, XML, RSS, JavaScript), not images or archives.
pub fn compressible(content_type: &str) -> bool {
    let essence = content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    let Some((kind, sub)) = essence.split_once('/') else {
        return false;
    };
    kind == "text"
        || sub.ends_with("+json")
        || sub.ends_with("+xml")
        || matches!(
            sub,
            "json" | "xml" | "javascript" | "x-javascript" | "ecmascript" | "x-ndjson"
        )
}

/// The body to store and its coding: gzip when the type is worth it, the
/// body large enough and the result smaller, else the body as it came.
pub fn encode(content_type: &str, body: &Bytes) -> (Coding, Bytes) {
    if body.len() < MIN_BYTES || !compressible(content_type) {
        return (Coding::Identity, body.clone());
    }
    let mut gz =
        flate2::write::GzEncoder::new(Vec::with_capacity(body.len() / 4), Compression::new(6));
    // Writing to a Vec cannot fail.
    if gz.write_all(body).is_err() {
        return (Coding::Identity, body.clone());
    }
    match gz.finish() {
        // Keep it only if it saves something worth a decode.
        Ok(out) if out.len() < body.len() - body.len() / 10 => (Coding::Gzip, Bytes::from(out)),
        _ => (Coding::Identity, body.clone()),
    }
}

/// Gzip whatever `body` is (snapshots are always stored gzipped, so they
/// read one way).
pub fn gzip(body: &[u8]) -> Bytes {
    let mut gz =
        flate2::write::GzEncoder::new(Vec::with_capacity(body.len() / 4), Compression::new(6));
    // Writing to a Vec cannot fail.
    let _ = gz.write_all(body);
    Bytes::from(gz.finish().unwrap_or_default())
}

/// Inflate a gzip body, refusing more than `limit` bytes of output (a
/// corrupt row must not become a memory bomb).
///
/// libdeflate, whole buffer to whole buffer: the output size is in gzip's
/// trailer, and it inflates about twice as fast as a streaming inflater
/// (this is the per-hit cost of a client that accepts no coding).
pub fn gunzip(body: &[u8], limit: usize) -> std::io::Result<Bytes> {
    thread_local! {
        static INFLATER: std::cell::RefCell<libdeflater::Decompressor> =
            std::cell::RefCell::new(libdeflater::Decompressor::new());
    }
    let bad = |why: String| std::io::Error::new(std::io::ErrorKind::InvalidData, why);
    let trailer = body
        .len()
        .checked_sub(4)
        .and_then(|at| body.get(at..))
        .ok_or_else(|| bad("too short for gzip".into()))?;
    let size = u32::from_le_bytes([trailer[0], trailer[1], trailer[2], trailer[3]]) as usize;
    if size > limit {
        return Err(bad(format!("inflates to more than {limit} bytes")));
    }
    let mut out = vec![0u8; size];
    let n = INFLATER
        .with_borrow_mut(|d| d.gzip_decompress(body, &mut out))
        .map_err(|e| bad(format!("not a valid gzip body: {e}")))?;
    if n != size {
        return Err(bad(format!("gzip trailer says {size} bytes, got {n}")));
    }
    Ok(Bytes::from(out))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_is_gzipped_and_comes_back_whole() {
        let body = Bytes::from(
            serde_json::json!({"results": (0..200).map(|i| format!("title {i}")).collect::<Vec<_>>()})
                .to_string(),
        );
        let (coding, stored) = encode("application/json; charset=utf-8", &body);
        assert_eq!(coding, Coding::Gzip);
        assert!(
            stored.len() * 3 < body.len(),
            "{} of {}",
            stored.len(),
            body.len()
        );
        assert_eq!(gunzip(&stored, 1 << 20).unwrap(), body);
        assert!(gunzip(&stored, 100).is_err(), "the output cap holds");
        assert!(
            gunzip(&stored[..stored.len() / 2], 1 << 20).is_err(),
            "a cut body"
        );
        assert!(gunzip(b"{}", 1 << 20).is_err(), "not gzip at all");
    }

    #[test]
    fn images_small_bodies_and_incompressible_ones_are_kept_as_they_came() {
        let big = Bytes::from(vec![b'a'; 4096]);
        assert_eq!(encode("image/png", &big).0, Coding::Identity);
        assert_eq!(
            encode("application/json", &Bytes::from_static(b"{}")).0,
            Coding::Identity
        );
        let noise: Vec<u8> = (0..4096).map(|_| rand::random::<u8>()).collect();
        assert_eq!(
            encode("text/plain", &Bytes::from(noise)).0,
            Coding::Identity
        );
        for t in [
            "application/vnd.api+json",
            "text/html",
            "application/rss+xml",
            "application/xml",
        ] {
            assert!(compressible(t), "{t}");
        }
        for t in [
            "image/jpeg",
            "application/octet-stream",
            "application/zip",
            "garbage",
        ] {
            assert!(!compressible(t), "{t}");
        }
    }

    #[test]
    fn stored_codings_round_trip() {
        for c in [Coding::Identity, Coding::Gzip] {
            assert_eq!(Coding::from_stored(c.as_stored()), Ok(c));
        }
        assert!(Coding::from_stored(Some("br")).is_err());
    }
}
