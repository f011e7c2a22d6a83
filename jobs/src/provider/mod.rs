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

mod adapter;
mod asset;
pub mod custom;
mod def;
pub mod overrides;
mod params;
mod rate;
mod route;
mod settings;

mod assrt;
mod bangumi;
mod bing;
mod currency;
mod deezer;
mod douban;
mod fanart;
mod geocoding;
mod gestdown;
mod github;
mod hitokoto;
mod holiday;
pub mod hot;
mod html;
mod lrclib;
mod musicbrainz;
mod nominatim;
mod omdb;
mod openmeteo;
mod openmeteo_vars;
mod opensubtitles;
mod qidian;
mod regielive;
mod sports;
mod spotify;
mod thetvdb;
mod tmdb;
mod wikipedia;
mod zenquotes;

use std::sync::OnceLock;
use std::time::Duration;

pub use adapter::{
    Adapter, Fill, IMAGE_TTL, Method, Product, Request, Response, Table, Token, Verdict,
    asset_product, classify_asset, classify_status, default_authorize, image_call, image_name_ok,
    json_media_type, not_found_body, passthrough_json,
};
pub use def::{Auth, Host, ProviderDef, Setting};
pub use overrides::{Override, OverridePatch, Overrides};
pub use params::Kind;
pub use rate::{Rate, RateSetting};
pub use settings::ProviderSettings;

use crate::config::Config;
use crate::error::RequestError;
use crate::key::CacheKey;
use route::{encode_query, fill_template, match_route};

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

pub const fn days(d: u64) -> Duration {
    Duration::from_secs(d * 86400)
}
pub const fn hours(h: u64) -> Duration {
    Duration::from_secs(h * 3600)
}
pub const fn mins(m: u64) -> Duration {
    Duration::from_secs(m * 60)
}
pub const fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
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
#[derive(Debug, Clone, Copy)]
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
            providers: vec![
                &tmdb::TMDB,
                &hot::HOT,
                &sports::SPORTS,
                &omdb::OMDB,
                &thetvdb::THETVDB,
                &bangumi::BANGUMI,
                &fanart::FANART,
                &douban::DOUBAN,
                &spotify::SPOTIFY,
                &musicbrainz::MUSICBRAINZ,
                &deezer::DEEZER,
                &lrclib::LRCLIB,
                &qidian::QIDIAN,
                &wikipedia::WIKIPEDIA,
                &openmeteo::OPENMETEO,
                &nominatim::NOMINATIM,
                &geocoding::GEOCODING,
                &holiday::HOLIDAY,
                &assrt::ASSRT,
                &opensubtitles::OPENSUBTITLES,
                &regielive::REGIELIVE,
                &gestdown::GESTDOWN,
                &github::GITHUB,
                &hitokoto::HITOKOTO,
                &zenquotes::ZENQUOTES,
                &bing::BING,
                &currency::CURRENCY,
            ],
        })
    }

    /// The built-in providers and `custom` ones (from `[[provider]]` tables).
    pub fn with_custom(custom: &[&'static ProviderDef]) -> Catalogue {
        let mut providers = Catalogue::builtin().providers.clone();
        providers.extend(custom);
        Catalogue { providers }
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
            let value = param.kind.normalise(param.name, &raw)?;
            // A path value is one segment: never a dot segment that would
            // climb out of the upstream path (with the credential on).
            if value == "." || value == ".." {
                return Err(RequestError::new(
                    "invalid-parameter",
                    format!("parameter {name:?} cannot be {value:?}"),
                ));
            }
            path_values.push((param.name, value));
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
        let resolved = Resolved {
            provider: def,
            resource,
            path: path_values,
            query: query_values,
            key: CacheKey::new(key),
        };
        def.adapter.check(&resolved)?;
        Ok(resolved)
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
    /// A parameter's normalised value, path or query.
    pub fn param(&self, name: &str) -> Option<&str> {
        self.path
            .iter()
            .chain(&self.query)
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.as_str())
    }

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

#[cfg(test)]
mod testing;
#[cfg(test)]
mod tests;
