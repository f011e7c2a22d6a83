//! Service keys: 401, 403, expiry, revocation, auth off.

use std::time::Duration;

use larder_jobs::keys::Keys;

use crate::helpers::*;

const MOVIE: &str = "/v1/tmdb/movie/550";

async fn code(r: reqwest::Response) -> (u16, String) {
    let status = r.status().as_u16();
    let body: serde_json::Value = r.json().await.unwrap();
    (
        status,
        body["error"]["code"]
            .as_str()
            .unwrap_or_default()
            .to_string(),
    )
}

#[tokio::test]
async fn keys_gate_reads_by_scope_expiry_and_revocation() {
    let app = TestApp::with_env(&[("LARDER_AUTH", "required")]).await;
    let keys = Keys::new(app.db.pool.clone());
    let (all, all_token) = keys.create("all", &[], None, None).await.unwrap();
    let (_, weather_token) = keys
        .create("weather", &["openmeteo".into()], None, None)
        .await
        .unwrap();
    let (_, expired_token) = keys
        .create("old", &[], Some(Duration::ZERO), None)
        .await
        .unwrap();

    let stored: i64 = app
        .db
        .count(&format!(
            "SELECT count(*) FROM larder_keys WHERE token_hash = '{all_token}'"
        ))
        .await;
    assert_eq!(stored, 0, "tokens are stored hashed");

    let get = |token: Option<&str>, path: &str| {
        let r = app.http.get(app.url(path));
        match token {
            Some(t) => r.bearer_auth(t),
            None => r,
        }
        .send()
    };
    assert_eq!(
        code(get(None, MOVIE).await.unwrap()).await,
        (401, "unauthorized".into())
    );
    assert_eq!(
        code(get(Some("lk_nope"), MOVIE).await.unwrap()).await,
        (401, "unauthorized".into())
    );
    assert_eq!(
        code(get(Some(&expired_token), MOVIE).await.unwrap()).await,
        (401, "unauthorized".into())
    );
    assert_eq!(
        code(get(Some(&weather_token), MOVIE).await.unwrap()).await,
        (403, "forbidden".into())
    );
    assert_eq!(code(get(None, "/v1/providers").await.unwrap()).await.0, 401);
    assert_eq!(
        get(Some(&weather_token), "/v1/providers")
            .await
            .unwrap()
            .status(),
        200
    );
    assert_eq!(get(Some(&all_token), MOVIE).await.unwrap().status(), 200);
    assert_eq!(
        app.upstream.count(),
        1,
        "rejected requests never reach the upstream"
    );

    // Probes stay open.
    assert_eq!(get(None, "/livez").await.unwrap().status(), 200);

    assert!(keys.revoke(all.id).await.unwrap());
    eventually(Duration::from_secs(5), || async {
        get(Some(&all_token), MOVIE).await.unwrap().status() == 401
    })
    .await;
    app.stop().await;
}

#[tokio::test]
async fn auth_off_serves_without_keys() {
    let app = TestApp::spawn().await; // the harness default is LARDER_AUTH=off
    assert_eq!(
        app.http.get(app.url(MOVIE)).send().await.unwrap().status(),
        200
    );
    app.stop().await;
}

/// Unknown tokens are refused from the keyring in memory: a flood of them
/// sends (almost) nothing to Postgres. Keys created or revoked elsewhere
/// take effect at once.
#[tokio::test]
async fn a_flood_of_unknown_tokens_costs_postgres_nothing_and_key_changes_apply_at_once() {
    let app = TestApp::spawn_with(Options {
        env: vec![("LARDER_AUTH", "required".into())],
        worker: false,
        db_proxy: true,
        ..Default::default()
    })
    .await;
    let proxy = app.proxy.as_ref().unwrap();
    let get = |token: String| {
        app.http
            .get(app.url("/v1/providers"))
            .bearer_auth(token)
            .send()
    };

    // A key made by another process (here, this test) works at once.
    let keys = Keys::new(app.db.pool.clone());
    let (key, token) = keys.create("new", &[], None, None).await.unwrap();
    assert_eq!(get(token.clone()).await.unwrap().status(), 200);

    let before = proxy.sent();
    for chunk in 0..20 {
        let answers = futures_util::future::join_all((0..100).map(|i| {
            let made_up = format!("lk_{:048x}", (chunk * 100 + i) as u128 * 7919 + 13);
            get(made_up)
        }))
        .await;
        for r in answers {
            assert_eq!(r.unwrap().status(), 401);
        }
    }
    let flood_bytes = proxy.sent() - before;
    // One lookup by token hash is ~150 bytes on the wire: 2,000 would be
    // ~300 KB. The keyring reloads at most once a second.
    assert!(
        flood_bytes < 20_000,
        "2,000 unknown tokens sent {flood_bytes} bytes to Postgres"
    );

    assert!(keys.revoke(key.id).await.unwrap());
    eventually(Duration::from_secs(5), || async {
        get(token.clone()).await.unwrap().status() == 401
    })
    .await;
    app.stop().await;
}
