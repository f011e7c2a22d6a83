//! LRCLIB lyrics (<https://lrclib.net/docs>). No key, no published rate
//! limit.
//!
//! `get` matches exactly on the (case-folded) track, artist and album names
//! and the duration within ±2 s; a miss is a 404 and, when every field was
//! given, LRCLIB queues the track to look for it elsewhere, so a miss is
//! remembered only briefly. A search without hits is a 200 `[]`.

use super::{Host, Kind, Param, ProviderDef, Rate, ResourceDef, Setting, Ttl, days, hours, mins};

/// Names are matched case-folded upstream.
const fn name(param: &'static str, required: bool) -> Param {
    let kind = Kind::Text {
        max_len: 300,
        fold_case: true,
    };
    if required {
        Param::req(param, kind)
    } else {
        Param::opt(param, kind)
    }
}

/// Lyrics get new revisions, but rarely. A miss may be found later.
const GET: Ttl = Ttl::new(days(7), days(7), hours(6), days(30));
/// LRCLIB caches searches itself for most of a day.
const SEARCH: Ttl = Ttl::new(hours(1), hours(24), mins(10), days(7));

pub static LRCLIB: ProviderDef = ProviderDef {
    // LRCLIB asks clients to name themselves (`MyApp v1.0 (https://…)`);
    // without it larder's own User-Agent goes.
    settings: &[Setting::optional("user_agent", "LRCLIB_USER_AGENT")],
    user_agent: Some("user_agent"),
    ..ProviderDef::new(
        "lrclib",
        "LRCLIB lyrics",
        &[Host {
            name: "",
            urls: &["https://lrclib.net"],
        }],
        // No limit is published: stay polite.
        Rate::per_second(5, 10),
        &[
            ResourceDef {
                name: "get",
                route: "get",
                upstream: "/api/get",
                params: &[
                    name("track_name", true),
                    name("artist_name", true),
                    name("album_name", false),
                    // Seconds, matched within ±2 s upstream: whole seconds are
                    // precise enough and share keys.
                    Param::opt(
                        "duration",
                        Kind::Float {
                            min: 1.0,
                            max: 3600.0,
                            decimals: 0,
                        },
                    ),
                ],
                ttl: GET,
            },
            ResourceDef {
                name: "search",
                route: "search",
                upstream: "/api/search",
                // At least `q` or `track_name`; without either LRCLIB answers
                // `[]`. `artist_name` and `album_name` narrow a `track_name`.
                params: &[
                    name("q", false),
                    name("track_name", false),
                    name("artist_name", false),
                    name("album_name", false),
                ],
                ttl: SEARCH,
            },
        ],
    )
};

#[cfg(test)]
mod tests {
    use bytes::Bytes;

    use crate::provider::testing::{self, finish, response, verdict};
    use crate::provider::{Product, Resolved, Verdict};

    use super::LRCLIB;

    fn resolve(path: &str, query: &str) -> Resolved {
        testing::resolve(&LRCLIB, path, query)
    }

    fn code(path: &str, query: &str) -> &'static str {
        testing::code(&LRCLIB, path, query)
    }

    #[test]
    fn get_normalises_names_and_duration() {
        let a = resolve(
            "get",
            "track_name=I%20Want%20to%20Live&artist_name=Borislav+Slavov&duration=233.4",
        );
        let b = resolve(
            "get",
            "artist_name=borislav%20%20slavov&track_name=i+want+to+live&duration=233",
        );
        assert_eq!(a.key, b.key);
        assert_eq!(
            a.key.as_str(),
            "lrclib/get?artist_name=borislav+slavov&duration=233&track_name=i+want+to+live"
        );
        assert_eq!(
            a.upstream_path_and_query(),
            "/api/get?artist_name=borislav+slavov&duration=233&track_name=i+want+to+live"
        );
        let c = resolve(
            "get",
            "track_name=x&artist_name=y&album_name=Baldur%27s%20Gate%203",
        );
        assert_eq!(
            c.upstream_path_and_query(),
            "/api/get?album_name=baldur%27s+gate+3&artist_name=y&track_name=x"
        );
    }

    #[test]
    fn search_takes_q_or_names() {
        assert_eq!(
            resolve("search", "q=Still%20Alive%20Portal").upstream_path_and_query(),
            "/api/search?q=still+alive+portal"
        );
        assert_eq!(
            resolve(
                "search",
                "track_name=Still+Alive&artist_name=Jonathan+Coulton"
            )
            .upstream_path_and_query(),
            "/api/search?artist_name=jonathan+coulton&track_name=still+alive"
        );
    }

    #[test]
    fn bad_requests_are_refused() {
        assert_eq!(code("get", "track_name=x"), "missing-parameter");
        assert_eq!(code("get", "artist_name=y"), "missing-parameter");
        assert_eq!(
            code("get", "track_name=x&artist_name=y&duration=0"),
            "invalid-parameter"
        );
        assert_eq!(
            code("get", "track_name=x&artist_name=y&duration=3601"),
            "invalid-parameter"
        );
        assert_eq!(
            code("get", "track_name=%20&artist_name=y"),
            "invalid-parameter"
        );
        assert_eq!(code("search", "q=x&page=2"), "unknown-parameter");
        assert_eq!(code("get/123", ""), "unknown-resource");
    }

    #[test]
    fn a_404_is_negative_and_an_empty_search_a_hit() {
        let resolved = resolve("search", "q=nothing");
        let not_found = r#"{"message":"Failed to find specified track","name":"TrackNotFound","statusCode":404}"#;
        assert_eq!(
            verdict(&LRCLIB, &resolved, &response(404, not_found)),
            Verdict::NotFound(Bytes::from(not_found))
        );
        assert_eq!(
            verdict(&LRCLIB, &resolved, &response(400, "{}")),
            Verdict::Rejected(400)
        );
        let empty = response(200, "[]");
        assert_eq!(verdict(&LRCLIB, &resolved, &empty), Verdict::Found);
        assert_eq!(
            finish(&LRCLIB, &resolved, vec![empty]).unwrap(),
            Product::Found {
                content_type: "application/json".into(),
                body: Bytes::from_static(b"[]"),
            }
        );
    }
}
