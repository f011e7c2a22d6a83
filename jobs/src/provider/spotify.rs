//! Spotify Web API (<https://developer.spotify.com/documentation/web-api>).
//!
//! Catalogue reads with an app token from the client-credentials flow
//! (<https://developer.spotify.com/documentation/web-api/tutorials/client-credentials-flow>):
//! `POST accounts.spotify.com/api/token` with the client id and secret as
//! HTTP Basic, answered with an hour-long bearer token that the worker
//! shares and renews (and renews once more on a 401). A 404 is a negative
//! entry; a 429's `Retry-After` pauses the provider (the defaults).

use std::time::Duration;

use base64::Engine as _;
use bytes::Bytes;

use super::{
    Adapter, Auth, Host, IMAGE_TTL, Kind, Method, Param, ProviderDef, ProviderSettings, Rate,
    Request, ResourceDef, Response, Setting, Token, Ttl, days, hours, secs,
};
use crate::config::Secret;

/// Spotify ids are base-62, 22 characters (`4Z8W4fKeB5YxbusRsdQVPb`).
const ID: Param = Param::req(
    "id",
    Kind::Ident {
        max_len: 22,
        extra: "",
    },
);
/// ISO 3166-1 alpha-2: the market for availability and track relinking.
const MARKET: Param = Param::opt("market", Kind::Region);

/// Artists change (images, genres): a day fresh.
const ARTIST: Ttl = Ttl::new(hours(24), days(7), hours(1), days(30));
/// Albums and tracks are catalogue data that rarely changes.
const CATALOGUE: Ttl = Ttl::new(days(7), days(7), hours(1), days(30));
const SEARCH: Ttl = Ttl::new(hours(1), hours(24), hours(1), days(7));

pub static SPOTIFY: ProviderDef = ProviderDef {
    auth: Auth::Login,
    settings: &[
        Setting::required("client_id", "SPOTIFY_CLIENT_ID"),
        Setting::required("client_secret", "SPOTIFY_CLIENT_SECRET"),
    ],
    adapter: &SpotifyAdapter,
    ..ProviderDef::new(
        "spotify",
        "Spotify Web API",
        &[
            Host {
                name: "",
                urls: &["https://api.spotify.com"],
            },
            Host {
                name: "accounts",
                urls: &["https://accounts.spotify.com"],
            },
            // `LARDER_SPOTIFY_IMAGES_BASE_URL`: album and artist images.
            Host {
                name: "images",
                urls: &["https://i.scdn.co"],
            },
        ],
        // The limit is per app over a rolling 30 s window and not published;
        // stay well under what apps commonly see.
        Rate::per_window(150, secs(30), 10),
        &[
            ResourceDef {
                name: "artist",
                route: "artist/{id}",
                upstream: "/v1/artists/{id}",
                params: &[ID],
                ttl: ARTIST,
            },
            ResourceDef {
                name: "album",
                route: "album/{id}",
                upstream: "/v1/albums/{id}",
                params: &[ID, MARKET],
                ttl: CATALOGUE,
            },
            ResourceDef {
                name: "track",
                route: "track/{id}",
                upstream: "/v1/tracks/{id}",
                params: &[ID, MARKET],
                ttl: CATALOGUE,
            },
            ResourceDef {
                name: "search",
                route: "search",
                upstream: "/v1/search",
                params: &[
                    // Field filters (`artist:`, `year:1990-1999`, `tag:new`)
                    // are lowercase and matching ignores case.
                    Param::req(
                        "q",
                        Kind::Text {
                            max_len: 250,
                            fold_case: true,
                        },
                    ),
                    Param::req(
                        "type",
                        Kind::SetOf {
                            values: &[
                                "album",
                                "artist",
                                "playlist",
                                "track",
                                "show",
                                "episode",
                                "audiobook",
                            ],
                            max: 7,
                        },
                    ),
                    MARKET,
                    // The default depends on the app's quota mode (20, or 5
                    // in Development Mode, which also caps it at 10), so
                    // none is declared.
                    Param::opt("limit", Kind::Int { min: 0, max: 50 }),
                    Param::default("offset", Kind::Int { min: 0, max: 1000 }, "0"),
                    Param::opt("include_external", Kind::OneOf(&["audio"])),
                ],
                ttl: SEARCH,
            },
            // An image an answer names (`https://i.scdn.co/image/ab67616d0000b273…`).
            ResourceDef {
                name: "image",
                route: "image/{id}",
                upstream: "/image/{id}",
                params: &[Param::req(
                    "id",
                    Kind::Ident {
                        max_len: 64,
                        extra: "",
                    },
                )],
                ttl: IMAGE_TTL,
            },
        ],
    )
};

