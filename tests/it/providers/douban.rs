//! Douban movies against fixtures written from the site's page structure:
//! a subject page read into JSON, the suggest endpoint, 404 pages, a
//! changed page, the login redirect and the IP ban.

use crate::helpers::*;

const HTML: &str = "text/html; charset=utf-8";
const SUBJECT: &str = "/v1/douban/subject/1292052";
const PAGE: &str = "/subject/1292052/";

fn page(status: u16, file: &str) -> Step {
    Step::file(status, &format!("douban/{file}")).header("content-type", HTML)
}

#[tokio::test]
async fn a_subject_page_is_read_into_json_and_cached() {
    let app = TestApp::spawn().await;
    app.upstream.route(PAGE, page(200, "subject.html"));
    let r = app.get(SUBJECT).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["x-cache"], "MISS");
    assert!(
        r.headers()["content-type"]
            .to_str()
            .unwrap()
            .contains("application/json")
    );
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["douban_id"], "1292052");
    assert_eq!(body["title"], "肖申克的救赎");
    assert_eq!(body["original_title"], "The Shawshank Redemption");
    assert_eq!(body["year"], 1994);
    assert_eq!(body["rating"], 9.7);
    assert_eq!(body["votes"], 3215862);
    assert_eq!(body["imdb_id"], "tt0111161");
    assert_eq!(body["directors"][0], "弗兰克·德拉邦特");
    assert_eq!(body["genres"], serde_json::json!(["剧情", "犯罪"]));
    assert_eq!(body["runtime_minutes"], 142);

    let again = app.get(SUBJECT).send().await.unwrap();
    assert_eq!(again.headers()["x-cache"], "HIT");

    let hits = app.upstream.hits();
    assert_eq!(hits.len(), 1, "one upstream call");
    assert_eq!(hits[0].path, PAGE);
    assert!(
        hits[0]
            .user_agent
            .as_deref()
            .is_some_and(|ua| ua.starts_with("Mozilla/5.0")),
        "a browser User-Agent: {:?}",
        hits[0].user_agent
    );
    assert!(
        hits[0]
            .headers
            .iter()
            .any(|(n, v)| n == "accept" && v.starts_with("text/html")),
        "asks for HTML: {:?}",
        hits[0].headers
    );
    app.stop().await;
}

#[tokio::test]
async fn search_is_the_suggest_endpoint_normalised() {
    let app = TestApp::spawn().await;
    app.upstream
        .route("/j/subject_suggest", Step::file(200, "douban/suggest.json"));
    let r = app
        .get("/v1/douban/search?q=%E8%82%96%E7%94%B3%E5%85%8B")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let body: serde_json::Value = r.json().await.unwrap();
    let items = body.as_array().unwrap();
    assert_eq!(items.len(), 3);
    assert_eq!(items[0]["douban_id"], "1292052");
    assert_eq!(items[0]["original_title"], "The Shawshank Redemption");
    assert_eq!(items[0]["year"], 1994);
    assert_eq!(items[1]["media_type"], "tv");
    assert_eq!(items[2]["media_type"], "celebrity");
    let hits = app.upstream.hits();
    assert_eq!(hits.len(), 1);
    assert_eq!(hits[0].query, "q=%E8%82%96%E7%94%B3%E5%85%8B");
    app.stop().await;
}

#[tokio::test]
async fn an_unknown_subject_is_negatively_cached() {
    let app = TestApp::spawn().await;
    app.upstream
        .route("/subject/99999999/", page(404, "not_found.html"));
    for _ in 0..2 {
        let r = app.get("/v1/douban/subject/99999999").send().await.unwrap();
        assert_eq!(r.status(), 404);
        assert_eq!(error_code(r).await, "upstream-not-found");
    }
    assert_eq!(app.upstream.count(), 1, "the 404 is remembered");
    app.stop().await;
}

#[tokio::test]
async fn a_changed_page_fails_and_is_not_cached() {
    let app = TestApp::spawn().await;
    app.upstream.script(PAGE, [page(200, "changed.html")]);
    app.upstream.route(PAGE, page(200, "subject.html"));
    let r = app.get(SUBJECT).send().await.unwrap();
    assert_eq!(r.status(), 502);
    assert_eq!(error_code(r).await, "upstream-error");
    assert_eq!(cached_rows(&app).await, 0, "no empty entry");
    let r = app.get(SUBJECT).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["x-cache"], "MISS");
    app.stop().await;
}

#[tokio::test]
async fn a_login_redirect_fails_and_a_ban_pauses_douban() {
    let app = TestApp::spawn().await;
    // A redirect to the login page (followed): this fill fails, nothing is
    // cached, the provider goes on.
    app.upstream.script(
        PAGE,
        [Step::body(302, "")
            .header("content-type", HTML)
            .header("location", "/passport/login?redir=%2Fsubject%2F1292052%2F")],
    );
    app.upstream
        .route("/passport/login", page(200, "login.html"));
    let r = app.get(SUBJECT).send().await.unwrap();
    assert_eq!(r.status(), 502);
    assert_eq!(error_code(r).await, "upstream-rejected");
    assert_eq!(cached_rows(&app).await, 0);
    assert_eq!(app.upstream.count(), 2, "the page, then the login page");

    // The IP ban: failed at once, not cached, and Douban is left alone.
    app.upstream.script(PAGE, [page(403, "banned.html")]);
    let r = app.get(SUBJECT).send().await.unwrap();
    assert_eq!(r.status(), 503);
    assert_eq!(error_code(r).await, "overloaded");
    assert_eq!(cached_rows(&app).await, 0);
    assert_eq!(app.upstream.count(), 3);
    let r = app
        .get("/v1/douban/subject/26647087")
        .header("prefer", "wait=1")
        .send()
        .await
        .unwrap();
    assert_ne!(r.status(), 200);
    assert_eq!(app.upstream.count(), 3, "no call while paused");
    assert_eq!(cached_rows(&app).await, 0);
    app.stop().await;
}
