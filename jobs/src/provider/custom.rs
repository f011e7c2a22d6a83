//! Custom upstreams: `[[provider]]` tables in `larder.toml` that declare a
//! JSON API, turned into providers like the built-in ones (the table adapter,
//! every guarantee of a fill).
//!
//! ```toml
//! [[provider]]
//! id = "weatherco"
//! base_url = "https://api.weatherco.example"
//! rate = "5/s"
//! credential = { env = "WEATHERCO_KEY", query = "key" }
//!
//! [[provider.resource]]
//! name = "station"
//! route = "station/{id}"
//! upstream = "/v2/stations/{id}"
//! ttl = "1h"
//! params = [
//!   { name = "id", type = "int", min = 1, max = 999999, required = true },
//!   { name = "units", type = "one-of", values = ["metric", "imperial"], default = "metric" },
//! ]
//! ```
//!
//! The definitions are built once when the configuration is loaded and live
//! for the whole process (they are leaked into `'static`, like the built-in
//! tables they stand beside).

use std::collections::BTreeSet;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::{Auth, Host, Kind, Param, ProviderDef, Rate, RateSetting, ResourceDef, Setting, Ttl};
use super::{hours, mins};
use crate::config::{duration_str, opt_duration_str};

/// One `[[provider]]` table.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CustomProvider {
    /// Lowercase letters, digits and `-`; served under `/v1/{id}/`.
    pub id: String,
    #[serde(default)]
    pub title: Option<String>,
    /// The upstream's origin, optionally with a path prefix.
    pub base_url: String,
    #[serde(default)]
    pub credential: Option<CustomCredential>,
    /// Default `10/s`.
    #[serde(default)]
    pub rate: Option<RateSetting>,
    #[serde(default)]
    pub burst: Option<u32>,
    #[serde(default, rename = "resource")]
    pub resources: Vec<CustomResource>,
}

/// How the credential reaches the upstream: exactly one of `query`
/// (a parameter name), `header` (a header name) or `bearer = true`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CustomCredential {
    /// The environment variable holding it (also
    /// `[providers.<id>.settings] api_key`).
    pub env: String,
    #[serde(default)]
    pub query: Option<String>,
    #[serde(default)]
    pub header: Option<String>,
    #[serde(default)]
    pub bearer: bool,
    /// Without it the provider is disabled. Default true.
    #[serde(default = "yes")]
    pub required: bool,
}

fn yes() -> bool {
    true
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CustomResource {
    pub name: String,
    pub route: String,
    pub upstream: String,
    #[serde(default)]
    pub params: Vec<CustomParam>,
    #[serde(with = "duration_str", default = "one_hour")]
    pub ttl: Duration,
    #[serde(
        with = "opt_duration_str",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub stale: Option<Duration>,
    #[serde(
        with = "opt_duration_str",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub negative_ttl: Option<Duration>,
    #[serde(
        with = "opt_duration_str",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub max_stale_on_error: Option<Duration>,
}

fn one_hour() -> Duration {
    hours(1)
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CustomParam {
    pub name: String,
    /// int, float, bool, text, ident, one-of, set-of, language,
    /// language-set, region, date, timezone.
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default)]
    pub required: bool,
    #[serde(default)]
    pub default: Option<String>,
    #[serde(default)]
    pub min: Option<f64>,
    #[serde(default)]
    pub max: Option<f64>,
    #[serde(default)]
    pub decimals: Option<i32>,
    #[serde(default)]
    pub max_len: Option<usize>,
    #[serde(default)]
    pub fold_case: bool,
    #[serde(default)]
    pub values: Vec<String>,
    /// For `ident`: characters allowed beside letters and digits.
    #[serde(default)]
    pub extra: Option<String>,
}

fn leak(s: &str) -> &'static str {
    Box::leak(s.to_owned().into_boxed_str())
}

fn leak_list(v: &[String]) -> &'static [&'static str] {
    Vec::leak(v.iter().map(|s| leak(s)).collect())
}

fn placeholders(template: &str) -> Vec<&str> {
    template
        .split('/')
        .filter_map(|p| p.strip_prefix('{').and_then(|p| p.strip_suffix('}')))
        .collect()
}

