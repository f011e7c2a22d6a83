//! Layered configuration: built-in defaults → `larder.toml` → environment →
//! command-line flags (applied by the binary). Every process reads the same.
//!
//! Secrets live in [`Secret`], which prints as `[redacted]` in `Debug` and
//! when serialised, so `larder check` and logs never show them.

use std::collections::BTreeMap;
use std::fmt;
use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::error::Error;
use crate::provider::custom::CustomProvider;
use crate::provider::{Catalogue, ProviderDef, Rate, RateSetting};

mod disk;
mod duration;
mod effective;
mod secret;
mod storage;
mod validate;
pub use disk::DiskDir;
pub use duration::{duration_str, opt_duration_str, parse_duration};
pub use secret::{DatabaseUrl, Secret};
pub use storage::{S3Config, StorageBackend, StorageConfig};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum AuthMode {
    #[default]
    Required,
    Off,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    #[default]
    Text,
    Json,
}

/// The whole configuration. Field docs name the env var; the commented
/// `larder.toml.example` at the repository root lists every key with its
/// default.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// `DATABASE_URL`. The database is created when missing.
    pub database_url: DatabaseUrl,
    /// `LARDER_LISTEN`: API address.
    pub listen: SocketAddr,
    /// `LARDER_ADMIN_TOKEN`: bearer token for the admin API and console
    /// (`/admin/*`); unset, they are not served.
    pub admin_token: Option<Secret>,
    /// `LARDER_AUTH`: `required` or `off`.
    pub auth: AuthMode,
    /// `LARDER_TMDB_DROPIN_AUTH`: `required` (the client gives its larder
    /// service key where it would give a TMDB key) or `off` (a trusted LAN:
    /// `/3/…` is served without keys).
    pub tmdb_dropin_auth: AuthMode,
    /// `LARDER_PUBLIC_URL`: larder's URL as clients reach it
    /// (`http://nas.lan:8080`); the TMDB drop-in's `configuration` points
    /// image URLs there. Unset: the request's `Host`.
    pub public_url: Option<String>,
    /// `LARDER_LOG_FORMAT`: `text` or `json`.
    pub log_format: LogFormat,
    /// `LARDER_SCHEDULES`: the scheduler's `schedules.toml`. Unset:
    /// `./schedules.toml` when it exists (a scheduler without one idles).
    pub schedules: Option<std::path::PathBuf>,
    /// `LARDER_HISTORY_DAYS`: how many days of snapshots of hot lists are
    /// kept (`GET /v1/hot/{source}/history`).
    pub history_days: u32,
    /// `LARDER_HIT_FLUSH_INTERVAL`: how often an API process adds the hits
    /// it counted in memory to the database (for refresh-ahead).
    #[serde(with = "duration_str")]
    pub hit_flush_interval: Duration,
    /// `LARDER_WAIT_BUDGET`: how long a miss waits for its fill before 202.
    #[serde(with = "duration_str")]
    pub wait_budget: Duration,
    /// `LARDER_HOT_CACHE_BYTES`: in-process cache in front of Postgres in
    /// each API process (0 disables it).
    pub hot_cache_bytes: u64,
    /// `LARDER_DISK_CACHE_DIR`: where the disk tier between the in-process
    /// cache and Postgres keeps its (unnamed) files: `auto` (the system's
    /// temporary folder, unless it is in memory), `off`, or a folder.
    pub disk_cache_dir: DiskDir,
    /// `LARDER_DISK_CACHE_BYTES`: the disk tier's size.
    pub disk_cache_bytes: u64,
    /// `LARDER_MAX_FLIGHTS`: fills an API process follows at once (each
    /// costs memory until its fill ends); past it a miss answers 503
    /// `overloaded` and nothing is enqueued.
    pub max_flights: usize,
    /// `LARDER_QUEUE_MAX_PER_PROVIDER`: fills of one provider queued
    /// (or deferred, or running) at once; past it a miss answers 503
    /// `queue-full` and nothing is enqueued.
    pub queue_max_per_provider: u64,
    /// `LARDER_CLIENT_IDLE_TIMEOUT`: a client connection that has not sent
    /// a whole request head for this long (a new connection, or one kept
    /// alive between requests) is closed.
    #[serde(with = "duration_str")]
    pub client_idle_timeout: Duration,
    /// `LARDER_CLIENT_WRITE_TIMEOUT`: a client that reads none of its answer
    /// for this long is disconnected.
    #[serde(with = "duration_str")]
    pub client_write_timeout: Duration,
    /// `LARDER_DB_MAX_CONNECTIONS`: pool size per process. Unset: sized
    /// from what the process runs (see `db::budget`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub db_max_connections: Option<u32>,
    /// `LARDER_DB_SYNCHRONOUS_COMMIT`: Postgres `synchronous_commit` for
    /// larder's connections. Off by default: everything larder writes can be
    /// fetched again, and a database crash then loses at most the last fraction
    /// of a second of fills, whole (an entry with its in-flight record, a job
    /// with its in-flight record), never half of one. It saves an fsync wait
    /// on every enqueue and fill.
    pub db_synchronous_commit: bool,
    /// `LARDER_METRICS_LISTEN`: where a `larder worker` process serves
    /// `/metrics` (API processes serve it on `listen`). Unset: not served.
    pub metrics_listen: Option<SocketAddr>,
    pub worker: WorkerConfig,
    pub upstream: UpstreamConfig,
    /// Where images and other assets are kept.
    pub storage: StorageConfig,
    /// Per-provider settings, keyed by provider id (`tmdb`, `openmeteo`, …).
    pub providers: BTreeMap<String, ProviderConfig>,
    /// `[[provider]]` tables: custom JSON upstreams served like built-in ones.
    #[serde(rename = "provider", skip_serializing_if = "Vec::is_empty")]
    pub custom_providers: Vec<CustomProvider>,
    /// The providers built from `custom_providers` when the file was read.
    #[serde(skip)]
    custom_defs: Vec<&'static ProviderDef>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct WorkerConfig {
    /// `LARDER_WORKER_CONCURRENCY` / `--concurrency`: jobs run at once.
    pub concurrency: usize,
    /// `LARDER_WORKER_HEARTBEAT`: a worker silent for 3 heartbeats is presumed dead
    /// and its jobs run again elsewhere.
    #[serde(with = "duration_str")]
    pub heartbeat: Duration,
    /// Finished queue rows older than this are pruned.
    #[serde(with = "duration_str")]
    pub keep_finished_jobs: Duration,
    /// `LARDER_WORKER_POLL`: how often an idle worker looks for jobs that no
    /// notification announced (rescued from a dead worker, due for retry,
    /// or whose notification apalis missed).
    #[serde(with = "duration_str")]
    pub poll: Duration,
    /// `LARDER_WORKER_MAX_RATE_WAIT`: the longest a fill waits for its rate
    /// slot inside a worker slot; a slot further ahead defers the fill to it
    /// (re-scheduled in the queue), so a slow provider never holds workers.
    #[serde(with = "duration_str")]
    pub max_rate_wait: Duration,
    /// `LARDER_WORKER_LANE_HORIZON`: how far ahead a provider's rate may be
    /// booked; a fill beyond it fails as `overloaded` (503) instead of
    /// queueing for hours.
    #[serde(with = "duration_str")]
    pub lane_horizon: Duration,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct UpstreamConfig {
    /// `LARDER_UPSTREAM_TIMEOUT`: one upstream call, connect to last byte.
    #[serde(with = "duration_str")]
    pub timeout: Duration,
    /// `LARDER_UPSTREAM_ATTEMPTS`: attempts per fetch (transport errors,
    /// timeouts, 5xx and 429 are retried).
    pub attempts: u32,
    /// `LARDER_UPSTREAM_BACKOFF_BASE`: first backoff; doubles each attempt,
    /// with full jitter, up to `backoff_max`.
    #[serde(with = "duration_str")]
    pub backoff_base: Duration,
    #[serde(with = "duration_str")]
    pub backoff_max: Duration,
    /// The longest "slow down" pause honoured (fills are deferred past it);
    /// a longer one fails the fill as overloaded.
    #[serde(with = "duration_str")]
    pub retry_after_max: Duration,
    /// Largest upstream body accepted.
    pub max_body_bytes: usize,
}

