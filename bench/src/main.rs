//! Benchmark drivers for larder. `bench/run.sh` starts the processes and
//! calls these; see BENCHMARKS.md. Measurements, not tests.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use bytes::Bytes;
use clap::{Parser, Subcommand};
use futures_util::future::join_all;
use larder_jobs::job::FetchReason;
use larder_jobs::provider::Catalogue;
use larder_jobs::store::{NewEntry, Store};

mod fixture;
mod keyspace;
mod load;
use load::{flood, storm};

const MOVIE: &str = include_str!("../../tests/fixtures/tmdb/movie/550.json");

#[derive(Parser)]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Serve TMDB-shaped movie documents (any id) after `delay_ms`,
    /// gzipped to a client that accepts it (as TMDB does).
    Fixture {
        #[arg(long)]
        addr: String,
        #[arg(long, default_value_t = 0)]
        delay_ms: u64,
        /// `small` (1.8 KB) or `large` (~37 KB, with credits and images).
        #[arg(long, default_value = "small")]
        record: String,
    },
    /// Store N records straight into larder's cache table (movies
    /// `first_id..`), compressed as a worker would.
    Seed {
        #[arg(long)]
        db: String,
        #[arg(long)]
        n: usize,
        #[arg(long, default_value_t = 1)]
        first_id: u64,
        #[arg(long, default_value = "small")]
        record: String,
    },
    /// Ratio, encode and decode cost of gzip and zstd on the records.
    Codecs,
    /// GET `{prefix}{id}` for N ids (64 at once); every answer must be 200.
    Warm {
        #[arg(long)]
        prefix: String,
        #[arg(long)]
        n: usize,
        #[arg(long, default_value_t = 1)]
        first_id: u64,
        /// `name: value`, repeatable.
        #[arg(long = "header")]
        headers: Vec<String>,
    },
    /// Latency from a fill's commit to the waiting caller's response.
    Wake {
        #[arg(long)]
        api: String,
        #[arg(long)]
        db: String,
        #[arg(long)]
        token: String,
        #[arg(long, default_value_t = 300)]
        n: usize,
        /// Callers waiting on each key (measured: commit → each response).
        #[arg(long, default_value_t = 1)]
        callers: usize,
    },
    /// N callers on one fresh key at once; latency added over the upstream's.
    Coalesce {
        #[arg(long)]
        api: String,
        #[arg(long)]
        token: String,
        #[arg(long, default_value_t = 200)]
        callers: usize,
        #[arg(long, default_value_t = 10)]
        rounds: usize,
        #[arg(long, default_value_t = 300)]
        upstream_ms: u64,
        #[arg(long, default_value_t = 100_000)]
        first_id: u64,
    },
    /// Send N requests of one shape to an API process and report its
    /// resident memory before and after (`/proc/PID/status`).
    Flood {
        #[arg(long)]
        api: String,
        #[arg(long)]
        token: String,
        /// The API process.
        #[arg(long)]
        pid: u32,
        /// `misses` (distinct keys, `Prefer: wait=0`), `padded` (one key,
        /// N distinct but equivalent spellings), `fills` (distinct keys,
        /// waited for: they end up in the hot cache), `hits` (one cached key).
        #[arg(long)]
        kind: String,
        #[arg(long, default_value_t = 20_000)]
        n: usize,
        #[arg(long, default_value_t = 64)]
        concurrency: usize,
        #[arg(long, default_value_t = 5_000_000)]
        first_id: u64,
    },
    /// A miss storm: N distinct keys from C concurrent clients spread over
    /// several API processes; answers by status, time, upstream calls per
    /// key (from the fixture).
    Storm {
        /// Comma-separated API base URLs.
        #[arg(long, value_delimiter = ',')]
        apis: Vec<String>,
        #[arg(long)]
        token: String,
        /// The fixture upstream, for its call counts.
        #[arg(long)]
        fixture: String,
        #[arg(long, default_value_t = 6000)]
        n: usize,
        #[arg(long, default_value_t = 256)]
        clients: usize,
        #[arg(long, default_value_t = 20)]
        wait: u64,
        #[arg(long, default_value_t = 9_000_000)]
        first_id: u64,
    },
    /// Fetch jobs per second through the queue (workers run separately).
    Throughput {
        #[arg(long)]
        db: String,
        #[arg(long, default_value_t = 2000)]
        n: usize,
        #[arg(long, default_value_t = 1_000_000)]
        first_id: u64,
    },
}

