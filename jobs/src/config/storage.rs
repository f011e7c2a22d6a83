//! Where assets (images) are kept: `LARDER_STORAGE` and friends.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::{Secret, duration_str};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum StorageBackend {
    /// A folder (`LARDER_STORAGE_DIR`).
    #[default]
    Local,
    /// An S3-compatible bucket.
    S3,
}

/// `LARDER_STORAGE` and friends: where assets (images) are kept.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct StorageConfig {
    /// `LARDER_STORAGE`: `local` or `s3`.
    pub backend: StorageBackend,
    /// `LARDER_STORAGE_DIR`: the folder of the `local` backend.
    pub dir: std::path::PathBuf,
    pub s3: S3Config,
    /// `LARDER_IMAGE_REDIRECT`: answer image routes with a 302 to the
    /// object's public (or presigned) URL instead of the bytes.
    pub redirect: bool,
    /// `LARDER_ASSET_MAX_BYTES`: the largest asset downloaded (enforced
    /// while streaming).
    pub max_asset_bytes: u64,
    /// `LARDER_STORAGE_TIMEOUT`: one storage operation (a PUT of a whole
    /// object, a GET's first byte).
    #[serde(with = "duration_str")]
    pub timeout: Duration,
}

/// An S3-compatible store (AWS S3, MinIO, Aliyun OSS…).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct S3Config {
    /// `LARDER_S3_BUCKET`.
    pub bucket: String,
    /// `LARDER_S3_REGION` (`us-east-1` when unset).
    pub region: String,
    /// `LARDER_S3_ENDPOINT`: unset for AWS itself.
    pub endpoint: Option<String>,
    /// `LARDER_S3_ACCESS_KEY_ID`.
    pub access_key_id: Option<Secret>,
    /// `LARDER_S3_SECRET_ACCESS_KEY`.
    pub secret_access_key: Option<Secret>,
    /// `LARDER_S3_PATH_STYLE`: `bucket` in the path, not the host name
    /// (MinIO and most self-hosted stores).
    pub path_style: bool,
    /// `LARDER_S3_PUBLIC_BASE`: the public URL objects are reachable under
    /// (a CDN, a public bucket); redirects go there.
    pub public_base: Option<String>,
    /// `LARDER_S3_PRESIGN_TTL`: without a public base, redirects go to
    /// presigned URLs valid this long.
    #[serde(with = "duration_str")]
    pub presign_ttl: Duration,
}

impl Default for StorageConfig {
    fn default() -> Self {
        StorageConfig {
            backend: StorageBackend::Local,
            dir: "./data/assets".into(),
            s3: S3Config {
                region: "us-east-1".into(),
                presign_ttl: Duration::from_secs(3600),
                ..S3Config::default()
            },
            redirect: false,
            max_asset_bytes: 20 * 1024 * 1024,
            timeout: Duration::from_secs(30),
        }
    }
}
