use super::*;
use crate::provider::testing::{self, finish_json, html, settings};
use crate::provider::{Resolved, not_found_body};

const SUBJECT: &str = include_str!("../../../../tests/fixtures/douban/subject.html");
const SUBJECT_TV: &str = include_str!("../../../../tests/fixtures/douban/subject_tv.html");
const CHANGED: &str = include_str!("../../../../tests/fixtures/douban/changed.html");
const NOT_FOUND: &str = include_str!("../../../../tests/fixtures/douban/not_found.html");
const BANNED: &str = include_str!("../../../../tests/fixtures/douban/banned.html");
const LOGIN: &str = include_str!("../../../../tests/fixtures/douban/login.html");
const SUGGEST: &str = include_str!("../../../../tests/fixtures/douban/suggest.json");

fn resolve(path: &str, query: &str) -> Resolved {
    testing::resolve(&DOUBAN, path, query)
}

fn code(path: &str, query: &str) -> &'static str {
    testing::code(&DOUBAN, path, query)
}

fn verdict(r: &Resolved, response: &Response) -> Verdict {
    testing::verdict(&DOUBAN, r, response)
}

fn finish(r: &Resolved, status: u16, body: &str) -> Result<Value, String> {
    finish_json(&DOUBAN, r, html(status, body))
}

#[test]
fn routes_resolve_to_the_page_and_the_suggest_endpoint() {
    let s = settings(&DOUBAN);
    let r = resolve("subject/01292052", "");
    assert_eq!(r.key.as_str(), "douban/subject/1292052");
    let fill = Fill {
        resolved: &r,
        settings: &s,
    };
    let call = DOUBAN.adapter.next_call(&fill, &[]).unwrap();
    assert_eq!(call.path, "/subject/1292052/");
    assert!(
        call.headers
            .iter()
            .any(|(n, v)| *n == "accept" && v.starts_with("text/html"))
    );
    assert!(
        call.headers
            .iter()
            .any(|(n, v)| *n == "user-agent" && v.starts_with("Mozilla/"))
    );
    assert!(
        DOUBAN
            .adapter
            .next_call(&fill, &[html(200, SUBJECT)])
            .is_none()
    );

    let r = resolve("search", "q=%20The%20Shawshank%20");
    assert_eq!(r.key.as_str(), "douban/search?q=the+shawshank");
    let fill = Fill {
        resolved: &r,
        settings: &s,
    };
    let call = DOUBAN.adapter.next_call(&fill, &[]).unwrap();
    assert_eq!(call.path, "/j/subject_suggest?q=the+shawshank");
    assert!(!call.headers.iter().any(|(n, _)| *n == "accept"));
}

#[test]
fn bad_requests_are_refused() {
    assert_eq!(code("subject/abc", ""), "invalid-parameter");
    assert_eq!(code("subject/0", ""), "invalid-parameter");
    assert_eq!(code("subject", ""), "unknown-resource");
    assert_eq!(code("search", ""), "missing-parameter");
    assert_eq!(code("search", "q=x&type=movie"), "unknown-parameter");
}

#[test]
fn a_subject_page_becomes_json() {
    let v = parse_subject("1292052", SUBJECT).unwrap();
    assert_eq!(v["douban_id"], "1292052");
    assert_eq!(v["title"], "肖申克的救赎");
    assert_eq!(v["original_title"], "The Shawshank Redemption");
    assert_eq!(v["full_title"], "肖申克的救赎 The Shawshank Redemption");
    assert_eq!(v["year"], 1994);
    assert_eq!(v["media_type"], "movie");
    assert_eq!(v["rating"], 9.7);
    assert_eq!(v["votes"], 3215862);
    assert_eq!(v["directors"], json!(["弗兰克·德拉邦特"]));
    assert_eq!(v["writers"], json!(["弗兰克·德拉邦特", "斯蒂芬·金"]));
    assert_eq!(
        v["actors"],
        json!(["蒂姆·罗宾斯", "摩根·弗里曼", "鲍勃·冈顿", "威廉姆·赛德勒"])
    );
    assert_eq!(v["genres"], json!(["剧情", "犯罪"]));
    assert_eq!(v["countries"], json!(["美国"]));
    assert_eq!(v["languages"], json!(["英语"]));
    assert_eq!(
        v["release_dates"],
        json!(["1994-09-10(多伦多电影节)", "1994-10-14(美国)"])
    );
    assert_eq!(v["runtime"], "142分钟");
    assert_eq!(v["runtime_minutes"], 142);
    assert_eq!(v["episode_count"], Value::Null);
    assert_eq!(
        v["aka"],
        json!(["月黑高飞(港)", "刺激1995(台)", "地狱诺言", "铁窗岁月"])
    );
    assert_eq!(v["imdb_id"], "tt0111161");
    assert_eq!(
        v["poster_url"],
        "https://img3.doubanio.com/view/photo/s_ratio_poster/public/p480747492.webp"
    );
    let summary = v["summary"].as_str().unwrap();
    assert!(summary.starts_with("一场谋杀案使银行家安迪"), "{summary}");
    assert!(
        summary.ends_with("另眼相看。&"),
        "entities decoded: {summary}"
    );
    assert_eq!(summary.lines().count(), 2);
}

