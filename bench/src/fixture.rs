//! The loopback upstream of the benchmarks: a TMDB-shaped record (gzipped
//! for clients that accept it) at any path, images below `/t/p/`.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Result;
use bytes::Bytes;
use http_body_util::Full;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;

use crate::keyspace;

/// Upstream calls per path, as the fixture saw them.
type Calls = Arc<std::sync::Mutex<std::collections::HashMap<String, u32>>>;

pub async fn fixture(addr: &str, delay: Duration, record: &str) -> Result<()> {
    let listener = tokio::net::TcpListener::bind(addr).await?;
    let calls: Calls = Arc::default();
    let body = keyspace::record(record)?;
    let gzipped = {
        use std::io::Write;
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        gz.write_all(&body)?;
        Bytes::from(gz.finish()?)
    };
    loop {
        let (stream, _) = listener.accept().await?;
        let _ = stream.set_nodelay(true);
        let calls = calls.clone();
        let (body, gzipped) = (body.clone(), gzipped.clone());
        tokio::spawn(async move {
            let svc = service_fn(move |req: Request<hyper::body::Incoming>| {
                let calls = calls.clone();
                let (body, gzipped) = (body.clone(), gzipped.clone());
                async move {
                    let gzip = req
                        .headers()
                        .get_all("accept-encoding")
                        .iter()
                        .filter_map(|v| v.to_str().ok())
                        .any(|v| v.contains("gzip"));
                    let path = req.uri().path().to_string();
                    if path == "/__calls" {
                        // Keys fetched, and those fetched more than once.
                        let calls = calls.lock().unwrap();
                        let twice = calls.values().filter(|n| **n > 1).count();
                        let body = format!("{} {twice}", calls.len());
                        return Ok::<_, Infallible>(Response::new(Full::new(Bytes::from(body))));
                    }
                    *calls.lock().unwrap().entry(path.clone()).or_default() += 1;
                    if !delay.is_zero() {
                        tokio::time::sleep(delay).await;
                    }
                    if let Some(rest) = path.strip_prefix("/t/p/") {
                        // An image: `original` is 20 MiB less a little,
                        // any other size ~100 KB.
                        let len = if rest.starts_with("original/") {
                            20 * 1024 * 1024 - 4096
                        } else {
                            100 * 1024
                        };
                        let mut r = Response::new(Full::new(image(len)));
                        r.headers_mut()
                            .insert("content-type", "image/jpeg".parse().unwrap());
                        r.headers_mut()
                            .insert("cache-control", "public, max-age=31536000".parse().unwrap());
                        return Ok::<_, Infallible>(r);
                    }
                    let mut r = Response::new(Full::new(if gzip { gzipped } else { body }));
                    r.headers_mut().insert(
                        "content-type",
                        "application/json;charset=utf-8".parse().unwrap(),
                    );
                    if gzip {
                        r.headers_mut()
                            .insert("content-encoding", "gzip".parse().unwrap());
                    }
                    r.headers_mut()
                        .insert("vary", "accept-encoding".parse().unwrap());
                    r.headers_mut()
                        .insert("cache-control", "public, max-age=3600".parse().unwrap());
                    Ok::<_, Infallible>(r)
                }
            });
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), svc)
                .await;
        });
    }
}

/// A JPEG signature and `len` bytes in all (nothing decodes the rest).
fn image(len: usize) -> Bytes {
    let mut b = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00".to_vec();
    let mut x: u32 = 2463534242;
    while b.len() < len {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        b.push(x as u8);
    }
    b.truncate(len);
    Bytes::from(b)
}
