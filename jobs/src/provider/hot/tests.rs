//! Each source's fixture (written from its upstream's real shape) reads
//! into the normalised list, in order.

use super::*;
use crate::provider::testing;

fn read(source: &str) -> Vec<Item> {
    let s = source_of(source).unwrap();
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/fixtures/hot");
    let file = ["json", "html", "xml"]
        .iter()
        .map(|ext| format!("{dir}/{source}.{ext}"))
        .find(|p| std::path::Path::new(p).exists())
        .unwrap_or_else(|| panic!("no fixture for {source}"));
    let body = std::fs::read(file).unwrap();
    let items = match &s.parse {
        sources::Parse::Json(map) => json::read(map, &body).unwrap(),
        sources::Parse::Page(read) => read(&String::from_utf8_lossy(&body)).unwrap(),
    };
    assert!(!items.is_empty(), "{source}: no items");
    items
}

#[test]
fn every_source_has_a_fixture_that_reads_into_items() {
    assert!(SOURCES.len() >= 25, "{} sources", SOURCES.len());
    for s in SOURCES {
        let items = read(s.id);
        for i in &items {
            assert!(
                !i.title.is_empty() && i.url.starts_with("http"),
                "{}: {i:?}",
                s.id
            );
        }
        assert_eq!(
            table::IDS.iter().filter(|id| **id == s.id).count(),
            1,
            "{} has a host",
            s.id
        );
    }
    assert_eq!(table::IDS.len(), SOURCES.len());
}

#[test]
fn lists_keep_their_order_and_fields() {
    let weibo = read("weibo");
    // The promoted entry (is_ad) is left out; the order is the upstream's.
    assert_eq!(
        weibo.iter().map(|i| i.title.as_str()).collect::<Vec<_>>(),
        vec!["某地发布暴雨红色预警", "电视剧名 大结局"]
    );
    assert_eq!(weibo[0].hot, Some(2_876_543.0));
    assert!(weibo[0].url.starts_with("https://s.weibo.com/weibo?q=%23"));
    let zhihu = read("zhihu");
    assert_eq!(zhihu[0].url, "https://www.zhihu.com/question/658512345");
    assert_eq!(zhihu[0].hot, Some(12_340_000.0));
    let gh = read("github");
    assert_eq!(gh[0].title, "acme/rocket");
    assert_eq!(gh[0].hot, Some(12_345.0));
    assert_eq!(gh[0].url, "https://github.com/acme/rocket");
    let hn = read("hackernews");
    assert_eq!(
        hn[1].url, "https://news.ycombinator.com/item?id=40312399",
        "a self-post"
    );
    assert_eq!(hn[0].hot, Some(245.0));
    let baidu = read("baidu");
    assert_eq!(baidu[1].title, "油价上调");
    let ithome = read("ithome");
    assert_eq!(ithome.len(), 3, "the day's box only, no repeats");
    let qq = read("qq-news");
    assert!(
        qq.iter().all(|i| i.title != "腾讯新闻热点榜"),
        "the banner is not an item"
    );
}

#[test]
fn douyin_asks_for_its_token_first_and_sends_it() {
    let r = testing::resolve(&HOT, "douyin", "");
    let settings = crate::provider::ProviderSettings::new(&HOT, &crate::config::Config::default());
    let fill = Fill {
        resolved: &r,
        settings: &settings,
    };
    let first = HOT.adapter.next_call(&fill, &[]).unwrap();
    assert!(
        first
            .path
            .starts_with("/passport/general/login_guiding_strategy/")
    );
    let token = testing::response_with(
        200,
        &[(
            "set-cookie",
            "passport_csrf_token=abc123; Path=/; Max-Age=5184000",
        )],
        "{}",
    );
    let second = HOT
        .adapter
        .next_call(&fill, std::slice::from_ref(&token))
        .unwrap();
    assert!(second.path.starts_with("/aweme/v1/web/hot/search/list/"));
    assert!(
        second
            .headers
            .iter()
            .any(|(n, v)| *n == "cookie" && v == "passport_csrf_token=abc123")
    );
    assert!(
        HOT.adapter
            .next_call(&fill, &[token.clone(), token])
            .is_none()
    );
    // No token set: no list call, and the fill fails (nothing cached).
    let none = testing::response(200, "{}");
    assert!(HOT.adapter.next_call(&fill, &[none]).is_none());
}

#[test]
fn an_answer_with_no_items_is_a_failed_fill_and_bad_sources_are_400s() {
    let r = testing::resolve(&HOT, "v2ex", "");
    let settings = crate::provider::ProviderSettings::new(&HOT, &crate::config::Config::default());
    let fill = Fill {
        resolved: &r,
        settings: &settings,
    };
    let empty = testing::response(200, "[]");
    assert!(HOT.adapter.finish(&fill, vec![empty]).is_err());
    assert_eq!(testing::code(&HOT, "nope", ""), "invalid-parameter");
    let call = HOT.adapter.next_call(&fill, &[]).unwrap();
    assert_eq!(
        (call.host, call.path.as_str()),
        ("v2ex", "/api/topics/hot.json")
    );
    assert!(!call.authorized);
}
