//! Load drivers against running API processes: floods that measure a
//! process's memory, and the scale-out miss storm.

use std::time::{Duration, Instant};

use anyhow::{Context, Result};

/// Resident memory of a process, in MiB.
fn rss_mib(pid: u32) -> Result<f64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let kb: f64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .context("no VmRSS")?
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()?;
    Ok(kb / 1024.0)
}

/// The `i`th spelling of one Open-Meteo forecast query: parameters in
/// another order, every character of the hourly list percent-encoded in
/// upper or lower case by the bits of `i`… all meaning the same.
fn padded_query(i: usize) -> String {
    let vars = "temperature_2m,relative_humidity_2m,wind_speed_10m";
    let mut hourly = String::new();
    for (j, c) in vars.chars().enumerate() {
        if (i >> (j % 48)) & 1 == 1 {
            hourly.push_str(&format!("%{:02x}", c as u32));
        } else {
            hourly.push_str(&format!("%{:02X}", c as u32));
        }
    }
    let mut parts = [
        "latitude=52.52".to_string(),
        "longitude=13.41".to_string(),
        format!("hourly={hourly}"),
    ];
    parts.rotate_left(i % 3);
    if i % 2 == 1 {
        parts.swap(0, 1);
    }
    parts.join("&")
}

pub async fn flood(
    api: &str,
    token: &str,
    pid: u32,
    kind: &str,
    n: usize,
    concurrency: usize,
    first_id: u64,
) -> Result<()> {
    use futures_util::StreamExt;
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(concurrency)
        .build()?;
    let before = rss_mib(pid)?;
    let started = Instant::now();
    let mut statuses = std::collections::BTreeMap::<u16, usize>::new();
    let mut peak = before;
    let mut answers = futures_util::stream::iter(0..n)
        .map(|i| {
            let (url, wait) = match kind {
                "misses" => (format!("{api}/v1/tmdb/movie/{}", first_id + i as u64), 0),
                "fills" => (format!("{api}/v1/tmdb/movie/{}", first_id + i as u64), 30),
                "hits" => (format!("{api}/v1/tmdb/movie/{first_id}"), 30),
                _ => (
                    format!("{api}/v1/openmeteo/forecast?{}", padded_query(i)),
                    0,
                ),
            };
            let req = http
                .get(url)
                .bearer_auth(token)
                .header("prefer", format!("wait={wait}"));
            async move {
                let r = req.send().await?;
                let status = r.status().as_u16();
                r.bytes().await?;
                Ok::<_, reqwest::Error>(status)
            }
        })
        .buffer_unordered(concurrency);
    let mut done = 0usize;
    while let Some(r) = answers.next().await {
        *statuses.entry(r?).or_default() += 1;
        done += 1;
        if done.is_multiple_of(1000) {
            peak = peak.max(rss_mib(pid)?);
        }
    }
    let after = rss_mib(pid)?;
    peak = peak.max(after);
    println!(
        "  {kind}: {n} requests in {:.1}s, answers {statuses:?}; RSS {before:.0} MiB before, \
         {after:.0} MiB after (peak {peak:.0}), +{:.0} MiB = {:.1} KiB per request",
        started.elapsed().as_secs_f64(),
        after - before,
        (after - before) * 1024.0 / n as f64,
    );
    Ok(())
}

pub async fn storm(
    apis: &[String],
    token: &str,
    fixture: &str,
    n: usize,
    clients: usize,
    wait: u64,
    first_id: u64,
) -> Result<()> {
    use futures_util::StreamExt;
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(clients)
        .timeout(Duration::from_secs(wait + 30))
        .build()?;
    let started = Instant::now();
    let mut statuses = std::collections::BTreeMap::<String, usize>::new();
    let mut answers = futures_util::stream::iter(0..n)
        .map(|i| {
            let url = format!(
                "{}/v1/tmdb/movie/{}",
                apis[i % apis.len()],
                first_id + i as u64
            );
            let req = http
                .get(url)
                .bearer_auth(token)
                .header("prefer", format!("wait={wait}"));
            async move {
                match req.send().await {
                    Ok(r) => {
                        let status = r.status().as_u16().to_string();
                        let _ = r.bytes().await;
                        status
                    }
                    Err(e) if e.is_timeout() => "client timeout".into(),
                    Err(_) => "connection error".into(),
                }
            }
        })
        .buffer_unordered(clients);
    while let Some(status) = answers.next().await {
        *statuses.entry(status).or_default() += 1;
    }
    let took = started.elapsed().as_secs_f64();
    let calls = http
        .get(format!("{fixture}/__calls"))
        .send()
        .await?
        .text()
        .await?;
    let (fetched, twice) = calls.split_once(' ').context("fixture stats")?;
    println!(
        "  {n} misses over {} API processes from {clients} clients (wait={wait}): {took:.1} s, \
         {:.0} answers/s; answers {statuses:?}; keys fetched upstream {fetched}, more than once {twice}",
        apis.len(),
        n as f64 / took,
    );
    Ok(())
}