#[tokio::main]
async fn main() -> Result<()> {
    match Cli::parse().command {
        Cmd::Fixture {
            addr,
            delay_ms,
            record,
        } => fixture::fixture(&addr, Duration::from_millis(delay_ms), &record).await,
        Cmd::Seed {
            db,
            n,
            first_id,
            record,
        } => keyspace::seed(&db, n, first_id, &record).await,
        Cmd::Codecs => keyspace::codecs(),
        Cmd::Warm {
            prefix,
            n,
            first_id,
            headers,
        } => keyspace::warm(&prefix, n, first_id, &headers).await,
        Cmd::Wake {
            api,
            db,
            token,
            n,
            callers,
        } => wake(&api, &db, &token, n, callers).await,
        Cmd::Coalesce {
            api,
            token,
            callers,
            rounds,
            upstream_ms,
            first_id,
        } => coalesce(&api, &token, callers, rounds, upstream_ms, first_id).await,
        Cmd::Throughput { db, n, first_id } => throughput(&db, n, first_id).await,
        Cmd::Storm {
            apis,
            token,
            fixture,
            n,
            clients,
            wait,
            first_id,
        } => storm(&apis, &token, &fixture, n, clients, wait, first_id).await,
        Cmd::Flood {
            api,
            token,
            pid,
            kind,
            n,
            concurrency,
            first_id,
        } => flood(&api, &token, pid, &kind, n, concurrency, first_id).await,
    }
}

fn percentiles(name: &str, mut v: Vec<Duration>) {
    v.sort();
    let p = |q: f64| v[((v.len() as f64 - 1.0) * q).round() as usize];
    println!(
        "{name}: n={} p50={:.2}ms p90={:.2}ms p99={:.2}ms max={:.2}ms",
        v.len(),
        p(0.5).as_secs_f64() * 1e3,
        p(0.9).as_secs_f64() * 1e3,
        p(0.99).as_secs_f64() * 1e3,
        v[v.len() - 1].as_secs_f64() * 1e3
    );
}

