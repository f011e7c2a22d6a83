//! The `larder` binary: parses the command line and starts the parts.
//! Everything else lives in the `larder-jobs`, `larder-api` and
//! `larder-worker` libraries.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use clap::{Parser, Subcommand};
use larder_jobs::config::{AuthMode, Config, ProcessEnv};
use larder_jobs::db::Role;
use larder_jobs::keys::Keys;
use larder_jobs::provider::ProviderSettings;
use larder_jobs::store::Store;
use sqlx::PgPool;
use tokio::sync::watch;

mod check;
mod telemetry;

/// mimalloc rather than the system allocator: it hands freed memory back to
/// the system (glibc kept ~450 MiB resident after 20,000 flights had ended),
/// and it is faster on the many small allocations of the hit path.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(
    name = "larder",
    version,
    about = "Caching and prefetching gateway for third-party HTTP APIs"
)]
struct Cli {
    /// Configuration file (default: ./larder.toml when present; env LARDER_CONFIG).
    #[arg(long, global = true)]
    config: Option<PathBuf>,
    /// Do not apply migrations on start.
    #[arg(long, global = true)]
    no_migrate: bool,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// API + worker in one process (the default).
    All {
        /// Address the API listens on (env LARDER_LISTEN; default 127.0.0.1:8080).
        #[arg(long)]
        listen: Option<std::net::SocketAddr>,
        /// Jobs the worker runs at once (env LARDER_WORKER_CONCURRENCY; default 16).
        #[arg(long)]
        concurrency: Option<usize>,
    },
    /// HTTP API only; any number may run.
    Api {
        /// Address to listen on (env LARDER_LISTEN; default 127.0.0.1:8080).
        #[arg(long)]
        listen: Option<std::net::SocketAddr>,
    },
    /// Job runner only; any number may run.
    Worker {
        /// Jobs run at once (env LARDER_WORKER_CONCURRENCY; default 16).
        #[arg(long)]
        concurrency: Option<usize>,
    },
    /// Runs `schedules.toml` (prewarm, refresh-ahead); any number may run,
    /// each tick fires once.
    Scheduler,
    /// Apply migrations and exit.
    Migrate,
    /// Manage service keys.
    #[command(subcommand)]
    Keys(KeysCommand),
    /// Drop cache entries whose key starts with PREFIX (e.g. `tmdb/movie/`).
    Purge {
        /// Key prefix, e.g. `tmdb/movie/` (every process drops its copies too).
        prefix: String,
    },
    /// Validate the configuration and print it, secrets redacted.
    Check,
}

#[derive(Subcommand)]
enum KeysCommand {
    /// Create a key; its token is printed alone on the last line of stdout.
    Create {
        /// A name to know the key by.
        #[arg(long)]
        name: String,
        /// Providers the key may read, comma-separated (default: all).
        #[arg(long, value_delimiter = ',')]
        scopes: Vec<String>,
        /// Lifetime such as 30d or 12h (default: never expires).
        #[arg(long, value_parser = humantime_duration)]
        expires_in: Option<Duration>,
        /// Requests the key may make, such as 600/min (default: no quota);
        /// past it the key gets 429 until the window ends.
        #[arg(long, value_parser = larder_jobs::keys::Quota::parse)]
        quota: Option<larder_jobs::keys::Quota>,
    },
    /// List keys (never their tokens).
    List,
    /// Revoke a key; every API process stops accepting it within seconds.
    Revoke {
        /// The key's id, as `keys list` shows it.
        id: i64,
    },
}

fn humantime_duration(s: &str) -> Result<Duration, String> {
    larder_jobs::config::parse_duration(s)
}

fn main() -> Result<()> {
    let cli = Cli::parse();
    let mut config = Config::load(cli.config.as_deref(), &ProcessEnv)?;
    match &cli.command {
        Some(Command::All {
            listen,
            concurrency,
        }) => {
            if let Some(l) = listen {
                config.listen = *l;
            }
            if let Some(c) = concurrency {
                config.worker.concurrency = *c;
            }
        }
        Some(Command::Api { listen: Some(l) }) => config.listen = *l,
        Some(Command::Worker {
            concurrency: Some(c),
        }) => config.worker.concurrency = *c,
        _ => {}
    }
    if config.worker.concurrency == 0 {
        bail!("--concurrency must be at least 1");
    }
    telemetry::init(config.log_format);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let result = runtime.block_on(run(cli, Arc::new(config)));
    telemetry::flush();
    result
}

