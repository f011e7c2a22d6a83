use super::*;

fn env(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[test]
fn env_overrides_defaults_and_splits_key_pools() {
    let c = Config::load(
        None,
        &env(&[
            ("LARDER_LISTEN", "0.0.0.0:9999"),
            ("TMDB_API_KEY", "k1, k2"),
            ("LARDER_TMDB_BASE_URL", "http://a,http://b"),
            ("LARDER_AUTH", "off"),
        ]),
    )
    .unwrap();
    assert_eq!(c.listen.port(), 9999);
    assert_eq!(c.auth, AuthMode::Off);
    let tmdb = c.provider("tmdb").unwrap();
    assert_eq!(tmdb.settings["api_key"].expose(), "k1, k2");
    assert_eq!(tmdb.base_url, vec!["http://a", "http://b"]);
    let settings = crate::provider::ProviderSettings::new(
        crate::provider::Catalogue::builtin()
            .provider("tmdb")
            .unwrap(),
        &c,
    );
    assert_eq!(settings.credential(0), Some("k1"));
    assert_eq!(settings.credential(1), Some("k2"));
}

#[test]
fn bad_values_are_named() {
    let err = Config::load(None, &env(&[("LARDER_AUTH", "maybe")])).unwrap_err();
    assert!(err.to_string().contains("LARDER_AUTH"), "{err}");
}

#[test]
fn secrets_never_print() {
    let c = Config::load(
        None,
        &env(&[
            ("TMDB_API_KEY", "supersecret"),
            ("DATABASE_URL", "postgres://u:hunter2@h/db"),
            ("LARDER_ADMIN_TOKEN", "admintok"),
        ]),
    )
    .unwrap();
    let shown = format!("{c:?} {}", toml::to_string(&c).unwrap());
    for s in ["supersecret", "hunter2", "admintok"] {
        assert!(!shown.contains(s), "{s} leaked: {shown}");
    }
    assert!(shown.contains("postgres://u:[redacted]@h/db"));
}

#[test]
fn file_layer_parses_overrides_and_rejects_typos() {
    let c: Config = toml::from_str(
        r#"
        wait_budget = "3s"
        [providers.tmdb]
        rate = 5
        ttl = "1h"
        [providers.tmdb.resources.movie]
        ttl = "2d"
        "#,
    )
    .unwrap();
    assert_eq!(c.wait_budget, Duration::from_secs(3));
    let tmdb = c.provider("tmdb").unwrap();
    assert_eq!(tmdb.ttl, Some(Duration::from_secs(3600)));
    assert_eq!(
        tmdb.resources["movie"].ttl,
        Some(Duration::from_secs(2 * 86400))
    );
    assert!(toml::from_str::<Config>("wait_bugdet = \"3s\"").is_err());
}

#[test]
fn the_example_file_parses_and_states_the_defaults() {
    let example: Config = toml::from_str(include_str!("../../../larder.toml.example")).unwrap();
    let d = Config::default();
    assert_eq!(example.database_url.0, d.database_url.0);
    assert_eq!(example.listen, d.listen);
    assert_eq!(example.auth, d.auth);
    assert_eq!(example.wait_budget, d.wait_budget);
    assert_eq!(example.hot_cache_bytes, d.hot_cache_bytes);
    assert_eq!(example.disk_cache_dir, d.disk_cache_dir);
    assert_eq!(example.disk_cache_bytes, d.disk_cache_bytes);
    assert_eq!(example.max_flights, d.max_flights);
    assert_eq!(example.queue_max_per_provider, d.queue_max_per_provider);
    assert_eq!(example.client_idle_timeout, d.client_idle_timeout);
    assert_eq!(example.client_write_timeout, d.client_write_timeout);
    assert_eq!(example.db_max_connections, d.db_max_connections);
    assert_eq!(example.db_synchronous_commit, d.db_synchronous_commit);
    assert_eq!(example.worker.concurrency, d.worker.concurrency);
    assert_eq!(example.worker.heartbeat, d.worker.heartbeat);
    assert_eq!(
        example.worker.keep_finished_jobs,
        d.worker.keep_finished_jobs
    );
    assert_eq!(example.upstream.timeout, d.upstream.timeout);
    assert_eq!(example.upstream.attempts, d.upstream.attempts);
    assert_eq!(example.upstream.backoff_base, d.upstream.backoff_base);
    assert_eq!(example.upstream.backoff_max, d.upstream.backoff_max);
    assert_eq!(example.upstream.retry_after_max, d.upstream.retry_after_max);
    assert_eq!(example.upstream.max_body_bytes, d.upstream.max_body_bytes);
}

#[test]
fn every_env_variable_lands_in_its_field() {
    let c = Config::load(
        None,
        &env(&[
            ("LARDER_WAIT_BUDGET", "3s"),
            ("LARDER_HOT_CACHE_BYTES", "0"),
            ("LARDER_DB_MAX_CONNECTIONS", "7"),
            ("LARDER_DB_SYNCHRONOUS_COMMIT", "on"),
            ("LARDER_METRICS_LISTEN", "127.0.0.1:9464"),
            ("LARDER_WORKER_CONCURRENCY", "3"),
            ("LARDER_WORKER_HEARTBEAT", "2s"),
            ("LARDER_WORKER_POLL", "100ms"),
            ("LARDER_UPSTREAM_TIMEOUT", "4s"),
            ("LARDER_UPSTREAM_ATTEMPTS", "2"),
            ("LARDER_UPSTREAM_BACKOFF_BASE", "50ms"),
            ("LARDER_LOG_FORMAT", "json"),
            ("LARDER_OPENMETEO_RATE", "2.5"),
        ]),
    )
    .unwrap();
    assert_eq!(c.wait_budget, Duration::from_secs(3));
    assert_eq!(c.hot_cache_bytes, 0);
    assert_eq!(c.db_max_connections, Some(7));
    assert!(c.db_synchronous_commit);
    assert_eq!(c.metrics_listen.unwrap().port(), 9464);
    assert_eq!(c.worker.concurrency, 3);
    assert_eq!(c.worker.heartbeat, Duration::from_secs(2));
    assert_eq!(c.worker.poll, Duration::from_millis(100));
    assert_eq!(c.upstream.timeout, Duration::from_secs(4));
    assert_eq!(c.upstream.attempts, 2);
    assert_eq!(c.upstream.backoff_base, Duration::from_millis(50));
    assert_eq!(c.log_format, LogFormat::Json);
    assert_eq!(
        c.provider("openmeteo")
            .unwrap()
            .rate
            .as_ref()
            .map(|r| r.0.as_str()),
        Some("2.5")
    );
    let err =
        Config::load(None, &env(&[("LARDER_DB_SYNCHRONOUS_COMMIT", "sometimes")])).unwrap_err();
    assert!(
        err.to_string().contains("LARDER_DB_SYNCHRONOUS_COMMIT"),
        "{err}"
    );
}

#[test]
fn database_urls_are_printed_without_passwords() {
    use super::DatabaseUrl;
    let url = |s: &str| DatabaseUrl(s.into()).redacted();
    assert_eq!(
        url("postgres://me:secret@db:5432/larder"),
        "postgres://me:[redacted]@db:5432/larder"
    );
    assert_eq!(
        url("postgres://me@db/larder?password=secret&sslmode=require"),
        "postgres://me@db/larder?[redacted]"
    );
    assert_eq!(
        url("postgres://me@db/larder?sslmode=require"),
        "postgres://me@db/larder?sslmode=require"
    );
}
