//! Compression end to end: upstream calls accept compressed answers,
//! entries are stored gzipped once, and each client gets a coding it
//! accepts, with one entity tag per representation.

use std::io::Read;

use crate::helpers::TestApp;

const MOVIE: &str = "/v1/tmdb/movie/550";

/// A client that decodes nothing by itself, so codings can be seen.
fn raw() -> reqwest::Client {
    reqwest::Client::builder()
        .no_gzip()
        .no_brotli()
        .no_zstd()
        .build()
        .unwrap()
}

fn gunzip(b: &[u8]) -> String {
    let mut out = String::new();
    flate2::read::GzDecoder::new(b)
        .read_to_string(&mut out)
        .expect("a gzip body");
    out
}

#[tokio::test]
async fn gzip_and_identity_clients_get_the_same_json_each_with_its_own_etag() {
    let app = TestApp::spawn().await;
    let http = raw();
    let get = |ae: Option<&str>| {
        let r = http.get(app.url(MOVIE));
        match ae {
            Some(v) => r.header("accept-encoding", v),
            None => r,
        }
    };

    // A gzip client: the stored bytes, as stored.
    let gz = get(Some("gzip, deflate, br")).send().await.unwrap();
    assert_eq!(gz.status(), 200);
    assert_eq!(gz.headers()["content-encoding"], "gzip");
    assert_eq!(gz.headers()["vary"], "accept-encoding");
    let gz_etag = gz.headers()["etag"].to_str().unwrap().to_owned();
    let gz_body = gz.bytes().await.unwrap();
    let json = gunzip(&gz_body);
    let doc: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(doc["title"], "Fight Club");

    // No Accept-Encoding: identity, the same JSON, another entity tag.
    let plain = get(None).send().await.unwrap();
    assert_eq!(plain.status(), 200);
    assert_eq!(plain.headers()["x-cache"], "HIT");
    assert!(plain.headers().get("content-encoding").is_none());
    assert_eq!(plain.headers()["vary"], "accept-encoding");
    let plain_etag = plain.headers()["etag"].to_str().unwrap().to_owned();
    assert_ne!(plain_etag, gz_etag, "one tag per representation");
    assert_eq!(plain.text().await.unwrap(), json);

    // 304 for each representation with its own tag; the other's tag is a
    // different representation, answered in full.
    for (ae, etag, other) in [
        (Some("gzip"), &gz_etag, &plain_etag),
        (None, &plain_etag, &gz_etag),
    ] {
        let r = get(ae).header("if-none-match", etag).send().await.unwrap();
        assert_eq!(r.status(), 304, "{ae:?}");
        assert_eq!(r.headers()["etag"].to_str().unwrap(), etag);
        let r = get(ae).header("if-none-match", other).send().await.unwrap();
        assert_eq!(r.status(), 200, "{ae:?}");
    }

    // q=0 is honoured.
    let r = get(Some("gzip;q=0, br")).send().await.unwrap();
    assert!(r.headers().get("content-encoding").is_none());
    assert_eq!(r.text().await.unwrap(), json);
    let r = get(Some("gzip, identity;q=0")).send().await.unwrap();
    assert_eq!(r.headers()["content-encoding"], "gzip");
    let r = get(Some("br, *;q=0")).send().await.unwrap();
    assert_eq!(r.status(), 406);
    let err: serde_json::Value = r.json().await.unwrap();
    assert_eq!(err["error"]["code"], "not-acceptable");

    // HEAD says what GET would send.
    let head = http
        .head(app.url(MOVIE))
        .header("accept-encoding", "gzip")
        .send()
        .await
        .unwrap();
    assert_eq!(head.headers()["content-encoding"], "gzip");
    assert_eq!(
        head.headers()["content-length"].to_str().unwrap(),
        gz_body.len().to_string()
    );

    // One upstream call, which accepted compressed answers (the fixture
    // upstream then answers gzipped, as TMDB does), and one stored copy,
    // gzipped once.
    let hits = app.upstream.hits();
    assert_eq!(hits.len(), 1);
    let ae = hits[0].header("accept-encoding").unwrap_or_default();
    for coding in ["gzip", "br", "zstd"] {
        assert!(ae.contains(coding), "upstream Accept-Encoding: {ae}");
    }
    let (encoding, stored): (Option<String>, Vec<u8>) =
        sqlx::query_as("SELECT encoding, body FROM larder_cache WHERE key LIKE 'tmdb/movie/550%'")
            .fetch_one(&app.db.pool)
            .await
            .unwrap();
    assert_eq!(encoding.as_deref(), Some("gzip"));
    assert_eq!(stored, gz_body, "served as stored");
    assert!(
        stored.len() < json.len() * 3 / 4,
        "{} of {}",
        stored.len(),
        json.len()
    );
    app.stop().await;
}

#[tokio::test]
async fn negative_entries_and_small_bodies_are_stored_as_they_came() {
    let app = TestApp::spawn().await;
    let http = raw();
    let r = http
        .get(app.url("/v1/tmdb/movie/999999999"))
        .header("accept-encoding", "gzip")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    assert!(r.headers().get("content-encoding").is_none());
    let encodings: Vec<Option<String>> =
        sqlx::query_scalar("SELECT encoding FROM larder_cache ORDER BY key")
            .fetch_all(&app.db.pool)
            .await
            .unwrap();
    assert_eq!(encodings, vec![None::<String>]);
    app.stop().await;
}
