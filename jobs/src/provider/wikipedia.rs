//! Wikipedia page summaries: the Wikimedia REST API's
//! `/api/rest_v1/page/summary/{title}` on every language edition
//! (<https://{lang}.wikipedia.org>). No key. Wikimedia asks for a
//! User-Agent with contact details (`WIKIPEDIA_USER_AGENT`).
//!
//! `lang` picks the host: the worker fills `{lang}` in the base URL from the
//! fill (its default, `en`, when the request leaves it out, so one entry
//! serves both `summary?title=X` and `summary?title=X&lang=en`).

use super::route::encode_segment;
use super::{
    Adapter, Fill, Host, Kind, Param, Product, ProviderDef, Rate, Request, Resolved, ResourceDef,
    Response, Setting, Ttl, days, hours, not_found_body, passthrough_json,
};
use crate::error::RequestError;

/// The language every request without `lang` gets.
const DEFAULT_LANG: &str = "en";

pub static WIKIPEDIA: ProviderDef = ProviderDef {
    settings: &[Setting::optional("user_agent", "WIKIPEDIA_USER_AGENT")],
    user_agent: Some("user_agent"),
    adapter: &WikipediaAdapter,
    ..ProviderDef::new(
        "wikipedia",
        "Wikipedia page summaries",
        &[Host {
            name: "",
            urls: &["https://{lang}.wikipedia.org"],
        }],
        // Wikimedia asks REST clients for no more than 200 requests/s; a
        // cache needs far less.
        Rate::per_second(10, 10),
        &[ResourceDef {
            name: "summary",
            route: "summary",
            upstream: "/api/rest_v1/page/summary/{title}",
            params: &[
                // Titles are case-sensitive after their first letter.
                Param::req(
                    "title",
                    Kind::Text {
                        max_len: 255,
                        fold_case: false,
                    },
                ),
                // Goes into a host name: lowercased letters and `-` only
                // (and parts joined by single `-`: `check`).
                Param::default(
                    "lang",
                    Kind::Code {
                        min_len: 2,
                        max_len: 12,
                        extra: "-",
                        upper: false,
                    },
                    DEFAULT_LANG,
                ),
            ],
            // Summaries follow article edits: a day fresh; pages get created,
            // so a missing one is asked again after an hour.
            ttl: Ttl::new(hours(24), days(7), hours(1), days(30)),
        }],
    )
};

/// A Wikipedia language code: ASCII letters, in parts joined by single `-`
/// (`en`, `simple`, `zh-yue`, `be-tarask`, `zh-min-nan`).
fn is_lang(v: &str) -> bool {
    !v.is_empty()
        && v.len() <= 12
        && v.split('-')
            .all(|part| !part.is_empty() && part.chars().all(|c| c.is_ascii_alphabetic()))
}

/// The title as one path segment: spaces as underscores (Wikipedia's own
/// form), everything else but unreserved characters percent-encoded, so
/// `AC/DC`, `C++` and `Why?` stay one title.
fn title_path(title: &str) -> String {
    format!(
        "/api/rest_v1/page/summary/{}",
        encode_segment(&title.replace(' ', "_"))
    )
}

/// Titles no page can have, which would also be dot segments in the path.
fn impossible_title(title: &str) -> bool {
    matches!(title.replace(' ', "_").as_str(), "." | "..")
}

struct WikipediaAdapter;

impl Adapter for WikipediaAdapter {
    fn check(&self, resolved: &Resolved) -> Result<(), RequestError> {
        match resolved.param("lang") {
            Some(lang) if !is_lang(lang) => Err(RequestError::new(
                "invalid-parameter",
                format!("parameter \"lang\": {lang:?} is not a Wikipedia edition"),
            )),
            _ => Ok(()),
        }
    }

    fn next_call(&self, fill: &Fill<'_>, answers: &[Response]) -> Option<Request> {
        if !answers.is_empty() {
            return None;
        }
        let title = fill.param("title")?;
        if impossible_title(title) {
            return None;
        }
        Some(Request::get(title_path(title)))
    }

