//! Qidian books against fixtures written from the site's page structure:
//! the book page and the search page read into JSON, 404 pages, the WAF's
//! JavaScript challenge and a changed page.

use crate::helpers::*;

const HTML: &str = "text/html; charset=utf-8";
const BOOK: &str = "/v1/qidian/book/1010868264";
const PAGE: &str = "/book/1010868264/";

fn page(status: u16, file: &str) -> Step {
    Step::file(status, &format!("qidian/{file}")).header("content-type", HTML)
}

#[tokio::test]
async fn a_book_page_is_read_into_json_and_cached() {
    let app = TestApp::spawn().await;
    app.upstream.route(PAGE, page(200, "book.html"));
    let r = app.get(BOOK).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["x-cache"], "MISS");
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["qidian_id"], "1010868264");
    assert_eq!(body["title"], "诡秘之主");
    assert_eq!(body["author"], "爱潜水的乌贼");
    assert_eq!(body["serial_status"], "完本");
    assert_eq!(body["word_count"], "446.79万");
    assert_eq!(body["latest_chapter"], "完本感言");

    let again = app.get(BOOK).send().await.unwrap();
    assert_eq!(again.headers()["x-cache"], "HIT");
    let hits = app.upstream.hits();
    assert_eq!(hits.len(), 1);
    assert_eq!(hits[0].path, PAGE);
    assert_eq!(hits[0].header("referer"), Some("https://www.qidian.com/"));
    assert!(
        hits[0]
            .user_agent
            .as_deref()
            .is_some_and(|ua| ua.starts_with("Mozilla/5.0"))
    );
    assert!(
        hits[0]
            .headers
            .iter()
            .any(|(n, v)| n == "accept" && v.starts_with("text/html"))
    );
    app.stop().await;
}

#[tokio::test]
async fn search_puts_the_keyword_in_the_path() {
    let app = TestApp::spawn().await;
    // 斗破苍穹
    let kw = "%E6%96%97%E7%A0%B4%E8%8B%8D%E7%A9%B9";
    app.upstream
        .route(&format!("/so/{kw}.html"), page(200, "search.html"));
    app.upstream
        .route("/so/zzqqxx.html", page(200, "search_empty.html"));
    let r = app
        .get(&format!("/v1/qidian/search?kw={kw}"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body.as_array().unwrap().len(), 2);
    assert_eq!(body[0]["qidian_id"], "1209977");
    assert_eq!(body[0]["title"], "斗破苍穹");
    assert_eq!(body[0]["author"], "天蚕土豆");

    let r = app.get("/v1/qidian/search?kw=ZZQQXX").send().await.unwrap();
    assert_eq!(r.status(), 200, "no result is an empty list, not a 404");
    assert_eq!(r.text().await.unwrap(), "[]");

    let hits = app.upstream.hits();
    assert_eq!(hits.len(), 2);
    assert_eq!(hits[0].path, format!("/so/{kw}.html"));
    assert_eq!(hits[0].query, "", "the keyword is not sent as a query");
    assert!(
        hits[0]
            .header("cookie")
            .is_some_and(|c| c.starts_with("e1="))
    );
    app.stop().await;
}

#[tokio::test]
async fn an_unknown_book_is_negatively_cached() {
    let app = TestApp::spawn().await;
    app.upstream.route("/book/1/", page(404, "not_found.html"));
    for _ in 0..2 {
        let r = app.get("/v1/qidian/book/1").send().await.unwrap();
        assert_eq!(r.status(), 404);
        assert_eq!(error_code(r).await, "upstream-not-found");
    }
    assert_eq!(app.upstream.count(), 1, "the 404 is remembered");
    app.stop().await;
}

#[tokio::test]
async fn the_waf_challenge_and_a_changed_page_fail_and_are_not_cached() {
    // At 1 call/s the retry's slot is a second away: let the fill wait for
    // it in process (by default it is deferred to a new job, which starts
    // its attempts anew).
    let app = TestApp::with_env(&[
        ("LARDER_UPSTREAM_ATTEMPTS", "2"),
        ("LARDER_WORKER_MAX_RATE_WAIT", "3s"),
    ])
    .await;
    app.upstream
        .script(PAGE, [page(202, "probe.html"), page(202, "probe.html")]);
    app.upstream.route(PAGE, page(200, "book.html"));
    let r = app.get(BOOK).send().await.unwrap();
    assert_eq!(r.status(), 502);
    assert_eq!(error_code(r).await, "upstream-error");
    assert_eq!(app.upstream.count(), 2, "retried once, then given up");
    assert_eq!(cached_rows(&app).await, 0);

    // The challenge is gone: the page is fetched anew.
    let r = app.get(BOOK).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["x-cache"], "MISS");

    // A page whose selectors find nothing.
    app.upstream.route("/book/2/", page(200, "changed.html"));
    let r = app.get("/v1/qidian/book/2").send().await.unwrap();
    assert_eq!(r.status(), 502);
    assert_eq!(cached_rows(&app).await, 1, "only the good page");
    app.stop().await;
}
