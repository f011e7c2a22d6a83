//! The keyspace benchmark's parts: TMDB-shaped records of two sizes, seeding
//! larder's cache table with N of them, and warming a cache over HTTP.

use std::time::Instant;

use anyhow::{Context, Result, bail};
use bytes::Bytes;
use futures_util::StreamExt;
use larder_jobs::provider::{Catalogue, Ttl};
use larder_jobs::store::{NewEntry, Store};

const MOVIE: &str = include_str!("../../tests/fixtures/tmdb/movie/550.json");

/// A record: `small` is TMDB's movie 550 (1.8 KB); `large` the same movie
/// with `append_to_response=credits,images` as TMDB shapes it (about
/// 37 KB: 45 cast, 55 crew, 60 images with random file paths, as real ones).
pub fn record(kind: &str) -> Result<Bytes> {
    match kind {
        "small" => Ok(Bytes::from_static(MOVIE.as_bytes())),
        "large" => Ok(Bytes::from(large().to_string())),
        other => bail!("unknown record kind {other} (small, large)"),
    }
}

fn large() -> serde_json::Value {
    // A fixed pseudo-random sequence: every run builds the same record.
    let mut seed = 0x2545_f491_4f6c_dd1du64;
    let mut next = move |n: u64| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed % n
    };
    const ALNUM: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    let mut path = |len: usize| -> String {
        let s: String = (0..len)
            .map(|_| ALNUM[next(ALNUM.len() as u64) as usize] as char)
            .collect();
        format!("/{s}.jpg")
    };
    let mut doc: serde_json::Value = serde_json::from_str(MOVIE).expect("fixture JSON");
    let first = [
        "Brad", "Edward", "Helena", "Meat", "Jared", "Zach", "Holt", "Eion",
    ];
    let last = [
        "Pitt",
        "Norton",
        "Bonham Carter",
        "Loaf",
        "Leto",
        "Grenier",
        "McCallany",
    ];
    let departments = [
        "Directing",
        "Writing",
        "Production",
        "Sound",
        "Art",
        "Camera",
    ];
    let jobs = [
        "Director",
        "Screenplay",
        "Producer",
        "Editor",
        "Casting",
        "Sound Designer",
    ];
    let cast: Vec<_> = (0..45u64)
        .map(|i| {
            let name = format!("{} {}", first[(i % 8) as usize], last[(i % 7) as usize]);
            serde_json::json!({
                "adult": false, "gender": 1 + i % 2, "id": 819 + i * 7919,
                "known_for_department": "Acting", "name": name, "original_name": name,
                "popularity": (i * 37 % 300) as f64 / 10.0, "profile_path": path(27),
                "cast_id": i + 4, "character": format!("Character {i}"),
                "credit_id": format!("52fe4250c3a36847f80{i:05}"), "order": i
            })
        })
        .collect();
    let crew: Vec<_> = (0..55u64)
        .map(|i| {
            let name = format!("{} {}", first[(i % 5) as usize], last[(i % 6) as usize]);
            serde_json::json!({
                "adult": false, "gender": i % 3, "id": 7467 + i * 104_729,
                "known_for_department": departments[(i % 6) as usize], "name": name,
                "original_name": name, "popularity": (i * 13 % 100) as f64 / 10.0,
                "profile_path": if i % 3 == 0 { serde_json::Value::Null } else { path(27).into() },
                "credit_id": format!("5e0a2f3d2c6f3f0016a{i:05}"),
                "department": departments[(i % 6) as usize], "job": jobs[(i % 6) as usize]
            })
        })
        .collect();
    let mut image = |i: u64| {
        let height = [1080, 2160, 720][(i % 3) as usize];
        let width = [1920, 3840, 1280][(i % 3) as usize];
        let language = ["en", "fr", "de", "es"].get((i % 6) as usize);
        serde_json::json!({
            "aspect_ratio": 1.778, "height": height, "iso_639_1": language,
            "file_path": path(27), "vote_average": (i * 53 % 100) as f64 / 10.0,
            "vote_count": i * 3 % 40, "width": width
        })
    };
    let backdrops: Vec<_> = (0..25).map(&mut image).collect();
    let logos: Vec<_> = (0..8).map(&mut image).collect();
    let posters: Vec<_> = (0..27).map(&mut image).collect();
    doc["credits"] = serde_json::json!({"cast": cast, "crew": crew});
    doc["images"] = serde_json::json!({"backdrops": backdrops, "logos": logos, "posters": posters});
    doc
}

