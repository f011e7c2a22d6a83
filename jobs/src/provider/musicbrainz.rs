//! MusicBrainz Web Service v2 (<https://musicbrainz.org/doc/MusicBrainz_API>).
//!
//! No key, but a meaningful User-Agent is required and the limit is about one
//! request a second per IP: anything faster is a 503, which here means "slow
//! down" rather than "broken". JSON is asked for with `fmt=json` on every
//! call (the default is XML); lookup `inc` values are joined with `+` as the
//! service expects.

use super::route::fill_template;
use super::{
    Adapter, Fill, Host, Kind, Param, ProviderDef, Rate, Request, ResourceDef, Response, Setting,
    Ttl, Verdict, classify_status, days, hours, secs,
};

/// An MBID: a UUID (`5b11f4ce-a62d-471e-81fc-a69a8278c7da`).
const MBID: Param = Param::req(
    "mbid",
    Kind::Ident {
        max_len: 36,
        extra: "-",
    },
);

/// Most `inc` lists are short; all of them together are still under this.
const MAX_INC: usize = 40;

const fn inc(values: &'static [&'static str]) -> Param {
    Param::opt(
        "inc",
        Kind::SetOf {
            values,
            max: MAX_INC,
        },
    )
}

/// Lookup includes per entity, from the web service documentation:
/// subqueries, then modifiers, then the relationship includes every entity
/// takes. `user-*` includes need a login and are left out.
const ARTIST_INC: &[&str] = &[
    "recordings",
    "releases",
    "release-groups",
    "works",
    "aliases",
    "annotation",
    "tags",
    "ratings",
    "genres",
    "various-artists",
    "area-rels",
    "artist-rels",
    "event-rels",
    "genre-rels",
    "instrument-rels",
    "label-rels",
    "place-rels",
    "recording-rels",
    "release-rels",
    "release-group-rels",
    "series-rels",
    "url-rels",
    "work-rels",
];

const RELEASE_INC: &[&str] = &[
    "artists",
    "labels",
    "recordings",
    "release-groups",
    "collections",
    "aliases",
    "annotation",
    "artist-credits",
    "discids",
    "media",
    "isrcs",
    "recording-level-rels",
    "work-level-rels",
    "tags",
    "ratings",
    "genres",
    "area-rels",
    "artist-rels",
    "event-rels",
    "genre-rels",
    "instrument-rels",
    "label-rels",
    "place-rels",
    "recording-rels",
    "release-rels",
    "release-group-rels",
    "series-rels",
    "url-rels",
    "work-rels",
];

const RELEASE_GROUP_INC: &[&str] = &[
    "artists",
    "releases",
    "aliases",
    "annotation",
    "artist-credits",
    "tags",
    "ratings",
    "genres",
    "area-rels",
    "artist-rels",
    "event-rels",
    "genre-rels",
    "instrument-rels",
    "label-rels",
    "place-rels",
    "recording-rels",
    "release-rels",
    "release-group-rels",
    "series-rels",
    "url-rels",
    "work-rels",
];

const RECORDING_INC: &[&str] = &[
    "artists",
    "releases",
    "release-groups",
    "aliases",
    "annotation",
    "artist-credits",
    "isrcs",
    "media",
    "work-level-rels",
    "tags",
    "ratings",
    "genres",
    "area-rels",
    "artist-rels",
    "event-rels",
    "genre-rels",
    "instrument-rels",
    "label-rels",
    "place-rels",
    "recording-rels",
    "release-rels",
    "release-group-rels",
    "series-rels",
    "url-rels",
    "work-rels",
];

/// The entities the search service indexes.
const SEARCH_ENTITIES: &[&str] = &[
    "annotation",
    "area",
    "artist",
    "cdstub",
    "event",
    "instrument",
    "label",
    "place",
    "recording",
    "release",
    "release-group",
    "series",
    "tag",
    "url",
    "work",
];

/// Community-edited data that changes slowly. A missing MBID rarely
/// appears later (merged ones redirect rather than 404).
const LOOKUP: Ttl = Ttl::new(days(7), days(7), days(1), days(30));
/// Searches are the costliest use of a one-a-second budget: keep them longer
/// than usual.
const SEARCH: Ttl = Ttl::new(hours(6), days(1), hours(1), days(7));

