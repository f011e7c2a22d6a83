//! RegieLive (Romanian subtitles), through the search API RegieLive opened
//! for Bazarr (`/bazarr/search.php`). No public documentation: the facts
//! come from Bazarr's public provider and its pull requests.
//!
//! Results are `{"rezultate": {<film id>: {"subtitrari": {<sub id>: …}}}}`;
//! no result comes as an empty value (`[]`, `{}`) or the older API's
//! `{"cod": "404"}`, stored as `{"rezultate": {}}` (a 200). A 301 means
//! "slow down".

use std::time::Duration;

use serde_json::{Value, json};

use super::{
    Adapter, Auth, Fill, Host, Kind, Param, Product, ProviderDef, Rate, Request, ResourceDef,
    Response, Setting, Ttl, Verdict, classify_status, days, hours, secs,
};

/// The `RL-API` value RegieLive issued to Bazarr: a public application
/// identifier shipped in Bazarr's source, not a per-user secret. Used when
/// `REGIELIVE_API_KEY` is not set (ask RegieLive for larder's own).
const BAZARR_API_HEADER: &str = "API-BAZARR-YTZ-SL";

/// How long the lane pauses on a 301 that gives no Retry-After.
const THROTTLED_PAUSE: Duration = Duration::from_secs(60);

pub static REGIELIVE: ProviderDef = ProviderDef {
    auth: Auth::Custom,
    settings: &[Setting::optional("api_header", "REGIELIVE_API_KEY")],
    credential: Some("api_header"),
    adapter: &RegieLiveAdapter,
    ..ProviderDef::new(
        "regielive",
        "RegieLive subtitles",
        &[Host {
            name: "",
            urls: &["https://api.regielive.ro"],
        }],
        // No documented quota; Bazarr, the API's intended client, waits 8 s
        // between searches (SEARCH_THROTTLE) and is throttled with 301s when
        // it does not.
        Rate::per_window(1, secs(8), 1),
        &[ResourceDef {
            name: "search",
            route: "search",
            upstream: "/bazarr/search.php",
            params: &[
                // Title (the series name for episodes); the language is
                // always Romanian.
                Param::req(
                    "nume",
                    Kind::Text {
                        max_len: 200,
                        fold_case: true,
                    },
                ),
                Param::opt("sezon", Kind::Int { min: 0, max: 9999 }),
                Param::opt(
                    "episod",
                    Kind::Int {
                        min: 0,
                        max: 99_999,
                    },
                ),
                Param::opt(
                    "an",
                    Kind::Int {
                        min: 1880,
                        max: 2200,
                    },
                ),
            ],
            // Results change slowly (12 h would do) but an empty result is
            // a 200 that new uploads fill: 6 h.
            ttl: Ttl::new(hours(6), days(1), hours(6), days(7)),
        }],
    )
};

struct RegieLiveAdapter;

impl Adapter for RegieLiveAdapter {
    fn classify(&self, _: &Fill<'_>, _: &Request, response: &Response) -> Verdict {
        match response.status {
            // Redirects are not search results: a 301 is RegieLive's throttle.
            301 | 302 | 303 | 307 | 308 => {
                Verdict::SlowDown(Some(response.retry_after().unwrap_or(THROTTLED_PAUSE)))
            }
            200..=299 => match response.json() {
                None => Verdict::Garbage("a 200 that is not JSON".into()),
                Some(v) if v.get("eroare").is_some() => {
                    tracing::warn!(error = %v["eroare"], "regielive answered an error");
                    Verdict::Rejected(response.status)
                }
                Some(_) => Verdict::Found,
            },
            _ => classify_status(response),
        }
    }

    fn finish(&self, _: &Fill<'_>, answers: Vec<Response>) -> Result<Product, String> {
        let last = answers.into_iter().last().ok_or("no answer")?;
        let body = last.json().ok_or("invalid JSON")?;
        if is_empty(&body) {
            return Ok(Product::json(&json!({ "rezultate": {} })));
        }
        match body.get("rezultate") {
            Some(Value::Object(_)) => Ok(Product::Found {
                content_type: "application/json".into(),
                body: last.body,
            }),
            _ => Err("no rezultate in the answer".into()),
        }
    }

