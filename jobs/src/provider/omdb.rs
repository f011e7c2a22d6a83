//! OMDb (<https://www.omdbapi.com>): every call is `GET /` with query
//! parameters and `apikey`.
//!
//! OMDb answers most failures as a 200 with `"Response":"False"` and an
//! `Error` text, so the adapter reads the body, not the status: a title that
//! does not exist is a negative entry; a search that matched nothing is an
//! empty list; a refused key, the daily quota or "Too many results." fail the
//! fill without caching anything.

use std::time::Duration;

use serde_json::{Value, json};

use super::{
    Adapter, Auth, Fill, Host, Kind, Param, Product, ProviderDef, Rate, Request, Resolved,
    ResourceDef, Response, Setting, Ttl, Verdict, classify_status, days, hours, mins,
    passthrough_json,
};
use crate::error::RequestError;

const IMDB_ID: Kind = Kind::Ident {
    max_len: 12,
    extra: "",
};
const TEXT: Kind = Kind::Text {
    max_len: 200,
    // OMDb matches titles without regard to case.
    fold_case: true,
};
const TYPE: Param = Param::opt("type", Kind::OneOf(&["movie", "series", "episode"]));
const YEAR: Param = Param::opt(
    "y",
    Kind::Int {
        min: 1800,
        max: 2200,
    },
);

/// A title's details hardly move (ratings and votes drift slowly), and the
/// free plan allows 1,000 calls a day: keep them long.
const TITLE: Ttl = Ttl::new(days(3), days(7), days(1), days(30));
/// The best matches of a search change as titles are added.
const SEARCH: Ttl = Ttl::new(hours(12), days(2), hours(6), days(7));

/// How long the lane pauses when OMDb says the daily quota is used up (it
/// does not say when it resets).
const QUOTA_PAUSE: Duration = mins(30);

pub static OMDB: ProviderDef = ProviderDef {
    auth: Auth::Query("apikey"),
    settings: &[Setting::required("api_key", "OMDB_API_KEY")],
    credential: Some("api_key"),
    adapter: &OmdbAdapter,
    ..ProviderDef::new(
        "omdb",
        "OMDb",
        &[Host {
            name: "",
            urls: &["https://www.omdbapi.com"],
        }],
        Rate::per_second(10, 10),
        &[
            ResourceDef {
                name: "title",
                route: "title",
                upstream: "/",
                // Exactly one of `i` and `t` (see `OmdbAdapter::next_call`).
                params: &[
                    Param::opt("i", IMDB_ID),
                    Param::opt("t", TEXT),
                    TYPE,
                    YEAR,
                    Param::default("plot", Kind::OneOf(&["short", "full"]), "short"),
                    // Sent as OMDb's `Season` and `Episode`.
                    Param::opt("season", Kind::Int { min: 1, max: 999 }),
                    Param::opt("episode", Kind::Int { min: 0, max: 9999 }),
                ],
                ttl: TITLE,
            },
            ResourceDef {
                name: "search",
                route: "search",
                upstream: "/",
                params: &[
                    Param::req("s", TEXT),
                    TYPE,
                    YEAR,
                    Param::default("page", Kind::Int { min: 1, max: 100 }, "1"),
                ],
                ttl: SEARCH,
            },
        ],
    )
};

/// What an OMDb `Error` text means.
#[derive(Debug, PartialEq, Eq)]
enum Failure {
    /// "Movie not found!", "Series or season not found!", "Incorrect IMDb ID."
    NotFound,
    /// "Request limit reached!": the key's daily quota.
    Quota,
    /// "Invalid API key!", "No API key provided."
    Key,
    /// "Error getting data.": OMDb's backend had a moment.
    Passing,
    /// Anything else ("Too many results.", a bad parameter).
    Refused,
}

fn failure(error: &str) -> Failure {
    let e = error.trim().to_ascii_lowercase();
    // The key and the quota first: "not found" must only ever mean the title.
    if e.contains("api key") {
        Failure::Key
    } else if e.contains("limit reached") {
        Failure::Quota
    } else if e.contains("not found") || e.starts_with("incorrect imdb id") {
        Failure::NotFound
    } else if e.contains("error getting data") || e.contains("something went wrong") {
        Failure::Passing
    } else {
        Failure::Refused
    }
}

/// The `Error` text of a `"Response":"False"` body.
fn error_of(body: &Value) -> Option<&str> {
    (body.get("Response")?.as_str()? == "False")
        .then(|| body.get("Error").and_then(Value::as_str).unwrap_or(""))
}

