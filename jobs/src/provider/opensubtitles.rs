//! OpenSubtitles.com REST API v1 subtitle search
//! (<https://opensubtitles.stoplight.io/docs/opensubtitles-api>).
//!
//! The upstream redirects (301) any request that is not in its canonical
//! form: parameters sorted, values lowercased, IMDb ids as bare numbers,
//! spaces as `+`. The key is already sorted and normalised; the adapter
//! lowercases what the kinds keep in another case and strips `tt`.

use std::time::Duration;

use super::{
    Adapter, Auth, Fill, Host, Kind, Param, ProviderDef, Rate, Request, ResourceDef, Response,
    Setting, Ttl, Verdict, classify_status, days, hours,
};

/// `<AppName> v<version>`, the form the upstream asks for.
const USER_AGENT: &str = concat!("larder v", env!("CARGO_PKG_VERSION"));

const ID: Kind = Kind::Int {
    min: 1,
    max: i32::MAX as i64,
};
/// `tt0133093` or `133093`: sent upstream as `133093`.
const IMDB: Kind = Kind::Ident {
    max_len: 12,
    extra: "",
};
const INCLUDE_EXCLUDE_ONLY: Kind = Kind::OneOf(&["include", "exclude", "only"]);
const EXCLUDE_INCLUDE: Kind = Kind::OneOf(&["exclude", "include"]);
const ORDER_BY: &[&str] = &[
    "ai_translated",
    "comments",
    "download_count",
    "foreign_parts_only",
    "fps",
    "from_trusted",
    "hd",
    "hearing_impaired",
    "language",
    "machine_translated",
    "new_download_count",
    "points",
    "ratings",
    "release",
    "upload_date",
    "votes",
];

pub static OPENSUBTITLES: ProviderDef = ProviderDef {
    auth: Auth::Header("api-key"),
    settings: &[
        Setting::required("api_key", "OPENSUBTITLES_API_KEY"),
        // Defaults to `larder v<version>` (see `USER_AGENT`).
        Setting::optional("user_agent", "OPENSUBTITLES_USER_AGENT"),
    ],
    credential: Some("api_key"),
    user_agent: Some("user_agent"),
    adapter: &OpenSubtitlesAdapter,
    ..ProviderDef::new(
        "opensubtitles",
        "OpenSubtitles",
        &[Host {
            name: "",
            urls: &["https://api.opensubtitles.com"],
        }],
        // "5 requests per 1 second per IP", evenly spaced so that no
        // one-second window ever sees a sixth.
        Rate::per_second(5, 1),
        &[ResourceDef {
            name: "search",
            route: "search",
            upstream: "/api/v1/subtitles",
            params: &[
                Param::opt("ai_translated", EXCLUDE_INCLUDE),
                Param::opt(
                    "episode_number",
                    Kind::Int {
                        min: 0,
                        max: 99_999,
                    },
                ),
                Param::default("foreign_parts_only", INCLUDE_EXCLUDE_ONLY, "include"),
                Param::default("hearing_impaired", INCLUDE_EXCLUDE_ONLY, "include"),
                Param::opt("id", ID),
                Param::opt("imdb_id", IMDB),
                Param::opt("languages", Kind::LanguageSet),
                Param::default("machine_translated", EXCLUDE_INCLUDE, "exclude"),
                Param::opt(
                    "moviebytesize",
                    Kind::Int {
                        min: 1,
                        max: i64::MAX,
                    },
                ),
                Param::opt(
                    "moviehash",
                    Kind::Ident {
                        max_len: 16,
                        extra: "",
                    },
                ),
                Param::default(
                    "moviehash_match",
                    Kind::OneOf(&["include", "only"]),
                    "include",
                ),
                Param::opt("order_by", Kind::OneOf(ORDER_BY)),
                Param::opt("order_direction", Kind::OneOf(&["asc", "desc"])),
                Param::default("page", Kind::Int { min: 1, max: 1000 }, "1"),
                Param::opt("parent_feature_id", ID),
                Param::opt("parent_imdb_id", IMDB),
                Param::opt("parent_tmdb_id", ID),
                // Lowercased: the upstream lowercases it anyway (a 301 else).
                Param::opt(
                    "query",
                    Kind::Text {
                        max_len: 200,
                        fold_case: true,
                    },
                ),
                Param::opt("season_number", Kind::Int { min: 0, max: 9999 }),
                Param::opt("tmdb_id", ID),
                Param::default(
                    "trusted_sources",
                    Kind::OneOf(&["include", "only"]),
                    "include",
                ),
                Param::default("type", Kind::OneOf(&["movie", "episode", "all"]), "all"),
                Param::opt("uploader_id", ID),
                Param::opt(
                    "year",
                    Kind::Int {
                        min: 1800,
                        max: 2200,
                    },
                ),
            ],
            // An empty result (a 200) may fill up with uploads for a new
            // release within hours: 3 h rather than the 6 h results could
            // keep; served stale for a day while one refresh runs.
            ttl: Ttl::new(hours(3), days(1), hours(1), days(7)),
        }],
    )
};

