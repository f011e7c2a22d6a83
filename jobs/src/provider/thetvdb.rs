//! TheTVDB v4 (<https://thetvdb.github.io/v4-api/>).
//!
//! The API key (and a subscriber's PIN) buy a JWT at `POST /v4/login`, valid
//! for a month; every other call carries it as a bearer. The worker shares
//! the token through the database, renews it ahead of expiry and once when a
//! call is refused. Answers are stored as they come (`{"status", "data",
//! "links"}`).

use serde_json::{Value, json};

use super::{
    Adapter, Auth, Host, Kind, Param, ProviderDef, ProviderSettings, Rate, Request, ResourceDef,
    Response, Setting, Token, Ttl, days, hours,
};
use crate::config::Secret;

const ID: Param = Param::req(
    "id",
    Kind::Int {
        min: 1,
        max: i32::MAX as i64,
    },
);
const TEXT: Kind = Kind::Text {
    max_len: 200,
    fold_case: false,
};
/// TheTVDB's three-letter language and country codes (`eng`, `usa`).
const CODE3: Kind = Kind::Ident {
    max_len: 3,
    extra: "",
};

/// A series changes while it airs (next episode, new seasons).
const SERIES: Ttl = Ttl::new(hours(12), days(7), hours(6), days(30));
/// Movies, people and single episodes hardly change. Negative entries stay
/// short: TheTVDB's CDN is known for passing 404s on valid ids.
const DETAILS: Ttl = Ttl::new(days(1), days(7), hours(6), days(30));
const SEARCH: Ttl = Ttl::new(hours(6), days(1), hours(1), days(7));

/// The token is documented to last a month; renew well before.
const TOKEN_LIFETIME: std::time::Duration = days(28);

pub static THETVDB: ProviderDef = ProviderDef {
    auth: Auth::Login,
    settings: &[
        Setting::required("api_key", "THETVDB_API_KEY"),
        Setting::optional("pin", "THETVDB_PIN"),
    ],
    credential: Some("api_key"),
    adapter: &TvdbAdapter,
    ..ProviderDef::new(
        "thetvdb",
        "TheTVDB v4",
        &[Host {
            name: "",
            urls: &["https://api4.thetvdb.com"],
        }],
        Rate::per_second(10, 10),
        &[
            ResourceDef {
                name: "series",
                route: "series/{id}",
                upstream: "/v4/series/{id}",
                params: &[ID],
                ttl: SERIES,
            },
            ResourceDef {
                name: "series-extended",
                route: "series/{id}/extended",
                upstream: "/v4/series/{id}/extended",
                params: &[
                    ID,
                    Param::opt("meta", Kind::OneOf(&["translations", "episodes"])),
                    Param::default("short", Kind::Bool, "false"),
                ],
                ttl: SERIES,
            },
            ResourceDef {
                name: "series-episodes",
                route: "series/{id}/episodes/{season_type}",
                upstream: "/v4/series/{id}/episodes/{season_type}",
                params: &[
                    ID,
                    // `default`, `official`, `dvd`, `absolute`, `alternate`,
                    // `regional`, and a series' own (`alttwo`).
                    Param::req(
                        "season_type",
                        Kind::Ident {
                            max_len: 32,
                            extra: "-_",
                        },
                    ),
                    Param::default(
                        "page",
                        Kind::Int {
                            min: 0,
                            max: 10_000,
                        },
                        "0",
                    ),
                    Param::opt("season", Kind::Int { min: 0, max: 9999 }),
                    Param::opt(
                        "episodeNumber",
                        Kind::Int {
                            min: 0,
                            max: 99_999,
                        },
                    ),
                    Param::opt("airDate", Kind::Date),
                ],
                ttl: SERIES,
            },
            ResourceDef {
                name: "movie",
                route: "movies/{id}",
                upstream: "/v4/movies/{id}",
                params: &[ID],
                ttl: DETAILS,
            },
            ResourceDef {
                name: "episode",
                route: "episodes/{id}",
                upstream: "/v4/episodes/{id}",
                params: &[ID],
                ttl: DETAILS,
            },
            ResourceDef {
                name: "person",
                route: "people/{id}",
                upstream: "/v4/people/{id}",
                params: &[ID],
                ttl: DETAILS,
            },
            ResourceDef {
                name: "search",
                route: "search",
                upstream: "/v4/search",
                params: &[
                    Param::req(
                        "query",
                        Kind::Text {
                            max_len: 200,
                            fold_case: true,
                        },
                    ),
                    Param::opt(
                        "type",
                        Kind::OneOf(&["series", "movie", "person", "company"]),
                    ),
                    Param::opt(
                        "year",
                        Kind::Int {
                            min: 1800,
                            max: 2200,
                        },
                    ),
                    Param::opt("company", TEXT),
                    Param::opt("country", CODE3),
                    Param::opt("director", TEXT),
                    Param::opt("language", CODE3),
                    Param::opt("primaryType", TEXT),
                    Param::opt("network", TEXT),
                    Param::opt(
                        "remote_id",
                        Kind::Ident {
                            max_len: 64,
                            extra: "-_.",
                        },
                    ),
                    // Search is capped at 5,000 results.
                    Param::opt("offset", Kind::Int { min: 0, max: 5000 }),
                    Param::opt("limit", Kind::Int { min: 1, max: 5000 }),
                ],
                ttl: SEARCH,
            },
        ],
    )
};