async fn run(cli: Cli, config: Arc<Config>) -> Result<()> {
    let command = cli.command.unwrap_or(Command::All {
        listen: None,
        concurrency: None,
    });
    if let Command::Check = command {
        return check::run(&config);
    }
    // A bad schedules file stops the start, before anything connects.
    if matches!(command, Command::Scheduler | Command::All { .. }) {
        larder_jobs::schedule::load_configured(&config)
            .map_err(|e| anyhow::anyhow!("schedules: {e}"))?;
    }
    let concurrency = config.worker.concurrency;
    let role = match command {
        Command::Api { .. } => Role::Api,
        Command::Worker { .. } => Role::Worker { concurrency },
        Command::All { .. } => Role::All { concurrency },
        _ => Role::Tool,
    };
    let pool = connect(
        &config,
        role,
        !cli.no_migrate || matches!(command, Command::Migrate),
    )
    .await?;
    // A worker's queue takes its connections first (see `db::queue_pool`).
    let queue_pool = match role {
        Role::Worker { .. } | Role::All { .. } => Some(
            larder_jobs::db::queue_pool(&config.database_url.0, config.db_synchronous_commit)
                .await?,
        ),
        _ => None,
    };
    match command {
        Command::Migrate => {
            println!("migrations applied");
            Ok(())
        }
        Command::Keys(k) => keys(k, Keys::new(pool), &config).await,
        Command::Purge { prefix } => {
            let n = Store::new(pool).purge(&prefix).await?;
            println!("purged {n} entries");
            Ok(())
        }
        Command::Api { .. } => {
            let shutdown = shutdown_signal();
            let api = start_api(config, pool).await?;
            api.run(wait_for(shutdown)).await?;
            Ok(())
        }
        Command::Worker { .. } => {
            let shutdown = shutdown_signal();
            let concurrency = config.worker.concurrency;
            // Install the recorder even when not served: metrics cost nothing then.
            let _ = larder_api::metrics_handle();
            if let Some(addr) = config.metrics_listen {
                tokio::spawn(larder_api::serve_metrics(addr, wait_for(shutdown.clone())));
            }
            larder_worker::run(config, pool, queue_pool, concurrency, wait_for(shutdown)).await?;
            Ok(())
        }
        Command::Scheduler => {
            let shutdown = shutdown_signal();
            let _ = larder_api::metrics_handle();
            if let Some(addr) = config.metrics_listen {
                tokio::spawn(larder_api::serve_metrics(addr, wait_for(shutdown.clone())));
            }
            larder_scheduler::run(config, pool, wait_for(shutdown)).await?;
            Ok(())
        }
        Command::All { .. } => {
            let shutdown = shutdown_signal();
            let concurrency = config.worker.concurrency;
            // The API binds first: a taken port ends the process at once.
            let api = start_api(config.clone(), pool.clone()).await?;
            let worker = tokio::spawn(larder_worker::run(
                config.clone(),
                pool.clone(),
                queue_pool,
                concurrency,
                wait_for(shutdown.clone()),
            ));
            let scheduler = tokio::spawn(larder_scheduler::run(
                config,
                pool,
                wait_for(shutdown.clone()),
            ));
            let served = api.run(wait_for(shutdown)).await;
            worker.await.context("worker task")??;
            scheduler.await.context("scheduler task")??;
            served?;
            Ok(())
        }
        Command::Check => unreachable!("handled above"),
    }
}

/// Prepare the API: its first key, its warnings, and its listening socket
/// (bound here, so a taken port fails the process before anything runs).
async fn start_api(config: Arc<Config>, pool: PgPool) -> Result<larder_api::Api> {
    if config.auth == AuthMode::Off {
        tracing::warn!("LARDER_AUTH=off: /v1/* is served without service keys");
    } else if let Some(token) = Keys::new(pool.clone()).ensure_default().await? {
        println!(
            "larder: no service key existed, so one named \"default\" with every scope was created."
        );
        println!("larder: it is shown only this once; keep it:");
        println!("{token}");
    }
    // One line for all of them: most installs leave most providers off.
    let off: Vec<String> = ProviderSettings::all(&config)
        .iter()
        .filter_map(|p| Some(format!("{} ({})", p.def.id, p.enabled.as_ref().err()?)))
        .collect();
    if !off.is_empty() {
        tracing::info!(
            "{} of {} providers disabled: {}",
            off.len(),
            config.catalogue().providers().count(),
            off.join(", ")
        );
    }
    let listen = config.listen;
    let api = larder_api::Api::build(config, pool)
        .await
        .with_context(|| format!("the API cannot listen on {listen}"))?;
    tracing::info!(addr = %api.local_addr(), "API listening");
    Ok(api)
}

