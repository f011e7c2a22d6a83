//! A provider's settings after configuration: where to call, with which
//! credential and User-Agent, how fast, and whether it is on at all.

use std::collections::BTreeMap;

use super::{ProviderDef, Rate};
use crate::config::{Config, Secret};

#[derive(Debug, Clone)]
pub struct ProviderSettings {
    pub def: &'static ProviderDef,
    /// `Err(reason)` when disabled.
    pub enabled: Result<(), String>,
    /// Base URLs (mirrors) per host name, main host `""` first.
    pub hosts: Vec<(&'static str, Vec<String>)>,
    /// The provider's settings that are set, by name; a credential pool is
    /// split on commas.
    values: BTreeMap<&'static str, Vec<Secret>>,
    pub rate: Rate,
    /// Fills of this provider run at once in one worker process (`None`: no cap
    /// beyond the worker's).
    pub concurrency: Option<usize>,
}

impl ProviderSettings {
    pub fn new(def: &'static ProviderDef, config: &Config) -> Self {
        let pc = config.provider(def.id).cloned().unwrap_or_default();
        let hosts = def
            .hosts
            .iter()
            .map(|h| {
                let configured: &[String] = if h.name.is_empty() {
                    &pc.base_url
                } else {
                    pc.hosts.get(h.name).map(Vec::as_slice).unwrap_or(&[])
                };
                let urls = if configured.is_empty() {
                    h.urls.iter().map(|s| s.to_string()).collect()
                } else {
                    configured
                        .iter()
                        .map(|s| s.trim_end_matches('/').to_string())
                        .collect()
                };
                (h.name, urls)
            })
            .collect();
        let mut values = BTreeMap::new();
        for s in def.settings {
            if let Some(v) = pc.settings.get(s.name) {
                let list: Vec<Secret> = v
                    .expose()
                    .split(',')
                    .map(str::trim)
                    .filter(|x| !x.is_empty())
                    .map(Secret::new)
                    .collect();
                if !list.is_empty() {
                    values.insert(s.name, list);
                }
            }
        }
        let missing: Vec<&str> = def
            .settings
            .iter()
            .filter(|s| s.required && !values.contains_key(s.name))
            .map(|s| s.env)
            .collect();
        let enabled = if pc.enabled == Some(false) {
            Err("disabled by configuration".to_string())
        } else if !missing.is_empty() {
            let verb = if missing.len() > 1 { "are" } else { "is" };
            Err(format!("{} {verb} not set", missing.join(" and ")))
        } else {
            Ok(())
        };
        let has_credential = def.credential.is_some_and(|c| values.contains_key(c));
        let default_rate = match def.rate_with_credential {
            Some(r) if has_credential => r,
            _ => def.rate,
        };
        let burst = pc.burst.unwrap_or(default_rate.burst).max(1);
        let rate = match &pc.rate {
            // Validated when the configuration was loaded.
            Some(text) => Rate::parse(&text.0, burst).unwrap_or(default_rate),
            None => Rate {
                burst,
                ..default_rate
            },
        };
        ProviderSettings {
            def,
            enabled,
            hosts,
            values,
            rate,
            concurrency: pc.concurrency,
        }
    }

    pub fn all(config: &Config) -> Vec<ProviderSettings> {
        config
            .catalogue()
            .providers()
            .map(|d| ProviderSettings::new(d, config))
            .collect()
    }

    /// A setting's value (the first of a pool).
    pub fn setting(&self, name: &str) -> Option<&str> {
        self.values
            .get(name)
            .and_then(|v| v.first())
            .map(Secret::expose)
    }

    /// Every comma-separated item of a setting (a list, not a pool).
    pub fn setting_items(&self, name: &str) -> Vec<&str> {
        self.values
            .get(name)
            .map(|v| v.iter().map(Secret::expose).collect())
            .unwrap_or_default()
    }

    /// The credential for call number `turn` (pools are used in turn).
    pub fn credential(&self, turn: usize) -> Option<&str> {
        let pool = self.values.get(self.def.credential?)?;
        Some(pool[turn % pool.len()].expose())
    }

    /// The base URLs of `host` (main host: `""`).
    pub fn base_urls(&self, host: &str) -> &[String] {
        self.hosts
            .iter()
            .find(|(n, _)| *n == host)
            .map(|(_, u)| u.as_slice())
            .unwrap_or(&[])
    }

    /// The User-Agent this provider's terms ask for, when configured.
    pub fn user_agent(&self) -> Option<&str> {
        self.setting(self.def.user_agent?)
    }
}
