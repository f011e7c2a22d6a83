//! TMDB v3 (<https://developer.themoviedb.org/reference>).

use super::{
    Adapter, Auth, Fill, Host, Kind, Param, ProviderDef, Rate, Request, ResourceDef, Setting, Ttl,
    hours,
};

const LANG: Param = Param::opt("language", Kind::Language);
const IMAGE_LANGS: Param = Param::opt("include_image_language", Kind::LanguageSet);
const ID: Param = Param::req(
    "id",
    Kind::Int {
        min: 1,
        max: i32::MAX as i64,
    },
);
const SEASON: Param = Param::req("season", Kind::Int { min: 0, max: 9999 });
const EPISODE: Param = Param::req("episode", Kind::Int { min: 0, max: 99999 });
const PAGE: Param = Param::default("page", Kind::Int { min: 1, max: 500 }, "1");
const QUERY: Param = Param::req(
    "query",
    Kind::Text {
        max_len: 200,
        fold_case: true,
    },
);
const ADULT: Param = Param::default("include_adult", Kind::Bool, "false");
const YEAR: Kind = Kind::Int {
    min: 1800,
    max: 2200,
};

const fn append(values: &'static [&'static str]) -> Param {
    // TMDB answers at most 20 appended sub-requests.
    Param::opt("append_to_response", Kind::SetOf { values, max: 20 })
}

/// Details change rarely: a day fresh, a week stale, a month on error.
const DETAILS: Ttl = Ttl::new(hours(24), hours(24 * 7), hours(1), hours(24 * 30));
/// Search results move faster.
const SEARCH: Ttl = Ttl::new(hours(1), hours(24), hours(1), hours(24 * 7));

pub static TMDB: ProviderDef = ProviderDef {
    id: "tmdb",
    title: "The Movie Database v3",
    hosts: &[Host {
        name: "",
        urls: &["https://api.themoviedb.org"],
    }],
    auth: Auth::Custom,
    settings: &[Setting::required("api_key", "TMDB_API_KEY")],
    credential: Some("api_key"),
    user_agent: None,
    // TMDB allows ~50 requests/s per IP; stay under it.
    rate: Rate::per_second(40, 20),
    rate_with_credential: None,
    adapter: &TmdbAdapter,
    resources: &[
        ResourceDef {
            name: "movie",
            route: "movie/{id}",
            upstream: "/3/movie/{id}",
            params: &[
                ID,
                LANG,
                IMAGE_LANGS,
                append(&[
                    "alternative_titles",
                    "changes",
                    "credits",
                    "external_ids",
                    "images",
                    "keywords",
                    "lists",
                    "recommendations",
                    "release_dates",
                    "reviews",
                    "similar",
                    "translations",
                    "videos",
                    "watch/providers",
                ]),
            ],
            ttl: DETAILS,
        },
        ResourceDef {
            name: "tv",
            route: "tv/{id}",
            upstream: "/3/tv/{id}",
            params: &[
                ID,
                LANG,
                IMAGE_LANGS,
                append(&[
                    "aggregate_credits",
                    "alternative_titles",
                    "changes",
                    "content_ratings",
                    "credits",
                    "episode_groups",
                    "external_ids",
                    "images",
                    "keywords",
                    "lists",
                    "recommendations",
                    "reviews",
                    "screened_theatrically",
                    "similar",
                    "translations",
                    "videos",
                    "watch/providers",
                ]),
            ],
            ttl: DETAILS,
        },
        ResourceDef {
            name: "tv-season",
            route: "tv/{id}/season/{season}",
            upstream: "/3/tv/{id}/season/{season}",
            params: &[
                ID,
                SEASON,
                LANG,
                IMAGE_LANGS,
                append(&[
                    "aggregate_credits",
                    "changes",
                    "credits",
                    "external_ids",
                    "images",
                    "translations",
                    "videos",
                    "watch/providers",
                ]),
            ],
            ttl: DETAILS,
        },
        ResourceDef {
            name: "tv-episode",
            route: "tv/{id}/season/{season}/episode/{episode}",
            upstream: "/3/tv/{id}/season/{season}/episode/{episode}",
            params: &[
                ID,
                SEASON,
                EPISODE,
                LANG,
                IMAGE_LANGS,
                append(&[
                    "changes",
                    "credits",
                    "external_ids",
                    "images",
                    "translations",
                    "videos",
                ]),
            ],
            ttl: DETAILS,
        },
        ResourceDef {
            name: "person",
            route: "person/{id}",
            upstream: "/3/person/{id}",
            params: &[
                ID,
                LANG,
                append(&[
                    "changes",
                    "combined_credits",
                    "external_ids",
                    "images",
                    "latest",
                    "movie_credits",
                    "tagged_images",
                    "translations",
                    "tv_credits",
                ]),
            ],
            ttl: DETAILS,
        },
        ResourceDef {
            name: "search-movie",
            route: "search/movie",
            upstream: "/3/search/movie",
            params: &[
                QUERY,
                ADULT,
                LANG,
                PAGE,
                Param::opt("primary_release_year", YEAR),
                Param::opt("region", Kind::Region),
                Param::opt("year", YEAR),
            ],
            ttl: SEARCH,
        },
        ResourceDef {
            name: "search-tv",
            route: "search/tv",
            upstream: "/3/search/tv",
            params: &[
                QUERY,
                ADULT,
                LANG,
                PAGE,
                Param::opt("first_air_date_year", YEAR),
                Param::opt("year", YEAR),
            ],
            ttl: SEARCH,
        },
        ResourceDef {
            name: "search-person",
            route: "search/person",
            upstream: "/3/search/person",
            params: &[QUERY, ADULT, LANG, PAGE],
            ttl: SEARCH,
        },
        ResourceDef {
            name: "configuration",
            route: "configuration",
            upstream: "/3/configuration",
            params: &[],
            ttl: Ttl::new(hours(24 * 7), hours(24 * 30), hours(1), hours(24 * 90)),
        },
    ],
};

struct TmdbAdapter;

impl Adapter for TmdbAdapter {
    /// A v3 key goes in `api_key`; a v4 read-access token (a JWT) as a bearer.
    fn authorize(&self, _: &Fill<'_>, request: &mut Request, key: Option<&str>, _: Option<&str>) {
        match key {
            Some(key) if key.starts_with("eyJ") => {
                request
                    .headers
                    .push(("authorization", format!("Bearer {key}")));
            }
            Some(key) => request.push_query("api_key", key),
            None => {}
        }
    }
}
