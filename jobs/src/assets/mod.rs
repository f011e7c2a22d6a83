//! Assets: images that records reference or that image routes ask for.
//!
//! A download is streamed to a spool file while it is hashed (SHA-256) and
//! its first bytes are kept for sniffing ([`Spool`]); nothing holds the
//! whole image in memory. The bytes are stored once under a
//! content-addressed name, `{provider}/{sha256[0..2]}/{sha256}.{ext}` (ext
//! from the sniffed type, never from the URL), by a [`Storage`] backend
//! that writes an object whole or not at all. The cache entry of an image
//! key is a small [`Pointer`] to that object: the hit path, the single
//! fill per key and the NOTIFY wake-ups are the same as for JSON.

mod spool;
mod storage;

pub use spool::{Download, Spool, SpoolError};
pub use storage::{Object, Storage, StorageError};

use serde::{Deserialize, Serialize};

/// The content type of a cache entry that points at a stored asset.
pub const POINTER_TYPE: &str = "application/vnd.larder.asset+json";

/// A cache entry's pointer to a stored asset.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pointer {
    /// Hex SHA-256 of the bytes: the object's name, and the image's ETag.
    pub sha256: String,
    /// The sniffed type (`image/jpeg`).
    pub content_type: String,
    pub size: u64,
    /// The object's name in storage.
    pub object: String,
}

impl Pointer {
    pub fn to_json(&self) -> bytes::Bytes {
        bytes::Bytes::from(serde_json::to_vec(self).unwrap_or_default())
    }

    pub fn from_json(body: &[u8]) -> Option<Pointer> {
        let p: Pointer = serde_json::from_slice(body).ok()?;
        (p.sha256.len() == 64 && object_ok(&p.object)).then_some(p)
    }
}

/// The object name of bytes with this hash and sniffed extension.
pub fn object_name(provider: &str, sha256: &str, ext: &str) -> String {
    format!("{provider}/{}/{sha256}.{ext}", &sha256[..2])
}

/// An object name larder made: no way out of the storage folder.
fn object_ok(object: &str) -> bool {
    !object.is_empty()
        && object.len() <= 256
        && !object.starts_with('/')
        && object.split('/').all(|part| {
            !part.is_empty()
                && part != ".."
                && part != "."
                && part
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pointers_round_trip_and_refuse_paths_out() {
        let sha = "ab".repeat(32);
        let p = Pointer {
            sha256: sha.clone(),
            content_type: "image/png".into(),
            size: 10,
            object: object_name("tmdb", &sha, "png"),
        };
        assert_eq!(p.object, format!("tmdb/ab/{sha}.png"));
        assert_eq!(Pointer::from_json(&p.to_json()), Some(p.clone()));
        for bad in ["../etc/passwd", "/abs", "a//b", "a/./b", ""] {
            let q = Pointer {
                object: bad.into(),
                ..p.clone()
            };
            assert_eq!(Pointer::from_json(&q.to_json()), None, "{bad}");
        }
    }
}
