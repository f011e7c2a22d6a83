//! TMDB's routes, keys and image prefetch.

use crate::provider::Catalogue;

fn resolve(path: &str, query: &str) -> Result<crate::provider::Resolved, String> {
    Catalogue::builtin()
        .resolve("tmdb", path, query)
        .map_err(|e| e.code.to_string())
}

#[test]
fn new_routes_map_to_their_upstream_paths() {
    for (path, query, key, upstream) in [
        (
            "collection/10",
            "language=en-us",
            "tmdb/collection/10",
            "/3/collection/10",
        ),
        (
            "search/multi",
            "query=Star%20Wars&page=2",
            "tmdb/search/multi?page=2&query=star+wars",
            "/3/search/multi?page=2&query=star+wars",
        ),
        (
            "search/collection",
            "query=avengers&region=de&include_adult=false",
            "tmdb/search/collection?query=avengers&region=DE",
            "/3/search/collection?query=avengers&region=DE",
        ),
        (
            "find/tt0111161",
            "external_source=IMDB_ID",
            "tmdb/find/tt0111161?external_source=imdb_id",
            "/3/find/tt0111161?external_source=imdb_id",
        ),
        (
            "trending/all/day",
            "",
            "tmdb/trending/all/day",
            "/3/trending/all/day",
        ),
        (
            "trending/person/week",
            "page=3&language=de",
            "tmdb/trending/person/week?language=de&page=3",
            "/3/trending/person/week?language=de&page=3",
        ),
        (
            "genre/tv/list",
            "language=en",
            "tmdb/genre/tv/list",
            "/3/genre/tv/list",
        ),
        (
            "genre/movie/list",
            "language=fr",
            "tmdb/genre/movie/list?language=fr",
            "/3/genre/movie/list?language=fr",
        ),
    ] {
        let r = resolve(path, query).unwrap();
        assert_eq!(r.key.as_str(), key, "{path}?{query}");
        assert_eq!(r.upstream_path_and_query(), upstream, "{path}?{query}");
        let again = Catalogue::builtin().resolve_key(r.key.as_str()).unwrap();
        assert_eq!(again.key, r.key);
    }
    assert_eq!(
        resolve("trending/all/day", "").unwrap().resource.name,
        "trending-day"
    );
    assert_eq!(
        resolve("trending/tv/week", "").unwrap().resource.name,
        "trending-week"
    );
}

#[test]
fn bad_new_requests_are_refused_before_any_call() {
    for (path, query, code) in [
        ("trending/all/month", "", "unknown-resource"),
        ("trending/people/day", "", "invalid-parameter"),
        ("genre/person/list", "", "invalid-parameter"),
        ("genre/movie/list", "language=english", "invalid-parameter"),
        ("find/tt0111161", "", "missing-parameter"),
        (
            "find/tt0111161",
            "external_source=freebase_id",
            "invalid-parameter",
        ),
        (
            "find/tt%2F1",
            "external_source=imdb_id",
            "invalid-parameter",
        ),
        ("collection/abc", "", "invalid-parameter"),
        ("collection/10", "page=2", "unknown-parameter"),
        ("search/multi", "", "missing-parameter"),
        ("search/multi", "query=x&page=501", "invalid-parameter"),
        (
            "search/collection",
            "query=x&region=usa",
            "invalid-parameter",
        ),
    ] {
        assert_eq!(resolve(path, query).unwrap_err(), code, "{path}?{query}");
    }
}

#[test]
fn image_routes_take_tmdb_sizes_and_file_names_only() {
    let r = resolve("image/w500/kqjL17yufvn9OVLyXYpvtyrFfak.jpg", "").unwrap();
    assert_eq!(
        r.key.as_str(),
        "tmdb/image/w500/kqjL17yufvn9OVLyXYpvtyrFfak.jpg"
    );
    assert_eq!(
        r.upstream_path_and_query(),
        "/t/p/w500/kqjL17yufvn9OVLyXYpvtyrFfak.jpg"
    );
    for (path, code) in [
        (
            "image/w501/kqjL17yufvn9OVLyXYpvtyrFfak.jpg",
            "invalid-parameter",
        ),
        (
            "image/w500/kqjL17yufvn9OVLyXYpvtyrFfak.exe",
            "invalid-parameter",
        ),
        ("image/w500/..%2Fetc.jpg", "invalid-parameter"),
        ("image/w500/a.jpg", "invalid-parameter"),
        (
            "image/w500/kqjL17yufvn9OVLyXYpvtyrFfak.jpg/x",
            "unknown-resource",
        ),
    ] {
        assert_eq!(resolve(path, "").unwrap_err(), code, "{path}");
    }
    assert_eq!(
        resolve("image/w500/kqjL17yufvn9OVLyXYpvtyrFfak.jpg", "w=1").unwrap_err(),
        "unknown-parameter"
    );
}