/// Per-provider overrides; everything falls back to the catalogue.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ProviderConfig {
    /// Set `false` to switch the provider off.
    pub enabled: Option<bool>,
    /// `LARDER_<ID>_BASE_URL`: one or more mirrors of the main host.
    pub base_url: Vec<String>,
    /// `LARDER_<ID>_<HOST>_BASE_URL`: mirrors of the provider's other hosts,
    /// by host name (`accounts`, `air-quality`…).
    pub hosts: BTreeMap<String, Vec<String>>,
    /// The provider's own settings by name: credentials (`api_key`,
    /// `client_id`…), `user_agent`. Each also has its variable
    /// (`TMDB_API_KEY`…); a comma-separated credential is a pool of keys that
    /// calls are spread over.
    pub settings: BTreeMap<String, Secret>,
    /// `LARDER_<ID>_RATE`: upstream calls shared by all workers: `40/s`,
    /// `90/min`, `60/h`, `5/30s`, or a number per second.
    pub rate: Option<RateSetting>,
    /// Calls allowed back to back before the rate applies.
    pub burst: Option<u32>,
    /// `LARDER_<ID>_CONCURRENCY`: fills of this provider run at once per
    /// worker process.
    pub concurrency: Option<usize>,
    /// Overrides for every resource of the provider.
    #[serde(with = "opt_duration_str", skip_serializing_if = "Option::is_none")]
    pub ttl: Option<Duration>,
    #[serde(with = "opt_duration_str", skip_serializing_if = "Option::is_none")]
    pub stale: Option<Duration>,
    #[serde(with = "opt_duration_str", skip_serializing_if = "Option::is_none")]
    pub negative_ttl: Option<Duration>,
    #[serde(with = "opt_duration_str", skip_serializing_if = "Option::is_none")]
    pub max_stale_on_error: Option<Duration>,
    /// Per-resource overrides, keyed by resource name (`movie`, `forecast`…).
    pub resources: BTreeMap<String, TtlOverride>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TtlOverride {
    #[serde(with = "opt_duration_str", skip_serializing_if = "Option::is_none")]
    pub ttl: Option<Duration>,
    #[serde(with = "opt_duration_str", skip_serializing_if = "Option::is_none")]
    pub stale: Option<Duration>,
    #[serde(with = "opt_duration_str", skip_serializing_if = "Option::is_none")]
    pub negative_ttl: Option<Duration>,
    #[serde(with = "opt_duration_str", skip_serializing_if = "Option::is_none")]
    pub max_stale_on_error: Option<Duration>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            database_url: DatabaseUrl("postgres://postgres@127.0.0.1:5432/larder".into()),
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            admin_token: None,
            auth: AuthMode::Required,
            tmdb_dropin_auth: AuthMode::Required,
            public_url: None,
            schedules: None,
            hit_flush_interval: Duration::from_secs(10),
            history_days: 30,
            log_format: LogFormat::Text,
            wait_budget: Duration::from_secs(10),
            hot_cache_bytes: 256 * 1024 * 1024,
            disk_cache_dir: DiskDir::Auto,
            disk_cache_bytes: 8 * 1024 * 1024 * 1024,
            max_flights: 10_000,
            queue_max_per_provider: 10_000,
            client_idle_timeout: Duration::from_secs(30),
            client_write_timeout: Duration::from_secs(30),
            db_max_connections: None,
            metrics_listen: None,
            db_synchronous_commit: false,
            worker: WorkerConfig::default(),
            upstream: UpstreamConfig::default(),
            storage: StorageConfig::default(),
            providers: BTreeMap::new(),
            custom_providers: Vec::new(),
            custom_defs: Vec::new(),
        }
    }
}

