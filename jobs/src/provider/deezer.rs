//! Deezer public API (<https://developers.deezer.com/api>). No key.
//!
//! Deezer reports errors inside an HTTP 200 as
//! `{"error":{"type":…,"message":…,"code":N}}`
//! (<https://developers.deezer.com/api/errors>): code 800 ("no data") is a
//! missing item, code 4 the per-IP quota of 50 requests per 5 seconds, code
//! 700 a busy service. Such a body must never be stored as a hit.

use std::time::Duration;

use super::{
    Adapter, Fill, Host, IMAGE_TTL, Kind, Param, ProviderDef, Rate, Request, Resolved, ResourceDef,
    Response, Ttl, Verdict, classify_status, days, hours, image_name_ok, secs,
};
use crate::error::RequestError;

const ID: Param = Param::req(
    "id",
    Kind::Int {
        min: 1,
        max: i64::MAX,
    },
);

/// One quota window: how long a quota error pauses the provider.
const QUOTA_WINDOW: Duration = secs(5);

/// Fan counts and pictures change: a day.
const ARTIST: Ttl = Ttl::new(hours(24), days(7), hours(1), days(30));
/// Album data rarely changes.
const ALBUM: Ttl = Ttl::new(days(7), days(7), hours(1), days(30));
/// A track carries a signed preview URL that expires: a day.
const TRACK: Ttl = Ttl::new(hours(24), days(1), hours(1), days(7));
const SEARCH: Ttl = Ttl::new(hours(1), hours(24), hours(1), days(7));

pub static DEEZER: ProviderDef = ProviderDef {
    adapter: &DeezerAdapter,
    ..ProviderDef::new(
        "deezer",
        "Deezer",
        &[
            Host {
                name: "",
                urls: &["https://api.deezer.com"],
            },
            // `LARDER_DEEZER_IMAGES_BASE_URL`: covers and pictures.
            Host {
                name: "images",
                urls: &["https://e-cdns-images.dzcdn.net"],
            },
        ],
        // The quota is 50 requests per 5 s per IP. A burst of 10 plus 40
        // spaced calls keeps any 5 s window at 50 or fewer.
        Rate::per_window(40, secs(5), 10),
        &[
            ResourceDef {
                name: "artist",
                route: "artist/{id}",
                upstream: "/artist/{id}",
                params: &[ID],
                ttl: ARTIST,
            },
            ResourceDef {
                name: "album",
                route: "album/{id}",
                upstream: "/album/{id}",
                params: &[ID],
                ttl: ALBUM,
            },
            ResourceDef {
                name: "track",
                route: "track/{id}",
                upstream: "/track/{id}",
                params: &[ID],
                ttl: TRACK,
            },
            ResourceDef {
                name: "search",
                route: "search",
                upstream: "/search",
                params: &[
                    // Advanced syntax (`artist:"aloe blacc" dur_min:120`)
                    // uses lowercase keywords; matching ignores case.
                    Param::req(
                        "q",
                        Kind::Text {
                            max_len: 250,
                            fold_case: true,
                        },
                    ),
                    Param::default(
                        "index",
                        Kind::Int {
                            min: 0,
                            max: 100_000,
                        },
                        "0",
                    ),
                    Param::default("limit", Kind::Int { min: 1, max: 100 }, "25"),
                    Param::opt(
                        "order",
                        Kind::OneOf(&[
                            "RANKING",
                            "TRACK_ASC",
                            "TRACK_DESC",
                            "ARTIST_ASC",
                            "ARTIST_DESC",
                            "ALBUM_ASC",
                            "ALBUM_DESC",
                            "RATING_ASC",
                            "RATING_DESC",
                            "DURATION_ASC",
                            "DURATION_DESC",
                        ]),
                    ),
                    // Fuzzy matching is the default; `on` turns it off. `off`
                    // is the default and never reaches the upstream.
                    Param::default("strict", Kind::OneOf(&["off", "on"]), "off"),
                ],
                ttl: SEARCH,
            },
            // A cover or picture an answer names:
            // `https://e-cdns-images.dzcdn.net/images/cover/{md5}/500x500-000000-80-0-0.jpg`.
            ResourceDef {
                name: "image",
                route: "image/{type}/{md5}/{file}",
                upstream: "/images/{type}/{md5}/{file}",
                params: &[
                    Param::req(
                        "type",
                        Kind::OneOf(&["artist", "cover", "misc", "playlist", "talk", "user"]),
                    ),
                    Param::req(
                        "md5",
                        Kind::Ident {
                            max_len: 32,
                            extra: "",
                        },
                    ),
                    Param::req(
                        "file",
                        Kind::Ident {
                            max_len: 60,
                            extra: "-.",
                        },
                    ),
                ],
                ttl: IMAGE_TTL,
            },
        ],
    )
};

struct DeezerAdapter;

/// The `code` of a Deezer error envelope, if the body is one.
fn error_code(response: &Response) -> Option<Option<i64>> {
    let body = response.json()?;
    let error = body.get("error")?;
    Some(error.get("code").and_then(serde_json::Value::as_i64))
}

