//! Checks of a loaded configuration that serde cannot express.

use std::time::Duration;

use super::Config;
use crate::error::Error;

impl Config {
    pub(super) fn validate(&self) -> Result<(), Error> {
        let catalogue = self.catalogue();
        for (id, p) in &self.providers {
            let Some(def) = catalogue.provider(id) else {
                return Err(Error::Config(format!("[providers.{id}]: unknown provider")));
            };
            for url in &p.base_url {
                if !(url.starts_with("http://") || url.starts_with("https://")) {
                    return Err(Error::Config(format!(
                        "providers.{id}.base_url {url:?}: must start with http:// or https://"
                    )));
                }
            }
            for url in p.hosts.values().flatten() {
                if !(url.starts_with("http://") || url.starts_with("https://")) {
                    return Err(Error::Config(format!(
                        "providers.{id}.hosts {url:?}: must start with http:// or https://"
                    )));
                }
            }
            for host in p.hosts.keys() {
                if def.host(host).is_none_or(|h| h.name.is_empty()) {
                    return Err(Error::Config(format!(
                        "providers.{id}.hosts.{host}: {id} has no such host"
                    )));
                }
            }
            for name in p.settings.keys() {
                if !def.settings.iter().any(|s| s.name == name) {
                    return Err(Error::Config(format!(
                        "providers.{id}.settings.{name}: {id} has no such setting"
                    )));
                }
            }
            if p.concurrency == Some(0) {
                return Err(Error::Config(format!(
                    "providers.{id}.concurrency must be at least 1"
                )));
            }
            for name in p.resources.keys() {
                if !def.resources.iter().any(|r| r.name == name) {
                    return Err(Error::Config(format!(
                        "providers.{id}.resources.{name}: {id} has no such resource"
                    )));
                }
            }
        }
        if self.worker.concurrency == 0 {
            return Err(Error::Config(
                "worker.concurrency must be at least 1".into(),
            ));
        }
        if self.storage.backend == super::StorageBackend::S3 && self.storage.s3.bucket.is_empty() {
            return Err(Error::Config(
                "LARDER_STORAGE=s3 needs LARDER_S3_BUCKET".into(),
            ));
        }
        for url in [
            &self.storage.s3.endpoint,
            &self.storage.s3.public_base,
            &self.public_url,
        ]
        .into_iter()
        .flatten()
        {
            if !(url.starts_with("http://") || url.starts_with("https://")) {
                return Err(Error::Config(format!(
                    "storage.s3 URL {url:?}: must start with http:// or https://"
                )));
            }
        }
        if self.storage.max_asset_bytes == 0 {
            return Err(Error::Config(
                "storage.max_asset_bytes must be at least 1".into(),
            ));
        }
        if self.upstream.attempts == 0 {
            return Err(Error::Config("upstream.attempts must be at least 1".into()));
        }
        for (name, t) in [
            ("hit_flush_interval", self.hit_flush_interval),
            ("client_idle_timeout", self.client_idle_timeout),
            ("client_write_timeout", self.client_write_timeout),
        ] {
            if t < Duration::from_millis(100) {
                return Err(Error::Config(format!("{name} must be at least 100ms")));
            }
        }
        Ok(())
    }
}