impl Default for WorkerConfig {
    fn default() -> Self {
        WorkerConfig {
            concurrency: 16,
            heartbeat: Duration::from_secs(5),
            keep_finished_jobs: Duration::from_secs(3600),
            poll: Duration::from_millis(250),
            max_rate_wait: Duration::from_millis(500),
            lane_horizon: Duration::from_secs(3600),
        }
    }
}

impl Default for UpstreamConfig {
    fn default() -> Self {
        UpstreamConfig {
            timeout: Duration::from_secs(10),
            attempts: 4,
            backoff_base: Duration::from_millis(200),
            backoff_max: Duration::from_secs(5),
            retry_after_max: Duration::from_secs(3600),
            max_body_bytes: 8 * 1024 * 1024,
        }
    }
}

/// Where the environment comes from: the process env in production, a map in tests.
pub trait Env {
    fn var(&self, name: &str) -> Option<String>;
}

/// The real process environment.
pub struct ProcessEnv;

impl Env for ProcessEnv {
    fn var(&self, name: &str) -> Option<String> {
        std::env::var(name).ok().filter(|v| !v.is_empty())
    }
}

impl Env for BTreeMap<String, String> {
    fn var(&self, name: &str) -> Option<String> {
        self.get(name).cloned().filter(|v| !v.is_empty())
    }
}