/// The name OMDb gives a larder parameter.
fn upstream_name(name: &str) -> &str {
    match name {
        "season" => "Season",
        "episode" => "Episode",
        other => other,
    }
}

struct OmdbAdapter;

impl Adapter for OmdbAdapter {
    fn check(&self, resolved: &Resolved) -> Result<(), RequestError> {
        if resolved.resource.name == "title"
            && resolved.param("i").is_some() == resolved.param("t").is_some()
        {
            return Err(RequestError::new(
                "invalid-parameter",
                "omdb/title needs exactly one of i (an IMDb id) and t (a title)",
            ));
        }
        Ok(())
    }

    fn next_call(&self, fill: &Fill<'_>, answers: &[Response]) -> Option<Request> {
        if !answers.is_empty() {
            return None;
        }
        if fill.resource() == "title" && fill.param("i").is_some() == fill.param("t").is_some() {
            // Neither or both: no call; `finish` fails the fill.
            return None;
        }
        let mut request = Request::get("/");
        for (name, value) in &fill.resolved.query {
            request.push_query(upstream_name(name), value);
        }
        Some(request)
    }

    fn classify(&self, fill: &Fill<'_>, _: &Request, response: &Response) -> Verdict {
        let ok = (200..300).contains(&response.status);
        let Some(body) = response.json() else {
            return if ok {
                Verdict::Garbage("an OMDb answer that is not JSON".into())
            } else {
                classify_status(response)
            };
        };
        let Some(error) = error_of(&body) else {
            return match body.get("Response").and_then(Value::as_str) {
                Some("True") if ok => Verdict::Found,
                _ if ok => Verdict::Garbage("an OMDb answer without Response".into()),
                _ => classify_status(response),
            };
        };
        match failure(error) {
            // An empty search is an answer: `finish` makes it an empty list.
            Failure::NotFound if fill.resource() == "search" => Verdict::Found,
            Failure::NotFound => Verdict::NotFound(response.body.clone()),
            Failure::Quota => Verdict::SlowDown(Some(QUOTA_PAUSE)),
            Failure::Key => Verdict::Unauthorized,
            Failure::Passing => Verdict::Retry(format!("OMDb: {error}")),
            Failure::Refused if ok => Verdict::Rejected(400),
            Failure::Refused => Verdict::Rejected(response.status),
        }
    }

    fn finish(&self, fill: &Fill<'_>, answers: Vec<Response>) -> Result<Product, String> {
        let last = answers
            .into_iter()
            .last()
            .ok_or("a title needs exactly one of i and t")?;
        if fill.resource() == "search" && last.json().as_ref().and_then(error_of).is_some() {
            return Ok(Product::json(
                &json!({"Search": [], "totalResults": "0", "Response": "True"}),
            ));
        }
        passthrough_json(last)
    }
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;

    use super::*;
    use crate::provider::Resolved;
    use crate::provider::testing::{self, first_call, response};

    fn resolve(path: &str, query: &str) -> Resolved {
        testing::resolve(&OMDB, path, query)
    }

