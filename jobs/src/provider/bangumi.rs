//! Bangumi v0 (<https://bangumi.github.io/api/>).
//!
//! Bangumi asks every client for a User-Agent naming its developer and app
//! (generic ones may be blocked), so one must be configured. Episodes are a
//! top-level resource filtered by `subject_id`, and subject search is a POST
//! with a JSON body, built here from the query parameters.

use serde_json::{Map, Value, json};

use super::{
    Adapter, Fill, Host, Kind, Param, ProviderDef, Rate, Request, ResourceDef, Response, Setting,
    Ttl, days, hours, secs,
};

const ID: Param = Param::req(
    "id",
    Kind::Int {
        min: 1,
        max: i32::MAX as i64,
    },
);
/// A comma-separated list of conditions or tags, each one array item.
const LIST: Kind = Kind::Text {
    max_len: 200,
    fold_case: false,
};

/// Search parameters that become `filter` fields of the body (`type` is
/// handled on its own: its items are numbers).
const LIST_FILTERS: &[&str] = &["tag", "meta_tags", "air_date", "rating", "rank"];

/// Subjects: ratings and collection counts drift, wiki edits are occasional.
const SUBJECT: Ttl = Ttl::new(days(1), days(7), days(1), days(30));
/// Episode lists grow while a subject airs.
const EPISODES: Ttl = Ttl::new(hours(12), days(7), hours(12), days(30));
/// The search index lags anyway.
const SEARCH: Ttl = Ttl::new(hours(6), days(1), hours(1), days(7));

pub static BANGUMI: ProviderDef = ProviderDef {
    settings: &[Setting::required("user_agent", "BANGUMI_USER_AGENT")],
    user_agent: Some("user_agent"),
    adapter: &BangumiAdapter,
    ..ProviderDef::new(
        "bangumi",
        "Bangumi",
        &[Host {
            name: "",
            urls: &["https://api.bgm.tv"],
        }],
        // Bangumi's server bans an address for a day after more than 60
        // requests in 60 s; stay under that even after a burst.
        Rate::per_window(50, secs(60), 5),
        &[
            ResourceDef {
                name: "subject",
                route: "subject/{id}",
                upstream: "/v0/subjects/{id}",
                params: &[ID],
                ttl: SUBJECT,
            },
            ResourceDef {
                name: "subject-episodes",
                route: "subject/{id}/episodes",
                // Filled in by `BangumiAdapter::next_call`: `subject_id={id}`.
                upstream: "/v0/episodes",
                params: &[
                    ID,
                    // 0 main, 1 SP, 2 OP, 3 ED, 4 PV, 5 MAD, 6 other.
                    Param::opt("type", Kind::Int { min: 0, max: 6 }),
                    Param::default("limit", Kind::Int { min: 1, max: 200 }, "100"),
                    Param::default(
                        "offset",
                        Kind::Int {
                            min: 0,
                            max: 100_000,
                        },
                        "0",
                    ),
                ],
                ttl: EPISODES,
            },
            ResourceDef {
                name: "search",
                route: "search",
                // A POST, built by `BangumiAdapter::next_call`.
                upstream: "/v0/search/subjects",
                params: &[
                    Param::req(
                        "keyword",
                        Kind::Text {
                            max_len: 200,
                            fold_case: true,
                        },
                    ),
                    Param::default(
                        "sort",
                        Kind::OneOf(&["match", "heat", "rank", "score"]),
                        "match",
                    ),
                    // 1 book, 2 anime, 3 music, 4 game, 6 real.
                    Param::opt(
                        "type",
                        Kind::SetOf {
                            values: &["1", "2", "3", "4", "6"],
                            max: 5,
                        },
                    ),
                    Param::opt("tag", LIST),
                    Param::opt("meta_tags", LIST),
                    // `>=2020-07-01,<2020-10-01`
                    Param::opt("air_date", LIST),
                    // `>=6`
                    Param::opt("rating", LIST),
                    // `<=100`
                    Param::opt("rank", LIST),
                    Param::default("limit", Kind::Int { min: 1, max: 20 }, "10"),
                    Param::default(
                        "offset",
                        Kind::Int {
                            min: 0,
                            max: 100_000,
                        },
                        "0",
                    ),
                ],
                ttl: SEARCH,
            },
        ],
    )
};

/// The search body: `{"keyword", "sort", "filter": {…}}`.
fn search_body(fill: &Fill<'_>) -> Value {
    let mut filter = Map::new();
    if let Some(types) = fill.param("type") {
        let types: Vec<Value> = types
            .split(',')
            .filter_map(|t| t.parse::<u8>().ok())
            .map(Value::from)
            .collect();
        filter.insert("type".into(), Value::from(types));
    }
    for name in LIST_FILTERS {
        if let Some(list) = fill.param(name) {
            let items: Vec<Value> = list
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(Value::from)
                .collect();
            filter.insert((*name).into(), Value::from(items));
        }
    }
    let mut body = json!({
        "keyword": fill.param("keyword").unwrap_or_default(),
        "sort": fill.param("sort").unwrap_or("match"),
    });
    if !filter.is_empty() {
        body["filter"] = Value::Object(filter);
    }
    body
}

struct BangumiAdapter;

