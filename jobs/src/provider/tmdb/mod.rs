//! TMDB v3 (<https://developer.themoviedb.org/reference>).

mod resources;

use super::{
    Adapter, Auth, Fill, Host, ProviderDef, ProviderSettings, Rate, Request, Resolved, Setting,
};
use crate::error::RequestError;

pub static TMDB: ProviderDef = ProviderDef {
    id: "tmdb",
    title: "The Movie Database v3",
    hosts: &[
        Host {
            name: "",
            urls: &["https://api.themoviedb.org"],
        },
        // `LARDER_TMDB_IMAGE_BASE_URL`.
        Host {
            name: "image",
            urls: &["https://image.tmdb.org"],
        },
    ],
    auth: Auth::Custom,
    settings: &[
        Setting::required("api_key", "TMDB_API_KEY"),
        // `poster:w500,backdrop:w1280`: image types and sizes fetched as
        // soon as a record referencing them is stored.
        Setting::optional("prefetch_images", "LARDER_TMDB_PREFETCH_IMAGES"),
    ],
    credential: Some("api_key"),
    user_agent: None,
    // TMDB allows ~50 requests/s per IP; stay under it.
    rate: Rate::per_second(40, 20),
    rate_with_credential: None,
    adapter: &TmdbAdapter,
    resources: resources::RESOURCES,
};

/// Every size TMDB's `configuration` lists for some image type.
pub const IMAGE_SIZES: &[&str] = &[
    "w45", "w92", "w154", "w185", "w300", "w342", "w500", "w780", "w1280", "h632", "original",
];

/// TMDB's image file names: a token of letters and digits and an image
/// extension (`kqjL17yufvn9OVLyXYpvtyrFfak.jpg`).
pub fn image_file_ok(file: &str) -> bool {
    let Some((stem, ext)) = file.rsplit_once('.') else {
        return false;
    };
    (8..=64).contains(&stem.len())
        && stem.bytes().all(|b| b.is_ascii_alphanumeric())
        && matches!(ext, "jpg" | "jpeg" | "png" | "svg" | "webp" | "gif")
}

/// Most images one stored record may prefetch (a search page has 20
/// posters; details with `images` appended can list hundreds).
const MAX_PREFETCH: usize = 40;

/// The image types TMDB's records name, by field: `poster_path`, or
/// `file_path` inside `images.posters[]`.
const IMAGE_FIELDS: &[(&str, &str, &str)] = &[
    ("poster", "poster_path", "posters"),
    ("backdrop", "backdrop_path", "backdrops"),
    ("profile", "profile_path", "profiles"),
    ("still", "still_path", "stills"),
    ("logo", "logo_path", "logos"),
];

/// `poster:w500,backdrop:w1280` → `[("poster", "w500"), …]`; entries with
/// an unknown type or size are an error.
pub fn parse_prefetch(spec: &str) -> Result<Vec<(&str, &str)>, String> {
    spec.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|item| {
            let (kind, size) = item
                .split_once(':')
                .ok_or_else(|| format!("{item:?}: expected type:size"))?;
            if !IMAGE_FIELDS.iter().any(|(k, _, _)| *k == kind) {
                return Err(format!("{item:?}: unknown image type {kind:?}"));
            }
            if !IMAGE_SIZES.contains(&size) {
                return Err(format!("{item:?}: unknown size {size:?}"));
            }
            Ok((kind, size))
        })
        .collect()
}

/// Every image path a TMDB record names, with its type, in document
/// order, at most `max`.
fn image_paths(value: &serde_json::Value, max: usize) -> Vec<(&'static str, String)> {
    fn walk(
        v: &serde_json::Value,
        list: Option<&'static str>,
        out: &mut Vec<(&'static str, String)>,
        max: usize,
    ) {
        if out.len() >= max {
            return;
        }
        match v {
            serde_json::Value::Object(map) => {
                for (k, child) in map {
                    if let Some((kind, _, _)) = IMAGE_FIELDS.iter().find(|(_, field, _)| field == k)
                    {
                        if let Some(p) = child.as_str() {
                            out.push((kind, p.trim_start_matches('/').to_owned()));
                        }
                    } else if k == "file_path"
                        && let (Some(kind), Some(p)) = (list, child.as_str())
                    {
                        out.push((kind, p.trim_start_matches('/').to_owned()));
                    } else {
                        let list = IMAGE_FIELDS
                            .iter()
                            .find(|(_, _, array)| array == k)
                            .map(|(kind, _, _)| *kind);
                        walk(child, list, out, max);
                    }
                    if out.len() >= max {
                        return;
                    }
                }
            }
            serde_json::Value::Array(items) => {
                for item in items {
                    walk(item, list, out, max);
                }
            }
            _ => {}
        }
    }
    let mut out = Vec::new();
    walk(value, None, &mut out, max);
    out.truncate(max);
    out
}

struct TmdbAdapter;

impl Adapter for TmdbAdapter {
    fn check(&self, resolved: &Resolved) -> Result<(), RequestError> {
        if resolved.resource.name == "image" && !resolved.param("file").is_some_and(image_file_ok) {
            return Err(RequestError::new(
                "invalid-parameter",
                "file: not a TMDB image file name (letters and digits, then .jpg, .png, .svg, .webp or .gif)",
            ));
        }
        Ok(())
    }

    fn check_settings(&self, settings: &ProviderSettings) -> Result<(), String> {
        let items = settings.setting_items("prefetch_images");
        parse_prefetch(&items.join(","))
            .map(|_| ())
            .map_err(|e| format!("LARDER_TMDB_PREFETCH_IMAGES: {e}"))
    }

    fn assets(&self, fill: &Fill<'_>, body: &[u8]) -> Vec<String> {
        let items = fill.settings.setting_items("prefetch_images");
        if items.is_empty() || fill.resource() == "image" {
            return Vec::new();
        }
        let spec = items.join(",");
        let Ok(wanted) = parse_prefetch(&spec) else {
            return Vec::new();
        };
        let Ok(doc) = serde_json::from_slice::<serde_json::Value>(body) else {
            return Vec::new();
        };
        let mut out: Vec<String> = Vec::new();
        for (kind, file) in image_paths(&doc, MAX_PREFETCH) {
            for (_, size) in wanted.iter().filter(|(k, _)| *k == kind) {
                let path = format!("image/{size}/{file}");
                if image_file_ok(&file) && !out.contains(&path) {
                    out.push(path);
                }
            }
        }
        out.truncate(MAX_PREFETCH);
        out
    }

    fn image_host(&self) -> Option<&'static str> {
        Some("image")
    }

    /// A v3 key goes in `api_key`; a v4 read-access token (a JWT) as a bearer.
    fn authorize(&self, _: &Fill<'_>, request: &mut Request, key: Option<&str>, _: Option<&str>) {
        if !request.authorized {
            return;
        }
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

#[cfg(test)]
mod tests;