/// For each of `n` fresh keys: a caller waits on the API (no worker runs);
/// once its fill is recorded as in flight, this process plays the worker and
/// commits the entry via the store (which notifies). Measured: commit
/// returned → caller's response complete.
async fn wake(api: &str, db: &str, token: &str, n: usize, callers: usize) -> Result<()> {
    let pool = larder_jobs::db::pool(db, 4)?;
    let store = Store::new(pool.clone());
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(callers)
        .build()?;
    join_all((0..callers).map(|_| http.get(format!("{api}/livez")).send())).await;
    let ttl = Catalogue::builtin()
        .resolve("tmdb", "movie/1", "")?
        .resource
        .ttl;
    let mut samples = Vec::with_capacity(n);
    for i in 0..n {
        let id = 5_000_000 + (callers as u64) * 10_000 + i as u64;
        let key = Catalogue::builtin()
            .resolve("tmdb", &format!("movie/{id}"), "")?
            .key;
        let waiting: Vec<_> = (0..callers)
            .map(|_| {
                let req = http
                    .get(format!("{api}/v1/tmdb/movie/{id}"))
                    .bearer_auth(token)
                    .header("prefer", "wait=30")
                    .send();
                tokio::spawn(async move {
                    let r = req.await?;
                    let status = r.status();
                    r.bytes().await?;
                    Ok::<_, reqwest::Error>((status, Instant::now()))
                })
            })
            .collect();
        let deadline = Instant::now() + Duration::from_secs(10);
        while !store.in_flight(&key).await? {
            if Instant::now() > deadline {
                bail!("fill for {key} never started");
            }
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        // Let the API settle into its wait (all callers arrived).
        tokio::time::sleep(Duration::from_millis(if callers > 1 { 100 } else { 5 })).await;
        let entry = NewEntry {
            status: 200,
            content_type: "application/json".into(),
            body: Bytes::from_static(MOVIE.as_bytes()),
        };
        store.complete(&key, None, &entry, &ttl).await?;
        let committed = Instant::now();
        for caller in join_all(waiting).await {
            let (status, answered) = caller??;
            if status != 200 {
                bail!("caller got {status}");
            }
            samples.push(answered.saturating_duration_since(committed));
        }
    }
    sqlx::query("DELETE FROM apalis.jobs WHERE job_type = 'larder.fetch'")
        .execute(&pool)
        .await?;
    percentiles(
        &format!("wake latency (commit → response), {callers} caller(s) per key"),
        samples,
    );
    Ok(())
}

async fn coalesce(
    api: &str,
    token: &str,
    callers: usize,
    rounds: usize,
    upstream_ms: u64,
    first_id: u64,
) -> Result<()> {
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(callers)
        .build()?;
    // Open the connections first, so connection set-up is not measured.
    join_all((0..callers).map(|_| http.get(format!("{api}/livez")).send())).await;
    let upstream = Duration::from_millis(upstream_ms);
    let mut added = Vec::with_capacity(callers * rounds);
    for round in 0..rounds {
        let url = Arc::new(format!("{api}/v1/tmdb/movie/{}", first_id + round as u64));
        // One task per caller, as independent clients would be.
        let calls: Vec<_> = (0..callers)
            .map(|_| {
                let http = http.clone();
                let url = url.clone();
                let token = token.to_string();
                tokio::spawn(async move {
                    let started = Instant::now();
                    let r = http
                        .get(url.as_str())
                        .bearer_auth(token)
                        .header("prefer", "wait=30")
                        .send()
                        .await?;
                    let status = r.status();
                    r.bytes().await?;
                    Ok::<_, reqwest::Error>((status, started.elapsed()))
                })
            })
            .collect();
        let mut this_round = Vec::with_capacity(callers);
        for r in join_all(calls).await {
            let (status, took) = r??;
            if status != 200 {
                bail!("caller got {status}");
            }
            this_round.push(took.saturating_sub(upstream));
        }
        let worst = this_round.iter().max().copied().unwrap_or_default();
        println!(
            "  round {round}: worst added {:.1}ms",
            worst.as_secs_f64() * 1e3
        );
        if round == 0 {
            // Cold: pools open their connections. Reported, not counted.
            continue;
        }
        added.extend(this_round);
    }
    percentiles(
        &format!("{callers} coalesced callers, added over a {upstream_ms} ms upstream"),
        added,
    );
    Ok(())
}

async fn throughput(db: &str, n: usize, first_id: u64) -> Result<()> {
    let pool = larder_jobs::db::pool(db, 16)?;
    let store = Store::new(pool.clone());
    let keys: Vec<_> = (0..n as u64)
        .map(|i| {
            Catalogue::builtin()
                .resolve("tmdb", &format!("movie/{}", first_id + i), "")
                .map(|r| r.key)
        })
        .collect::<Result<_, _>>()?;
    let since: f64 = sqlx::query_scalar("SELECT extract(epoch from now())::float8")
        .fetch_one(&pool)
        .await?;
    let started = Instant::now();
    let chunks: Vec<_> = keys.chunks(n.div_ceil(16)).map(|c| c.to_vec()).collect();
    join_all(chunks.into_iter().map(|chunk| {
        let store = store.clone();
        async move {
            for k in chunk {
                store.enqueue(&k, FetchReason::Miss).await?;
            }
            Ok::<_, larder_jobs::Error>(())
        }
    }))
    .await
    .into_iter()
    .collect::<Result<Vec<_>, _>>()?;
    let enqueued = started.elapsed();
    loop {
        let done: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM larder_cache WHERE fetched_at >= to_timestamp($1)",
        )
        .bind(since)
        .fetch_one(&pool)
        .await
        .context("count")?;
        if done as usize >= n {
            break;
        }
        if started.elapsed() > Duration::from_secs(600) {
            bail!("only {done} of {n} done after 10 minutes");
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let took = started.elapsed();
    println!(
        "queue throughput: {n} fetch jobs in {:.2}s = {:.0} jobs/s (enqueue alone: {:.0} jobs/s)",
        took.as_secs_f64(),
        n as f64 / took.as_secs_f64(),
        n as f64 / enqueued.as_secs_f64()
    );
    Ok(())
}
