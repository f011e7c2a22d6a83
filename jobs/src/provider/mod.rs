//! The provider catalogue.
//!
//! A provider is data: an id, its public base URL, how its credential is
//! injected, a default rate, and a table of [`ResourceDef`]s. Each resource
//! maps a larder route (`movie/{id}`) to an upstream path (`/3/movie/{id}`),
//! lists the parameters it accepts with their types, and carries its TTLs.
//! [`Catalogue::resolve`] turns a request into a [`Resolved`] with a
//! canonical [`CacheKey`]; the worker resolves the key text again to build
//! the upstream call, so both sides always agree.
//!
//! Adding a provider is one file with its table (see `tmdb.rs`) plus its
//! fixtures; code is only needed for what a table cannot say.

mod openmeteo;
mod params;
mod tmdb;

use std::sync::OnceLock;
use std::time::Duration;

pub use params::Kind;

use crate::config::{Config, Secret};
use crate::error::RequestError;
use crate::key::CacheKey;

/// How long entries live. `fresh`: served as HIT. `stale`: after `fresh`,
/// served as STALE while one refresh runs. `negative`: how long a 404 is
/// remembered. `max_stale_on_error`: after `fresh`, how long an old entry may
/// still be served when the upstream fails.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ttl {
    pub fresh: Duration,
    pub stale: Duration,
    pub negative: Duration,
    pub max_stale_on_error: Duration,
}

const fn hours(h: u64) -> Duration {
    Duration::from_secs(h * 3600)
}
const fn mins(m: u64) -> Duration {
    Duration::from_secs(m * 60)
}

impl Ttl {
    pub const fn new(
        fresh: Duration,
        stale: Duration,
        negative: Duration,
        on_error: Duration,
    ) -> Self {
        Ttl {
            fresh,
            stale,
            negative,
            max_stale_on_error: on_error,
        }
    }
}

/// How a provider's credential reaches the upstream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Inject {
    /// As a query parameter with this name.
    Query(&'static str),
    /// TMDB: a v3 key goes in `api_key`; a v4 read token (a JWT) as a bearer.
    TmdbKey,
}

#[derive(Debug, Clone, Copy)]
pub struct Credential {
    /// The environment variable holding it (a comma-separated pool).
    pub env: &'static str,
    pub inject: Inject,
}

/// One provider.
#[derive(Debug)]
pub struct ProviderDef {
    pub id: &'static str,
    pub title: &'static str,
    /// Public origins (mirrors), without the API path.
    pub base_urls: &'static [&'static str],
    /// `None`: the provider needs no credential.
    pub credential: Option<Credential>,
    /// Default upstream calls per second and burst.
    pub rate: f64,
    pub burst: u32,
    pub resources: &'static [ResourceDef],
}

/// One resource of a provider.
#[derive(Debug)]
pub struct ResourceDef {
    pub name: &'static str,
    /// larder route below `/v1/{provider}/`; `{name}` segments are path
    /// parameters declared in `params`.
    pub route: &'static str,
    /// Upstream path, appended to the base URL, with the same placeholders.
    pub upstream: &'static str,
    pub params: &'static [Param],
    pub ttl: Ttl,
}

/// One parameter: its name, type, and whether it must be given.
#[derive(Debug)]
pub struct Param {
    pub name: &'static str,
    pub kind: Kind,
    pub required: bool,
    /// The upstream's own default: a request giving exactly this value gets
    /// the same key as one that omits it.
    pub default: Option<&'static str>,
}

impl Param {
    pub const fn opt(name: &'static str, kind: Kind) -> Self {
        Param {
            name,
            kind,
            required: false,
            default: None,
        }
    }
    pub const fn req(name: &'static str, kind: Kind) -> Self {
        Param {
            name,
            kind,
            required: true,
            default: None,
        }
    }
    pub const fn default(name: &'static str, kind: Kind, default: &'static str) -> Self {
        Param {
            name,
            kind,
            required: false,
            default: Some(default),
        }
    }
}

/// Every provider larder knows.
pub struct Catalogue {
    providers: Vec<&'static ProviderDef>,
}