#[test]
fn what_media_servers_ask_resolves() {
    for (path, query) in [
        (
            "movie/550",
            "language=de-DE&include_image_language=de,en,null&append_to_response=credits,images,keywords,release_dates,videos",
        ),
        ("movie/550/images", "include_image_language=en,null"),
        ("movie/550/credits", ""),
        ("movie/550/external_ids", ""),
        ("movie/550/release_dates", ""),
        ("movie/popular", "page=2&region=US"),
        (
            "tv/1399",
            "append_to_response=credits,images,keywords,external_ids,videos,content_ratings,episode_groups",
        ),
        (
            "tv/1399/season/1",
            "append_to_response=credits,images,external_ids,videos",
        ),
        (
            "tv/1399/season/1/episode/1",
            "append_to_response=credits,images,external_ids,videos",
        ),
        ("tv/1399/season/1/episode/1/images", ""),
        (
            "tv/episode_group/5acf93e60e0a26346d0000ce",
            "language=en-US",
        ),
        ("tv/1399/content_ratings", ""),
        (
            "person/287",
            "append_to_response=images,external_ids,combined_credits",
        ),
        ("person/287/tagged_images", "page=1"),
        ("collection/10/images", ""),
        (
            "discover/movie",
            "with_genres=28%7C12&primary_release_date.gte=2020-01-01&sort_by=vote_average.desc&vote_count.gte=100",
        ),
        ("discover/tv", "with_networks=213&first_air_date_year=2019"),
        ("search/company", "query=pixar"),
        ("company/3", ""),
        ("configuration/languages", ""),
        ("certification/movie/list", ""),
        ("watch/providers/movie", "watch_region=DE"),
    ] {
        resolve(path, query).unwrap_or_else(|e| panic!("{path}?{query}: {e}"));
    }
    assert_eq!(
        resolve("discover/movie", "sort_by=best").unwrap_err(),
        "invalid-parameter"
    );
    assert_eq!(
        resolve("movie/popular", "").unwrap().resource.name,
        "movie-popular"
    );
}

#[test]
fn records_name_their_images_by_type() {
    let doc = serde_json::json!({
        "poster_path": "/pB8BM7pdSp6B6Ih7QZ4DrQ3PmJK.jpg",
        "backdrop_path": null,
        "production_companies": [{"logo_path": "/7cxRWzi4LsVm4Utfpr1hfARNurT.png"}],
        "images": {
            "backdrops": [{"file_path": "/hZkgoQYus5vegHoetLkCJzb17zJ.jpg"}],
            "posters": [{"file_path": "/pB8BM7pdSp6B6Ih7QZ4DrQ3PmJK.jpg"}]
        },
        "credits": {"cast": [{"profile_path": "/r7WLn4Kbnqb6oJ8TmSI0e4LkWTj.jpg"}]}
    });
    let found = super::image_paths(&doc, 40);
    let kinds: Vec<&str> = found.iter().map(|(k, _)| *k).collect();
    assert_eq!(found.len(), 5, "{found:?}");
    for k in ["poster", "backdrop", "logo", "profile"] {
        assert!(kinds.contains(&k), "{k}: {found:?}");
    }
    assert_eq!(super::image_paths(&doc, 2).len(), 2);
    assert_eq!(
        super::parse_prefetch("poster:w500, backdrop:w1280").unwrap(),
        vec![("poster", "w500"), ("backdrop", "w1280")]
    );
    assert!(super::parse_prefetch("poster:w501").is_err());
    assert!(super::parse_prefetch("cover:w500").is_err());
}

#[test]
fn older_routes_keep_their_keys() {
    let r = resolve("movie/550", "language=en-US").unwrap();
    assert_eq!(r.key.as_str(), "tmdb/movie/550?language=en-US");
    let r = resolve("search/movie", "query=Fight+Club&page=1").unwrap();
    assert_eq!(r.key.as_str(), "tmdb/search/movie?query=fight+club");
}