pub static MUSICBRAINZ: ProviderDef = ProviderDef {
    settings: &[Setting::required("user_agent", "MUSICBRAINZ_USER_AGENT")],
    user_agent: Some("user_agent"),
    adapter: &MusicBrainzAdapter,
    ..ProviderDef::new(
        "musicbrainz",
        "MusicBrainz",
        &[Host {
            name: "",
            urls: &["https://musicbrainz.org"],
        }],
        // About one request a second per IP on average; bursts get 503s.
        Rate::per_second(1, 1),
        &[
            ResourceDef {
                name: "artist",
                route: "artist/{mbid}",
                upstream: "/ws/2/artist/{mbid}",
                params: &[MBID, inc(ARTIST_INC)],
                ttl: LOOKUP,
            },
            ResourceDef {
                name: "release",
                route: "release/{mbid}",
                upstream: "/ws/2/release/{mbid}",
                params: &[MBID, inc(RELEASE_INC)],
                ttl: LOOKUP,
            },
            ResourceDef {
                name: "release-group",
                route: "release-group/{mbid}",
                upstream: "/ws/2/release-group/{mbid}",
                params: &[MBID, inc(RELEASE_GROUP_INC)],
                ttl: LOOKUP,
            },
            ResourceDef {
                name: "recording",
                route: "recording/{mbid}",
                upstream: "/ws/2/recording/{mbid}",
                params: &[MBID, inc(RECORDING_INC)],
                ttl: LOOKUP,
            },
            ResourceDef {
                name: "search",
                route: "search/{entity}",
                upstream: "/ws/2/{entity}",
                params: &[
                    Param::req("entity", Kind::OneOf(SEARCH_ENTITIES)),
                    // Lucene syntax: operators (AND, OR) are case-sensitive,
                    // so the case is kept.
                    Param::req(
                        "query",
                        Kind::Text {
                            max_len: 500,
                            fold_case: false,
                        },
                    ),
                    Param::default("limit", Kind::Int { min: 1, max: 100 }, "25"),
                    Param::default(
                        "offset",
                        Kind::Int {
                            min: 0,
                            max: 1_000_000,
                        },
                        "0",
                    ),
                    Param::default("dismax", Kind::Bool, "false"),
                ],
                ttl: SEARCH,
            },
        ],
    )
};

struct MusicBrainzAdapter;

impl Adapter for MusicBrainzAdapter {
    /// The table's call with `inc` joined by `+` and `fmt=json` added.
    fn next_call(&self, fill: &Fill<'_>, answers: &[Response]) -> Option<Request> {
        if !answers.is_empty() {
            return None;
        }
        let resolved = fill.resolved;
        let mut request = Request::get(fill_template(resolved.resource.upstream, &resolved.path));
        for (name, value) in &resolved.query {
            if *name == "inc" {
                // A space is encoded as `+`: `inc=aliases+url-rels`.
                request.push_query(name, &value.replace(',', " "));
            } else {
                request.push_query(name, value);
            }
        }
        Some(request.query("fmt", "json"))
    }

