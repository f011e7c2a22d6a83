//! fanart.tv v3 (<https://fanart.tv/api-docs/>): artwork bundles of a movie,
//! a TV show or a music artist, with the project key as `api_key`.
//!
//! A 404 means the id has no artwork (routine, and art may be added later):
//! a short negative entry. fanart.tv has also been seen answering a 200 with
//! `{"status":"error","error message":"Not found"}`; that is read the same way.

use serde_json::Value;

use super::{
    Adapter, Auth, Fill, Host, IMAGE_TTL, Kind, Param, ProviderDef, Rate, Request, Resolved,
    ResourceDef, Response, Setting, Ttl, Verdict, classify_status, days, image_name_ok,
};
use crate::error::RequestError;

/// New art only becomes visible to a project key a week after approval:
/// bundles can be kept for days. A missing bundle is asked again sooner.
const ART: Ttl = Ttl::new(days(3), days(7), days(1), days(30));

pub static FANART: ProviderDef = ProviderDef {
    auth: Auth::Query("api_key"),
    settings: &[Setting::required("api_key", "FANART_API_KEY")],
    credential: Some("api_key"),
    adapter: &FanartAdapter,
    ..ProviderDef::new(
        "fanart",
        "fanart.tv",
        &[
            Host {
                name: "",
                urls: &["https://webservice.fanart.tv"],
            },
            // `LARDER_FANART_ASSETS_BASE_URL`: where the bundles' image URLs point.
            Host {
                name: "assets",
                urls: &["https://assets.fanart.tv"],
            },
        ],
        Rate::per_second(10, 10),
        &[
            ResourceDef {
                name: "movie",
                route: "movie/{id}",
                upstream: "/v3/movies/{id}",
                // A TMDB id (`550`) or an IMDb id (`tt0137523`).
                params: &[Param::req(
                    "id",
                    Kind::Ident {
                        max_len: 12,
                        extra: "",
                    },
                )],
                ttl: ART,
            },
            ResourceDef {
                name: "tv",
                route: "tv/{id}",
                upstream: "/v3/tv/{id}",
                // A TheTVDB series id.
                params: &[Param::req(
                    "id",
                    Kind::Int {
                        min: 1,
                        max: i32::MAX as i64,
                    },
                )],
                ttl: ART,
            },
            ResourceDef {
                name: "music",
                route: "music/{mbid}",
                upstream: "/v3/music/{mbid}",
                // A MusicBrainz artist id.
                params: &[Param::req(
                    "mbid",
                    Kind::Ident {
                        max_len: 36,
                        extra: "-",
                    },
                )],
                ttl: ART,
            },
            // An image a bundle names:
            // `https://assets.fanart.tv/fanart/movies/550/movieposter/fight-club-52b8b8a4f0b4e.jpg`
            // is `image/movies/550/movieposter/fight-club-52b8b8a4f0b4e.jpg`.
            ResourceDef {
                name: "image",
                route: "image/{section}/{id}/{type}/{file}",
                upstream: "/fanart/{section}/{id}/{type}/{file}",
                params: &[
                    Param::req("section", Kind::OneOf(&["movies", "tv", "music"])),
                    Param::req(
                        "id",
                        Kind::Ident {
                            max_len: 36,
                            extra: "-",
                        },
                    ),
                    Param::req(
                        "type",
                        Kind::Ident {
                            max_len: 40,
                            extra: "",
                        },
                    ),
                    Param::req(
                        "file",
                        Kind::Ident {
                            max_len: 160,
                            extra: "-_.",
                        },
                    ),
                ],
                ttl: IMAGE_TTL,
            },
        ],
    )
};

struct FanartAdapter;

impl Adapter for FanartAdapter {
    fn check(&self, resolved: &Resolved) -> Result<(), RequestError> {
        if resolved.resource.name == "image"
            && !resolved
                .param("file")
                .is_some_and(|f| image_name_ok(f, &["jpg", "jpeg", "png"]))
        {
            return Err(RequestError::new(
                "invalid-parameter",
                "file: not a fanart.tv image name (.jpg or .png)",
            ));
        }
        Ok(())
    }

    fn image_host(&self) -> Option<&'static str> {
        Some("assets")
    }

    fn classify(&self, _: &Fill<'_>, _: &Request, response: &Response) -> Verdict {
        if (200..300).contains(&response.status)
            && let Some(body) = response.json()
            && body.get("status").and_then(Value::as_str) == Some("error")
        {
            let message = body
                .get("error message")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_ascii_lowercase();
            return if message.contains("not found") {
                Verdict::NotFound(response.body.clone())
            } else if message.contains("api key") {
                Verdict::Unauthorized
            } else {
                Verdict::Rejected(400)
            };
        }
        classify_status(response)
    }
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;

    use super::*;
    use crate::provider::testing::{self, response};

    fn code(path: &str) -> &'static str {
        testing::code(&FANART, path, "")
    }

    fn verdict(status: u16, body: &str) -> Verdict {
        let r = testing::resolve(&FANART, "tv/81189", "");
        testing::verdict(&FANART, &r, &response(status, body))
    }

    #[test]
    fn routes_map_to_plural_v3_paths() {
        for (path, key, upstream) in [
            ("movie/550", "fanart/movie/550", "/v3/movies/550"),
            (
                "movie/tt0137523",
                "fanart/movie/tt0137523",
                "/v3/movies/tt0137523",
            ),
            ("tv/81189", "fanart/tv/81189", "/v3/tv/81189"),
            (
                "music/a74b1b7f-71a5-4011-9441-d0b5e4122711",
                "fanart/music/a74b1b7f-71a5-4011-9441-d0b5e4122711",
                "/v3/music/a74b1b7f-71a5-4011-9441-d0b5e4122711",
            ),
        ] {
            let r = testing::resolve(&FANART, path, "");
            assert_eq!(r.key.as_str(), key);
            assert_eq!(r.upstream_path_and_query(), upstream);
        }
    }

    #[test]
    fn bad_requests_are_400s() {
        assert_eq!(code("tv/abc"), "invalid-parameter");
        assert_eq!(code("tv/0"), "invalid-parameter");
        assert_eq!(code("movie/tt%2F1"), "invalid-parameter");
        assert_eq!(code("music/not%20an%20id"), "invalid-parameter");
        assert_eq!(code("movies/550"), "unknown-resource");
        assert_eq!(
            testing::code(&FANART, "movie/550", "lang=en"),
            "unknown-parameter"
        );
    }

    #[test]
    fn no_artwork_is_not_found_as_a_404_or_in_a_200() {
        let missing = r#"{"status":"error","error message":"Not found"}"#;
        assert_eq!(
            verdict(404, missing),
            Verdict::NotFound(Bytes::from(missing))
        );
        assert_eq!(
            verdict(200, missing),
            Verdict::NotFound(Bytes::from(missing))
        );
        assert_eq!(
            verdict(
                200,
                r#"{"status":"error","error message":"API key is required"}"#
            ),
            Verdict::Unauthorized
        );
        assert_eq!(
            verdict(200, r#"{"name":"Breaking Bad","thetvdb_id":"81189"}"#),
            Verdict::Found
        );
        assert!(matches!(verdict(404, "<html/>"), Verdict::Garbage(_)));
        assert!(matches!(verdict(429, "{}"), Verdict::SlowDown(None)));
    }
}