struct OpenSubtitlesAdapter;

impl Adapter for OpenSubtitlesAdapter {
    fn next_call(&self, fill: &Fill<'_>, answers: &[Response]) -> Option<Request> {
        if !answers.is_empty() {
            return None;
        }
        let resolved = fill.resolved;
        let mut request = Request::get(resolved.resource.upstream);
        // Names are already in order: the values keep it.
        for (name, value) in &resolved.query {
            let value = match *name {
                "imdb_id" | "parent_imdb_id" => bare_imdb(value),
                "languages" | "moviehash" => value.to_ascii_lowercase(),
                _ => value.clone(),
            };
            request.push_query(name, &value);
        }
        if fill.settings.setting("user_agent").is_none() {
            request = request.header("user-agent", USER_AGENT);
        }
        Some(request)
    }

    fn classify(&self, _: &Fill<'_>, _: &Request, response: &Response) -> Verdict {
        match classify_status(response) {
            // Kong's rate-limit headers say when the window resets.
            Verdict::SlowDown(None) => Verdict::SlowDown(
                response
                    .header("ratelimit-reset")
                    .and_then(|s| s.trim().parse().ok())
                    .map(Duration::from_secs),
            ),
            // An HTML error page sometimes comes with a 200.
            Verdict::Found if response.json().is_none() => {
                Verdict::Garbage("a 200 that is not JSON".into())
            }
            other => other,
        }
    }
}

/// `tt0133093` → `133093`: no prefix, no leading zeros.
fn bare_imdb(id: &str) -> String {
    let digits = id
        .strip_prefix("tt")
        .or_else(|| id.strip_prefix("TT"))
        .unwrap_or(id);
    let trimmed = digits.trim_start_matches('0');
    if trimmed.is_empty() {
        digits.to_owned()
    } else {
        trimmed.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::provider::Resolved;
    use crate::provider::testing::{self, first_call, response_with};

    fn resolve(query: &str) -> Resolved {
        testing::resolve(&OPENSUBTITLES, "search", query)
    }

    fn call(r: &Resolved) -> Request {
        first_call(&OPENSUBTITLES, r).unwrap()
    }

    fn classify(status: u16, headers: &[(&str, &str)], body: &str) -> Verdict {
        let r = resolve("query=x");
        testing::verdict(&OPENSUBTITLES, &r, &response_with(status, headers, body))
    }

    #[test]
    fn the_upstream_call_is_in_canonical_form() {
        let r = resolve(
            "languages=pt-BR,EN,en&query=The%20Matrix&imdb_id=tt0133093&type=all\
             &page=1&moviehash=8E245D9679D31E12&season_number=1",
        );
        assert_eq!(
            r.key.as_str(),
            "opensubtitles/search?imdb_id=tt0133093&languages=en%2Cpt-BR\
             &moviehash=8E245D9679D31E12&query=the+matrix&season_number=1"
        );
        let c = call(&r);
        assert_eq!(
            c.path,
            "/api/v1/subtitles?imdb_id=133093&languages=en%2Cpt-br\
             &moviehash=8e245d9679d31e12&query=the+matrix&season_number=1"
        );
        assert!(
            c.headers
                .iter()
                .any(|(n, v)| *n == "user-agent" && v.starts_with("larder v"))
        );
        let c = call(&resolve("parent_imdb_id=0944947&episode_number=3"));
        assert_eq!(
            c.path,
            "/api/v1/subtitles?episode_number=3&parent_imdb_id=944947"
        );
    }

    #[test]
    fn bad_requests() {
        let code = |q: &str| testing::code(&OPENSUBTITLES, "search", q);
        assert_eq!(code("type=show"), "invalid-parameter");
        assert_eq!(code("imdb_id=tt%20123"), "invalid-parameter");
        assert_eq!(code("tmdb_id=abc"), "invalid-parameter");
        assert_eq!(code("languages=english"), "invalid-parameter");
        assert_eq!(code("order_by=random"), "invalid-parameter");
        assert_eq!(code("api_key=x"), "unknown-parameter");
    }

    #[test]
    fn answers() {
        let empty = r#"{"total_pages":0,"total_count":0,"per_page":60,"page":1,"data":[]}"#;
        assert_eq!(classify(200, &[], empty), Verdict::Found);
        assert!(matches!(
            classify(200, &[], "<html>maintenance</html>"),
            Verdict::Garbage(_)
        ));
        assert_eq!(
            classify(
                429,
                &[("ratelimit-reset", "3")],
                r#"{"message":"API rate limit exceeded"}"#
            ),
            Verdict::SlowDown(Some(Duration::from_secs(3)))
        );
        assert_eq!(
            classify(429, &[("retry-after", "2")], "{}"),
            Verdict::SlowDown(Some(Duration::from_secs(2)))
        );
        assert_eq!(
            classify(403, &[], r#"{"message":"You cannot consume this service"}"#),
            Verdict::Rejected(403)
        );
    }
}