struct TvdbAdapter;

impl Adapter for TvdbAdapter {
    /// `{"apikey": …}`, with `"pin"` only for a subscriber's key (TheTVDB
    /// asks that it be left out otherwise).
    fn login(&self, settings: &ProviderSettings) -> Option<Request> {
        let mut body = json!({ "apikey": settings.setting("api_key")? });
        if let Some(pin) = settings.setting("pin") {
            body["pin"] = Value::from(pin);
        }
        let mut request = Request::post_json("/v4/login", &body);
        request.authorized = false;
        Some(request)
    }

    fn read_token(&self, response: &Response) -> Result<Token, String> {
        let body = response.json().ok_or("the login answer is not JSON")?;
        let token = body
            .pointer("/data/token")
            .and_then(Value::as_str)
            .filter(|t| !t.is_empty())
            .ok_or("the login answer has no data.token")?;
        Ok(Token {
            value: Secret::new(token),
            lifetime: TOKEN_LIFETIME,
        })
    }
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;

    use super::*;
    use crate::provider::testing::{self, response, settings_with};
    use crate::provider::{Fill, Method, Verdict};

    fn upstream(path: &str, query: &str) -> String {
        testing::resolve(&THETVDB, path, query).upstream_path_and_query()
    }

    fn code(path: &str, query: &str) -> &'static str {
        testing::code(&THETVDB, path, query)
    }

    fn settings(env: &[(&str, &str)]) -> ProviderSettings {
        settings_with(&THETVDB, env)
    }

    #[test]
    fn routes_map_to_v4_paths() {
        assert_eq!(upstream("series/81189", ""), "/v4/series/81189");
        assert_eq!(
            upstream("series/81189/extended", "short=FALSE&meta=translations"),
            "/v4/series/81189/extended?meta=translations"
        );
        assert_eq!(
            upstream("series/81189/extended", "short=1"),
            "/v4/series/81189/extended?short=true"
        );
        assert_eq!(
            upstream(
                "series/81189/episodes/official",
                "page=0&season=2&episodeNumber=3"
            ),
            "/v4/series/81189/episodes/official?episodeNumber=3&season=2"
        );
        assert_eq!(
            upstream("series/81189/episodes/default", "airDate=2008-01-20&page=1"),
            "/v4/series/81189/episodes/default?airDate=2008-01-20&page=1"
        );
        assert_eq!(upstream("movies/12", ""), "/v4/movies/12");
        assert_eq!(upstream("episodes/349232", ""), "/v4/episodes/349232");
        assert_eq!(upstream("people/7", ""), "/v4/people/7");
        let search = testing::resolve(
            &THETVDB,
            "search",
            "query=Breaking%20Bad&type=series&year=2008&language=eng&limit=5&offset=10",
        );
        assert_eq!(
            search.key.as_str(),
            "thetvdb/search?language=eng&limit=5&offset=10&query=breaking+bad&type=series&year=2008"
        );
        assert_eq!(
            search.upstream_path_and_query(),
            "/v4/search?language=eng&limit=5&offset=10&query=breaking+bad&type=series&year=2008"
        );
    }

    #[test]
    fn bad_requests_are_400s() {
        assert_eq!(code("series/abc", ""), "invalid-parameter");
        assert_eq!(code("series/1/extended", "meta=all"), "invalid-parameter");
        assert_eq!(code("series/1/episodes/a%20b", ""), "invalid-parameter");
        assert_eq!(
            code("series/1/episodes/default", "page=-1"),
            "invalid-parameter"
        );
        assert_eq!(
            code("series/1/episodes/default", "airDate=20080120"),
            "invalid-parameter"
        );
        assert_eq!(code("search", ""), "missing-parameter");
        assert_eq!(code("search", "query=x&type=tv"), "invalid-parameter");
        assert_eq!(
            code("search", "query=x&language=english"),
            "invalid-parameter"
        );
        assert_eq!(code("search", "query=x&page=2"), "unknown-parameter");
        assert_eq!(code("series", ""), "unknown-resource");
        assert_eq!(code("movie/1", ""), "unknown-resource");
    }

    #[test]
    fn login_sends_the_key_and_the_pin_only_when_set() {
        let s = settings(&[("THETVDB_API_KEY", "k1")]);
        let login = THETVDB.adapter.login(&s).unwrap();
        assert_eq!(login.method, Method::Post);
        assert_eq!(login.path, "/v4/login");
        assert!(!login.authorized, "the login call carries no bearer");
        let (ct, body) = login.body.unwrap();
        assert_eq!(ct, "application/json");
        let body: Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(body, json!({"apikey": "k1"}));

        let s = settings(&[("THETVDB_API_KEY", "k1"), ("THETVDB_PIN", "1234")]);
        let (_, body) = THETVDB.adapter.login(&s).unwrap().body.unwrap();
        let body: Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(body, json!({"apikey": "k1", "pin": "1234"}));

        assert!(THETVDB.adapter.login(&settings(&[])).is_none());
    }

    #[test]
    fn the_token_is_read_from_data_token() {
        let token = THETVDB
            .adapter
            .read_token(&response(
                200,
                r#"{"status":"success","data":{"token":"eyJ.abc.sig"}}"#,
            ))
            .unwrap();
        assert_eq!(token.value.expose(), "eyJ.abc.sig");
        assert_eq!(token.lifetime, days(28));
        for bad in [
            r#"{"status":"success","data":{}}"#,
            r#"{"status":"success","data":{"token":""}}"#,
            "<html/>",
        ] {
            assert!(THETVDB.adapter.read_token(&response(200, bad)).is_err());
        }
    }

    #[test]
    fn data_calls_carry_the_token_and_statuses_read_the_usual_way() {
        let r = testing::resolve(&THETVDB, "series/81189", "");
        let s = settings(&[("THETVDB_API_KEY", "k1")]);
        let fill = Fill {
            resolved: &r,
            settings: &s,
        };
        let mut call = THETVDB.adapter.next_call(&fill, &[]).unwrap();
        THETVDB
            .adapter
            .authorize(&fill, &mut call, Some("k1"), Some("tok"));
        assert_eq!(
            call.headers,
            vec![("authorization", "Bearer tok".to_string())]
        );
        assert!(!call.path.contains("k1"));
        let missing =
            r#"{"status":"failure","message":"NotFoundException: not found","data":null}"#;
        assert_eq!(
            THETVDB
                .adapter
                .classify(&fill, &call, &response(404, missing)),
            Verdict::NotFound(Bytes::from(missing))
        );
        assert_eq!(
            THETVDB.adapter.classify(
                &fill,
                &call,
                &response(
                    401,
                    r#"{"status":"failure","message":"Unauthorized","data":null}"#
                )
            ),
            Verdict::Unauthorized
        );
    }
}
