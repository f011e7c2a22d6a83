//! A fill's images: storing a downloaded one, and prefetching those a
//! stored record names.

use std::sync::Arc;

use larder_jobs::assets::{self, Download, Pointer};
use larder_jobs::job::FetchReason;
use larder_jobs::key::CacheKey;
use larder_jobs::names;
use larder_jobs::provider::Fill;
use larder_jobs::store::{FailKind, Failure};

use crate::fetch::Fetcher;

impl Fetcher {
    /// Enqueue the images a stored record references (when its provider is
    /// set to prefetch them) that are neither cached nor being filled: the
    /// same one-fill-per-key path as a miss. Best effort: a failure here
    /// costs a later miss, not this fill.
    pub(crate) async fn prefetch(&self, fill: &Fill<'_>, body: &[u8]) {
        let paths = fill.settings.def.adapter.assets(fill, body);
        if paths.is_empty() {
            return;
        }
        let provider = fill.settings.def.id;
        let keys: Vec<CacheKey> = paths
            .iter()
            .filter_map(|p| self.catalogue.resolve(provider, p, "").ok())
            .map(|r| r.key)
            .collect();
        let texts: Vec<&str> = keys.iter().map(CacheKey::as_str).collect();
        let cached = match self.store.lookup_many(&texts).await {
            Ok(found) => found.into_iter().map(|(k, _)| k).collect::<Vec<_>>(),
            Err(e) => {
                tracing::debug!(error = %e, "prefetch lookup failed; skipped");
                return;
            }
        };
        for key in keys
            .iter()
            .filter(|k| !cached.iter().any(|c| c == k.as_str()))
        {
            if let Err(e) = self.store.enqueue(key, FetchReason::Miss).await {
                tracing::debug!(key = %key, error = %e, "prefetch not enqueued");
                return;
            }
            metrics::counter!(names::PREFETCHED, "provider" => provider).increment(1);
        }
    }

    /// Put a downloaded image in asset storage under its content-addressed
    /// name (identical bytes are stored once) and record its source URL.
    /// `Ok(Err(_))`: storage failed, nothing is kept (the spool file goes).
    pub(crate) async fn keep_asset(
        &self,
        provider: &'static str,
        download: Arc<Download>,
    ) -> Result<Result<Pointer, Failure>, larder_jobs::Error> {
        let Ok(download) = Arc::try_unwrap(download) else {
            tracing::error!(provider, "download still shared when stored");
            return Ok(Err(FailKind::Storage.into()));
        };
        let Some((content_type, ext)) = download.image else {
            return Ok(Err(FailKind::Upstream.into()));
        };
        let pointer = Pointer {
            object: assets::object_name(provider, &download.sha256, ext),
            sha256: download.sha256.clone(),
            content_type: content_type.to_owned(),
            size: download.size,
        };
        let url = download.url.clone();
        match self
            .storage
            .put(&pointer.object, download, content_type)
            .await
        {
            Ok(written) => {
                if written {
                    metrics::counter!(names::ASSETS_STORED_BYTES, "provider" => provider)
                        .increment(pointer.size);
                }
            }
            Err(e) => {
                tracing::warn!(provider, storage = %self.storage.describe(), error = %e, "asset storage failed; image not stored");
                return Ok(Err(FailKind::Storage.into()));
            }
        }
        self.patiently(|| self.store.record_asset(provider, &url, &pointer))
            .await?;
        Ok(Ok(pointer))
    }
}