    /// A 503 is the rate limit (or an overloaded server): pause for its
    /// `Retry-After`, else a second.
    fn classify(&self, _: &Fill<'_>, _: &Request, response: &Response) -> Verdict {
        match response.status {
            503 => Verdict::SlowDown(Some(response.retry_after().unwrap_or(secs(1)))),
            _ => classify_status(response),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use bytes::Bytes;

    use super::*;
    use crate::provider::testing::{self, first_call, response, settings_with, verdict};
    use crate::provider::{ProviderSettings, Resolved};

    const NIRVANA: &str = "5b11f4ce-a62d-471e-81fc-a69a8278c7da";

    fn resolve(path: &str, query: &str) -> Resolved {
        testing::resolve(&MUSICBRAINZ, path, query)
    }

    fn code(path: &str, query: &str) -> &'static str {
        testing::code(&MUSICBRAINZ, path, query)
    }

    fn settings() -> ProviderSettings {
        settings_with(
            &MUSICBRAINZ,
            &[(
                "MUSICBRAINZ_USER_AGENT",
                "larder-test/0.1 ( ops@example.org )",
            )],
        )
    }

    fn call(resolved: &Resolved) -> Request {
        first_call(&MUSICBRAINZ, resolved).unwrap()
    }

    #[test]
    fn lookups_join_inc_with_plus_and_ask_for_json() {
        let r = resolve(
            &format!("artist/{NIRVANA}"),
            "inc=url-rels,aliases,url-rels",
        );
        assert_eq!(
            r.key.as_str(),
            format!("musicbrainz/artist/{NIRVANA}?inc=aliases%2Curl-rels")
        );
        let req = call(&r);
        assert_eq!(
            req.path,
            format!("/ws/2/artist/{NIRVANA}?inc=aliases+url-rels&fmt=json")
        );
        assert!(req.authorized);
        let r = resolve(&format!("release-group/{NIRVANA}"), "");
        assert_eq!(
            call(&r).path,
            format!("/ws/2/release-group/{NIRVANA}?fmt=json")
        );
        for (entity, inc) in [
            ("release", "artists,labels,recordings,release-groups,media"),
            ("recording", "artists,releases,isrcs"),
            ("release-group", "artists,releases,genres,url-rels"),
        ] {
            let r = resolve(&format!("{entity}/{NIRVANA}"), &format!("inc={inc}"));
            assert!(
                call(&r)
                    .path
                    .starts_with(&format!("/ws/2/{entity}/{NIRVANA}?inc="))
            );
        }
    }

    #[test]
    fn searches_go_to_the_entity_path() {
        let r = resolve(
            "search/release-group",
            "query=artist:nirvana%20AND%20releasegroup:nevermind&limit=1&offset=0",
        );
        assert_eq!(
            r.key.as_str(),
            "musicbrainz/search/release-group?limit=1&query=artist%3Anirvana+AND+releasegroup%3Anevermind"
        );
        assert_eq!(
            call(&r).path,
            "/ws/2/release-group?limit=1&query=artist%3Anirvana+AND+releasegroup%3Anevermind&fmt=json"
        );
        let r = resolve("search/artist", "query=Nirvana&limit=25&dismax=true");
        assert_eq!(
            call(&r).path,
            "/ws/2/artist?dismax=true&query=Nirvana&fmt=json"
        );
    }

    #[test]
    fn bad_requests_are_refused() {
        assert_eq!(
            code(&format!("artist/{NIRVANA}"), "fmt=xml"),
            "unknown-parameter"
        );
        assert_eq!(code("artist/not%20an%20mbid", ""), "invalid-parameter");
        assert_eq!(
            code(&format!("artist/{NIRVANA}"), "inc=isrcs"),
            "invalid-parameter"
        );
        assert_eq!(
            code(&format!("recording/{NIRVANA}"), "inc=labels"),
            "invalid-parameter"
        );
        assert_eq!(
            code(&format!("artist/{NIRVANA}"), "inc=user-tags"),
            "invalid-parameter"
        );
        assert_eq!(code("search/artist", ""), "missing-parameter");
        assert_eq!(code("search/spaceship", "query=x"), "invalid-parameter");
        assert_eq!(
            code("search/artist", "query=x&limit=101"),
            "invalid-parameter"
        );
        assert_eq!(code(&format!("label/{NIRVANA}"), ""), "unknown-resource");
    }

    #[test]
    fn a_503_means_slow_down() {
        let r = resolve(&format!("artist/{NIRVANA}"), "");
        let limited = r#"{"error":"Your requests are exceeding the allowable rate limit."}"#;
        assert_eq!(
            verdict(&MUSICBRAINZ, &r, &response(503, limited)),
            Verdict::SlowDown(Some(Duration::from_secs(1)))
        );
        let mut with_header = response(503, "<html>overloaded</html>");
        with_header.headers.push(("retry-after".into(), "4".into()));
        assert_eq!(
            verdict(&MUSICBRAINZ, &r, &with_header),
            Verdict::SlowDown(Some(Duration::from_secs(4)))
        );
        let not_found = r#"{"error":"Not Found","help":"For usage, please see: https://musicbrainz.org/development/mmd"}"#;
        assert_eq!(
            verdict(&MUSICBRAINZ, &r, &response(404, not_found)),
            Verdict::NotFound(Bytes::from(not_found))
        );
        assert_eq!(
            verdict(
                &MUSICBRAINZ,
                &r,
                &response(400, r#"{"error":"Invalid mbid."}"#)
            ),
            Verdict::Rejected(400)
        );
        assert_eq!(
            verdict(&MUSICBRAINZ, &r, &response(500, "{}")),
            Verdict::Retry("status 500".into())
        );
    }

    #[test]
    fn the_user_agent_setting_is_the_user_agent() {
        assert_eq!(
            settings().user_agent(),
            Some("larder-test/0.1 ( ops@example.org )")
        );
    }
}