/// A request resolved against the catalogue.
#[derive(Debug, Clone)]
pub struct Resolved {
    pub provider: &'static ProviderDef,
    pub resource: &'static ResourceDef,
    /// Path parameters in route order, normalised.
    pub path: Vec<(&'static str, String)>,
    /// Query parameters sorted by name, normalised, defaults dropped.
    pub query: Vec<(&'static str, String)>,
    pub key: CacheKey,
}

impl Catalogue {
    pub fn builtin() -> &'static Catalogue {
        static CATALOGUE: OnceLock<Catalogue> = OnceLock::new();
        CATALOGUE.get_or_init(|| Catalogue {
            providers: vec![&tmdb::TMDB, &openmeteo::OPENMETEO],
        })
    }

    pub fn providers(&self) -> impl Iterator<Item = &'static ProviderDef> + '_ {
        self.providers.iter().copied()
    }

    pub fn provider(&self, id: &str) -> Option<&'static ProviderDef> {
        self.providers.iter().copied().find(|p| p.id == id)
    }

    /// Resolve `provider` + `path` (below `/v1/{provider}/`) + raw query.
    pub fn resolve(
        &self,
        provider: &str,
        path: &str,
        query: &str,
    ) -> Result<Resolved, RequestError> {
        let def = self.provider(provider).ok_or_else(|| {
            RequestError::new(
                "unknown-provider",
                format!("no provider named {provider:?}"),
            )
        })?;
        let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
        let (resource, captured) = def
            .resources
            .iter()
            .find_map(|r| match_route(r.route, &segments).map(|c| (r, c)))
            .ok_or_else(|| {
                RequestError::new(
                    "unknown-resource",
                    format!("{provider} has no resource at {path:?}; see GET /v1/providers"),
                )
            })?;

        let mut path_values = Vec::with_capacity(captured.len());
        for (name, raw) in captured {
            let param = resource.param(name).ok_or_else(|| {
                RequestError::new(
                    "unknown-resource",
                    format!("route parameter {name} is undeclared"),
                )
            })?;
            path_values.push((param.name, param.kind.normalise(param.name, &raw)?));
        }

        let mut query_values: Vec<(&'static str, String)> = Vec::new();
        for (name, raw) in form_urlencoded::parse(query.as_bytes()) {
            let param = resource
                .params
                .iter()
                .find(|p| p.name == name && !path_values.iter().any(|(n, _)| *n == p.name))
                .ok_or_else(|| {
                    RequestError::new(
                        "unknown-parameter",
                        format!(
                            "{provider}/{} does not take parameter {name:?}",
                            resource.name
                        ),
                    )
                })?;
            if query_values.iter().any(|(n, _)| *n == param.name) {
                return Err(RequestError::new(
                    "duplicate-parameter",
                    format!("parameter {name:?} is given more than once"),
                ));
            }
            let value = param.kind.normalise(param.name, &raw)?;
            if param.default != Some(value.as_str()) {
                query_values.push((param.name, value));
            }
        }
        for p in resource.params.iter().filter(|p| p.required) {
            let in_path = path_values.iter().any(|(n, _)| *n == p.name);
            if !in_path && !query_values.iter().any(|(n, _)| *n == p.name) {
                return Err(RequestError::new(
                    "missing-parameter",
                    format!("{provider}/{} needs parameter {:?}", resource.name, p.name),
                ));
            }
        }
        query_values.sort_by(|a, b| a.0.cmp(b.0));

        let mut key = format!("{}/{}", def.id, fill_template(resource.route, &path_values));
        if !query_values.is_empty() {
            key.push('?');
            key.push_str(&encode_query(&query_values));
        }
        Ok(Resolved {
            provider: def,
            resource,
            path: path_values,
            query: query_values,
            key: CacheKey::new(key),
        })
    }

    /// Parse a stored key text again (worker side, admin tools).
    pub fn resolve_key(&self, key: &str) -> Result<Resolved, RequestError> {
        let (provider, rest) = key
            .split_once('/')
            .ok_or_else(|| RequestError::new("invalid-key", format!("malformed key {key:?}")))?;
        let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
        let resolved = self.resolve(provider, path, query)?;
        if resolved.key.as_str() != key {
            return Err(RequestError::new(
                "invalid-key",
                format!("key {key:?} is not canonical"),
            ));
        }
        Ok(resolved)
    }
}

impl ResourceDef {
    pub fn param(&self, name: &str) -> Option<&'static Param>
    where
        Self: 'static,
    {
        self.params.iter().find(|p| p.name == name)
    }

    /// Whether `name` is a path parameter of this resource.
    pub fn is_path_param(&self, name: &str) -> bool {
        self.route
            .split('/')
            .any(|s| s.strip_prefix('{').and_then(|s| s.strip_suffix('}')) == Some(name))
    }