    fn code(path: &str, query: &str) -> &'static str {
        testing::code(&OMDB, path, query)
    }

    fn call(r: &Resolved) -> Option<Request> {
        first_call(&OMDB, r)
    }

    fn verdict(r: &Resolved, status: u16, body: &str) -> Verdict {
        testing::verdict(&OMDB, r, &response(status, body))
    }

    #[test]
    fn titles_by_id_or_title_and_searches_resolve() {
        let r = resolve("title", "i=tt1375666&plot=short");
        assert_eq!(r.key.as_str(), "omdb/title?i=tt1375666");
        assert_eq!(call(&r).unwrap().path, "/?i=tt1375666");

        let r = resolve("title", "t=The+Matrix&y=1999&type=MOVIE&plot=full");
        assert_eq!(
            r.key.as_str(),
            "omdb/title?plot=full&t=the+matrix&type=movie&y=1999"
        );
        assert_eq!(
            call(&r).unwrap().path,
            "/?plot=full&t=the+matrix&type=movie&y=1999"
        );

        let r = resolve("title", "t=Game of Thrones&season=1&episode=2");
        assert_eq!(
            call(&r).unwrap().path,
            "/?Episode=2&Season=1&t=game+of+thrones"
        );

        let a = resolve("search", "s=Batman&page=1");
        let b = resolve("search", "s=batman");
        assert_eq!(a.key, b.key);
        assert_eq!(a.key.as_str(), "omdb/search?s=batman");
        assert_eq!(call(&a).unwrap().path, "/?s=batman");
        let r = resolve("search", "s=batman&type=series&y=2004&page=3");
        assert_eq!(
            call(&r).unwrap().path,
            "/?page=3&s=batman&type=series&y=2004"
        );
    }

    #[test]
    fn bad_requests_are_400s() {
        assert_eq!(code("search", ""), "missing-parameter");
        assert_eq!(code("search", "s=x&page=101"), "invalid-parameter");
        assert_eq!(code("search", "s=x&r=xml"), "unknown-parameter");
        assert_eq!(code("title", "i=tt1&callback=f"), "unknown-parameter");
        assert_eq!(code("title", "i=tt%2F1"), "invalid-parameter");
        assert_eq!(code("title", "t=x&type=game"), "invalid-parameter");
        assert_eq!(code("title", "t=x&plot=long"), "invalid-parameter");
        assert_eq!(code("title", "t=x&y=99"), "invalid-parameter");
        assert_eq!(code("title/tt1", ""), "unknown-resource");
    }

    #[test]
    fn a_title_needs_exactly_one_of_i_and_t() {
        for q in ["", "i=tt1&t=x", "y=2000"] {
            assert_eq!(code("title", q), "invalid-parameter", "{q}");
        }
    }

    #[test]
    fn errors_in_a_200_are_read_from_the_body() {
        let title = resolve("title", "i=tt0000001");
        let search = resolve("search", "s=zzzz");
        assert_eq!(
            verdict(&title, 200, r#"{"Title":"Inception","Response":"True"}"#),
            Verdict::Found
        );
        for missing in [
            r#"{"Response":"False","Error":"Incorrect IMDb ID."}"#,
            r#"{"Response":"False","Error":"Movie not found!"}"#,
            r#"{"Response":"False","Error":"Series or season not found!"}"#,
        ] {
            assert_eq!(
                verdict(&title, 200, missing),
                Verdict::NotFound(Bytes::from(missing.to_owned()))
            );
        }
        assert_eq!(
            verdict(
                &search,
                200,
                r#"{"Response":"False","Error":"Movie not found!"}"#
            ),
            Verdict::Found
        );
        assert_eq!(
            verdict(
                &search,
                200,
                r#"{"Response":"False","Error":"Too many results."}"#
            ),
            Verdict::Rejected(400)
        );
        assert_eq!(
            verdict(
                &title,
                401,
                r#"{"Response":"False","Error":"Request limit reached!"}"#
            ),
            Verdict::SlowDown(Some(QUOTA_PAUSE))
        );
        assert_eq!(
            verdict(
                &title,
                401,
                r#"{"Response":"False","Error":"Invalid API key!"}"#
            ),
            Verdict::Unauthorized
        );
        assert_eq!(
            verdict(
                &title,
                200,
                r#"{"Response":"False","Error":"No API key provided."}"#
            ),
            Verdict::Unauthorized
        );
        assert!(matches!(
            verdict(
                &title,
                200,
                r#"{"Response":"False","Error":"Error getting data."}"#
            ),
            Verdict::Retry(_)
        ));
        assert!(matches!(
            verdict(&title, 200, "<html>oops</html>"),
            Verdict::Garbage(_)
        ));
        assert!(matches!(
            verdict(&title, 200, r#"{"Title":"x"}"#),
            Verdict::Garbage(_)
        ));
        assert!(matches!(
            verdict(&title, 503, "<html>down</html>"),
            Verdict::Retry(_)
        ));
    }

    #[test]
    fn an_empty_search_is_an_empty_list() {
        let search = resolve("search", "s=zzzz");
        let finish = |answer| testing::finish(&OMDB, &search, vec![answer]).unwrap();
        let product = finish(response(
            200,
            r#"{"Response":"False","Error":"Movie not found!"}"#,
        ));
        let Product::Found { body, .. } = product else {
            panic!("an empty search must be a 200");
        };
        let v: Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(v["Search"], json!([]));
        assert_eq!(v["totalResults"], "0");
        assert_eq!(v["Response"], "True");

        let hits = r#"{"Search":[{"Title":"Batman Begins"}],"totalResults":"1","Response":"True"}"#;
        let product = finish(response(200, hits));
        assert!(matches!(product, Product::Found { body, .. } if body == hits));
    }
}