/// Build the providers of `[[provider]]` tables, or say which key is wrong.
/// `taken`: ids already in use (the built-in providers).
pub fn build(
    tables: &[CustomProvider],
    taken: &[&str],
) -> Result<Vec<&'static ProviderDef>, String> {
    let mut ids: BTreeSet<&str> = taken.iter().copied().collect();
    let mut out = Vec::new();
    for (i, p) in tables.iter().enumerate() {
        let at = format!("provider[{i}]");
        let valid_id = !p.id.is_empty()
            && p.id.len() <= 40
            && p.id.starts_with(|c: char| c.is_ascii_lowercase())
            && p.id
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
        if !valid_id {
            return Err(format!(
                "{at}.id {:?}: lowercase letters, digits and -, starting with a letter",
                p.id
            ));
        }
        if !ids.insert(&p.id) {
            return Err(format!("{at}.id {:?}: already taken", p.id));
        }
        if !(p.base_url.starts_with("http://") || p.base_url.starts_with("https://")) {
            return Err(format!(
                "{at}.base_url: must start with http:// or https://"
            ));
        }
        let burst = p.burst.unwrap_or(5).max(1);
        let rate = match &p.rate {
            Some(r) => Rate::parse(&r.0, burst).map_err(|e| format!("{at}.rate: {e}"))?,
            None => Rate::per_second(10, burst),
        };
        let (auth, settings, credential): (Auth, &'static [Setting], Option<&'static str>) =
            match &p.credential {
                None => (Auth::None, &[], None),
                Some(c) => {
                    let auth = match (&c.query, &c.header, c.bearer) {
                        (Some(q), None, false) => Auth::Query(leak(q)),
                        (None, Some(h), false) => {
                            let h = h.to_ascii_lowercase();
                            reqwest_header_ok(&h).then_some(()).ok_or(format!(
                                "{at}.credential.header {h:?}: not a header name"
                            ))?;
                            Auth::Header(leak(&h))
                        }
                        (None, None, true) => Auth::Bearer,
                        _ => {
                            return Err(format!(
                                "{at}.credential: give exactly one of query, header or bearer = true"
                            ));
                        }
                    };
                    if c.env.is_empty()
                        || !c
                            .env
                            .chars()
                            .all(|ch| ch.is_ascii_alphanumeric() || ch == '_')
                    {
                        return Err(format!(
                            "{at}.credential.env {:?}: not a variable name",
                            c.env
                        ));
                    }
                    let setting = Setting {
                        name: "api_key",
                        env: leak(&c.env),
                        required: c.required,
                    };
                    (auth, Vec::leak(vec![setting]), Some("api_key"))
                }
            };
        if p.resources.is_empty() {
            return Err(format!("{at}.resource: declare at least one resource"));
        }
        let mut resources = Vec::new();
        let mut names = BTreeSet::new();
        for (j, r) in p.resources.iter().enumerate() {
            resources.push(resource(r, &format!("{at}.resource[{j}]"), &mut names)?);
        }
        let def = ProviderDef {
            auth,
            settings,
            credential,
            ..ProviderDef::new(
                leak(&p.id),
                leak(p.title.as_deref().unwrap_or(&p.id)),
                Vec::leak(vec![Host {
                    name: "",
                    urls: Vec::leak(vec![leak(p.base_url.trim_end_matches('/'))]),
                }]),
                rate,
                Vec::leak(resources),
            )
        };
        out.push(&*Box::leak(Box::new(def)));
    }
    Ok(out)
}

