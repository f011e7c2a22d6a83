//! TMDB's resources: the routes of `/v1/tmdb` and of the drop-in.

use super::IMAGE_SIZES;
use crate::provider::{IMAGE_TTL, Kind, Param, ResourceDef, Ttl, days, hours};

pub(super) const LANG: Param = Param::opt("language", Kind::Language);
/// The routes added later name TMDB's default so that `language=en-US` and no
/// language share one entry (the older routes keep their key shapes).
pub(super) const LANG_US: Param = Param::default("language", Kind::Language, "en-US");
pub(super) const IMAGE_LANGS: Param = Param::opt("include_image_language", Kind::LanguageSet);
pub(super) const ID: Param = Param::req(
    "id",
    Kind::Int {
        min: 1,
        max: i32::MAX as i64,
    },
);
pub(super) const SEASON: Param = Param::req("season", Kind::Int { min: 0, max: 9999 });
pub(super) const EPISODE: Param = Param::req("episode", Kind::Int { min: 0, max: 99999 });
pub(super) const PAGE: Param = Param::default("page", Kind::Int { min: 1, max: 500 }, "1");
pub(super) const QUERY: Param = Param::req(
    "query",
    Kind::Text {
        max_len: 200,
        fold_case: true,
    },
);
pub(super) const ADULT: Param = Param::default("include_adult", Kind::Bool, "false");
pub(super) const YEAR: Kind = Kind::Int {
    min: 1800,
    max: 2200,
};

pub(super) const VIDEO_LANGS: Param = Param::opt("include_video_language", Kind::LanguageSet);
pub(super) const REGION: Param = Param::opt("region", Kind::Region);
/// A list of ids or names joined by `,` (and) or `|` (or), as discover takes.
pub(super) const LIST: Kind = Kind::Text {
    max_len: 300,
    fold_case: false,
};
pub(super) const VOTE: Kind = Kind::Float {
    min: 0.0,
    max: 10.0,
    decimals: 1,
};
pub(super) const COUNT: Kind = Kind::Int {
    min: 0,
    max: 100_000_000,
};
pub(super) const MINUTES: Kind = Kind::Int { min: 0, max: 1000 };
pub(super) const DATE: Kind = Kind::Date;
/// Lists that move daily.
pub(super) const LISTS: Ttl = Ttl::new(hours(6), hours(24), hours(1), days(7));

/// A sub-resource of a details page (`movie/{id}/images`): the same TTLs.
const fn sub(
    name: &'static str,
    route: &'static str,
    upstream: &'static str,
    params: &'static [Param],
) -> ResourceDef {
    ResourceDef {
        name,
        route,
        upstream,
        params,
        ttl: DETAILS,
    }
}

/// A paged list (`movie/popular`): a sub-resource's shape, lists' TTLs.
const fn list(
    name: &'static str,
    route: &'static str,
    upstream: &'static str,
    params: &'static [Param],
) -> ResourceDef {
    ResourceDef {
        ttl: LISTS,
        ..sub(name, route, upstream, params)
    }
}

