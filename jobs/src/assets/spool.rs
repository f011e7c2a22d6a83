//! Streaming a download to disk: hashed and capped as it arrives, sniffed
//! from its first bytes, never held whole in memory.

use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};
use tempfile::TempPath;
use tokio::io::AsyncWriteExt;

/// How many leading bytes are kept for sniffing.
const HEAD: usize = 8 * 1024;

/// The image types larder keeps: what browsers and media servers show.
/// Anything else (HTML error pages, JSON, archives, SVG with its scripts)
/// is a failed fill.
const IMAGE_TYPES: &[&str] = &[
    "image/jpeg",
    "image/png",
    "image/gif",
    "image/webp",
    "image/avif",
    "image/bmp",
    "image/vnd.microsoft.icon",
    "image/jxl",
    "image/heif",
    "image/tiff",
];

#[derive(Debug, thiserror::Error)]
pub enum SpoolError {
    #[error("body larger than {0} bytes")]
    TooLarge(u64),
    #[error("cannot spool the download: {0}")]
    Io(#[from] std::io::Error),
}

/// A download being written.
pub struct Spool {
    file: tokio::fs::File,
    path: TempPath,
    hasher: Sha256,
    size: u64,
    head: Vec<u8>,
    cap: u64,
}

/// A finished download: a temporary file (deleted when dropped unless
/// stored), its hash, size and sniffed type.
#[derive(Debug)]
pub struct Download {
    pub path: TempPath,
    /// Hex SHA-256.
    pub sha256: String,
    pub size: u64,
    /// The sniffed image type and its extension; `None`: not an image.
    pub image: Option<(&'static str, &'static str)>,
    /// Where it came from (no credential: image hosts take none).
    pub url: String,
}

/// Two downloads are the same when they are the same file.
impl PartialEq for Download {
    fn eq(&self, other: &Self) -> bool {
        *self.path == *other.path
    }
}

impl Eq for Download {}

impl Spool {
    /// A spool file in `dir` (created when missing), refusing more than
    /// `cap` bytes.
    pub async fn create(dir: &Path, cap: u64) -> Result<Spool, SpoolError> {
        let dir: PathBuf = dir.to_owned();
        let (file, path) = tokio::task::spawn_blocking(move || {
            std::fs::create_dir_all(&dir)?;
            let named = tempfile::Builder::new()
                .prefix(".download-")
                .tempfile_in(&dir)?;
            Ok::<_, std::io::Error>(named.into_parts())
        })
        .await
        .map_err(std::io::Error::other)??;
        Ok(Spool {
            file: tokio::fs::File::from_std(file),
            path,
            hasher: Sha256::new(),
            size: 0,
            head: Vec::new(),
            cap,
        })
    }

    pub async fn write(&mut self, chunk: &[u8]) -> Result<(), SpoolError> {
        self.size += chunk.len() as u64;
        if self.size > self.cap {
            return Err(SpoolError::TooLarge(self.cap));
        }
        if self.head.len() < HEAD {
            let take = (HEAD - self.head.len()).min(chunk.len());
            self.head.extend_from_slice(&chunk[..take]);
        }
        self.hasher.update(chunk);
        self.file.write_all(chunk).await?;
        Ok(())
    }

    /// Flush to disk and describe what was written.
    pub async fn finish(mut self, url: String) -> Result<Download, SpoolError> {
        self.file.flush().await?;
        self.file.sync_data().await?;
        Ok(Download {
            path: self.path,
            sha256: hex::encode(self.hasher.finalize()),
            size: self.size,
            image: sniff_image(&self.head),
            url,
        })
    }
}

/// The image type of these leading bytes, with its extension, by the
/// `infer` crate's signatures.
/// SVG (TMDB's logos) is text that `infer` does not know: a document whose
/// first markup is an `<svg` element (after an XML declaration, comments or
/// a doctype). It is served with a sandboxing CSP, so its scripts never run.
pub fn sniff_image(head: &[u8]) -> Option<(&'static str, &'static str)> {
    match infer::get(head) {
        Some(kind) if IMAGE_TYPES.contains(&kind.mime_type()) => {
            Some((kind.mime_type(), kind.extension()))
        }
        // `infer` calls an SVG with an XML declaration `text/xml`.
        Some(kind) if kind.mime_type() != "text/xml" => None,
        _ => is_svg(head).then_some(("image/svg+xml", "svg")),
    }
}

fn is_svg(head: &[u8]) -> bool {
    let text = String::from_utf8_lossy(&head[..head.len().min(4096)]);
    let mut rest = text.trim_start_matches('\u{feff}').trim_start();
    loop {
        if let Some(r) = rest.strip_prefix("<?") {
            rest = r.split_once("?>").map_or("", |(_, r)| r).trim_start();
        } else if let Some(r) = rest.strip_prefix("<!--") {
            rest = r.split_once("-->").map_or("", |(_, r)| r).trim_start();
        } else if let Some(r) = rest.strip_prefix("<!") {
            rest = r.split_once('>').map_or("", |(_, r)| r).trim_start();
        } else {
            return rest.starts_with("<svg")
                && rest[4..].starts_with(|c: char| c.is_whitespace() || c == '>');
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_images_sniff_as_images() {
        let png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0";
        assert_eq!(sniff_image(png), Some(("image/png", "png")));
        assert_eq!(
            sniff_image(b"\xff\xd8\xff\xe0\0\x10JFIF\0"),
            Some(("image/jpeg", "jpg"))
        );
        for svg in [
            &b"<svg xmlns=\"http://www.w3.org/2000/svg\"></svg>"[..],
            b"<?xml version=\"1.0\"?>\n<!-- logo -->\n<!DOCTYPE svg>\n<svg>",
        ] {
            assert_eq!(sniff_image(svg), Some(("image/svg+xml", "svg")));
        }
        for bad in [
            &b"<html><body>Not Found</body></html>"[..],
            b"{\"status_code\":34}",
            b"PK\x03\x04zipzipzip",
            b"<svgfoo/>",
            b"<html><svg></svg></html>",
            b"",
        ] {
            assert_eq!(sniff_image(bad), None, "{:?}", String::from_utf8_lossy(bad));
        }
    }

    #[tokio::test]
    async fn a_spool_hashes_caps_and_cleans_up() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = Spool::create(dir.path(), 10).await.unwrap();
        s.write(b"hello").await.unwrap();
        let d = s.finish("http://x/y".into()).await.unwrap();
        assert_eq!(
            d.sha256,
            "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"
        );
        assert_eq!(d.size, 5);
        assert_eq!(d.image, None);
        let path = d.path.to_path_buf();
        assert!(path.exists());
        drop(d);
        assert!(!path.exists(), "a dropped download leaves no file");

        let mut s = Spool::create(dir.path(), 10).await.unwrap();
        s.write(b"0123456").await.unwrap();
        assert!(matches!(
            s.write(b"789ab").await,
            Err(SpoolError::TooLarge(10))
        ));
        drop(s);
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    }
}