impl Adapter for BangumiAdapter {
    fn next_call(&self, fill: &Fill<'_>, answers: &[Response]) -> Option<Request> {
        if !answers.is_empty() {
            return None;
        }
        let param = |name| fill.param(name);
        Some(match fill.resource() {
            "subject-episodes" => {
                let mut r = Request::get("/v0/episodes").query("subject_id", param("id")?);
                for name in ["limit", "offset", "type"] {
                    if let Some(v) = param(name) {
                        r.push_query(name, v);
                    }
                }
                r
            }
            "search" => Request::post_json("/v0/search/subjects", &search_body(fill))
                .query("limit", param("limit").unwrap_or("10"))
                .query("offset", param("offset").unwrap_or("0")),
            _ => fill.table_request(),
        })
    }
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;

    use super::*;
    use crate::provider::testing::{self, response, settings, settings_with};
    use crate::provider::{Method, Resolved, Verdict};

    fn resolve(path: &str, query: &str) -> Resolved {
        testing::resolve(&BANGUMI, path, query)
    }

    fn code(path: &str, query: &str) -> &'static str {
        testing::code(&BANGUMI, path, query)
    }

    fn call(r: &Resolved) -> Request {
        testing::only_call(&BANGUMI, r)
    }

    fn body(r: &Request) -> Value {
        serde_json::from_slice(&r.body.as_ref().unwrap().1).unwrap()
    }

    #[test]
    fn subjects_and_episodes_map_to_v0_paths() {
        let r = resolve("subject/8", "");
        assert_eq!(r.key.as_str(), "bangumi/subject/8");
        assert_eq!(call(&r).path, "/v0/subjects/8");
        assert_eq!(call(&r).method, Method::Get);

        let r = resolve("subject/8/episodes", "limit=100&offset=0");
        assert_eq!(r.key.as_str(), "bangumi/subject/8/episodes");
        assert_eq!(
            call(&r).path,
            "/v0/episodes?subject_id=8&limit=100&offset=0"
        );
        let r = resolve("subject/8/episodes", "type=0&limit=2&offset=4");
        assert_eq!(
            r.key.as_str(),
            "bangumi/subject/8/episodes?limit=2&offset=4&type=0"
        );
        assert_eq!(
            call(&r).path,
            "/v0/episodes?subject_id=8&limit=2&offset=4&type=0"
        );
    }

    #[test]
    fn search_is_a_post_with_a_json_body() {
        let r = resolve("search", "keyword=Code%20Geass");
        assert_eq!(r.key.as_str(), "bangumi/search?keyword=code+geass");
        let c = call(&r);
        assert_eq!(c.method, Method::Post);
        assert_eq!(c.path, "/v0/search/subjects?limit=10&offset=0");
        assert_eq!(c.body.as_ref().unwrap().0, "application/json");
        assert_eq!(body(&c), json!({"keyword": "code geass", "sort": "match"}));

        let r = resolve(
            "search",
            "keyword=进击的巨人&sort=rank&type=6,2&tag=TV,原创&air_date=>%3D2020-07-01,<2020-10-01\
             &rating=>%3D6&rank=<%3D100&meta_tags=日本&limit=20&offset=40",
        );
        let c = call(&r);
        assert_eq!(c.path, "/v0/search/subjects?limit=20&offset=40");
        assert_eq!(
            body(&c),
            json!({
                "keyword": "进击的巨人",
                "sort": "rank",
                "filter": {
                    "type": [2, 6],
                    "tag": ["TV", "原创"],
                    "meta_tags": ["日本"],
                    "air_date": [">=2020-07-01", "<2020-10-01"],
                    "rating": [">=6"],
                    "rank": ["<=100"],
                }
            })
        );
    }

    #[test]
    fn bad_requests_are_400s() {
        assert_eq!(code("subject/abc", ""), "invalid-parameter");
        assert_eq!(code("subject/8/episodes", "type=7"), "invalid-parameter");
        assert_eq!(code("subject/8/episodes", "limit=201"), "invalid-parameter");
        assert_eq!(
            code("subject/8/episodes", "subject_id=9"),
            "unknown-parameter"
        );
        assert_eq!(code("search", ""), "missing-parameter");
        assert_eq!(code("search", "keyword=x&sort=new"), "invalid-parameter");
        assert_eq!(code("search", "keyword=x&type=5"), "invalid-parameter");
        assert_eq!(code("search", "keyword=x&limit=21"), "invalid-parameter");
        assert_eq!(code("search", "keyword=x&nsfw=true"), "unknown-parameter");
        assert_eq!(code("subjects/8", ""), "unknown-resource");
    }

    #[test]
    fn the_user_agent_is_required_and_sent() {
        let off = settings(&BANGUMI);
        assert_eq!(
            off.enabled,
            Err("BANGUMI_USER_AGENT is not set".to_string())
        );
        let on = settings_with(&BANGUMI, &[("BANGUMI_USER_AGENT", "me/app (x)")]);
        assert!(on.enabled.is_ok());
        assert_eq!(on.user_agent(), Some("me/app (x)"));
    }

    #[test]
    fn a_missing_subject_is_not_found() {
        let r = resolve("subject/99999999", "");
        let missing = r#"{"title":"Not Found","description":"resource can't be found in the database or has been removed"}"#;
        assert_eq!(
            testing::verdict(&BANGUMI, &r, &response(404, missing)),
            Verdict::NotFound(Bytes::from(missing))
        );
    }
}