impl Adapter for DeezerAdapter {
    fn check(&self, resolved: &Resolved) -> Result<(), RequestError> {
        if resolved.resource.name == "image"
            && !resolved
                .param("file")
                .is_some_and(|f| image_name_ok(f, &["jpg", "jpeg", "png", "webp"]))
        {
            return Err(RequestError::new(
                "invalid-parameter",
                "file: not a Deezer image name (500x500-000000-80-0-0.jpg)",
            ));
        }
        Ok(())
    }

    fn image_host(&self) -> Option<&'static str> {
        Some("images")
    }

    fn classify(&self, _: &Fill<'_>, _: &Request, response: &Response) -> Verdict {
        if !(200..300).contains(&response.status) {
            return classify_status(response);
        }
        match error_code(response) {
            None => Verdict::Found,
            // DATA_NOT_FOUND: `{"error":{"type":"DataException","message":"no data","code":800}}`.
            Some(Some(800)) => Verdict::NotFound(response.body.clone()),
            // QUOTA: no Retry-After is sent; wait out the window.
            Some(Some(4)) => Verdict::SlowDown(Some(QUOTA_WINDOW)),
            // SERVICE_BUSY: passing.
            Some(Some(700)) => Verdict::Retry("deezer error 700 (service busy)".into()),
            // PARAMETER, PARAMETER_MISSING, QUERY_INVALID: a bad request.
            Some(Some(500 | 501 | 600)) => Verdict::Rejected(400),
            // PERMISSION, TOKEN_INVALID: not for anonymous reads.
            Some(Some(200 | 300)) => Verdict::Rejected(403),
            Some(code) => Verdict::Garbage(format!("deezer error {code:?} in a 200")),
        }
    }
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;

    use super::*;
    use crate::provider::Resolved;
    use crate::provider::testing::{self, response};

    fn resolve(path: &str, query: &str) -> Resolved {
        testing::resolve(&DEEZER, path, query)
    }

    fn code(path: &str, query: &str) -> &'static str {
        testing::code(&DEEZER, path, query)
    }

    fn verdict(status: u16, body: &str) -> Verdict {
        let resolved = resolve("track/3135556", "");
        testing::verdict(&DEEZER, &resolved, &response(status, body))
    }

    #[test]
    fn routes_map_to_the_upstream() {
        for (path, up) in [
            ("artist/27", "/artist/27"),
            ("album/302127", "/album/302127"),
            ("track/3135556", "/track/3135556"),
        ] {
            assert_eq!(resolve(path, "").upstream_path_and_query(), up);
        }
        let a = resolve("search", "q=Daft%20Punk&index=0&limit=25&strict=off");
        let b = resolve("search", "q=daft+punk");
        assert_eq!(a.key, b.key);
        assert_eq!(a.key.as_str(), "deezer/search?q=daft+punk");
        let c = resolve(
            "search",
            "q=daft punk&index=25&limit=10&order=ranking&strict=ON",
        );
        assert_eq!(
            c.upstream_path_and_query(),
            "/search?index=25&limit=10&order=RANKING&q=daft+punk&strict=on"
        );
    }

    #[test]
    fn bad_requests_are_refused() {
        assert_eq!(code("track/abc", ""), "invalid-parameter");
        assert_eq!(code("track/0", ""), "invalid-parameter");
        assert_eq!(code("track/1", "output=xml"), "unknown-parameter");
        assert_eq!(code("search", ""), "missing-parameter");
        assert_eq!(code("search", "q=x&limit=0"), "invalid-parameter");
        assert_eq!(code("search", "q=x&limit=101"), "invalid-parameter");
        assert_eq!(code("search", "q=x&order=LOUDEST"), "invalid-parameter");
        assert_eq!(code("search", "q=x&strict=maybe"), "invalid-parameter");
        assert_eq!(code("playlist/1", ""), "unknown-resource");
    }

    #[test]
    fn errors_in_a_200_are_read() {
        let no_data = r#"{"error":{"type":"DataException","message":"no data","code":800}}"#;
        assert_eq!(
            verdict(200, no_data),
            Verdict::NotFound(Bytes::from(no_data))
        );
        assert_eq!(
            verdict(
                200,
                r#"{"error":{"type":"Exception","message":"Quota limit exceeded","code":4}}"#
            ),
            Verdict::SlowDown(Some(secs(5)))
        );
        assert!(matches!(
            verdict(
                200,
                r#"{"error":{"type":"Exception","message":"busy","code":700}}"#
            ),
            Verdict::Retry(_)
        ));
        assert_eq!(
            verdict(
                200,
                r#"{"error":{"type":"MissingParameterException","message":"Missing parameters: q","code":501}}"#
            ),
            Verdict::Rejected(400)
        );
        assert!(matches!(
            verdict(200, r#"{"error":{"type":"Exception","message":"?"}}"#),
            Verdict::Garbage(_)
        ));
    }

    #[test]
    fn plain_answers_and_statuses_are_read_the_usual_way() {
        assert_eq!(
            verdict(200, r#"{"id":3135556,"title":"Harder"}"#),
            Verdict::Found
        );
        assert_eq!(verdict(200, r#"{"data":[],"total":0}"#), Verdict::Found);
        // Not JSON: `finish` refuses it.
        assert_eq!(verdict(200, "<html>"), Verdict::Found);
        assert_eq!(verdict(502, "{}"), Verdict::Retry("status 502".into()));
    }
}
