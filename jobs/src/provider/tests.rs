use super::*;

fn cat() -> &'static Catalogue {
    Catalogue::builtin()
}

#[test]
fn equivalent_requests_share_one_key() {
    let a = cat()
        .resolve(
            "tmdb",
            "movie/550",
            "language=EN-us&append_to_response=videos,credits,videos",
        )
        .unwrap();
    let b = cat()
        .resolve(
            "tmdb",
            "/movie/550/",
            "append_to_response=credits%2Cvideos&language=en-US",
        )
        .unwrap();
    assert_eq!(a.key, b.key);
    assert_eq!(
        a.key.as_str(),
        "tmdb/movie/550?append_to_response=credits%2Cvideos&language=en-US"
    );
    assert_eq!(
        a.upstream_path_and_query(),
        "/3/movie/550?append_to_response=credits%2Cvideos&language=en-US"
    );
}

#[test]
fn defaults_are_dropped_from_the_key() {
    let a = cat()
        .resolve("tmdb", "search/movie", "query=Fight%20Club&page=1")
        .unwrap();
    let b = cat()
        .resolve("tmdb", "search/movie", "query=fight+club")
        .unwrap();
    assert_eq!(a.key, b.key);
    assert_eq!(a.key.as_str(), "tmdb/search/movie?query=fight+club");
}

#[test]
fn keys_resolve_back_to_themselves() {
    for (p, path, q) in [
        ("tmdb", "tv/1399/season/1/episode/2", "language=de"),
        (
            "openmeteo",
            "forecast",
            "latitude=52.52&longitude=13.41&hourly=temperature_2m,rain",
        ),
        ("tmdb", "configuration", ""),
    ] {
        let r = cat().resolve(p, path, q).unwrap();
        let again = cat().resolve_key(r.key.as_str()).unwrap();
        assert_eq!(again.key, r.key);
        assert_eq!(again.resource.name, r.resource.name);
    }
    assert_eq!(
        cat().resolve_key("tmdb/movie/550?page=1").unwrap_err().code,
        "unknown-parameter"
    );
}

#[test]
fn bad_requests_have_stable_codes() {
    let code = |p: &str, path: &str, q: &str| cat().resolve(p, path, q).unwrap_err().code;
    assert_eq!(code("nope", "x", ""), "unknown-provider");
    assert_eq!(code("tmdb", "movie", ""), "unknown-resource");
    assert_eq!(code("tmdb", "movie/550/extra", ""), "unknown-resource");
    assert_eq!(code("tmdb", "movie/abc", ""), "invalid-parameter");
    assert_eq!(code("tmdb", "movie/0", ""), "invalid-parameter");
    assert_eq!(
        code("tmdb", "movie/550", "cachebuster=1"),
        "unknown-parameter"
    );
    assert_eq!(code("tmdb", "movie/550", "id=3"), "unknown-parameter");
    assert_eq!(
        code("tmdb", "movie/550", "language=english"),
        "invalid-parameter"
    );
    assert_eq!(
        code("tmdb", "movie/550", "append_to_response=everything"),
        "invalid-parameter"
    );
    assert_eq!(
        code("tmdb", "movie/550", "language=en&language=de"),
        "duplicate-parameter"
    );
    assert_eq!(code("tmdb", "search/movie", ""), "missing-parameter");
    assert_eq!(
        code("tmdb", "search/movie", "query=x&page=501"),
        "invalid-parameter"
    );
    assert_eq!(
        code("openmeteo", "forecast", "latitude=91&longitude=0"),
        "invalid-parameter"
    );
    assert_eq!(
        code("openmeteo", "forecast", "latitude=10"),
        "missing-parameter"
    );
    assert_eq!(
        code(
            "openmeteo",
            "forecast",
            "latitude=1&longitude=1&hourly=snowmen"
        ),
        "invalid-parameter"
    );
    assert_eq!(
        code(
            "openmeteo",
            "forecast",
            "latitude=1&longitude=1&timezone=Mars%20Base"
        ),
        "invalid-parameter"
    );
}

