//! Everything a request handler can reach.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64};

use larder_jobs::config::Config;
use larder_jobs::keys::Keys;
use larder_jobs::provider::{Catalogue, ProviderSettings};
use larder_jobs::store::Store;
use metrics_exporter_prometheus::PrometheusHandle;

use crate::flight::Flights;
use crate::hot::HotCache;

pub struct State {
    pub config: Arc<Config>,
    pub store: Store,
    pub keys: Keys,
    pub hot: HotCache,
    pub flights: Flights,
    pub lookups: crate::lookup::Lookups,
    pub resolutions: crate::read::Resolutions,
    pub grants: crate::auth::Grants,
    pub keyring: crate::auth::Keyring,
    /// Bumped on every key notice (created, revoked) and listener reconnect
    /// (see `auth`).
    pub grants_generation: AtomicU64,
    pub providers: Vec<ProviderSettings>,
    /// Built-in and custom providers.
    pub catalogue: Catalogue,
    /// The fill listener holds a live connection.
    pub listener_up: AtomicBool,
    pub metrics: PrometheusHandle,
    /// Metric handles of the request path.
    pub meter: crate::meter::Meter,
    /// Where images are.
    pub storage: larder_jobs::assets::Storage,
    /// Small images' bytes by content hash (see `image`).
    pub images: crate::image::ImageCache,
    /// Operators' changes to providers (`/admin/providers`).
    pub overrides: Arc<larder_jobs::provider::Overrides>,
    /// Per-key quota counts.
    pub quotas: Arc<crate::quota::Quotas>,
    /// The disk tier, when configured (see `disk`).
    pub disk: Option<crate::disk::DiskTier>,
    /// `/openapi.json`, built on first request.
    pub openapi: std::sync::OnceLock<bytes::Bytes>,
}

impl State {
    pub fn provider(&self, id: &str) -> Option<&ProviderSettings> {
        self.providers.iter().find(|p| p.def.id == id)
    }
}
