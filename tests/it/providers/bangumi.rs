//! Bangumi against fixtures from its public documentation.

use crate::helpers::*;

#[tokio::test]
async fn a_subject_is_fetched_with_the_configured_user_agent() {
    let app = TestApp::with_env(&[(
        "BANGUMI_USER_AGENT",
        "larder-tests/1.0 (https://example.org/larder)",
    )])
    .await;
    app.upstream
        .route("/v0/subjects/8", Step::file(200, "bangumi/subject.json"));
    let r = app.get("/v1/bangumi/subject/8").send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["x-cache"], "MISS");
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["id"], 8);
    assert_eq!(body["name_cn"], "Code Geass 反叛的鲁路修R2");
    let r = app.get("/v1/bangumi/subject/8").send().await.unwrap();
    assert_eq!(r.headers()["x-cache"], "HIT");

    let hits = app.upstream.hits();
    assert_eq!(hits.len(), 1);
    assert_eq!(hits[0].method, "GET");
    assert_eq!(
        hits[0].user_agent.as_deref(),
        Some("larder-tests/1.0 (https://example.org/larder)")
    );
    app.stop().await;
}

#[tokio::test]
async fn episodes_are_filtered_by_subject_id() {
    let app = TestApp::spawn().await;
    app.upstream
        .route("/v0/episodes", Step::file(200, "bangumi/episodes.json"));
    let r = app
        .get("/v1/bangumi/subject/8/episodes?type=0&limit=2")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["data"][0]["name_cn"], "魔神苏醒之日");
    let hit = &app.upstream.hits()[0];
    assert_eq!(hit.path, "/v0/episodes");
    assert_eq!(hit.query, "subject_id=8&limit=2&offset=0&type=0");
    assert_eq!(hit.user_agent.as_deref(), Some("test-user_agent"));
    app.stop().await;
}

#[tokio::test]
async fn search_posts_a_json_body() {
    let app = TestApp::spawn().await;
    app.upstream.route(
        "/v0/search/subjects",
        Step::file(200, "bangumi/search.json"),
    );
    let r = app
        .get("/v1/bangumi/search?keyword=进击的巨人&type=2&sort=heat&air_date=>%3D2013-01-01&limit=5")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["data"][0]["name_cn"], "进击的巨人");
    assert_eq!(body["total"], 37);
    let hits = app.upstream.hits();
    assert_eq!(hits.len(), 1);
    let hit = &hits[0];
    assert_eq!(hit.method, "POST");
    assert_eq!(hit.path, "/v0/search/subjects");
    assert_eq!(hit.query, "limit=5&offset=0");
    assert!(
        hit.header("content-type")
            .is_some_and(|c| c.contains("application/json"))
    );
    let sent: serde_json::Value = serde_json::from_str(&hit.body).unwrap();
    assert_eq!(
        sent,
        serde_json::json!({
            "keyword": "进击的巨人",
            "sort": "heat",
            "filter": {"type": [2], "air_date": [">=2013-01-01"]}
        })
    );
    assert_eq!(hit.user_agent.as_deref(), Some("test-user_agent"));

    // The same search again, parameters in another order: one entry.
    let r = app
        .get("/v1/bangumi/search?limit=5&air_date=>%3D2013-01-01&sort=heat&type=2&keyword=进击的巨人")
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()["x-cache"], "HIT");
    app.stop().await;
}

#[tokio::test]
async fn a_missing_subject_is_negatively_cached() {
    let app = TestApp::spawn().await;
    app.upstream.route(
        "/v0/subjects/99999999",
        Step::file(404, "bangumi/not-found.json"),
    );
    for _ in 0..2 {
        let r = app
            .get("/v1/bangumi/subject/99999999")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 404);
        assert_eq!(error_code(r).await, "upstream-not-found");
    }
    assert_eq!(app.upstream.count(), 1);
    app.stop().await;
}

#[tokio::test]
async fn without_a_user_agent_bangumi_is_disabled() {
    assert_disabled("/v1/bangumi/subject/8", "BANGUMI_USER_AGENT").await;
}