fn reqwest_header_ok(h: &str) -> bool {
    !h.is_empty()
        && h.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

fn resource(
    r: &CustomResource,
    at: &str,
    names: &mut BTreeSet<String>,
) -> Result<ResourceDef, String> {
    if r.name.is_empty() || !names.insert(r.name.clone()) {
        return Err(format!("{at}.name {:?}: empty or used twice", r.name));
    }
    let route = r.route.trim_matches('/');
    if route.is_empty() || route.split('/').any(str::is_empty) {
        return Err(format!(
            "{at}.route {:?}: not a route like items/{{id}}",
            r.route
        ));
    }
    if !r.upstream.starts_with('/') {
        return Err(format!("{at}.upstream {:?}: must start with /", r.upstream));
    }
    let mut params = Vec::new();
    for (k, p) in r.params.iter().enumerate() {
        params.push(param(p, &format!("{at}.params[{k}]"))?);
    }
    for name in placeholders(route) {
        if !params.iter().any(|p: &Param| p.name == name) {
            return Err(format!("{at}.route: {{{name}}} is not declared in params"));
        }
    }
    for name in placeholders(&r.upstream) {
        if !placeholders(route).contains(&name) {
            return Err(format!(
                "{at}.upstream: {{{name}}} is not a path parameter of the route"
            ));
        }
    }
    let ttl = Ttl::new(
        r.ttl,
        r.stale.unwrap_or(r.ttl),
        r.negative_ttl.unwrap_or(mins(10)),
        r.max_stale_on_error.unwrap_or(r.ttl * 24),
    );
    Ok(ResourceDef {
        name: leak(&r.name),
        route: leak(route),
        upstream: leak(&r.upstream),
        params: Vec::leak(params),
        ttl,
    })
}

fn param(p: &CustomParam, at: &str) -> Result<Param, String> {
    if p.name.is_empty()
        || !p
            .name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_-.[]".contains(c))
    {
        return Err(format!("{at}.name {:?}: not a parameter name", p.name));
    }
    let min_i = p.min.unwrap_or(i64::MIN as f64) as i64;
    let max_i = p.max.unwrap_or(i64::MAX as f64) as i64;
    let kind = match p.kind.as_str() {
        "int" => Kind::Int {
            min: min_i,
            max: max_i,
        },
        "float" => Kind::Float {
            min: p.min.unwrap_or(f64::MIN),
            max: p.max.unwrap_or(f64::MAX),
            decimals: p.decimals.unwrap_or(6).clamp(0, 12),
        },
        "bool" => Kind::Bool,
        "text" => Kind::Text {
            max_len: p.max_len.unwrap_or(200),
            fold_case: p.fold_case,
        },
        "ident" => Kind::Ident {
            max_len: p.max_len.unwrap_or(64),
            extra: leak(p.extra.as_deref().unwrap_or("-_")),
        },
        "one-of" | "set-of" if p.values.is_empty() => {
            return Err(format!("{at}.values: {} needs values", p.kind));
        }
        "one-of" => Kind::OneOf(leak_list(&p.values)),
        "set-of" => Kind::SetOf {
            values: leak_list(&p.values),
            max: p.values.len(),
        },
        "language" => Kind::Language,
        "language-set" => Kind::LanguageSet,
        "region" => Kind::Region,
        "date" => Kind::Date,
        "timezone" => Kind::Timezone,
        other => {
            return Err(format!(
                "{at}.type {other:?}: one of int, float, bool, text, ident, one-of, set-of, \
                 language, language-set, region, date, timezone"
            ));
        }
    };
    let default = match &p.default {
        Some(d) => {
            let normal = kind
                .normalise(&p.name, d)
                .map_err(|e| format!("{at}.default: {}", e.message))?;
            Some(leak(&normal))
        }
        None => None,
    };
    Ok(Param {
        name: leak(&p.name),
        kind,
        required: p.required,
        default,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Vec<&'static ProviderDef>, String> {
        #[derive(Deserialize)]
        struct File {
            provider: Vec<CustomProvider>,
        }
        let f: File = toml::from_str(text).map_err(|e| e.to_string())?;
        build(&f.provider, &["tmdb"])
    }

    const GOOD: &str = r#"
        [[provider]]
        id = "weatherco"
        base_url = "https://api.weatherco.example/"
        rate = "5/s"
        credential = { env = "WEATHERCO_KEY", query = "key" }
        [[provider.resource]]
        name = "station"
        route = "station/{id}"
        upstream = "/v2/stations/{id}"
        ttl = "1h"
        params = [
          { name = "id", type = "int", min = 1, max = 999999, required = true },
          { name = "units", type = "one-of", values = ["metric", "imperial"], default = "metric" },
        ]
    "#;

    #[test]
    fn a_table_becomes_a_provider() {
        let defs = parse(GOOD).unwrap();
        let def = defs[0];
        assert_eq!(def.id, "weatherco");
        assert_eq!(def.hosts[0].urls, ["https://api.weatherco.example"]);
        assert_eq!(def.auth, Auth::Query("key"));
        assert_eq!(def.settings[0].env, "WEATHERCO_KEY");
        assert_eq!(def.rate.interval(), 0.2);
        let catalogue = super::super::Catalogue::with_custom(&defs);
        let r = catalogue
            .resolve("weatherco", "station/42", "units=metric")
            .unwrap();
        assert_eq!(r.key.as_str(), "weatherco/station/42");
        assert_eq!(r.upstream_path_and_query(), "/v2/stations/42");
        let bad = catalogue.resolve("weatherco", "station/0", "").unwrap_err();
        assert_eq!(bad.code, "invalid-parameter");
    }

    #[test]
    fn bad_tables_name_their_key() {
        for (change, expect) in [
            (("id = \"weatherco\"", "id = \"tmdb\""), "provider[0].id"),
            (("id = \"weatherco\"", "id = \"Bad Id\""), "provider[0].id"),
            (("https://api", "ftp://api"), "provider[0].base_url"),
            (
                ("rate = \"5/s\"", "rate = \"5/fortnight\""),
                // Rejected while parsing: TOML names the line and the value.
                "line 5",
            ),
            (
                ("type = \"int\"", "type = \"integer\""),
                "provider[0].resource[0].params[0].type",
            ),
            (
                ("/v2/stations/{id}", "/v2/{station}"),
                "provider[0].resource[0].upstream",
            ),
            (
                ("route = \"station/{id}\"", "route = \"station/{sid}\""),
                "provider[0].resource[0].route",
            ),
            (
                ("default = \"metric\"", "default = \"kelvin\""),
                "provider[0].resource[0].params[1].default",
            ),
            (
                ("query = \"key\"", "query = \"key\", bearer = true"),
                "provider[0].credential",
            ),
        ] {
            let text = GOOD.replace(change.0, change.1);
            let err = parse(&text).unwrap_err();
            assert!(err.contains(expect), "{change:?}: {err}");
        }
    }
}