/// Store N records as TMDB movies `first_id..` straight into the cache
/// table, as workers would (compressed the same way).
pub async fn seed(db: &str, n: usize, first_id: u64, kind: &str) -> Result<()> {
    let pool = sqlx::PgPool::connect(db).await.context("connect")?;
    let store = Store::new(pool);
    let catalogue = Catalogue::builtin();
    let body = record(kind)?;
    let day = std::time::Duration::from_secs(86_400);
    let ttl = Ttl {
        fresh: day,
        stale: day,
        negative: day,
        max_stale_on_error: day,
    };
    let started = Instant::now();
    let results: Vec<Result<()>> = futures_util::stream::iter(0..n as u64)
        .map(|i| {
            let (store, catalogue, body) = (&store, &catalogue, body.clone());
            async move {
                let key = catalogue
                    .resolve("tmdb", &format!("movie/{}", first_id + i), "")?
                    .key;
                let entry = NewEntry {
                    status: 200,
                    content_type: "application/json;charset=utf-8".into(),
                    body,
                };
                store.complete(&key, None, &entry, &ttl).await?;
                Ok(())
            }
        })
        .buffer_unordered(8)
        .collect()
        .await;
    results.into_iter().collect::<Result<Vec<()>>>()?;
    println!(
        "  seeded {n} {kind} records ({} bytes each) in {:.1} s",
        body.len(),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// GET `{prefix}{id}` for every id, 64 at a time, with `headers`
/// (`name: value`); fails unless every answer is a 200.
pub async fn warm(prefix: &str, n: usize, first_id: u64, headers: &[String]) -> Result<()> {
    let http = reqwest::Client::builder()
        .no_gzip()
        .no_brotli()
        .no_zstd()
        .build()?;
    let mut map = reqwest::header::HeaderMap::new();
    for h in headers {
        let (k, v) = h.split_once(':').context("header as name: value")?;
        map.insert(
            reqwest::header::HeaderName::from_bytes(k.trim().as_bytes())?,
            v.trim().parse()?,
        );
    }
    let bad: usize = futures_util::stream::iter(0..n as u64)
        .map(|i| {
            let req = http
                .get(format!("{prefix}{}", first_id + i))
                .headers(map.clone());
            async move {
                match req.send().await {
                    Ok(r) if r.status() == 200 => r.bytes().await.map_or(1, |_| 0),
                    _ => 1,
                }
            }
        })
        .buffer_unordered(64)
        .fold(0, |a, b| async move { a + b })
        .await;
    if bad > 0 {
        bail!("{bad} of {n} warm-up requests failed");
    }
    Ok(())
}

/// Codec figures for the stored coding (see `jobs/src/coding.rs`): ratio,
/// encode and decode time per record, for gzip (flate2 with zlib-rs, what
/// larder uses) and zstd, on both record sizes.
pub fn codecs() -> Result<()> {
    use std::io::{Read, Write};
    fn time<T>(runs: u32, mut f: impl FnMut() -> T) -> (T, f64) {
        let started = Instant::now();
        let mut out = f();
        for _ in 1..runs {
            out = f();
        }
        (out, started.elapsed().as_secs_f64() * 1e6 / f64::from(runs))
    }
    println!("codecs: per record, microseconds (this machine, one core)");
    for kind in ["small", "large"] {
        let body = record(kind)?;
        for level in [1u32, 6, 9] {
            let (packed, enc) = time(200, || {
                let mut gz =
                    flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::new(level));
                gz.write_all(&body).expect("in memory");
                gz.finish().expect("in memory")
            });
            let (_, dec) = time(2000, || {
                let mut out = Vec::with_capacity(body.len());
                flate2::read::GzDecoder::new(&packed[..])
                    .read_to_end(&mut out)
                    .expect("valid gzip");
                out
            });
            // What larder's API uses: libdeflate, whole buffer.
            let (_, whole) = time(2000, || {
                larder_jobs::coding::gunzip(&packed, body.len()).expect("valid gzip")
            });
            println!(
                "  {kind:5} {:>6} B  gzip -{level}: {:>6} B ({:.2}x), encode {enc:7.1}, decode {dec:6.1} (libdeflate {whole:5.1})",
                body.len(),
                packed.len(),
                body.len() as f64 / packed.len() as f64
            );
        }
        for level in [3, 9] {
            let (packed, enc) = time(200, || zstd::bulk::compress(&body, level).expect("zstd"));
            let (_, dec) = time(2000, || {
                zstd::bulk::decompress(&packed, body.len()).expect("valid zstd")
            });
            println!(
                "  {kind:5} {:>6} B  zstd -{level}: {:>6} B ({:.2}x), encode {enc:7.1}, decode {dec:6.1}",
                body.len(),
                packed.len(),
                body.len() as f64 / packed.len() as f64
            );
        }
    }
    Ok(())
}