    /// This resource's TTLs after configuration overrides: provider level,
    /// then resource level.
    pub fn ttl_for(&self, provider: &ProviderDef, config: &Config) -> Ttl {
        let mut ttl = self.ttl;
        if let Some(p) = config.provider(provider.id) {
            let apply = |ttl: &mut Ttl, o: [Option<Duration>; 4]| {
                let [f, s, n, e] = o;
                ttl.fresh = f.unwrap_or(ttl.fresh);
                ttl.stale = s.unwrap_or(ttl.stale);
                ttl.negative = n.unwrap_or(ttl.negative);
                ttl.max_stale_on_error = e.unwrap_or(ttl.max_stale_on_error);
            };
            apply(
                &mut ttl,
                [p.ttl, p.stale, p.negative_ttl, p.max_stale_on_error],
            );
            if let Some(r) = p.resources.get(self.name) {
                apply(
                    &mut ttl,
                    [r.ttl, r.stale, r.negative_ttl, r.max_stale_on_error],
                );
            }
        }
        ttl
    }
}

impl Resolved {
    /// Upstream path and query (without credentials), to append to a base URL.
    pub fn upstream_path_and_query(&self) -> String {
        let mut s = fill_template(self.resource.upstream, &self.path);
        if !self.query.is_empty() {
            s.push('?');
            s.push_str(&encode_query(&self.query));
        }
        s
    }

    /// TTLs after configuration overrides.
    pub fn ttl(&self, config: &Config) -> Ttl {
        self.resource.ttl_for(self.provider, config)
    }
}

/// A provider's settings after configuration: where to call, with what key,
/// how fast, and whether it is enabled at all.
#[derive(Debug, Clone)]
pub struct ProviderSettings {
    pub def: &'static ProviderDef,
    /// `Err(reason)` when disabled.
    pub enabled: Result<(), String>,
    pub base_urls: Vec<String>,
    pub keys: Vec<Secret>,
    pub rate: f64,
    pub burst: u32,
}

impl ProviderSettings {
    pub fn new(def: &'static ProviderDef, config: &Config) -> Self {
        let pc = config.provider(def.id).cloned().unwrap_or_default();
        let base_urls = if pc.base_url.is_empty() {
            def.base_urls.iter().map(|s| s.to_string()).collect()
        } else {
            pc.base_url
                .iter()
                .map(|s| s.trim_end_matches('/').to_string())
                .collect()
        };
        let enabled = if pc.enabled == Some(false) {
            Err("disabled by configuration".to_string())
        } else if let Some(cred) = def.credential
            && pc.api_key.is_empty()
        {
            Err(format!("{} is not set", cred.env))
        } else {
            Ok(())
        };
        ProviderSettings {
            def,
            enabled,
            base_urls,
            keys: pc.api_key,
            rate: pc.rate.unwrap_or(def.rate),
            burst: pc.burst.unwrap_or(def.burst).max(1),
        }
    }

    pub fn all(config: &Config) -> Vec<ProviderSettings> {
        Catalogue::builtin()
            .providers()
            .map(|d| ProviderSettings::new(d, config))
            .collect()
    }
}

fn match_route(route: &'static str, segments: &[&str]) -> Option<Vec<(&'static str, String)>> {
    let parts: Vec<&'static str> = route.split('/').collect();
    if parts.len() != segments.len() {
        return None;
    }
    let mut captured = Vec::new();
    for (part, seg) in parts.into_iter().zip(segments) {
        match part.strip_prefix('{').and_then(|p| p.strip_suffix('}')) {
            Some(name) if !seg.is_empty() => captured.push((name, percent_decode(seg))),
            Some(_) => return None,
            None if part == *seg => {}
            None => return None,
        }
    }
    Some(captured)
}

fn percent_decode(s: &str) -> String {
    form_urlencoded::parse(format!("v={s}").as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default()
}

fn fill_template(template: &str, values: &[(&'static str, String)]) -> String {
    template
        .split('/')
        .map(
            |part| match part.strip_prefix('{').and_then(|p| p.strip_suffix('}')) {
                Some(name) => values
                    .iter()
                    .find(|(n, _)| *n == name)
                    .map(|(_, v)| v.clone())
                    .unwrap_or_default(),
                None => part.to_string(),
            },
        )
        .collect::<Vec<_>>()
        .join("/")
}

fn encode_query(values: &[(&'static str, String)]) -> String {
    let mut ser = form_urlencoded::Serializer::new(String::new());
    for (k, v) in values {
        ser.append_pair(k, v);
    }
    ser.finish()
}

#[cfg(test)]
mod tests;
