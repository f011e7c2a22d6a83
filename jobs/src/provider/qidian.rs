//! Qidian books (<https://www.qidian.com>). No public API: a book's page
//! and the search page are read into JSON.
//!
//! The site sits behind Tencent's WAF, which answers a plain client with a
//! small JavaScript challenge (HTTP 202, `probe.js`) instead of the page:
//! that is a failed call, retried with backoff and never cached.

use scraper::{ElementRef, Html};
use serde_json::{Map, Value, json};

use super::html::{
    ACCEPT_HTML, all_text, attr_in, classify_page, first_text, first_text_in, lines, nullable,
    selector, text,
};
use super::{
    Adapter, Fill, Host, Kind, Param, Product, ProviderDef, Rate, Request, ResourceDef, Response,
    Setting, Ttl, Verdict, days, hours,
};

/// Sent unless `QIDIAN_USER_AGENT` says otherwise.
const BROWSER_UA: &str = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 \
                          (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36";
const ACCEPT_LANGUAGE: &str = "zh-CN,zh;q=0.9,en;q=0.8";
const REFERER: &str = "https://www.qidian.com/";
/// The search page redirects clients without its `e1` cookie; this is the
/// empty value the site's own script sets.
const SEARCH_COOKIE: &str = "e1=%7B%22l6%22%3A%22%22%2C%22l7%22%3A%22%22%2C%22l1%22%3A%22%22%2C%22l3%22%3A%22%22%2C%22pid%22%3A%22qd_p_qidian%22%2C%22eid%22%3A%22%22%7D";

pub static QIDIAN: ProviderDef = ProviderDef {
    settings: &[Setting::optional("user_agent", "QIDIAN_USER_AGENT")],
    user_agent: Some("user_agent"),
    adapter: &QidianAdapter,
    ..ProviderDef::new(
        "qidian",
        "Qidian books",
        &[Host {
            name: "",
            urls: &["https://www.qidian.com"],
        }],
        // No published limit; the WAF watches bursts. One call a second.
        Rate::per_second(1, 1),
        &[
            ResourceDef {
                name: "book",
                route: "book/{id}",
                upstream: "/book/{id}/",
                params: &[Param::req(
                    "id",
                    Kind::Int {
                        min: 1,
                        max: 999_999_999_999,
                    },
                )],
                // Serialising books gain chapters daily.
                ttl: Ttl::new(hours(24), days(7), days(1), days(30)),
            },
            ResourceDef {
                name: "search",
                route: "search",
                // The keyword goes in the path (built by the adapter).
                upstream: "/so/{kw}.html",
                params: &[Param::req(
                    "kw",
                    Kind::Text {
                        max_len: 100,
                        fold_case: true,
                    },
                )],
                ttl: Ttl::new(hours(24), days(3), hours(1), days(7)),
            },
        ],
    )
};

struct QidianAdapter;

impl Adapter for QidianAdapter {
    fn next_call(&self, fill: &Fill<'_>, answers: &[Response]) -> Option<Request> {
        if !answers.is_empty() {
            return None;
        }
        let mut request = match fill.resource() {
            "search" => {
                let kw = fill.param("kw").unwrap_or_default();
                let encoded: String = form_urlencoded::byte_serialize(kw.as_bytes()).collect();
                Request::get(format!("/so/{encoded}.html")).header("cookie", SEARCH_COOKIE)
            }
            _ => fill.table_request(),
        }
        .header("accept", ACCEPT_HTML)
        .header("accept-language", ACCEPT_LANGUAGE)
        .header("referer", REFERER);
        if fill.settings.user_agent().is_none() {
            request = request.header("user-agent", BROWSER_UA);
        }
        Some(request)
    }

    fn classify(&self, fill: &Fill<'_>, _: &Request, response: &Response) -> Verdict {
        if is_challenge(&response.body) {
            return Verdict::Retry("Tencent WAF challenge page (probe.js)".into());
        }
        classify_page(fill, response, "book", "no Qidian book with this id")
    }

    fn finish(&self, fill: &Fill<'_>, answers: Vec<Response>) -> Result<Product, String> {
        let last = answers.into_iter().last().ok_or("no answer")?;
        let html = String::from_utf8_lossy(&last.body);
        let value = match fill.resource() {
            "book" => parse_book(fill.param("id").unwrap_or_default(), &html)?,
            _ => parse_search(&html)?,
        };
        Ok(Product::json(&value))
    }
}

/// The WAF's JavaScript shell: `var buid = "fff…"` and `/…/probe.js` (or
/// `probev3.js` at a later stage), and none of a real page's content.
fn is_challenge(body: &[u8]) -> bool {
    let body = String::from_utf8_lossy(body);
    let marker = body.contains("probe.js")
        || body.contains("probev3.js")
        || body.contains("var buid = \"fff");
    marker && !body.contains("og:novel:book_name") && !body.contains("result-list")
}

/// `<meta property="og:…" content="…">`.
fn meta(doc: &Html, property: &str) -> Option<String> {
    attr_in(
        doc.root_element(),
        &format!(r#"meta[property="{property}"]"#),
        "content",
    )
}

/// Protocol-relative URLs (`//bookcover.yuewen.com/…`) made absolute.
fn absolute(url: String) -> String {
    if url.starts_with("//") {
        format!("https:{url}")
    } else {
        url
    }
}

/// `446.79万` → 4467900; `1.2亿` → 120000000; `8000` → 8000.
fn word_number(s: &str) -> Option<u64> {
    let s = s.trim().trim_end_matches('字');
    let (num, scale) = if let Some(n) = s.strip_suffix('万') {
        (n, 10_000.0)
    } else if let Some(n) = s.strip_suffix('亿') {
        (n, 100_000_000.0)
    } else {
        (s, 1.0)
    };
    let n: f64 = num.trim().parse().ok()?;
    (n.is_finite() && n >= 0.0).then(|| (n * scale).round() as u64)
}

const STATUSES: &[&str] = &["连载", "连载中", "完本", "完结", "暂停", "断更"];

/// A book page into JSON; a page without a title (a redesign, an
/// interstitial) is an error, never an empty entry.
fn parse_book(id: &str, html: &str) -> Result<Value, String> {
    let doc = Html::parse_document(html);
    let root = doc.root_element();
    let title = first_text(&doc, "h1#bookName")
        .or_else(|| meta(&doc, "og:novel:book_name"))
        .ok_or("no h1#bookName nor og:novel:book_name: not a Qidian book page")?;
    let author = first_text(&doc, "a.writer-name").or_else(|| meta(&doc, "og:novel:author"));
    let cover = attr_in(root, "#bookImg img", "src")
        .or_else(|| meta(&doc, "og:image"))
        .map(absolute);
    let status = root
        .select(&selector("p.book-attribute span"))
        .map(text)
        .find(|t| STATUSES.contains(&t.as_str()))
        .or_else(|| meta(&doc, "og:novel:status"));
    let word_count = first_text(&doc, "p.count em");
    let tags = all_text(&doc, "p.all-label a");
    let category = meta(&doc, "og:novel:category").or_else(|| tags.first().cloned());
    let intro = root
        .select(&selector("#book-intro-detail"))
        .map(|e| lines(e).join("\n"))
        .find(|t| !t.is_empty())
        .or_else(|| first_text(&doc, "p.intro"))
        .or_else(|| meta(&doc, "og:description"));
    let update_time = first_text(&doc, "span.update-time")
        .map(|t| {
            t.trim_start_matches("更新时间")
                .trim_start_matches([':', '：'])
                .trim()
                .to_string()
        })
        .filter(|t| !t.is_empty())
        .or_else(|| meta(&doc, "og:novel:update_time"));
    let latest = root
        .select(&selector(
            ".book-latest-chapter a, .detail-latest-chapter a, #allCatalog a.chapter-name",
        ))
        .filter(|a| !text(*a).is_empty())
        .last();
    let (latest_chapter, latest_url) = match latest {
        Some(a) => (
            Some(text(a)),
            a.value().attr("href").map(|h| absolute(h.to_string())),
        ),
        None => (meta(&doc, "og:novel:latest_chapter_name"), None),
    };

    let mut out = Map::new();
    out.insert("qidian_id".into(), id.into());
    out.insert("title".into(), title.into());
    out.insert("author".into(), nullable(author));
    out.insert("category".into(), nullable(category));
    out.insert("tags".into(), tags.into());
    out.insert("serial_status".into(), nullable(status));
    out.insert(
        "words".into(),
        nullable(word_count.as_deref().and_then(word_number)),
    );
    out.insert("word_count".into(), nullable(word_count));
    out.insert("intro".into(), nullable(intro));
    out.insert("cover_url".into(), nullable(cover));
    out.insert("update_time".into(), nullable(update_time));
    out.insert("latest_chapter".into(), nullable(latest_chapter));
    out.insert("latest_chapter_url".into(), nullable(latest_url));
    Ok(Value::Object(out))
}

/// The search page into a list. No items is an empty list only on a page
/// that is recognisably the search page; anything else is an error.
fn parse_search(html: &str) -> Result<Value, String> {
    let doc = Html::parse_document(html);
    let root = doc.root_element();
    let mut items: Vec<ElementRef<'_>> = root
        .select(&selector("#result-list li.res-book-item"))
        .collect();
    if items.is_empty() {
        items = root.select(&selector("li[data-bid]")).collect();
    }
    if items.is_empty() {
        let result_page = root.select(&selector("#result-list")).next().is_some()
            || html.contains("no-result")
            || html.contains("没有找到");
        return if result_page {
            Ok(json!([]))
        } else {
            Err("no #result-list: not a Qidian search page".into())
        };
    }
    let books: Vec<Value> = items.iter().filter_map(|li| search_item(*li)).collect();
    if books.is_empty() {
        return Err(format!(
            "{} search items, none with an id and a title",
            items.len()
        ));
    }
    Ok(Value::Array(books))
}

fn search_item(li: ElementRef<'_>) -> Option<Value> {
    let href = attr_in(li, "h3.book-info-title a", "href");
    let id = li
        .value()
        .attr("data-bid")
        .map(str::trim)
        .filter(|b| !b.is_empty() && b.chars().all(|c| c.is_ascii_digit()))
        .map(String::from)
        .or_else(|| {
            let after = href.as_deref()?.split_once("/book/")?.1;
            let digits: String = after.chars().take_while(char::is_ascii_digit).collect();
            (!digits.is_empty()).then_some(digits)
        })?;
    let title = first_text_in(li, "h3.book-info-title a").or_else(|| {
        attr_in(li, "h3.book-info-title a", "title")
            .map(|t| t.trim_end_matches("在线阅读").trim().to_string())
            .filter(|t| !t.is_empty())
    })?;
    let author = first_text_in(li, "p.author a.name").or_else(|| first_text_in(li, "p.author i"));
    let category = first_text_in(li, "p.author a:not(.name)");
    let status = li
        .select(&selector("p.author span"))
        .map(text)
        .find(|t| STATUSES.contains(&t.as_str()));
    let latest = first_text_in(li, "p.update a")
        .map(|t| t.trim_start_matches("最新更新").trim().to_string());
    let word_count =
        first_text_in(li, ".book-right-info .total p:first-child span").or_else(|| {
            li.select(&selector(".book-right-info span"))
                .map(text)
                .find(|t| t.ends_with('万') || t.ends_with('字'))
        });
    Some(json!({
        "qidian_id": id,
        "title": title,
        "author": nullable(author),
        "category": nullable(category),
        "serial_status": nullable(status),
        "words": nullable(word_count.as_deref().and_then(word_number)),
        "word_count": nullable(word_count),
        "intro": nullable(first_text_in(li, "p.intro")),
        "cover_url": nullable(attr_in(li, ".book-img-box img", "src").map(absolute)),
        "latest_chapter": nullable(latest.filter(|t| !t.is_empty())),
        "updated": nullable(first_text_in(li, "p.update span")),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::provider::testing::{self, finish_json, first_call, html};
    use crate::provider::{Resolved, not_found_body};

    const BOOK: &str = include_str!("../../../tests/fixtures/qidian/book.html");
    const SEARCH: &str = include_str!("../../../tests/fixtures/qidian/search.html");
    const SEARCH_EMPTY: &str = include_str!("../../../tests/fixtures/qidian/search_empty.html");
    const PROBE: &str = include_str!("../../../tests/fixtures/qidian/probe.html");
    const CHANGED: &str = include_str!("../../../tests/fixtures/qidian/changed.html");
    const NOT_FOUND: &str = include_str!("../../../tests/fixtures/qidian/not_found.html");

    fn resolve(path: &str, query: &str) -> Resolved {
        testing::resolve(&QIDIAN, path, query)
    }

    fn code(path: &str, query: &str) -> &'static str {
        testing::code(&QIDIAN, path, query)
    }

    fn call(r: &Resolved) -> Request {
        first_call(&QIDIAN, r).unwrap()
    }

    fn verdict(r: &Resolved, status: u16, body: &str) -> Verdict {
        testing::verdict(&QIDIAN, r, &html(status, body))
    }

    fn finish(r: &Resolved, body: &str) -> Result<Value, String> {
        finish_json(&QIDIAN, r, html(200, body))
    }

    #[test]
    fn routes_resolve_to_the_book_page_and_the_search_path() {
        let r = resolve("book/1010868264", "");
        assert_eq!(r.key.as_str(), "qidian/book/1010868264");
        let c = call(&r);
        assert_eq!(c.path, "/book/1010868264/");
        let header = |c: &Request, name: &str| {
            c.headers
                .iter()
                .find(|(n, _)| *n == name)
                .map(|(_, v)| v.clone())
        };
        assert!(header(&c, "accept").unwrap().starts_with("text/html"));
        assert_eq!(header(&c, "referer").unwrap(), REFERER);
        assert!(header(&c, "user-agent").unwrap().starts_with("Mozilla/"));
        assert!(header(&c, "cookie").is_none());

        let r = resolve("search", "kw=%E6%96%97%E7%A0%B4%20%20%E8%8B%8D%E7%A9%B9");
        assert_eq!(
            r.key.as_str(),
            "qidian/search?kw=%E6%96%97%E7%A0%B4+%E8%8B%8D%E7%A9%B9"
        );
        let c = call(&r);
        assert_eq!(c.path, "/so/%E6%96%97%E7%A0%B4+%E8%8B%8D%E7%A9%B9.html");
        assert!(header(&c, "cookie").unwrap().starts_with("e1="));
        let c = call(&resolve("search", "kw=a/b?c"));
        assert_eq!(c.path, "/so/a%2Fb%3Fc.html", "one path segment, no query");
    }

    #[test]
    fn bad_requests_are_refused() {
        assert_eq!(code("book/abc", ""), "invalid-parameter");
        assert_eq!(code("book/-1", ""), "invalid-parameter");
        assert_eq!(code("search", ""), "missing-parameter");
        assert_eq!(code("search", "q=x"), "unknown-parameter");
        assert_eq!(code("search", "kw="), "invalid-parameter");
    }

    #[test]
    fn a_book_page_becomes_json() {
        let v = parse_book("1010868264", BOOK).unwrap();
        assert_eq!(
            v,
            json!({
                "qidian_id": "1010868264",
                "title": "诡秘之主",
                "author": "爱潜水的乌贼",
                "category": "玄幻",
                "tags": ["玄幻", "异世大陆", "西方奇幻"],
                "serial_status": "完本",
                "words": 4467900,
                "word_count": "446.79万",
                "intro": "蒸汽与机械的浪潮中，谁能触及非凡？\n历史和黑暗的迷雾里，又是谁在耳语？\n我从诡秘中醒来，睁眼看见这个世界：",
                "cover_url": "https://bookcover.yuewen.com/qdbimg/349573/1010868264/300",
                "update_time": "2020-05-01 00:00",
                "latest_chapter": "完本感言",
                "latest_chapter_url": "https://www.qidian.com/chapter/1010868264/530930911/",
            })
        );
    }

    #[test]
    fn a_page_with_only_meta_tags_still_reads() {
        let html = r#"<html><head>
            <meta property="og:novel:book_name" content="诡秘之主">
            <meta property="og:novel:author" content="爱潜水的乌贼">
            <meta property="og:novel:status" content="连载">
            <meta property="og:image" content="//bookcover.yuewen.com/qdbimg/349573/1/180">
            </head><body></body></html>"#;
        let v = parse_book("1", html).unwrap();
        assert_eq!(v["title"], "诡秘之主");
        assert_eq!(v["author"], "爱潜水的乌贼");
        assert_eq!(v["serial_status"], "连载");
        assert_eq!(
            v["cover_url"],
            "https://bookcover.yuewen.com/qdbimg/349573/1/180"
        );
        assert_eq!(v["words"], Value::Null);
        assert_eq!(v["latest_chapter"], Value::Null);
        assert_eq!(v["tags"], json!([]));
    }

    #[test]
    fn a_search_page_becomes_a_list() {
        let v = finish(&resolve("search", "kw=斗破苍穹"), SEARCH).unwrap();
        assert_eq!(v.as_array().unwrap().len(), 2);
        assert_eq!(
            v[0],
            json!({
                "qidian_id": "1209977",
                "title": "斗破苍穹",
                "author": "天蚕土豆",
                "category": "玄幻",
                "serial_status": "完本",
                "words": 5328800,
                "word_count": "532.88万",
                "intro": "这里是属于斗气的世界，没有花俏艳丽的魔法，有的，仅仅是繁衍到巅峰的斗气！",
                "cover_url": "https://bookcover.yuewen.com/qdbimg/349573/1209977/150",
                "latest_chapter": "第一千六百二十三章 结束，也是开始",
                "updated": "2011-07-20",
            })
        );
        assert_eq!(v[1]["author"], "某作者", "an author from outside Qidian");
        assert_eq!(v[1]["serial_status"], "连载");
        assert_eq!(v[1]["category"], "同人");
        assert_eq!(
            finish(&resolve("search", "kw=zzqqxx"), SEARCH_EMPTY).unwrap(),
            json!([])
        );
    }

    #[test]
    fn changed_pages_are_errors() {
        let book = resolve("book/1010868264", "");
        assert_eq!(verdict(&book, 200, CHANGED), Verdict::Found);
        let err = finish(&book, CHANGED).unwrap_err();
        assert!(err.contains("bookName"), "{err}");
        let search = resolve("search", "kw=x");
        assert!(finish(&search, CHANGED).is_err());
        assert!(finish(&search, r#"<ul><li data-bid=""><p>?</p></li></ul>"#).is_err());
    }

    #[test]
    fn the_waf_challenge_is_retried_and_404_is_not_found() {
        let book = resolve("book/1010868264", "");
        let search = resolve("search", "kw=x");
        for status in [202, 200] {
            assert!(matches!(verdict(&book, status, PROBE), Verdict::Retry(_)));
            assert!(matches!(verdict(&search, status, PROBE), Verdict::Retry(_)));
        }
        assert!(matches!(
            verdict(&book, 200, &PROBE.replace("probe.js", "probev3.js")),
            Verdict::Retry(_)
        ));
        assert_eq!(verdict(&book, 200, BOOK), Verdict::Found);
        assert_eq!(verdict(&search, 200, SEARCH), Verdict::Found);
        assert_eq!(
            verdict(&book, 404, NOT_FOUND),
            Verdict::NotFound(not_found_body("no Qidian book with this id"))
        );
        assert!(matches!(
            verdict(&search, 404, NOT_FOUND),
            Verdict::Garbage(_)
        ));
        assert!(matches!(verdict(&book, 503, ""), Verdict::Retry(_)));
        assert_eq!(verdict(&book, 403, ""), Verdict::Rejected(403));
    }

    #[test]
    fn word_counts_read_as_numbers() {
        assert_eq!(word_number("446.79万"), Some(4_467_900));
        assert_eq!(word_number("1.2亿字"), Some(120_000_000));
        assert_eq!(word_number("8000字"), Some(8000));
        assert_eq!(word_number("很多"), None);
    }
}