    /// The `RL-API` header: the configured value, else Bazarr's.
    fn authorize(&self, _: &Fill<'_>, request: &mut Request, value: Option<&str>, _: Option<&str>) {
        if request.authorized {
            request
                .headers
                .push(("rl-api", value.unwrap_or(BAZARR_API_HEADER).to_owned()));
        }
    }
}

/// No result: an empty value, an empty `rezultate`, the older API's
/// `"cod": "404"`, or no `rezultate` beside the older API's `cod`/`promo`.
fn is_empty(body: &Value) -> bool {
    let blank = |v: &Value| match v {
        Value::Null => true,
        Value::Array(a) => a.is_empty(),
        Value::Object(o) => o.is_empty(),
        _ => false,
    };
    match body {
        Value::Object(o) => {
            if o.get("cod").is_some_and(|c| *c == "404" || *c == 404) {
                return true;
            }
            match o.get("rezultate") {
                Some(r) => blank(r),
                None => o.keys().all(|k| k == "cod" || k == "promo"),
            }
        }
        other => blank(other),
    }
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;

    use super::*;
    use crate::provider::Resolved;
    use crate::provider::testing::{self, response};

    fn resolve(query: &str) -> Resolved {
        testing::resolve(&REGIELIVE, "search", query)
    }

    fn with_fill<T>(f: impl FnOnce(&Fill<'_>) -> T) -> T {
        testing::with_fill(&REGIELIVE, &resolve("nume=chernobyl"), f)
    }

    #[test]
    fn keys_and_the_upstream_call() {
        let r = resolve("nume=%20Chernobyl%20&sezon=1&episod=04&an=2019");
        assert_eq!(
            r.key.as_str(),
            "regielive/search?an=2019&episod=4&nume=chernobyl&sezon=1"
        );
        assert_eq!(
            r.upstream_path_and_query(),
            "/bazarr/search.php?an=2019&episod=4&nume=chernobyl&sezon=1"
        );
        let code = |q: &str| testing::code(&REGIELIVE, "search", q);
        assert_eq!(code(""), "missing-parameter");
        assert_eq!(code("nume=x&an=None"), "invalid-parameter");
        assert_eq!(code("nume=x&limba=en"), "unknown-parameter");
    }

    #[test]
    fn the_header_defaults_to_bazarrs_identifier() {
        with_fill(|fill| {
            let mut request = fill.table_request();
            RegieLiveAdapter.authorize(fill, &mut request, None, None);
            assert_eq!(
                request.headers,
                vec![("rl-api", BAZARR_API_HEADER.to_owned())]
            );
            let mut request = fill.table_request();
            RegieLiveAdapter.authorize(fill, &mut request, Some("mine"), None);
            assert_eq!(request.headers, vec![("rl-api", "mine".to_owned())]);
        });
    }

    #[test]
    fn answers() {
        let classify = |status, body: &str| {
            with_fill(|fill| {
                RegieLiveAdapter.classify(fill, &fill.table_request(), &response(status, body))
            })
        };
        assert_eq!(classify(301, ""), Verdict::SlowDown(Some(THROTTLED_PAUSE)));
        assert_eq!(classify(200, "[]"), Verdict::Found);
        assert!(matches!(classify(200, "<html>"), Verdict::Garbage(_)));
        assert_eq!(classify(200, r#"{"eroare":"x"}"#), Verdict::Rejected(200));
        assert!(matches!(classify(429, ""), Verdict::SlowDown(_)));
        assert!(matches!(classify(500, ""), Verdict::Retry(_)));
    }

    #[test]
    fn empty_results_are_stored_as_an_empty_rezultate() {
        let finish =
            |body: &str| with_fill(|fill| RegieLiveAdapter.finish(fill, vec![response(200, body)]));
        let empty = Product::json(&json!({ "rezultate": {} }));
        for body in [
            "[]",
            "{}",
            r#"{"cod":"404"}"#,
            r#"{"rezultate":[]}"#,
            "null",
        ] {
            assert_eq!(finish(body).unwrap(), empty, "{body}");
        }
        let found = r#"{"rezultate":{"33336":{"subtitrari":{"418567":{"titlu":"x"}}}}}"#;
        let Product::Found { body, .. } = finish(found).unwrap() else {
            panic!("results are a 200");
        };
        assert_eq!(body, Bytes::from(found));
        assert!(finish(r#"{"something":"else"}"#).is_err());
        assert!(finish(r#"{"rezultate":"nope"}"#).is_err());
    }
}