pub(super) const SORT_MOVIES: &[&str] = &[
    "original_title.asc",
    "original_title.desc",
    "popularity.asc",
    "popularity.desc",
    "revenue.asc",
    "revenue.desc",
    "primary_release_date.asc",
    "primary_release_date.desc",
    "title.asc",
    "title.desc",
    "vote_average.asc",
    "vote_average.desc",
    "vote_count.asc",
    "vote_count.desc",
];
pub(super) const SORT_TV: &[&str] = &[
    "first_air_date.asc",
    "first_air_date.desc",
    "name.asc",
    "name.desc",
    "original_name.asc",
    "original_name.desc",
    "popularity.asc",
    "popularity.desc",
    "vote_average.asc",
    "vote_average.desc",
    "vote_count.asc",
    "vote_count.desc",
];
/// Parameters both discover endpoints take.
macro_rules! discover_common {
    () => {
        [
            LANG_US,
            PAGE,
            ADULT,
            Param::opt("vote_average.gte", VOTE),
            Param::opt("vote_average.lte", VOTE),
            Param::opt("vote_count.gte", COUNT),
            Param::opt("vote_count.lte", COUNT),
            Param::opt("watch_region", Kind::Region),
            Param::opt("with_companies", LIST),
            Param::opt("with_genres", LIST),
            Param::opt("with_keywords", LIST),
            Param::opt("with_origin_country", LIST),
            Param::opt("with_original_language", LIST),
            Param::opt("with_runtime.gte", MINUTES),
            Param::opt("with_runtime.lte", MINUTES),
            Param::opt("with_watch_monetization_types", LIST),
            Param::opt("with_watch_providers", LIST),
            Param::opt("without_companies", LIST),
            Param::opt("without_genres", LIST),
            Param::opt("without_keywords", LIST),
            Param::opt("without_watch_providers", LIST),
        ]
    };
}
pub(super) const DISCOVER_MOVIE: &[Param] = &{
    let common = discover_common!();
    let own = [
        Param::default("sort_by", Kind::OneOf(SORT_MOVIES), "popularity.desc"),
        Param::opt("certification", LIST),
        Param::opt("certification.gte", LIST),
        Param::opt("certification.lte", LIST),
        Param::opt("certification_country", Kind::Region),
        Param::default("include_video", Kind::Bool, "false"),
        Param::opt("primary_release_date.gte", DATE),
        Param::opt("primary_release_date.lte", DATE),
        Param::opt("primary_release_year", YEAR),
        REGION,
        Param::opt("release_date.gte", DATE),
        Param::opt("release_date.lte", DATE),
        Param::opt("with_cast", LIST),
        Param::opt("with_crew", LIST),
        Param::opt("with_people", LIST),
        Param::opt("with_release_type", LIST),
        Param::opt("year", YEAR),
    ];
    concat_params::<21, 17, 38>(common, own)
};
pub(super) const DISCOVER_TV: &[Param] = &{
    let common = discover_common!();
    let own = [
        Param::default("sort_by", Kind::OneOf(SORT_TV), "popularity.desc"),
        Param::opt("air_date.gte", DATE),
        Param::opt("air_date.lte", DATE),
        Param::opt("first_air_date.gte", DATE),
        Param::opt("first_air_date.lte", DATE),
        Param::opt("first_air_date_year", YEAR),
        Param::default("include_null_first_air_dates", Kind::Bool, "false"),
        Param::default("screened_theatrically", Kind::Bool, "false"),
        Param::opt("timezone", Kind::Timezone),
        Param::opt("with_networks", LIST),
        Param::opt("with_status", LIST),
        Param::opt("with_type", LIST),
    ];
    concat_params::<21, 12, 33>(common, own)
};

const fn concat_params<const A: usize, const B: usize, const C: usize>(
    a: [Param; A],
    b: [Param; B],
) -> [Param; C] {
    assert!(A + B == C);
    let mut out = [const { Param::opt("", Kind::Bool) }; C];
    let mut i = 0;
    while i < A {
        out[i] = a[i];
        i += 1;
    }
    while i < C {
        out[i] = b[i - A];
        i += 1;
    }
    out
}

const fn append(values: &'static [&'static str]) -> Param {
    // TMDB answers at most 20 appended sub-requests.
    Param::opt("append_to_response", Kind::SetOf { values, max: 20 })
}

/// Details change rarely: a day fresh, a week stale, a month on error.
pub(super) const DETAILS: Ttl = Ttl::new(hours(24), hours(24 * 7), hours(1), hours(24 * 30));
/// Search results move faster.
pub(super) const SEARCH: Ttl = Ttl::new(hours(1), hours(24), hours(1), hours(24 * 7));
/// `find` answers 200 with five empty lists when nothing is linked to the id
/// yet (a TTL cannot differ per entry): 6 h fresh lets new links show up the
/// same day; the long stale window keeps stable mappings served at once.
pub(super) const FIND: Ttl = Ttl::new(hours(6), days(7), hours(1), days(30));
/// The official genre lists change almost never.
pub(super) const GENRES: Ttl = Ttl::new(days(7), days(30), hours(1), days(90));
/// External sources `find` accepts (the current reference).
pub(super) const EXTERNAL_SOURCES: &[&str] = &[
    "imdb_id",
    "facebook_id",
    "instagram_id",
    "tvdb_id",
    "tiktok_id",
    "twitter_id",
    "wikidata_id",
    "youtube_id",
];
pub(super) const TRENDING_MEDIA: Param =
    Param::req("media_type", Kind::OneOf(&["all", "movie", "tv", "person"]));

