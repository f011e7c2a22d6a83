//! Gestdown, the Addic7ed proxy (<https://api.gestdown.info>; server source
//! `Belphemur/AddictedProxy`). No key.
//!
//! Every parameter is a path segment. The upstream's own route constraints
//! (a show name of at least 3 characters, a GUID show id, a language of at
//! least 2) make anything else a route miss, a 404 without a JSON body: the
//! adapter answers those itself as "not found" without a call.

use super::{
    Adapter, Fill, Host, Kind, Param, Product, ProviderDef, Rate, Request, ResourceDef, Response,
    Ttl, Verdict, classify_status, days, hours, mins, not_found_body,
};

pub static GESTDOWN: ProviderDef = ProviderDef {
    adapter: &GestdownAdapter,
    ..ProviderDef::new(
        "gestdown",
        "Gestdown (Addic7ed proxy)",
        &[Host {
            name: "",
            urls: &["https://api.gestdown.info"],
        }],
        // A token bucket per IP: 50 a minute, bursts of up to 200; stay
        // below it.
        Rate::per_window(40, mins(1), 10),
        &[
            ResourceDef {
                name: "shows-search",
                route: "shows/search/{name}",
                upstream: "/shows/search/{name}",
                params: &[Param::req(
                    "name",
                    Kind::Text {
                        max_len: 200,
                        fold_case: true,
                    },
                )],
                // The upstream says 2 h for hits and 12 h for misses; show
                // lists change slowly.
                ttl: Ttl::new(hours(12), days(1), hours(12), days(7)),
            },
            ResourceDef {
                name: "subtitles",
                route: "subtitles/{show_id}/{season}/{episode}/{language}",
                upstream: "/subtitles/get/{show_id}/{season}/{episode}/{language}",
                params: &[
                    Param::req(
                        "show_id",
                        Kind::Ident {
                            max_len: 36,
                            extra: "-",
                        },
                    ),
                    Param::req("season", Kind::Int { min: 0, max: 9999 }),
                    Param::req(
                        "episode",
                        Kind::Int {
                            min: 0,
                            max: 99_999,
                        },
                    ),
                    // `en`, `pt-br`, `English`, `Portuguese (Brazilian)`:
                    // case does not matter upstream.
                    Param::req(
                        "language",
                        Kind::Text {
                            max_len: 50,
                            fold_case: true,
                        },
                    ),
                ],
                // An episode the upstream does not know yet answers 200 with
                // an empty `matchingSubtitles` while it fetches in the
                // background. A TTL cannot differ per entry, so every answer
                // is fresh for 30 min only; the long stale window keeps
                // known lists served at once while one refresh runs. An
                // unknown show (a 404) is remembered 12 h, as upstream says.
                ttl: Ttl::new(mins(30), hours(12), hours(12), days(2)),
            },
        ],
    )
};

struct GestdownAdapter;

impl Adapter for GestdownAdapter {
    fn next_call(&self, fill: &Fill<'_>, answers: &[Response]) -> Option<Request> {
        (answers.is_empty() && route_miss(fill).is_none()).then(|| fill.table_request())
    }

    fn classify(&self, _: &Fill<'_>, _: &Request, response: &Response) -> Verdict {
        match classify_status(response) {
            // A missing show comes as a bare JSON string; stored as the
            // usual `{"error": …}`.
            Verdict::NotFound(body) => match serde_json::from_slice::<String>(&body) {
                Ok(message) => Verdict::NotFound(not_found_body(&message)),
                Err(_) => Verdict::NotFound(body),
            },
            // 423 (an unknown language) stays Rejected: not cached.
            other => other,
        }
    }

    fn finish(&self, fill: &Fill<'_>, answers: Vec<Response>) -> Result<Product, String> {
        match (answers.into_iter().last(), route_miss(fill)) {
            (Some(last), _) => super::passthrough_json(last),
            (None, Some(why)) => Ok(Product::NotFound(not_found_body(why))),
            (None, None) => Err("no answer".into()),
        }
    }
}