impl Config {
    /// Defaults, then the file (if given and present), then the environment.
    /// An explicitly named file that is missing is an error; the default
    /// `./larder.toml` is optional.
    pub fn load(path: Option<&Path>, env: &dyn Env) -> Result<Config, Error> {
        let explicit = path
            .map(Path::to_path_buf)
            .or_else(|| env.var("LARDER_CONFIG").map(Into::into));
        let mut config = match &explicit {
            Some(p) => Self::from_file(p)?,
            None if Path::new("larder.toml").exists() => Self::from_file(Path::new("larder.toml"))?,
            None => Config::default(),
        };
        config.apply_env(env)?;
        config.validate()?;
        Ok(config)
    }

    fn from_file(path: &Path) -> Result<Config, Error> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| Error::Config(format!("cannot read {}: {e}", path.display())))?;
        let mut config: Config =
            toml::from_str(&text).map_err(|e| Error::Config(format!("{}: {e}", path.display())))?;
        let builtin: Vec<&str> = Catalogue::builtin().providers().map(|p| p.id).collect();
        config.custom_defs = crate::provider::custom::build(&config.custom_providers, &builtin)
            .map_err(|e| Error::Config(format!("{}: {e}", path.display())))?;
        Ok(config)
    }

    /// Every provider: the built-in ones and this configuration's custom ones.
    pub fn catalogue(&self) -> Catalogue {
        Catalogue::with_custom(&self.custom_defs)
    }

    fn apply_env(&mut self, env: &dyn Env) -> Result<(), Error> {
        fn parse<T: std::str::FromStr>(name: &str, v: &str) -> Result<T, Error>
        where
            T::Err: fmt::Display,
        {
            v.parse()
                .map_err(|e| Error::Config(format!("{name}={v:?}: {e}")))
        }
        fn dur(name: &str, v: &str) -> Result<Duration, Error> {
            humantime::parse_duration(v).map_err(|e| Error::Config(format!("{name}={v:?}: {e}")))
        }
        fn one_of<T: Copy>(name: &str, v: &str, choices: &[(&str, T)]) -> Result<T, Error> {
            choices
                .iter()
                .find(|(k, _)| *k == v)
                .map(|(_, t)| *t)
                .ok_or_else(|| {
                    let names: Vec<&str> = choices.iter().map(|(k, _)| *k).collect();
                    Error::Config(format!(
                        "{name}={v:?}: expected one of {}",
                        names.join(", ")
                    ))
                })
        }
        /// `FIELD = PARSER(NAME, value)` when the variable NAME is set.
        macro_rules! from_env {
            ($($name:literal => $field:expr, $parser:expr;)*) => {$(
                if let Some(v) = env.var($name) {
                    $field = $parser($name, &v)?;
                }
            )*};
        }
        let bool_words = [
            ("on", true),
            ("true", true),
            ("1", true),
            ("off", false),
            ("false", false),
            ("0", false),
        ];
        from_env! {
            "DATABASE_URL" => self.database_url, |_: &str, v: &str| Ok::<_, Error>(DatabaseUrl(v.to_owned()));
            "LARDER_LISTEN" => self.listen, parse;
            "LARDER_ADMIN_TOKEN" => self.admin_token, |_: &str, v: &str| Ok::<_, Error>(Some(Secret(v.to_owned())));
            "LARDER_AUTH" => self.auth, |n, v| one_of(n, v, &[("required", AuthMode::Required), ("off", AuthMode::Off)]);
            "LARDER_TMDB_DROPIN_AUTH" => self.tmdb_dropin_auth, |n, v| one_of(n, v, &[("required", AuthMode::Required), ("off", AuthMode::Off)]);
            "LARDER_PUBLIC_URL" => self.public_url, |_: &str, v: &str| Ok::<_, Error>(Some(v.trim_end_matches('/').to_owned()));
            "LARDER_SCHEDULES" => self.schedules, |_: &str, v: &str| Ok::<_, Error>(Some(v.into()));
            "LARDER_HIT_FLUSH_INTERVAL" => self.hit_flush_interval, dur;
            "LARDER_HISTORY_DAYS" => self.history_days, parse;
            "LARDER_LOG_FORMAT" => self.log_format, |n, v| one_of(n, v, &[("text", LogFormat::Text), ("json", LogFormat::Json)]);
            "LARDER_WAIT_BUDGET" => self.wait_budget, dur;
            "LARDER_HOT_CACHE_BYTES" => self.hot_cache_bytes, parse;
            "LARDER_DISK_CACHE_DIR" => self.disk_cache_dir, |_: &str, v: &str| Ok::<_, Error>(DiskDir::parse(v));
            "LARDER_DISK_CACHE_BYTES" => self.disk_cache_bytes, parse;
            "LARDER_MAX_FLIGHTS" => self.max_flights, parse;
            "LARDER_QUEUE_MAX_PER_PROVIDER" => self.queue_max_per_provider, parse;
            "LARDER_CLIENT_IDLE_TIMEOUT" => self.client_idle_timeout, dur;
            "LARDER_CLIENT_WRITE_TIMEOUT" => self.client_write_timeout, dur;
            "LARDER_DB_MAX_CONNECTIONS" => self.db_max_connections, |n, v| parse(n, v).map(Some);
            "LARDER_DB_SYNCHRONOUS_COMMIT" => self.db_synchronous_commit, |n, v| one_of(n, v, &bool_words);
            "LARDER_METRICS_LISTEN" => self.metrics_listen, |n, v| parse(n, v).map(Some);
            "LARDER_WORKER_CONCURRENCY" => self.worker.concurrency, parse;
            "LARDER_WORKER_HEARTBEAT" => self.worker.heartbeat, dur;
            "LARDER_WORKER_POLL" => self.worker.poll, dur;
            "LARDER_WORKER_MAX_RATE_WAIT" => self.worker.max_rate_wait, dur;
            "LARDER_WORKER_LANE_HORIZON" => self.worker.lane_horizon, dur;
            "LARDER_UPSTREAM_TIMEOUT" => self.upstream.timeout, dur;
            "LARDER_UPSTREAM_ATTEMPTS" => self.upstream.attempts, parse;
            "LARDER_UPSTREAM_BACKOFF_BASE" => self.upstream.backoff_base, dur;
            "LARDER_STORAGE" => self.storage.backend, |n, v| one_of(n, v, &[("local", StorageBackend::Local), ("s3", StorageBackend::S3)]);
            "LARDER_STORAGE_DIR" => self.storage.dir, |_: &str, v: &str| Ok::<_, Error>(v.into());
            "LARDER_STORAGE_TIMEOUT" => self.storage.timeout, dur;
            "LARDER_IMAGE_REDIRECT" => self.storage.redirect, |n, v| one_of(n, v, &bool_words);
            "LARDER_ASSET_MAX_BYTES" => self.storage.max_asset_bytes, parse;
            "LARDER_S3_BUCKET" => self.storage.s3.bucket, |_: &str, v: &str| Ok::<_, Error>(v.to_owned());
            "LARDER_S3_REGION" => self.storage.s3.region, |_: &str, v: &str| Ok::<_, Error>(v.to_owned());
            "LARDER_S3_ENDPOINT" => self.storage.s3.endpoint, |_: &str, v: &str| Ok::<_, Error>(Some(v.to_owned()));
            "LARDER_S3_ACCESS_KEY_ID" => self.storage.s3.access_key_id, |_: &str, v: &str| Ok::<_, Error>(Some(Secret(v.to_owned())));
            "LARDER_S3_SECRET_ACCESS_KEY" => self.storage.s3.secret_access_key, |_: &str, v: &str| Ok::<_, Error>(Some(Secret(v.to_owned())));
            "LARDER_S3_PATH_STYLE" => self.storage.s3.path_style, |n, v| one_of(n, v, &bool_words);
            "LARDER_S3_PUBLIC_BASE" => self.storage.s3.public_base, |_: &str, v: &str| Ok::<_, Error>(Some(v.to_owned()));
            "LARDER_S3_PRESIGN_TTL" => self.storage.s3.presign_ttl, dur;
        }
        for def in self.catalogue().providers() {
            let upper = env_name(def.id);
            let entry = self.providers.entry(def.id.to_owned()).or_default();
            for host in def.hosts {
                let name = if host.name.is_empty() {
                    format!("LARDER_{upper}_BASE_URL")
                } else {
                    format!("LARDER_{upper}_{}_BASE_URL", env_name(host.name))
                };
                if let Some(v) = env.var(&name) {
                    if host.name.is_empty() {
                        entry.base_url = split_list(&v);
                    } else {
                        entry.hosts.insert(host.name.to_owned(), split_list(&v));
                    }
                }
            }
            let name = format!("LARDER_{upper}_RATE");
            if let Some(v) = env.var(&name) {
                Rate::parse(&v, 1).map_err(|e| Error::Config(format!("{name}: {e}")))?;
                entry.rate = Some(RateSetting(v));
            }
            let name = format!("LARDER_{upper}_BURST");
            if let Some(v) = env.var(&name) {
                entry.burst = Some(parse(&name, &v)?);
            }
            let name = format!("LARDER_{upper}_CONCURRENCY");
            if let Some(v) = env.var(&name) {
                entry.concurrency = Some(parse(&name, &v)?);
            }
            for setting in def.settings {
                if let Some(v) = env.var(setting.env) {
                    entry.settings.insert(setting.name.to_owned(), Secret(v));
                }
            }
        }
        Ok(())
    }

    pub fn provider(&self, id: &str) -> Option<&ProviderConfig> {
        self.providers.get(id)
    }
}

/// A provider or host id as it appears in a variable name: `AIR_QUALITY`.
pub fn env_name(id: &str) -> String {
    id.to_ascii_uppercase().replace('-', "_")
}

fn split_list(v: &str) -> Vec<String> {
    v.split(',')
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
        .collect()
}

#[cfg(test)]
mod tests;