/// Every resource, literal routes before the `{id}` routes that would take them.
pub(super) const RESOURCES: &[ResourceDef] = &[
    // The paged lists and discover: literal routes before `movie/{id}`,
    // which would take `popular` for an id.
    list(
        "movie-popular",
        "movie/popular",
        "/3/movie/popular",
        &[LANG_US, PAGE, REGION],
    ),
    list(
        "movie-top-rated",
        "movie/top_rated",
        "/3/movie/top_rated",
        &[LANG_US, PAGE, REGION],
    ),
    list(
        "movie-now-playing",
        "movie/now_playing",
        "/3/movie/now_playing",
        &[LANG_US, PAGE, REGION],
    ),
    list(
        "movie-upcoming",
        "movie/upcoming",
        "/3/movie/upcoming",
        &[LANG_US, PAGE, REGION],
    ),
    list(
        "tv-popular",
        "tv/popular",
        "/3/tv/popular",
        &[LANG_US, PAGE],
    ),
    list(
        "tv-top-rated",
        "tv/top_rated",
        "/3/tv/top_rated",
        &[LANG_US, PAGE],
    ),
    list(
        "tv-on-the-air",
        "tv/on_the_air",
        "/3/tv/on_the_air",
        &[LANG_US, PAGE, Param::opt("timezone", Kind::Timezone)],
    ),
    list(
        "tv-airing-today",
        "tv/airing_today",
        "/3/tv/airing_today",
        &[LANG_US, PAGE, Param::opt("timezone", Kind::Timezone)],
    ),
    list(
        "person-popular",
        "person/popular",
        "/3/person/popular",
        &[LANG_US, PAGE],
    ),
    list(
        "discover-movie",
        "discover/movie",
        "/3/discover/movie",
        DISCOVER_MOVIE,
    ),
    list("discover-tv", "discover/tv", "/3/discover/tv", DISCOVER_TV),
    sub(
        "tv-episode-group",
        "tv/episode_group/{group}",
        "/3/tv/episode_group/{group}",
        &[
            Param::req(
                "group",
                Kind::Ident {
                    max_len: 40,
                    extra: "",
                },
            ),
            LANG_US,
        ],
    ),
    ResourceDef {
        name: "movie",
        route: "movie/{id}",
        upstream: "/3/movie/{id}",
        params: &[
            ID,
            LANG,
            IMAGE_LANGS,
            VIDEO_LANGS,
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
            VIDEO_LANGS,
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
            VIDEO_LANGS,
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
            VIDEO_LANGS,
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
        name: "search-multi",
        route: "search/multi",
        upstream: "/3/search/multi",
        params: &[QUERY, ADULT, LANG_US, PAGE],
        ttl: SEARCH,
    },
    ResourceDef {
        name: "search-collection",
        route: "search/collection",
        upstream: "/3/search/collection",
        params: &[
            QUERY,
            ADULT,
            LANG_US,
            PAGE,
            Param::opt("region", Kind::Region),
        ],
        ttl: SEARCH,
    },
    ResourceDef {
        name: "collection",
        route: "collection/{id}",
        upstream: "/3/collection/{id}",
        params: &[ID, LANG_US],
        ttl: DETAILS,
    },
    ResourceDef {
        name: "find",
        route: "find/{external_id}",
        upstream: "/3/find/{external_id}",
        params: &[
            // tt0111161, a TVDB number, Q42, a handle (`_`, `.`), a
            // YouTube channel id (`-`, `_`).
            Param::req(
                "external_id",
                Kind::Ident {
                    max_len: 100,
                    extra: "-_.",
                },
            ),
            Param::req("external_source", Kind::OneOf(EXTERNAL_SOURCES)),
            LANG_US,
        ],
        ttl: FIND,
    },
    // Two resources rather than one `{time_window}` so that each window
    // has its TTL: the daily list moves within the hour.
    ResourceDef {
        name: "trending-day",
        route: "trending/{media_type}/day",
        upstream: "/3/trending/{media_type}/day",
        params: &[TRENDING_MEDIA, LANG_US, PAGE],
        ttl: Ttl::new(hours(1), hours(6), hours(1), days(2)),
    },
    ResourceDef {
        name: "trending-week",
        route: "trending/{media_type}/week",
        upstream: "/3/trending/{media_type}/week",
        params: &[TRENDING_MEDIA, LANG_US, PAGE],
        ttl: Ttl::new(hours(6), hours(24), hours(1), days(7)),
    },
    ResourceDef {
        name: "genre-list",
        route: "genre/{media_type}/list",
        upstream: "/3/genre/{media_type}/list",
        params: &[
            Param::req("media_type", Kind::OneOf(&["movie", "tv"])),
            // The genre lists default to `en`, not `en-US`.
            Param::default("language", Kind::Language, "en"),
        ],
        ttl: GENRES,
    },
    // Details' parts on their own, as clients ask for them.
    sub(
        "movie-images",
        "movie/{id}/images",
        "/3/movie/{id}/images",
        &[ID, LANG, IMAGE_LANGS],
    ),
    sub(
        "movie-credits",
        "movie/{id}/credits",
        "/3/movie/{id}/credits",
        &[ID, LANG_US],
    ),
    sub(
        "movie-external-ids",
        "movie/{id}/external_ids",
        "/3/movie/{id}/external_ids",
        &[ID],
    ),
    sub(
        "movie-videos",
        "movie/{id}/videos",
        "/3/movie/{id}/videos",
        &[ID, LANG_US, VIDEO_LANGS],
    ),
    sub(
        "movie-release-dates",
        "movie/{id}/release_dates",
        "/3/movie/{id}/release_dates",
        &[ID],
    ),
    sub(
        "movie-keywords",
        "movie/{id}/keywords",
        "/3/movie/{id}/keywords",
        &[ID],
    ),
    sub(
        "movie-translations",
        "movie/{id}/translations",
        "/3/movie/{id}/translations",
        &[ID],
    ),
    sub(
        "movie-alternative-titles",
        "movie/{id}/alternative_titles",
        "/3/movie/{id}/alternative_titles",
        &[ID, Param::opt("country", Kind::Region)],
    ),
    sub(
        "movie-recommendations",
        "movie/{id}/recommendations",
        "/3/movie/{id}/recommendations",
        &[ID, LANG_US, PAGE],
    ),
    sub(
        "movie-similar",
        "movie/{id}/similar",
        "/3/movie/{id}/similar",
        &[ID, LANG_US, PAGE],
    ),
    sub(
        "movie-watch-providers",
        "movie/{id}/watch/providers",
        "/3/movie/{id}/watch/providers",
        &[ID],
    ),
    sub(
        "tv-images",
        "tv/{id}/images",
        "/3/tv/{id}/images",
        &[ID, LANG, IMAGE_LANGS],
    ),
    sub(
        "tv-credits",
        "tv/{id}/credits",
        "/3/tv/{id}/credits",
        &[ID, LANG_US],
    ),
    sub(
        "tv-aggregate-credits",
        "tv/{id}/aggregate_credits",
        "/3/tv/{id}/aggregate_credits",
        &[ID, LANG_US],
    ),
    sub(
        "tv-external-ids",
        "tv/{id}/external_ids",
        "/3/tv/{id}/external_ids",
        &[ID],
    ),
    sub(
        "tv-videos",
        "tv/{id}/videos",
        "/3/tv/{id}/videos",
        &[ID, LANG_US, VIDEO_LANGS],
    ),
    sub(
        "tv-content-ratings",
        "tv/{id}/content_ratings",
        "/3/tv/{id}/content_ratings",
        &[ID],
    ),
    sub(
        "tv-keywords",
        "tv/{id}/keywords",
        "/3/tv/{id}/keywords",
        &[ID],
    ),
    sub(
        "tv-episode-groups",
        "tv/{id}/episode_groups",
        "/3/tv/{id}/episode_groups",
        &[ID],
    ),
    sub(
        "tv-translations",
        "tv/{id}/translations",
        "/3/tv/{id}/translations",
        &[ID],
    ),
    sub(
        "tv-alternative-titles",
        "tv/{id}/alternative_titles",
        "/3/tv/{id}/alternative_titles",
        &[ID],
    ),
    sub(
        "tv-recommendations",
        "tv/{id}/recommendations",
        "/3/tv/{id}/recommendations",
        &[ID, LANG_US, PAGE],
    ),
    sub(
        "tv-similar",
        "tv/{id}/similar",
        "/3/tv/{id}/similar",
        &[ID, LANG_US, PAGE],
    ),
    sub(
        "tv-watch-providers",
        "tv/{id}/watch/providers",
        "/3/tv/{id}/watch/providers",
        &[ID],
    ),
    sub(
        "tv-season-images",
        "tv/{id}/season/{season}/images",
        "/3/tv/{id}/season/{season}/images",
        &[ID, SEASON, LANG, IMAGE_LANGS],
    ),
    sub(
        "tv-season-credits",
        "tv/{id}/season/{season}/credits",
        "/3/tv/{id}/season/{season}/credits",
        &[ID, SEASON, LANG_US],
    ),
    sub(
        "tv-season-aggregate-credits",
        "tv/{id}/season/{season}/aggregate_credits",
        "/3/tv/{id}/season/{season}/aggregate_credits",
        &[ID, SEASON, LANG_US],
    ),
    sub(
        "tv-season-external-ids",
        "tv/{id}/season/{season}/external_ids",
        "/3/tv/{id}/season/{season}/external_ids",
        &[ID, SEASON],
    ),
    sub(
        "tv-season-videos",
        "tv/{id}/season/{season}/videos",
        "/3/tv/{id}/season/{season}/videos",
        &[ID, SEASON, LANG_US, VIDEO_LANGS],
    ),
    sub(
        "tv-episode-images",
        "tv/{id}/season/{season}/episode/{episode}/images",
        "/3/tv/{id}/season/{season}/episode/{episode}/images",
        &[ID, SEASON, EPISODE, LANG, IMAGE_LANGS],
    ),
    sub(
        "tv-episode-credits",
        "tv/{id}/season/{season}/episode/{episode}/credits",
        "/3/tv/{id}/season/{season}/episode/{episode}/credits",
        &[ID, SEASON, EPISODE, LANG_US],
    ),
    sub(
        "tv-episode-external-ids",
        "tv/{id}/season/{season}/episode/{episode}/external_ids",
        "/3/tv/{id}/season/{season}/episode/{episode}/external_ids",
        &[ID, SEASON, EPISODE],
    ),
    sub(
        "tv-episode-videos",
        "tv/{id}/season/{season}/episode/{episode}/videos",
        "/3/tv/{id}/season/{season}/episode/{episode}/videos",
        &[ID, SEASON, EPISODE, LANG_US, VIDEO_LANGS],
    ),
    sub(
        "person-images",
        "person/{id}/images",
        "/3/person/{id}/images",
        &[ID],
    ),
    sub(
        "person-external-ids",
        "person/{id}/external_ids",
        "/3/person/{id}/external_ids",
        &[ID],
    ),
    sub(
        "person-movie-credits",
        "person/{id}/movie_credits",
        "/3/person/{id}/movie_credits",
        &[ID, LANG_US],
    ),
    sub(
        "person-tv-credits",
        "person/{id}/tv_credits",
        "/3/person/{id}/tv_credits",
        &[ID, LANG_US],
    ),
    sub(
        "person-combined-credits",
        "person/{id}/combined_credits",
        "/3/person/{id}/combined_credits",
        &[ID, LANG_US],
    ),
    sub(
        "collection-images",
        "collection/{id}/images",
        "/3/collection/{id}/images",
        &[ID, LANG, IMAGE_LANGS],
    ),
    sub(
        "tv-season-translations",
        "tv/{id}/season/{season}/translations",
        "/3/tv/{id}/season/{season}/translations",
        &[ID, SEASON],
    ),
    sub(
        "tv-episode-translations",
        "tv/{id}/season/{season}/episode/{episode}/translations",
        "/3/tv/{id}/season/{season}/episode/{episode}/translations",
        &[ID, SEASON, EPISODE],
    ),
    sub(
        "person-translations",
        "person/{id}/translations",
        "/3/person/{id}/translations",
        &[ID],
    ),
    sub(
        "person-tagged-images",
        "person/{id}/tagged_images",
        "/3/person/{id}/tagged_images",
        &[ID, PAGE],
    ),
    sub(
        "collection-translations",
        "collection/{id}/translations",
        "/3/collection/{id}/translations",
        &[ID],
    ),
    sub("company", "company/{id}", "/3/company/{id}", &[ID]),
    sub(
        "company-images",
        "company/{id}/images",
        "/3/company/{id}/images",
        &[ID],
    ),
    sub("network", "network/{id}", "/3/network/{id}", &[ID]),
    sub(
        "network-images",
        "network/{id}/images",
        "/3/network/{id}/images",
        &[ID],
    ),
    sub("keyword", "keyword/{id}", "/3/keyword/{id}", &[ID]),
    sub(
        "credit",
        "credit/{credit_id}",
        "/3/credit/{credit_id}",
        &[Param::req(
            "credit_id",
            Kind::Ident {
                max_len: 40,
                extra: "",
            },
        )],
    ),
    list(
        "search-company",
        "search/company",
        "/3/search/company",
        &[QUERY, PAGE],
    ),
    list(
        "search-keyword",
        "search/keyword",
        "/3/search/keyword",
        &[QUERY, PAGE],
    ),
    sub(
        "configuration-countries",
        "configuration/countries",
        "/3/configuration/countries",
        &[LANG_US],
    ),
    sub(
        "configuration-languages",
        "configuration/languages",
        "/3/configuration/languages",
        &[],
    ),
    sub(
        "configuration-jobs",
        "configuration/jobs",
        "/3/configuration/jobs",
        &[],
    ),
    sub(
        "configuration-primary-translations",
        "configuration/primary_translations",
        "/3/configuration/primary_translations",
        &[],
    ),
    sub(
        "configuration-timezones",
        "configuration/timezones",
        "/3/configuration/timezones",
        &[],
    ),
    sub(
        "certification-movie",
        "certification/movie/list",
        "/3/certification/movie/list",
        &[],
    ),
    sub(
        "certification-tv",
        "certification/tv/list",
        "/3/certification/tv/list",
        &[],
    ),
    sub(
        "watch-providers-regions",
        "watch/providers/regions",
        "/3/watch/providers/regions",
        &[LANG_US],
    ),
    sub(
        "watch-providers-movie",
        "watch/providers/movie",
        "/3/watch/providers/movie",
        &[LANG_US, Param::opt("watch_region", Kind::Region)],
    ),
    sub(
        "watch-providers-tv",
        "watch/providers/tv",
        "/3/watch/providers/tv",
        &[LANG_US, Param::opt("watch_region", Kind::Region)],
    ),
    // An image, as `image.tmdb.org/t/p/{size}/{file}` serves it: stored
    // once in asset storage; the entry points at it. Images at a path
    // never change: a year fresh.
    ResourceDef {
        name: "image",
        route: "image/{size}/{file}",
        upstream: "/t/p/{size}/{file}",
        params: &[
            Param::req("size", Kind::OneOf(IMAGE_SIZES)),
            Param::req(
                "file",
                Kind::Ident {
                    max_len: 80,
                    extra: ".",
                },
            ),
        ],
        ttl: IMAGE_TTL,
    },
    ResourceDef {
        name: "configuration",
        route: "configuration",
        upstream: "/3/configuration",
        params: &[],
        ttl: Ttl::new(hours(24 * 7), hours(24 * 30), hours(1), hours(24 * 90)),
    },
];
