//! Where asset bytes live: a folder, or an S3-compatible bucket. An object
//! is written whole or not at all: a rename of a finished spool file into
//! place for the folder, a single PUT or a completed multipart upload for
//! S3. Every operation has a time limit; a backend that fails is
//! [`StorageError::Unavailable`] (a 503 for the image), and the next
//! operation tries again: recovery needs no restart.

use std::io;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::time::Duration;

use bytes::Bytes;
use futures_util::{Stream, StreamExt};

use super::Download;
use crate::config::{StorageBackend, StorageConfig};

mod s3;

#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    #[error("no such object")]
    NotFound,
    #[error("storage unavailable: {0}")]
    Unavailable(String),
}

impl From<io::Error> for StorageError {
    fn from(e: io::Error) -> Self {
        match e.kind() {
            io::ErrorKind::NotFound => StorageError::NotFound,
            _ => StorageError::Unavailable(e.to_string()),
        }
    }
}

/// A stored object being read.
pub struct Object {
    /// Known for a file; S3 streams without saying (the pointer knows).
    pub size: Option<u64>,
    pub body: Pin<Box<dyn Stream<Item = io::Result<Bytes>> + Send>>,
}

impl Object {
    /// The whole object (for small ones), at most `max` bytes.
    pub async fn collect(mut self, max: u64) -> Result<Bytes, StorageError> {
        let mut out = Vec::with_capacity(self.size.unwrap_or(0).min(max) as usize);
        while let Some(chunk) = self.body.next().await {
            let chunk = chunk?;
            if (out.len() + chunk.len()) as u64 > max {
                return Err(StorageError::Unavailable("object larger than said".into()));
            }
            out.extend_from_slice(&chunk);
        }
        Ok(out.into())
    }
}

pub enum Storage {
    Local { dir: PathBuf, timeout: Duration },
    S3(Box<s3::S3Store>),
}

impl Storage {
    pub fn from_config(config: &StorageConfig) -> Result<Storage, crate::Error> {
        Ok(match config.backend {
            StorageBackend::Local => Storage::Local {
                dir: config.dir.clone(),
                timeout: config.timeout,
            },
            StorageBackend::S3 => Storage::S3(Box::new(s3::S3Store::new(config)?)),
        })
    }

    /// What it is, for logs (no credential).
    pub fn describe(&self) -> String {
        match self {
            Storage::Local { dir, .. } => format!("folder {}", dir.display()),
            Storage::S3(s) => s.describe(),
        }
    }

    /// Where downloads are spooled: inside the folder for `local` (so the
    /// final rename stays on one file system), the temporary folder else.
    pub fn spool_dir(&self) -> PathBuf {
        match self {
            Storage::Local { dir, .. } => dir.join(".spool"),
            Storage::S3(_) => std::env::temp_dir().join("larder-spool"),
        }
    }

    /// Remove spool files left by a process killed mid-download (older
    /// than an hour: another worker may be writing a fresh one). Returns
    /// how many went.
    pub fn sweep_spool(&self) -> usize {
        let Ok(entries) = std::fs::read_dir(self.spool_dir()) else {
            return 0;
        };
        let old = std::time::SystemTime::now() - Duration::from_secs(3600);
        entries
            .flatten()
            .filter(|e| e.file_name().to_string_lossy().starts_with(".download-"))
            .filter(|e| {
                e.metadata()
                    .and_then(|m| m.modified())
                    .is_ok_and(|t| t < old)
            })
            .filter(|e| std::fs::remove_file(e.path()).is_ok())
            .count()
    }

    fn timeout(&self) -> Duration {
        match self {
            Storage::Local { timeout, .. } => *timeout,
            Storage::S3(s) => s.timeout,
        }
    }

    /// Store a download as `object`. The same bytes are stored once: an
    /// object already there with the same size is kept as it is (its name
    /// is its hash). `Ok(true)` when bytes were written.
    pub async fn put(
        &self,
        object: &str,
        download: Download,
        content_type: &str,
    ) -> Result<bool, StorageError> {
        let work = async {
            match self {
                Storage::Local { dir, .. } => put_local(dir, object, download).await,
                Storage::S3(s) => s.put(object, download, content_type).await,
            }
        };
        tokio::time::timeout(self.timeout(), work)
            .await
            .map_err(|_| StorageError::Unavailable("storage timed out".into()))?
    }

    /// Open `object` for reading.
    pub async fn get(&self, object: &str) -> Result<Object, StorageError> {
        let work = async {
            match self {
                Storage::Local { dir, .. } => {
                    let file = tokio::fs::File::open(dir.join(object)).await?;
                    let size = file.metadata().await?.len();
                    let body = tokio_util::io::ReaderStream::with_capacity(file, 64 * 1024);
                    Ok(Object {
                        size: Some(size),
                        body: Box::pin(body),
                    })
                }
                Storage::S3(s) => s.get(object).await,
            }
        };
        tokio::time::timeout(self.timeout(), work)
            .await
            .map_err(|_| StorageError::Unavailable("storage timed out".into()))?
    }

    /// A URL the client can fetch `object` from directly (the public base,
    /// or a presigned URL); `None` for the folder backend.
    pub async fn url(&self, object: &str) -> Result<Option<String>, StorageError> {
        match self {
            Storage::Local { .. } => Ok(None),
            Storage::S3(s) => s.url(object).await.map(Some),
        }
    }
}

async fn put_local(dir: &Path, object: &str, download: Download) -> Result<bool, StorageError> {
    let target = dir.join(object);
    tokio::task::spawn_blocking(move || {
        if std::fs::metadata(&target).is_ok_and(|m| m.len() == download.size) {
            return Ok::<bool, io::Error>(false);
        }
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent)?;
        }
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&download.path, std::fs::Permissions::from_mode(0o644))?;
        }
        // A rename: the object appears whole or not at all.
        download
            .path
            .persist(&target)
            .map(|_| true)
            .map_err(|e| e.error)
    })
    .await
    .map_err(io::Error::other)
    .and_then(|r| r)
    // Whatever went wrong writing is the backend failing, never "not found".
    .map_err(|e| StorageError::Unavailable(e.to_string()))
}
