//! The configuration in effect, as `larder check` prints it and
//! `/admin/config` answers it (secrets serialise redacted).

use super::Config;
use crate::provider::{ProviderSettings, RateSetting};

impl Config {
    /// This configuration with every provider's base URLs and rate filled
    /// in (not only the ones set), so what is printed is what runs.
    pub fn effective(&self) -> Config {
        let mut effective = self.clone();
        for p in ProviderSettings::all(self) {
            let entry = effective.providers.entry(p.def.id.to_owned()).or_default();
            for (host, urls) in &p.hosts {
                if host.is_empty() {
                    entry.base_url = urls.clone();
                } else {
                    entry.hosts.insert((*host).to_owned(), urls.clone());
                }
            }
            entry.rate = Some(RateSetting(p.rate.to_string()));
            entry.burst = Some(p.rate.burst);
        }
        effective
    }
}