    fn finish(&self, _: &Fill<'_>, answers: Vec<Response>) -> Result<Product, String> {
        match answers.into_iter().last() {
            Some(last) => passthrough_json(last),
            // No call was made: the title cannot name a page.
            None => Ok(Product::NotFound(not_found_body("not a valid page title"))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::provider::testing::{self, first_call, response_with};
    use crate::provider::{Catalogue, ProviderSettings, Resolved, Verdict};

    fn resolve(query: &str) -> Resolved {
        testing::resolve(&WIKIPEDIA, "summary", query)
    }

    fn settings() -> ProviderSettings {
        testing::settings(&WIKIPEDIA)
    }

    fn call(r: &Resolved) -> Option<Request> {
        first_call(&WIKIPEDIA, r)
    }

    fn finish_empty(r: &Resolved) -> Product {
        testing::finish(&WIKIPEDIA, r, vec![]).unwrap()
    }

    #[test]
    fn titles_are_one_encoded_segment() {
        let r = resolve("title=AC/DC");
        assert_eq!(r.key.as_str(), "wikipedia/summary?title=AC%2FDC");
        let c = call(&r).unwrap();
        assert_eq!(c.path, "/api/rest_v1/page/summary/AC%2FDC");
        assert_eq!(c.host, "");

        let r = resolve("title=C%2B%2B");
        assert_eq!(call(&r).unwrap().path, "/api/rest_v1/page/summary/C%2B%2B");

        // Spaces (`+` in a query) become underscores; the key keeps the text.
        let r = resolve("title=Albert+Einstein&lang=de");
        assert_eq!(
            r.key.as_str(),
            "wikipedia/summary?lang=de&title=Albert+Einstein"
        );
        let c = call(&r).unwrap();
        assert_eq!(c.path, "/api/rest_v1/page/summary/Albert_Einstein");
        assert_eq!(c.host, "");

        let r = resolve("title=Why%3F%20Caf%C3%A9%20%231");
        assert_eq!(
            call(&r).unwrap().path,
            "/api/rest_v1/page/summary/Why%3F_Caf%C3%A9_%231"
        );
    }

    #[test]
    fn titles_keep_their_case_and_the_default_language_shares_a_key() {
        let a = resolve("title=MASH");
        let b = resolve("title=Mash");
        assert_ne!(a.key, b.key);
        let c = resolve("title=MASH&lang=en");
        assert_eq!(a.key, c.key);
        assert!(Catalogue::builtin().resolve_key(a.key.as_str()).is_ok());
    }

    #[test]
    fn the_language_fills_the_host() {
        let r = resolve("title=Berlin&lang=zh-yue");
        assert_eq!(r.param("lang"), Some("zh-yue"));
        assert_eq!(call(&r).unwrap().host, "");
        let s = settings();
        assert_eq!(s.base_urls(""), ["https://{lang}.wikipedia.org"]);
    }

    #[test]
    fn bad_parameters_are_refused() {
        let code = |q: &str| testing::code(&WIKIPEDIA, "summary", q);
        assert_eq!(code(""), "missing-parameter");
        assert_eq!(code("lang=de"), "missing-parameter");
        assert_eq!(code("title=X&lang=evil.com%2F"), "invalid-parameter");
        assert_eq!(code("title=X&lang=a.b"), "invalid-parameter");
        assert_eq!(code("title=X&lang=en%40x"), "invalid-parameter");
        assert_eq!(code("title=X&lang=abcdefghijklm"), "invalid-parameter");
        for q in ["title=X&lang=e1", "title=X&lang=--", "title=X&lang=en--x"] {
            assert_eq!(code(q), "invalid-parameter", "{q}");
        }
        assert_eq!(code("title=X&redirect=false"), "unknown-parameter");
        assert_eq!(
            code(&format!("title={}", "x".repeat(256))),
            "invalid-parameter"
        );
    }

    #[test]
    fn dot_titles_make_no_call() {
        for q in ["title=.", "title=..&lang=de"] {
            let r = resolve(q);
            assert_eq!(call(&r), None, "{q}");
            assert!(matches!(finish_empty(&r), Product::NotFound(_)), "{q}");
        }
        assert!(call(&resolve("title=...")).is_some());
    }

    #[test]
    fn a_missing_page_is_not_found() {
        let r = resolve("title=Nope");
        let body = r#"{"type":"https://mediawiki.org/wiki/HyperSwitch/errors/not_found","title":"Not found.","method":"get","detail":"Page or revision not found.","uri":"/en.wikipedia.org/v1/page/summary/Nope"}"#;
        let answer = response_with(404, &[("content-type", "application/problem+json")], body);
        assert!(matches!(
            testing::verdict(&WIKIPEDIA, &r, &answer),
            Verdict::NotFound(_)
        ));
    }
}