/// Create the database if needed, connect and migrate. The database may be
/// starting alongside us (compose, systemd): retry for ten seconds, then
/// exit naming it (a supervisor's restart policy takes it from there).
async fn connect(config: &Config, role: Role, migrate: bool) -> Result<PgPool> {
    let url = &config.database_url.0;
    let size = config
        .db_max_connections
        .unwrap_or_else(|| larder_jobs::db::budget(role));
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let attempt = async {
            larder_jobs::db::create_if_missing(url).await?;
            let pool = larder_jobs::db::pool_with(url, size, config.db_synchronous_commit)?;
            if migrate {
                larder_jobs::db::migrate(&pool).await?;
            }
            if role != Role::Tool {
                match larder_jobs::db::check_room(&pool, larder_jobs::db::total(role, size)).await {
                    Ok(None) => tracing::debug!(connections = size, "database pool fits"),
                    Ok(Some(warning)) => tracing::warn!("{warning}"),
                    Err(e) => {
                        tracing::debug!(error = %e, "could not read the server's connection limits")
                    }
                }
            }
            Ok::<_, larder_jobs::Error>(pool)
        };
        match attempt.await {
            Ok(pool) => return Ok(pool),
            Err(e) if e.is_unavailable() && tokio::time::Instant::now() < deadline => {
                tracing::warn!(error = %e, db = %config.database_url.redacted(), "database not reachable yet; retrying");
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
            Err(e) => {
                return Err(e).context(format!("database {}", config.database_url.redacted()));
            }
        }
    }
}

async fn keys(command: KeysCommand, keys: Keys, config: &Config) -> Result<()> {
    match command {
        KeysCommand::Create {
            name,
            scopes,
            expires_in,
            quota,
        } => {
            let catalogue = config.catalogue();
            let known: Vec<_> = catalogue.providers().map(|p| p.id).collect();
            for s in &scopes {
                if s != larder_jobs::keys::ALL_SCOPES && !known.contains(&s.as_str()) {
                    bail!("unknown scope {s:?}; known providers: {}", known.join(", "));
                }
            }
            let (info, token) = keys.create(&name, &scopes, expires_in, quota).await?;
            println!(
                "created key {} \"{}\" scopes={} expires={} quota={}",
                info.id,
                info.name,
                info.scopes.join(","),
                expiry(info.expires_at),
                info.quota.as_deref().unwrap_or("none")
            );
            println!("{token}");
        }
        KeysCommand::List => {
            println!(
                "{:<6} {:<20} {:<12} {:<24} {:<26} {:<12} status",
                "id", "name", "prefix", "scopes", "expires", "quota"
            );
            let now = chrono::Utc::now();
            for k in keys.list().await? {
                let status = if k.revoked_at.is_some() {
                    "revoked"
                } else if k.expires_at.is_some_and(|e| e <= now) {
                    "expired"
                } else {
                    "active"
                };
                println!(
                    "{:<6} {:<20} {:<12} {:<24} {:<26} {:<12} {status}",
                    k.id,
                    k.name,
                    k.prefix,
                    k.scopes.join(","),
                    expiry(k.expires_at),
                    k.quota.as_deref().unwrap_or("-")
                );
            }
        }
        KeysCommand::Revoke { id } => {
            if keys.revoke(id).await? {
                println!("revoked key {id}");
            } else {
                bail!("no key with id {id}");
            }
        }
    }
    Ok(())
}

fn expiry(at: Option<chrono::DateTime<chrono::Utc>>) -> String {
    at.map_or_else(|| "never".into(), |t| t.to_rfc3339())
}

/// Resolves (true) on SIGINT or SIGTERM.
fn shutdown_signal() -> watch::Receiver<bool> {
    let (tx, rx) = watch::channel(false);
    tokio::spawn(async move {
        let ctrl_c = tokio::signal::ctrl_c();
        #[cfg(unix)]
        let term = async {
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(mut s) => {
                    s.recv().await;
                }
                Err(_) => std::future::pending().await,
            }
        };
        #[cfg(not(unix))]
        let term = std::future::pending::<()>();
        tokio::select! {
            _ = ctrl_c => {}
            _ = term => {}
        }
        tracing::info!("shutting down");
        let _ = tx.send(true);
    });
    rx
}

async fn wait_for(mut rx: watch::Receiver<bool>) {
    let _ = rx.wait_for(|v| *v).await;
}

#[cfg(test)]
mod tests {
    use super::Cli;
    use clap::CommandFactory;

    /// `larder --help` and `larder <cmd> --help` describe every command and
    /// flag in a line.
    #[test]
    fn every_command_and_flag_is_described() {
        fn walk(cmd: &clap::Command, path: &str, missing: &mut Vec<String>) {
            for arg in cmd.get_arguments().filter(|a| !a.is_hide_set()) {
                if arg
                    .get_help()
                    .is_none_or(|h| h.to_string().trim().is_empty())
                {
                    missing.push(format!("{path} --{}", arg.get_id()));
                }
            }
            for sub in cmd.get_subcommands() {
                let path = format!("{path} {}", sub.get_name());
                if sub.get_about().is_none() {
                    missing.push(path.clone());
                }
                walk(sub, &path, missing);
            }
        }
        let mut cmd = Cli::command();
        cmd.build();
        cmd.clone().debug_assert();
        let mut missing = Vec::new();
        walk(&cmd, "larder", &mut missing);
        assert!(missing.is_empty(), "undescribed: {missing:?}");
    }
}
