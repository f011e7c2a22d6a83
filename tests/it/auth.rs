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
    let (all, all_token) = keys.create("all", &[], None).await.unwrap();
    let (_, weather_token) = keys
        .create("weather", &["openmeteo".into()], None)
        .await
        .unwrap();
    let (_, expired_token) = keys.create("old", &[], Some(Duration::ZERO)).await.unwrap();

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