#[test]
fn floats_are_rounded_so_noise_does_not_bust_the_cache() {
    let a = cat()
        .resolve(
            "openmeteo",
            "forecast",
            "latitude=52.520001&longitude=-0.00001",
        )
        .unwrap();
    assert_eq!(
        a.key.as_str(),
        "openmeteo/forecast?latitude=52.52&longitude=0"
    );
    assert_eq!(
        a.upstream_path_and_query(),
        "/v1/forecast?latitude=52.52&longitude=0"
    );
}

#[test]
fn ttl_overrides_apply_provider_then_resource() {
    let mut config = Config::default();
    let p = config.providers.entry("tmdb".into()).or_default();
    p.ttl = Some(Duration::from_secs(60));
    p.resources.insert(
        "search-movie".into(),
        crate::config::TtlOverride {
            ttl: Some(Duration::from_secs(5)),
            ..Default::default()
        },
    );
    let movie = cat().resolve("tmdb", "movie/1", "").unwrap();
    assert_eq!(movie.ttl(&config).fresh, Duration::from_secs(60));
    let search = cat().resolve("tmdb", "search/movie", "query=a").unwrap();
    assert_eq!(search.ttl(&config).fresh, Duration::from_secs(5));
}

#[test]
fn providers_without_credentials_are_disabled_with_a_reason() {
    let config = Config::default();
    let tmdb = ProviderSettings::new(cat().provider("tmdb").unwrap(), &config);
    assert_eq!(tmdb.enabled, Err("TMDB_API_KEY is not set".to_string()));
    let om = ProviderSettings::new(cat().provider("openmeteo").unwrap(), &config);
    assert!(om.enabled.is_ok());
    assert_eq!(om.base_urls(""), vec!["https://api.open-meteo.com"]);
}

#[test]
fn folded_text_is_measured_after_folding() {
    // 'İ' lowercases to two chars: 200 of them must not pass as 200.
    let q = "İ".repeat(200);
    let r = cat().resolve("tmdb", "search/movie", &format!("query={q}"));
    assert_eq!(r.unwrap_err().code, "invalid-parameter");
    let ok = cat()
        .resolve(
            "tmdb",
            "search/movie",
            &format!("query={}", "İ".repeat(100)),
        )
        .unwrap();
    assert!(cat().resolve_key(ok.key.as_str()).is_ok());
}

#[test]
fn the_readme_lists_every_provider() {
    let readme = include_str!("../../../README.md");
    for p in cat().providers() {
        assert!(
            readme.contains(&format!("| `{}` |", p.id)),
            "README.md's provider table lacks {}",
            p.id
        );
    }
}

#[test]
fn every_provider_is_well_formed() {
    for p in cat().providers() {
        assert!(!p.resources.is_empty(), "{} has no resource", p.id);
        assert_eq!(
            p.hosts.first().map(|h| h.name),
            Some(""),
            "{}: main host first",
            p.id
        );
        let mut names = std::collections::BTreeSet::new();
        for r in p.resources {
            assert!(names.insert(r.name), "{}: resource {} twice", p.id, r.name);
            for seg in r.route.split('/') {
                if let Some(name) = seg.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
                    assert!(
                        r.param(name).is_some(),
                        "{}/{}: {{{name}}} undeclared",
                        p.id,
                        r.name
                    );
                }
            }
        }
        for s in p.settings {
            assert!(!s.env.is_empty());
        }
        if let Some(c) = p.credential {
            assert!(
                p.settings.iter().any(|s| s.name == c),
                "{}: credential {c} is no setting",
                p.id
            );
        }
        if let Some(ua) = p.user_agent {
            assert!(
                p.settings.iter().any(|s| s.name == ua),
                "{}: user agent {ua} is no setting",
                p.id
            );
        }
    }
}
