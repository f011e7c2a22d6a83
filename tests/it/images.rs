//! Images: asset fills through the one-fill-per-key path, content-addressed
//! storage in a folder or a real S3-protocol server on loopback (s3s-fs),
//! the image routes and TMDB's `/t/p/` paths.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use futures_util::future::join_all;
use sha2::Digest;

use crate::helpers::*;
use crate::processes::{Cluster, free_addr};

const FILE: &str = "kqjL17yufvn9OVLyXYpvtyrFfak.png";
const OTHER: &str = "pB8BM7pdSp6B6Ih7QZ4DrQ3PmJK.png";

/// A PNG signature and header, then `len` bytes in all of noise from `seed`
/// (the sniffer reads the signature; nothing decodes the rest).
fn png(len: usize, seed: u64) -> Vec<u8> {
    let mut out = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x10\0\0\0\x10\x08\x06\0\0\0".to_vec();
    let mut x = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    while out.len() < len {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        out.push(x as u8);
    }
    out.truncate(len);
    out
}

fn sha(bytes: &[u8]) -> String {
    hex::encode(sha2::Sha256::digest(bytes))
}

/// Every object file below `dir` (not the spool).
fn objects(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in entries.flatten() {
            let p = e.path();
            if p.file_name().is_some_and(|n| n == ".spool") {
                continue;
            }
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

async fn folder_app(dir: &Path, extra: &[(&'static str, &str)]) -> TestApp {
    let mut env = vec![("LARDER_STORAGE_DIR", dir.display().to_string())];
    env.extend(extra.iter().map(|(k, v)| (*k, v.to_string())));
    TestApp::spawn_with(Options {
        env,
        ..Default::default()
    })
    .await
}

#[tokio::test]
async fn an_image_is_fetched_once_stored_by_hash_and_served_with_its_headers() {
    let dir = tempfile::tempdir().unwrap();
    let app = folder_app(dir.path(), &[]).await;
    let bytes = png(150_000, 1);
    app.upstream.route(
        &format!("/t/p/w500/{FILE}"),
        Step::bytes(200, "image/png", bytes.clone()).delay(Duration::from_millis(200)),
    );
    let path = format!("/v1/tmdb/image/w500/{FILE}");
    let answers = join_all((0..20).map(|_| app.get(&path).send())).await;
    for r in answers {
        let r = r.unwrap();
        assert_eq!(r.status(), 200);
        assert_eq!(r.headers()["content-type"], "image/png");
        assert_eq!(r.bytes().await.unwrap().as_ref(), &bytes[..]);
    }
    assert_eq!(app.upstream.count(), 1, "one download for 20 callers");
    let hit = &app.upstream.hits()[0];
    assert!(
        !hit.query.contains("api_key"),
        "no credential to the image host"
    );

    let r = app.get(&path).send().await.unwrap();
    assert_eq!(r.headers()["x-cache"], "HIT");
    let etag = format!("\"{}\"", sha(&bytes));
    assert_eq!(r.headers()["etag"], etag.as_str());
    assert_eq!(
        r.headers()["cache-control"],
        "public, max-age=31536000, immutable"
    );
    assert_eq!(r.headers()["content-length"], "150000");
    assert!(r.headers().get("content-encoding").is_none());
    assert!(
        r.headers()["content-security-policy"]
            .to_str()
            .unwrap()
            .contains("sandbox")
    );
    let r = app
        .get(&path)
        .header("if-none-match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 304);
    let r = app.http.head(app.url(&path)).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-length"], "150000");

    // TMDB's own image path answers the same bytes, without a key.
    let r = app
        .http
        .get(app.url(&format!("/t/p/w500/{FILE}")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.bytes().await.unwrap().as_ref(), &bytes[..]);
    assert_eq!(app.upstream.count(), 1);

    // Stored once, under its hash, with its record.
    let h = sha(&bytes);
    assert_eq!(
        objects(dir.path()),
        vec![dir.path().join(format!("tmdb/{}/{h}.png", &h[..2]))]
    );
    let (url, stored, size): (String, String, i64) =
        sqlx::query_as("SELECT url, sha256, size FROM larder_assets")
            .fetch_one(&app.db.pool)
            .await
            .unwrap();
    assert!(url.ends_with(&format!("/t/p/w500/{FILE}")), "{url}");
    assert_eq!((stored.as_str(), size), (h.as_str(), 150_000));
    // The tests share one process's recorder: at least this test's figures.
    let metrics = app.http.get(app.url("/metrics")).send().await.unwrap();
    let text = metrics.text().await.unwrap();
    let value = |name: &str| -> f64 {
        text.lines()
            .find_map(|l| l.strip_prefix(name)?.trim().parse().ok())
            .unwrap_or(0.0)
    };
    assert!(value("larder_assets_stored_bytes_total{provider=\"tmdb\"}") >= 150_000.0);
    assert!(value("larder_jobs_total{kind=\"asset\",outcome=\"ok\"}") >= 1.0);
    app.stop().await;
}

#[tokio::test]
async fn identical_bytes_behind_two_urls_are_stored_once() {
    let dir = tempfile::tempdir().unwrap();
    let app = folder_app(dir.path(), &[]).await;
    let bytes = png(40_000, 2);
    for p in [
        format!("/t/p/w500/{FILE}"),
        format!("/t/p/original/{OTHER}"),
    ] {
        app.upstream
            .route(&p, Step::bytes(200, "image/png", bytes.clone()));
    }
    for p in [
        format!("/v1/tmdb/image/w500/{FILE}"),
        format!("/v1/tmdb/image/original/{OTHER}"),
    ] {
        let r = app.get(&p).send().await.unwrap();
        assert_eq!(r.status(), 200, "{p}");
        assert_eq!(r.bytes().await.unwrap().as_ref(), &bytes[..]);
    }
    assert_eq!(app.upstream.count(), 2);
    assert_eq!(objects(dir.path()).len(), 1, "one object for both URLs");
    assert_eq!(
        app.db
            .count("SELECT count(DISTINCT url) FROM larder_assets")
            .await,
        2
    );
    assert_eq!(
        app.db
            .count("SELECT count(DISTINCT sha256) FROM larder_assets")
            .await,
        1
    );
    app.stop().await;
}

#[tokio::test]
async fn what_is_not_an_image_or_too_large_is_stored_nowhere() {
    let dir = tempfile::tempdir().unwrap();
    let app = folder_app(dir.path(), &[("LARDER_ASSET_MAX_BYTES", "100000")]).await;
    // A CDN's error page served as 200, declared as an image.
    app.upstream.route(
        &format!("/t/p/w500/{FILE}"),
        Step::bytes(200, "image/png", "<html><body>Access denied</body></html>"),
    );
    // Over the cap, with and without a declared length.
    app.upstream.route(
        &format!("/t/p/original/{FILE}"),
        Step::bytes(200, "image/png", png(300_000, 3)),
    );
    let r = app
        .get(&format!("/v1/tmdb/image/w500/{FILE}"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 502);
    assert_eq!(error_code(r).await, "upstream-error");
    let r = app
        .get(&format!("/v1/tmdb/image/original/{FILE}"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 502);
    assert!(objects(dir.path()).is_empty(), "{:?}", objects(dir.path()));
    let spool: Vec<_> = std::fs::read_dir(dir.path().join(".spool"))
        .map(|d| d.flatten().collect())
        .unwrap_or_default();
    assert!(spool.is_empty(), "spool files left behind: {spool:?}");
    assert_eq!(app.db.count("SELECT count(*) FROM larder_assets").await, 0);
    assert_eq!(cached_rows(&app).await, 0);

    // An upstream 404 is remembered like any other.
    app.upstream
        .route(&format!("/t/p/w92/{OTHER}"), Step::status(404));
    for _ in 0..2 {
        let r = app
            .get(&format!("/v1/tmdb/image/w92/{OTHER}"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 404);
    }
    let asked = app
        .upstream
        .hits()
        .iter()
        .filter(|h| h.path.contains("/w92/"))
        .count();
    assert_eq!(asked, 1, "the 404 is negatively cached");

    // Bad sizes and names never reach the upstream.
    let before = app.upstream.count();
    for p in [
        "/v1/tmdb/image/w501/kqjL17yufvn9OVLyXYpvtyrFfak.png",
        "/v1/tmdb/image/w500/..%2F..%2Fetc%2Fpasswd.png",
        "/t/p/w500/kqjL17yufvn9OVLyXYpvtyrFfak.exe",
    ] {
        let r = app.get(p).send().await.unwrap();
        assert_eq!(r.status(), 400, "{p}");
    }
    assert_eq!(app.upstream.count(), before);
    app.stop().await;
}

#[tokio::test]
async fn a_folder_that_fails_is_a_503_and_recovers_without_a_restart() {
    let root = tempfile::tempdir().unwrap();
    let dir = root.path().join("assets");
    std::fs::create_dir_all(&dir).unwrap();
    let app = folder_app(&dir, &[]).await;
    let bytes = png(20_000, 4);
    app.upstream.route(
        &format!("/t/p/w500/{FILE}"),
        Step::bytes(200, "image/png", bytes.clone()),
    );
    // The folder is gone and a file stands in its way (root ignores
    // permissions, so a mode change would not do).
    std::fs::remove_dir_all(&dir).unwrap();
    std::fs::write(&dir, b"not a folder").unwrap();
    let path = format!("/v1/tmdb/image/w500/{FILE}");
    let r = app.get(&path).send().await.unwrap();
    assert_eq!(r.status(), 503);
    assert_eq!(error_code(r).await, "storage-unavailable");
    assert_eq!(cached_rows(&app).await, 0, "nothing cached for the failure");

    std::fs::remove_file(&dir).unwrap();
    let r = app.get(&path).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.bytes().await.unwrap().as_ref(), &bytes[..]);

    // Bytes that vanish from storage under a stored entry: a 503 too, never
    // a 200 with a broken body.
    for o in objects(&dir) {
        std::fs::remove_file(o).unwrap();
    }
    app.http.get(app.url("/metrics")).send().await.unwrap();
    let other = format!("/v1/tmdb/image/original/{FILE}");
    app.upstream.route(
        &format!("/t/p/original/{FILE}"),
        Step::bytes(200, "image/png", png(600_000, 5)),
    );
    let r = app.get(&other).send().await.unwrap();
    assert_eq!(r.status(), 200);
    for o in objects(&dir) {
        std::fs::remove_file(o).unwrap();
    }
    let r = app.get(&other).send().await.unwrap();
    assert_eq!(r.status(), 503);
    app.stop().await;
}

#[tokio::test]
async fn a_large_image_streams_whole() {
    let dir = tempfile::tempdir().unwrap();
    let app = folder_app(dir.path(), &[]).await;
    let bytes = png(20 * 1024 * 1024 - 10, 6);
    app.upstream.route(
        &format!("/t/p/original/{FILE}"),
        Step::bytes(200, "image/png", bytes.clone()),
    );
    let path = format!("/v1/tmdb/image/original/{FILE}");
    for _ in 0..2 {
        let r = app.get(&path).send().await.unwrap();
        assert_eq!(r.status(), 200);
        assert_eq!(r.headers()["content-length"], bytes.len().to_string());
        let got = r.bytes().await.unwrap();
        assert!(got.as_ref() == &bytes[..], "{} bytes back", got.len());
    }
    app.stop().await;
}

/// An S3-protocol server (s3s-fs) on loopback, in this process.
struct S3Server {
    addr: SocketAddr,
    root: tempfile::TempDir,
    task: tokio::task::JoinHandle<()>,
}

const S3_KEY: &str = "larder-test-key";
const S3_SECRET: &str = "larder-test-secret-123";

impl S3Server {
    async fn start(root: tempfile::TempDir, addr: Option<SocketAddr>) -> S3Server {
        std::fs::create_dir_all(root.path().join("larder")).unwrap();
        let fs = s3s_fs::FileSystem::new(root.path()).unwrap();
        let service = {
            let mut b = s3s::service::S3ServiceBuilder::new(fs);
            b.set_auth(s3s::auth::SimpleAuth::from_single(S3_KEY, S3_SECRET));
            b.build()
        };
        let listener = tokio::net::TcpListener::bind(addr.unwrap_or(([127, 0, 0, 1], 0).into()))
            .await
            .unwrap();
        let addr = listener.local_addr().unwrap();
        let task = tokio::spawn(async move {
            let http =
                hyper_util::server::conn::auto::Builder::new(hyper_util::rt::TokioExecutor::new());
            let mut conns = tokio::task::JoinSet::new();
            loop {
                let Ok((sock, _)) = listener.accept().await else {
                    continue;
                };
                let conn = http
                    .serve_connection(hyper_util::rt::TokioIo::new(sock), service.clone())
                    .into_owned();
                conns.spawn(async move {
                    let _ = conn.await;
                });
            }
        });
        S3Server { addr, root, task }
    }

    /// Stop serving (open connections are dropped with the task's set).
    fn stop(self) -> (tempfile::TempDir, SocketAddr) {
        self.task.abort();
        (self.root, self.addr)
    }

    fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("LARDER_STORAGE", "s3".into()),
            ("LARDER_S3_BUCKET", "larder".into()),
            ("LARDER_S3_ENDPOINT", format!("http://{}", self.addr)),
            ("LARDER_S3_ACCESS_KEY_ID", S3_KEY.into()),
            ("LARDER_S3_SECRET_ACCESS_KEY", S3_SECRET.into()),
            ("LARDER_S3_PATH_STYLE", "true".into()),
            ("LARDER_STORAGE_TIMEOUT", "3s".into()),
        ]
    }
}

/// Object files s3s-fs keeps for the bucket (not its metadata files).
fn bucket_objects(root: &Path) -> Vec<PathBuf> {
    objects(&root.join("larder"))
}

#[tokio::test]
async fn s3_storage_keeps_images_redirects_and_recovers() {
    let s3 = S3Server::start(tempfile::tempdir().unwrap(), None).await;
    let mut env = s3.env();
    env.push(("LARDER_IMAGE_REDIRECT", "1".into()));
    let app = TestApp::spawn_with(Options {
        env,
        ..Default::default()
    })
    .await;
    let small = png(30_000, 7);
    let large = png(9 * 1024 * 1024, 8);
    app.upstream.route(
        &format!("/t/p/w500/{FILE}"),
        Step::bytes(200, "image/png", small.clone()),
    );
    app.upstream.route(
        &format!("/t/p/original/{FILE}"),
        Step::bytes(200, "image/png", large.clone()),
    );
    // Redirected to a presigned URL that the store serves.
    let no_follow = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    for (size, bytes) in [("w500", &small), ("original", &large)] {
        let r = no_follow
            .get(app.url(&format!("/v1/tmdb/image/{size}/{FILE}")))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 302, "{size}");
        let location = r.headers()["location"].to_str().unwrap().to_owned();
        assert!(location.contains("X-Amz-Signature="), "{location}");
        let got = reqwest::get(&location).await.unwrap();
        assert_eq!(got.status(), 200);
        assert!(got.bytes().await.unwrap().as_ref() == &bytes[..], "{size}");
    }
    let mut stored: Vec<String> = bucket_objects(s3.root.path())
        .iter()
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    stored.sort();
    let mut want = vec![
        format!("{}.png", sha(&small)),
        format!("{}.png", sha(&large)),
    ];
    want.sort();
    assert_eq!(stored, want, "both objects, named by their hashes");

    // The store goes away: a new image is a 503, nothing cached; back, it works.
    let (root, addr) = s3.stop();
    app.upstream.route(
        &format!("/t/p/w92/{OTHER}"),
        Step::bytes(200, "image/png", png(5_000, 9)),
    );
    let path = format!("/v1/tmdb/image/w92/{OTHER}");
    let r = no_follow.get(app.url(&path)).send().await.unwrap();
    assert_eq!(r.status(), 503);
    assert_eq!(error_code(r).await, "storage-unavailable");
    let s3 = S3Server::start(root, Some(addr)).await;
    let r = no_follow.get(app.url(&path)).send().await.unwrap();
    assert_eq!(r.status(), 302);
    app.stop().await;
    drop(s3);
}

#[tokio::test]
async fn s3_storage_streams_bytes_without_redirects() {
    let s3 = S3Server::start(tempfile::tempdir().unwrap(), None).await;
    let app = TestApp::spawn_with(Options {
        env: s3.env(),
        ..Default::default()
    })
    .await;
    let large = png(3 * 1024 * 1024, 10);
    app.upstream.route(
        &format!("/t/p/original/{FILE}"),
        Step::bytes(200, "image/png", large.clone()),
    );
    for _ in 0..2 {
        let r = app
            .get(&format!("/v1/tmdb/image/original/{FILE}"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        assert!(r.bytes().await.unwrap().as_ref() == &large[..]);
    }
    assert_eq!(app.upstream.count(), 1);
    app.stop().await;
}

#[tokio::test]
async fn one_download_for_100_callers_over_two_apis_and_two_workers() {
    init_logs();
    let db = TestDb::new().await;
    let upstream = Upstream::start().await;
    let bytes = png(80_000, 11);
    upstream.route(
        &format!("/t/p/w780/{FILE}"),
        Step::bytes(200, "image/png", bytes.clone()).delay(Duration::from_millis(300)),
    );
    let dir = tempfile::tempdir().unwrap();
    let mut env = env_for(&db, &upstream);
    env.insert(
        "LARDER_STORAGE_DIR".into(),
        dir.path().display().to_string(),
    );
    let cluster = Cluster::start(&env, [free_addr(), free_addr()]).await;
    let path = format!("/v1/tmdb/image/w780/{FILE}");
    for (status, body) in cluster.get_all(&path, 100).await {
        assert_eq!(status, 200);
        assert!(body.as_ref() == &bytes[..]);
    }
    assert_eq!(upstream.count(), 1, "one download across processes");
    assert_eq!(objects(dir.path()).len(), 1);
    cluster.stop().await;
    db.drop_db().await;
}

#[tokio::test]
async fn a_stored_record_prefetches_its_configured_image_sizes_once() {
    let dir = tempfile::tempdir().unwrap();
    let app = folder_app(
        dir.path(),
        &[("LARDER_TMDB_PREFETCH_IMAGES", "poster:w500,backdrop:w1280")],
    )
    .await;
    let poster = png(10_000, 12);
    let backdrop = png(12_000, 13);
    app.upstream.route(
        "/t/p/w500/pB8BM7pdSp6B6Ih7QZ4DrQ3PmJK.jpg",
        Step::bytes(200, "image/png", poster.clone()),
    );
    app.upstream.route(
        "/t/p/w1280/hZkgoQYus5vegHoetLkCJzb17zJ.jpg",
        Step::bytes(200, "image/png", backdrop.clone()),
    );
    let r = app.get("/v1/tmdb/movie/550").send().await.unwrap();
    assert_eq!(r.status(), 200);
    eventually(Duration::from_secs(15), || async {
        app.db
            .count("SELECT count(*) FROM larder_cache WHERE key LIKE 'tmdb/image/%'")
            .await
            == 2
    })
    .await;
    let r = app
        .get("/v1/tmdb/image/w500/pB8BM7pdSp6B6Ih7QZ4DrQ3PmJK.jpg")
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.headers()["x-cache"],
        "HIT",
        "prefetched before anyone asked"
    );
    assert!(r.bytes().await.unwrap().as_ref() == &poster[..]);
    // Only the configured sizes: no w92 poster, no profile images.
    let images: Vec<String> = app
        .upstream
        .hits()
        .into_iter()
        .filter(|h| h.path.starts_with("/t/p/"))
        .map(|h| h.path)
        .collect();
    assert_eq!(images.len(), 2, "{images:?}");
    // A second record naming the same poster does not fetch it again.
    let r = app
        .get("/v1/tmdb/search/movie?query=Fight%20Club")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let r = app.get("/v1/tmdb/movie/550").send().await.unwrap();
    assert_eq!(r.headers()["x-cache"], "HIT");
    let images = app
        .upstream
        .hits()
        .iter()
        .filter(|h| h.path.starts_with("/t/p/"))
        .count();
    assert_eq!(images, 2);
    app.stop().await;
}

#[tokio::test]
async fn other_providers_image_urls_are_served_the_same_way() {
    let dir = tempfile::tempdir().unwrap();
    let app = folder_app(dir.path(), &[]).await;
    let cases = [
        (
            "/v1/fanart/image/movies/550/movieposter/fight-club-52b8b8a4f0b4e.jpg",
            "/fanart/movies/550/movieposter/fight-club-52b8b8a4f0b4e.jpg",
        ),
        (
            "/v1/bing/image?id=OHR.MullOtter_ROW8840823080_1920x1080.jpg",
            "/th",
        ),
        (
            "/v1/spotify/image/ab67616d0000b2732c5b24ecfa39523a75c993c4",
            "/image/ab67616d0000b2732c5b24ecfa39523a75c993c4",
        ),
        (
            "/v1/deezer/image/cover/2e018122cb56986277102d2041a592c8/500x500-000000-80-0-0.jpg",
            "/images/cover/2e018122cb56986277102d2041a592c8/500x500-000000-80-0-0.jpg",
        ),
    ];
    for (i, (route, upstream)) in cases.iter().enumerate() {
        let bytes = png(8_000 + i, 20 + i as u64);
        app.upstream
            .route(upstream, Step::bytes(200, "image/png", bytes.clone()));
        for round in ["MISS", "HIT"] {
            let r = app.get(route).send().await.unwrap();
            assert_eq!(r.status(), 200, "{route}");
            assert_eq!(r.headers()["x-cache"], round, "{route}");
            assert!(r.bytes().await.unwrap().as_ref() == &bytes[..], "{route}");
        }
        let hit = app.upstream.hits().into_iter().last().unwrap();
        assert_eq!(hit.path, *upstream);
        assert!(
            hit.authorization.is_none(),
            "{route}: no credential to an image host"
        );
    }
    assert_eq!(app.upstream.count(), cases.len());
    assert_eq!(
        app.upstream.hits()[1].query,
        "id=OHR.MullOtter_ROW8840823080_1920x1080.jpg"
    );
    for bad in [
        "/v1/fanart/image/movies/550/movieposter/x.exe",
        "/v1/bing/image?id=..%2Fsecret.jpg",
        "/v1/bing/image?id=NOTOHR.x.jpg",
        "/v1/deezer/image/cover/2e01/..",
        "/v1/spotify/image/a%2Fb",
    ] {
        let r = app.get(bad).send().await.unwrap();
        assert_eq!(r.status(), 400, "{bad}");
    }
    assert_eq!(app.upstream.count(), cases.len());
    app.stop().await;
}
