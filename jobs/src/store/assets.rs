//! The record of stored assets: source URL → content hash, type, size.

use super::Store;
use crate::assets::Pointer;
use crate::error::Error;

/// One source URL's stored bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AssetRecord {
    pub url: String,
    pub provider: String,
    pub pointer: Pointer,
}

impl Store {
    /// Record (or refresh) where `url`'s bytes are stored.
    pub async fn record_asset(&self, provider: &str, url: &str, p: &Pointer) -> Result<(), Error> {
        sqlx::query(
            "INSERT INTO larder_assets (url, provider, sha256, content_type, size, object) \
             VALUES ($1, $2, $3, $4, $5, $6) \
             ON CONFLICT (url) DO UPDATE SET provider = EXCLUDED.provider, \
               sha256 = EXCLUDED.sha256, content_type = EXCLUDED.content_type, \
               size = EXCLUDED.size, object = EXCLUDED.object, fetched_at = now()",
        )
        .bind(url)
        .bind(provider)
        .bind(&p.sha256)
        .bind(&p.content_type)
        .bind(p.size as i64)
        .bind(&p.object)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Every recorded URL whose bytes have this hash.
    pub async fn assets_by_hash(&self, sha256: &str) -> Result<Vec<AssetRecord>, Error> {
        let rows: Vec<(String, String, String, String, i64, String)> = sqlx::query_as(
            "SELECT url, provider, sha256, content_type, size, object \
             FROM larder_assets WHERE sha256 = $1 ORDER BY url",
        )
        .bind(sha256)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(
                |(url, provider, sha256, content_type, size, object)| AssetRecord {
                    url,
                    provider,
                    pointer: Pointer {
                        sha256,
                        content_type,
                        size: size as u64,
                        object,
                    },
                },
            )
            .collect())
    }
}
