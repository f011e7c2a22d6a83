//! `larder check`: the schedules file, then the configuration in effect,
//! secrets redacted.

use anyhow::{Result, bail};
use larder_jobs::config::Config;
use larder_jobs::db::Role;
use larder_jobs::provider::ProviderSettings;

pub fn run(config: &Config) -> Result<()> {
    // The schedules file first: a bad one is an error, with its line.
    match larder_jobs::schedule::load_configured(config) {
        Ok(Some((path, schedules))) => {
            eprintln!("schedules: {} in {}", schedules.len(), path.display());
            for s in &schedules {
                for w in s.warnings(config) {
                    eprintln!("warning: {w}");
                }
            }
        }
        Ok(None) => eprintln!("schedules: none (no ./schedules.toml, LARDER_SCHEDULES unset)"),
        Err(e) => bail!("schedules: {e}"),
    }
    for p in ProviderSettings::all(config) {
        match &p.enabled {
            Ok(()) => {
                let hosts: Vec<String> = p
                    .hosts
                    .iter()
                    .map(|(name, urls)| match *name {
                        "" => urls.join(", "),
                        name => format!("{name}: {}", urls.join(", ")),
                    })
                    .collect();
                eprintln!(
                    "provider {}: enabled, rate {} ({})",
                    p.def.id,
                    p.rate,
                    hosts.join("; ")
                )
            }
            Err(why) => eprintln!("provider {}: disabled: {why}", p.def.id),
        }
    }
    let c = config.worker.concurrency;
    let sized = |role| {
        let main = config
            .db_max_connections
            .unwrap_or_else(|| larder_jobs::db::budget(role));
        larder_jobs::db::total(role, main)
    };
    eprintln!(
        "database connections per process: api {}, worker {} (concurrency {c}), all {}; \
         {} (README: Scaling out)",
        sized(Role::Api),
        sized(Role::Worker { concurrency: c }),
        sized(Role::All { concurrency: c }),
        if config.db_max_connections.is_some() {
            "LARDER_DB_MAX_CONNECTIONS, plus 3 for a worker's queue"
        } else {
            "api 8; worker 3 for the queue + concurrency/2 for fills (at most 7)"
        },
    );
    // Print what is in effect: every provider's base URLs and rate, not
    // the empty overrides of providers left at their defaults.
    println!("{}", toml::to_string_pretty(&config.effective())?);
    Ok(())
}