#[test]
fn a_series_page_and_missing_fields() {
    let v = parse_subject("26647087", SUBJECT_TV).unwrap();
    assert_eq!(v["title"], "三体");
    assert_eq!(v["original_title"], Value::Null);
    assert_eq!(v["media_type"], "tv");
    assert_eq!(v["episode_count"], 30);
    assert_eq!(v["runtime"], "45分钟");
    assert_eq!(v["runtime_minutes"], 45);
    assert_eq!(v["rating"], Value::Null, "not rated yet");
    assert_eq!(v["votes"], Value::Null);
    assert_eq!(v["imdb_id"], Value::Null);
    assert_eq!(v["release_dates"], json!(["2023-01-15(中国大陆)"]));
    assert_eq!(v["aka"], json!(["Three-Body"]));
    assert_eq!(
        v["summary"], "纳米科学家汪淼被警官史强带到作战中心。\n他被卷入一场神秘的科学家自杀案件。",
        "the full summary, not the short one"
    );
}

#[test]
fn a_changed_page_is_an_error_not_an_empty_entry() {
    let r = resolve("subject/1292052", "");
    assert_eq!(verdict(&r, &html(200, CHANGED)), Verdict::Found);
    let err = finish(&r, 200, CHANGED).unwrap_err();
    assert!(err.contains("v:itemreviewed"), "{err}");
    assert!(finish(&r, 200, "").is_err());
}

#[test]
fn statuses_and_blocks() {
    let r = resolve("subject/1292052", "");
    assert_eq!(verdict(&r, &html(200, SUBJECT)), Verdict::Found);
    assert_eq!(
        verdict(&r, &html(404, NOT_FOUND)),
        Verdict::NotFound(not_found_body("no Douban subject with this id"))
    );
    assert_eq!(
        verdict(&r, &html(403, BANNED)),
        Verdict::SlowDown(Some(BAN_PAUSE))
    );
    // A redirect followed to the ban or the login page.
    assert_eq!(
        verdict(&r, &html(200, BANNED)),
        Verdict::SlowDown(Some(BAN_PAUSE))
    );
    assert_eq!(verdict(&r, &html(200, LOGIN)), Verdict::Rejected(403));
    // A redirect not followed.
    let mut sec = html(302, "");
    sec.headers.push((
        "location".into(),
        "https://sec.douban.com/b?r=https%3A%2F%2Fmovie.douban.com%2Fsubject%2F1292052%2F".into(),
    ));
    assert_eq!(verdict(&r, &sec), Verdict::SlowDown(Some(BAN_PAUSE)));
    assert_eq!(verdict(&r, &html(302, "")), Verdict::Rejected(302));
    assert!(matches!(verdict(&r, &html(502, "")), Verdict::Retry(_)));

    let s = resolve("search", "q=x");
    assert_eq!(verdict(&s, &html(200, "[]")), Verdict::Found);
    assert_eq!(
        verdict(&s, &html(403, BANNED)),
        Verdict::SlowDown(Some(BAN_PAUSE))
    );
    assert!(matches!(
        verdict(&s, &html(404, NOT_FOUND)),
        Verdict::Garbage(_)
    ));
}

#[test]
fn suggestions_are_normalised() {
    let r = resolve("search", "q=肖申克");
    let v = finish(&r, 200, SUGGEST).unwrap();
    assert_eq!(v.as_array().unwrap().len(), 3);
    assert_eq!(
        v[0],
        json!({
            "douban_id": "1292052",
            "title": "肖申克的救赎",
            "original_title": "The Shawshank Redemption",
            "year": 1994,
            "media_type": "movie",
            "episode_count": null,
            "poster_url": "https://img3.doubanio.com/view/photo/s_ratio_poster/public/p480747492.webp",
            "url": "https://movie.douban.com/subject/1292052/",
        })
    );
    assert_eq!(v[1]["media_type"], "tv");
    assert_eq!(v[1]["episode_count"], 30);
    assert_eq!(v[2]["media_type"], "celebrity");
    assert_eq!(v[2]["year"], Value::Null);

    assert_eq!(finish(&r, 200, "[]").unwrap(), json!([]));
    assert!(finish(&r, 200, "{\"msg\":\"x\"}").is_err());
    assert!(finish(&r, 200, BANNED).is_err());
}