struct SpotifyAdapter;

impl Adapter for SpotifyAdapter {
    fn image_host(&self) -> Option<&'static str> {
        Some("images")
    }

    /// The client-credentials grant on the accounts host.
    fn login(&self, settings: &ProviderSettings) -> Option<Request> {
        let id = settings.setting("client_id")?;
        let secret = settings.setting("client_secret")?;
        let basic = base64::engine::general_purpose::STANDARD.encode(format!("{id}:{secret}"));
        Some(
            Request {
                method: Method::Post,
                body: Some((
                    "application/x-www-form-urlencoded",
                    Bytes::from_static(b"grant_type=client_credentials"),
                )),
                authorized: false,
                ..Request::get("/api/token")
            }
            .on_host("accounts")
            .header("authorization", format!("Basic {basic}")),
        )
    }

    /// `{"access_token": "…", "token_type": "Bearer", "expires_in": 3600}`.
    fn read_token(&self, response: &Response) -> Result<Token, String> {
        let body = response.json().ok_or("the token answer is not JSON")?;
        let value = body["access_token"]
            .as_str()
            .filter(|t| !t.is_empty())
            .ok_or("the token answer has no access_token")?;
        let lifetime = body["expires_in"].as_u64().unwrap_or(3600);
        Ok(Token {
            value: Secret::new(value),
            lifetime: Duration::from_secs(lifetime),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::provider::testing::{self, fill, response, settings_with, verdict};
    use crate::provider::{Resolved, Verdict};

    fn resolve(path: &str, query: &str) -> Resolved {
        testing::resolve(&SPOTIFY, path, query)
    }

    fn code(path: &str, query: &str) -> &'static str {
        testing::code(&SPOTIFY, path, query)
    }

    fn settings() -> ProviderSettings {
        settings_with(
            &SPOTIFY,
            &[
                ("SPOTIFY_CLIENT_ID", "my-id"),
                ("SPOTIFY_CLIENT_SECRET", "my-secret"),
            ],
        )
    }

    #[test]
    fn lookups_map_to_the_plural_upstream_paths() {
        let r = resolve("artist/4Z8W4fKeB5YxbusRsdQVPb", "");
        assert_eq!(r.key.as_str(), "spotify/artist/4Z8W4fKeB5YxbusRsdQVPb");
        assert_eq!(
            r.upstream_path_and_query(),
            "/v1/artists/4Z8W4fKeB5YxbusRsdQVPb"
        );
        let r = resolve("track/11dFghVXANMlKmJXsNCbNl", "market=us");
        assert_eq!(
            r.upstream_path_and_query(),
            "/v1/tracks/11dFghVXANMlKmJXsNCbNl?market=US"
        );
        let r = resolve("album/0tGPJ0bkWOUmH7MEOR77qc", "");
        assert_eq!(
            r.upstream_path_and_query(),
            "/v1/albums/0tGPJ0bkWOUmH7MEOR77qc"
        );
    }

    #[test]
    fn searches_share_keys_and_keep_spotify_names() {
        let a = resolve("search", "q=Radiohead&type=track,artist,track&offset=0");
        let b = resolve("search", "type=artist%2Ctrack&q=radiohead");
        assert_eq!(a.key, b.key);
        assert_eq!(
            a.key.as_str(),
            "spotify/search?q=radiohead&type=artist%2Ctrack"
        );
        assert_eq!(
            a.upstream_path_and_query(),
            "/v1/search?q=radiohead&type=artist%2Ctrack"
        );
        let c = resolve(
            "search",
            "q=x&type=show&market=gb&limit=10&offset=20&include_external=audio",
        );
        assert_eq!(
            c.upstream_path_and_query(),
            "/v1/search?include_external=audio&limit=10&market=GB&offset=20&q=x&type=show"
        );
    }

    #[test]
    fn bad_requests_are_refused() {
        assert_eq!(code("artist/not-base62!", ""), "invalid-parameter");
        assert_eq!(
            code("artist/4Z8W4fKeB5YxbusRsdQVPbX", ""),
            "invalid-parameter"
        );
        assert_eq!(
            code("artist/4Z8W4fKeB5YxbusRsdQVPb", "market=US"),
            "unknown-parameter"
        );
        assert_eq!(
            code("track/11dFghVXANMlKmJXsNCbNl", "market=USA"),
            "invalid-parameter"
        );
        assert_eq!(code("search", "q=x"), "missing-parameter");
        assert_eq!(code("search", "type=track"), "missing-parameter");
        assert_eq!(code("search", "q=x&type=song"), "invalid-parameter");
        assert_eq!(
            code("search", "q=x&type=track&limit=51"),
            "invalid-parameter"
        );
        assert_eq!(
            code("search", "q=x&type=track&offset=1001"),
            "invalid-parameter"
        );
        assert_eq!(
            code("search", "q=x&type=track&include_external=video"),
            "invalid-parameter"
        );
        assert_eq!(code("playlist/abc", ""), "unknown-resource");
    }

    #[test]
    fn login_is_a_basic_authenticated_form_post_on_the_accounts_host() {
        let login = SpotifyAdapter.login(&settings()).unwrap();
        assert_eq!(login.host, "accounts");
        assert_eq!(login.method, Method::Post);
        assert_eq!(login.path, "/api/token");
        assert!(!login.authorized);
        assert_eq!(
            login.body,
            Some((
                "application/x-www-form-urlencoded",
                Bytes::from_static(b"grant_type=client_credentials")
            ))
        );
        // base64("my-id:my-secret")
        assert_eq!(
            login.headers,
            vec![("authorization", "Basic bXktaWQ6bXktc2VjcmV0".to_string())]
        );
    }

    #[test]
    fn the_token_and_its_lifetime_are_read() {
        let t = SpotifyAdapter
            .read_token(&response(
                200,
                r#"{"access_token":"BQDtest","token_type":"Bearer","expires_in":3600}"#,
            ))
            .unwrap();
        assert_eq!(t.value.expose(), "BQDtest");
        assert_eq!(t.lifetime, Duration::from_secs(3600));
        assert!(
            SpotifyAdapter
                .read_token(&response(200, r#"{"token_type":"Bearer"}"#))
                .is_err()
        );
        assert!(SpotifyAdapter.read_token(&response(200, "<html>")).is_err());
    }

    #[test]
    fn statuses_are_read_the_usual_way() {
        let resolved = resolve("artist/4Z8W4fKeB5YxbusRsdQVPb", "");
        let not_found = r#"{"error":{"status":404,"message":"non existing id"}}"#;
        assert_eq!(
            verdict(&SPOTIFY, &resolved, &response(404, not_found)),
            Verdict::NotFound(Bytes::from(not_found))
        );
        assert_eq!(
            verdict(&SPOTIFY, &resolved, &response(401, "{}")),
            Verdict::Unauthorized
        );
        let mut limited = response(429, "{}");
        limited.headers.push(("retry-after".into(), "7".into()));
        assert_eq!(
            verdict(&SPOTIFY, &resolved, &limited),
            Verdict::SlowDown(Some(Duration::from_secs(7)))
        );
        assert_eq!(
            verdict(&SPOTIFY, &resolved, &response(400, "{}")),
            Verdict::Rejected(400)
        );
    }

    #[test]
    fn the_token_goes_on_as_a_bearer() {
        let resolved = resolve("artist/4Z8W4fKeB5YxbusRsdQVPb", "");
        let req = fill(&settings(), &resolved, |fill| {
            let mut req = fill.table_request();
            SpotifyAdapter.authorize(fill, &mut req, None, Some("BQDtest"));
            req
        });
        assert_eq!(
            req.headers,
            vec![("authorization", "Bearer BQDtest".to_string())]
        );
    }
}