/// Why the upstream's route constraints would miss this request.
fn route_miss(fill: &Fill<'_>) -> Option<&'static str> {
    let short = |name, min| fill.param(name).is_some_and(|v| v.chars().count() < min);
    match fill.resource() {
        "shows-search" if short("name", 3) => Some("a show name needs at least 3 characters"),
        "subtitles" if !fill.param("show_id").is_some_and(is_guid) => {
            Some("a show id is a GUID from shows/search")
        }
        "subtitles" if short("language", 2) => Some("a language needs at least 2 characters"),
        _ => None,
    }
}

/// `8-4-4-4-12` hex digits (or 32 without dashes, which .NET also reads).
fn is_guid(s: &str) -> bool {
    let hex = |p: &str, n: usize| p.len() == n && p.chars().all(|c| c.is_ascii_hexdigit());
    let parts: Vec<&str> = s.split('-').collect();
    match parts.as_slice() {
        [a, b, c, d, e] => hex(a, 8) && hex(b, 4) && hex(c, 4) && hex(d, 4) && hex(e, 12),
        [all] => hex(all, 32),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;

    use super::*;
    use crate::provider::testing::{self, response_with, with_request};
    use crate::provider::{Catalogue, Resolved};

    const SHOW: &str = "e9c1fa23-55af-4711-8e34-3b31e2a75533";

    fn resolve(path: &str) -> Resolved {
        testing::resolve(&GESTDOWN, path, "")
    }

    fn with_fill<T>(path: &str, f: impl FnOnce(&Fill<'_>) -> T) -> T {
        with_request(&GESTDOWN, path, "", f)
    }

    fn response(status: u16, body: &str) -> Response {
        response_with(status, &[("retry-after", "7")], body)
    }

    #[test]
    fn names_are_one_encoded_segment() {
        let r = resolve("shows/search/AC%2FDC%20%2B%20Friends");
        assert_eq!(
            r.key.as_str(),
            "gestdown/shows/search/ac%2Fdc%20%2B%20friends"
        );
        assert_eq!(
            r.upstream_path_and_query(),
            "/shows/search/ac%2Fdc%20%2B%20friends"
        );
        let again = Catalogue::builtin().resolve_key(r.key.as_str()).unwrap();
        assert_eq!(again.param("name"), Some("ac/dc + friends"));
    }

    #[test]
    fn subtitles_path() {
        let r = resolve(&format!("subtitles/{SHOW}/1/02/Portuguese%20(Brazilian)"));
        assert_eq!(
            r.upstream_path_and_query(),
            format!("/subtitles/get/{SHOW}/1/2/portuguese%20%28brazilian%29")
        );
        let code = |p: &str| testing::code(&GESTDOWN, p, "");
        assert_eq!(
            code(&format!("subtitles/{SHOW}/-1/1/en")),
            "invalid-parameter"
        );
        assert_eq!(code(&format!("subtitles/{SHOW}/1/1")), "unknown-resource");
        assert_eq!(code("subtitles/not%2Fa%2Fguid/1/1/en"), "invalid-parameter");
    }

    #[test]
    fn route_misses_are_answered_without_a_call() {
        for path in [
            "shows/search/ab".to_string(),
            "subtitles/notaguid/1/1/en".to_string(),
            format!("subtitles/{SHOW}/1/1/e"),
        ] {
            with_fill(&path, |fill| {
                assert!(GestdownAdapter.next_call(fill, &[]).is_none(), "{path}");
                assert!(matches!(
                    GestdownAdapter.finish(fill, vec![]),
                    Ok(Product::NotFound(_))
                ));
            });
        }
        with_fill("shows/search/abc", |fill| {
            assert_eq!(
                GestdownAdapter.next_call(fill, &[]).unwrap().path,
                "/shows/search/abc"
            );
        });
        assert!(is_guid(&SHOW.to_uppercase()));
        assert!(is_guid(&SHOW.replace('-', "")));
        assert!(!is_guid("e9c1fa23-55af-4711-8e34-3b31e2a7553g"));
    }

    #[test]
    fn answers() {
        with_fill("shows/search/wellingtn", |fill| {
            let classify =
                |s, b: &str| GestdownAdapter.classify(fill, &fill.table_request(), &response(s, b));
            let Verdict::NotFound(body) = classify(404, r#""Couldn't find show: wellingtn""#)
            else {
                panic!("a 404 with a JSON string is not found");
            };
            let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
            assert_eq!(v["error"], "Couldn't find show: wellingtn");
            let unknown = r#"{"error":"Couldn't find show"}"#;
            assert_eq!(
                classify(404, unknown),
                Verdict::NotFound(Bytes::from(unknown))
            );
            assert_eq!(classify(423, ""), Verdict::Rejected(423));
            assert_eq!(
                classify(429, ""),
                Verdict::SlowDown(Some(std::time::Duration::from_secs(7)))
            );
            assert!(matches!(classify(404, ""), Verdict::Garbage(_)));
            assert_eq!(classify(200, r#"{"matchingSubtitles":[]}"#), Verdict::Found);
        });
    }
}
