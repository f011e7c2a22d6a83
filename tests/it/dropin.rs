//! The TMDB drop-in, driven by a real TMDB client library (`tmdb-api`)
//! whose base URL is larder's `/3` and whose TMDB key is a larder key.

use larder_jobs::keys::Keys;
use tmdb_api::client::Client;
use tmdb_api::client::reqwest::ReqwestExecutor;
use tmdb_api::movie::details::MovieDetails;
use tmdb_api::movie::search::MovieSearch;
use tmdb_api::prelude::Command;

use crate::helpers::*;

const POSTER: &str = "/pB8BM7pdSp6B6Ih7QZ4DrQ3PmJK.jpg";

fn jpeg() -> Vec<u8> {
    let mut b = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00".to_vec();
    b.extend((0..30_000u32).map(|i| (i % 253) as u8));
    b
}

async fn tmdb_error(r: reqwest::Response) -> (u16, i64, bool) {
    let status = r.status().as_u16();
    let body: serde_json::Value = r.json().await.unwrap();
    (
        status,
        body["status_code"].as_i64().unwrap_or(-1),
        body["success"].as_bool().unwrap_or(true),
    )
}

#[tokio::test]
async fn a_tmdb_client_library_pointed_at_larder_gets_answers_then_hits() {
    let app = TestApp::with_env(&[("LARDER_AUTH", "required")]).await;
    let keys = Keys::new(app.db.pool.clone());
    let (_, token) = keys
        .create("jellyfin", &["tmdb".into()], None, None)
        .await
        .unwrap();
    let poster = jpeg();
    app.upstream.route(
        &format!("/t/p/w500{POSTER}"),
        Step::bytes(200, "image/jpeg", poster.clone()),
    );
    let client = Client::<ReqwestExecutor>::builder()
        .with_api_key(token.clone())
        .with_base_url(app.url("/3"))
        .build()
        .unwrap();
    for round in 0..2 {
        let movie = MovieDetails::new(550).execute(&client).await.unwrap();
        assert_eq!(movie.inner.title, "Fight Club");
        let found = MovieSearch::new("Fight Club".into())
            .execute(&client)
            .await
            .unwrap();
        assert!(found.results.iter().any(|m| m.inner.id == 550));
        let config: serde_json::Value = client.execute("/configuration", vec![]).await.unwrap();
        // Image URLs built from the configuration come to larder.
        let base = config["images"]["secure_base_url"].as_str().unwrap();
        assert_eq!(base, app.url("/t/p/"));
        assert_eq!(
            config["images"]["poster_sizes"][4], "w500",
            "the rest of the configuration is TMDB's"
        );
        let path = movie.inner.poster_path.unwrap();
        let image = reqwest::get(format!("{base}w500{path}")).await.unwrap();
        assert_eq!(image.status(), 200, "round {round}");
        assert_eq!(image.headers()["content-type"], "image/jpeg");
        assert!(image.bytes().await.unwrap().as_ref() == &poster[..]);
        // The first round filled four keys; the second is all hits.
        assert_eq!(app.upstream.count(), 4, "round {round}");
    }
    for hit in app.upstream.hits() {
        assert!(
            !hit.query.contains(&token),
            "the client's key never goes upstream"
        );
        if hit.path.starts_with("/3/") {
            assert!(hit.query.contains("api_key=testkey1"), "{}", hit.query);
        }
    }
    // The same entries as /v1/tmdb: no second fill.
    let r = app
        .http
        .get(app.url("/v1/tmdb/movie/550"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()["x-cache"], "HIT");
    // A v4-style bearer works as well as api_key.
    let r = app
        .http
        .get(app.url("/3/movie/550"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);

    // Errors in TMDB's shape and statuses.
    let get = |q: String| app.http.get(app.url(&q)).send();
    assert_eq!(
        tmdb_error(get("/3/movie/550".into()).await.unwrap()).await,
        (401, 7, false)
    );
    assert_eq!(
        tmdb_error(get("/3/movie/550?api_key=lk_nope".into()).await.unwrap()).await,
        (401, 7, false)
    );
    assert_eq!(
        tmdb_error(
            get(format!("/3/movie/999999?api_key={token}"))
                .await
                .unwrap()
        )
        .await,
        (404, 34, false),
        "an upstream 404"
    );
    assert_eq!(
        tmdb_error(
            get(format!("/3/movie/550?api_key={token}&bogus=1"))
                .await
                .unwrap()
        )
        .await,
        (422, 5, false)
    );
    assert_eq!(
        tmdb_error(
            get(format!("/3/no/such/path?api_key={token}"))
                .await
                .unwrap()
        )
        .await,
        (404, 34, false)
    );
    app.stop().await;
}

#[tokio::test]
async fn a_trusted_lan_serves_the_drop_in_without_keys() {
    let app = TestApp::with_env(&[
        ("LARDER_AUTH", "required"),
        ("LARDER_TMDB_DROPIN_AUTH", "off"),
        ("LARDER_PUBLIC_URL", "http://nas.lan:8080/"),
    ])
    .await;
    let r = app.http.get(app.url("/3/movie/550")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let r = app
        .http
        .get(app.url("/3/configuration"))
        .send()
        .await
        .unwrap();
    let config: serde_json::Value = r.json().await.unwrap();
    assert_eq!(config["images"]["base_url"], "http://nas.lan:8080/t/p/");
    // Only the drop-in: /v1 still wants a key.
    let r = app
        .http
        .get(app.url("/v1/tmdb/movie/550"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    app.stop().await;
}
