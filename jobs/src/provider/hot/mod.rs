//! Hot lists (SPEC §3.3): the trending lists of Chinese and international
//! sites, each read from the upstream call DailyHotApi makes
//! (`imsyy/DailyHotApi`, `src/routes/{source}.ts`; facts, not code) and
//! normalised to one schema:
//!
//! ```json
//! {"source":"weibo","title":"微博","category":"热搜榜","updated_at":"2026-12-03T10:00:00Z","items":[
//!   {"rank":1,"id":"…","title":"…","url":"…","mobile_url":"…","hot":123456,"desc":"…",
//!    "cover":null,"author":null,"published_at":"2026-12-03T09:58:00Z"}]}
//! ```
//! (SPEC §3.3's schema; a field a source lacks is `null`. `id` and
//! `category` are extra.)
//!
//! A source is a row of [`sources::SOURCES`]: its host, its call, and how
//! its answer reads (a JSON mapping, or a page read with a maintained HTML
//! parser). An answer with no items is a failed fill, never an empty
//! success: the last list stays served (STALE, with its `Age`) until the
//! source works again.

mod json;
mod pages;
mod sources;
mod table;

use serde::Serialize;

use super::{
    Adapter, Fill, Host, Kind, Param, Product, ProviderDef, Rate, Request, Resolved, ResourceDef,
    Response, Setting, Ttl, days, hours, mins,
};
use crate::error::RequestError;

pub use sources::Source;
pub use table::SOURCES;

/// A list turns over within minutes; an hour stale is still news; a broken
/// source serves its last list for a week.
const LIST: Ttl = Ttl::new(mins(10), hours(1), mins(10), days(7));

/// A browser's User-Agent: several sources answer nothing else.
pub(crate) const BROWSER_UA: &str = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36";

pub static HOT: ProviderDef = ProviderDef {
    settings: &[
        // DailyHotApi's ZHIHU_COOKIE: Zhihu's list answers more with one.
        Setting::optional("zhihu_cookie", "ZHIHU_COOKIE"),
    ],
    adapter: &HotAdapter,
    ..ProviderDef::new(
        "hot",
        "Hot lists",
        table::HOSTS,
        // Spread over many sites; each is asked at most once per list TTL.
        Rate::per_second(5, 10),
        &[ResourceDef {
            name: "list",
            route: "{source}",
            upstream: "/",
            params: &[Param::req("source", Kind::OneOf(table::IDS))],
            ttl: LIST,
        }],
    )
};

/// One item of a list.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Item {
    pub rank: usize,
    pub id: String,
    pub title: String,
    pub url: String,
    pub mobile_url: Option<String>,
    pub desc: Option<String>,
    /// The site's own heat figure (views, votes, a score), when it gives one.
    pub hot: Option<f64>,
    pub cover: Option<String>,
    pub author: Option<String>,
    /// When the item was published, when the site says: unix seconds,
    /// written as RFC 3339 (`published_at`).
    #[serde(rename = "published_at", serialize_with = "rfc3339")]
    pub timestamp: Option<i64>,
}

fn rfc3339<S: serde::Serializer>(t: &Option<i64>, s: S) -> Result<S::Ok, S::Error> {
    match t.and_then(|t| chrono::DateTime::from_timestamp(t, 0)) {
        Some(t) => s.serialize_str(&t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)),
        None => s.serialize_none(),
    }
}

/// Most items kept per list.
const MAX_ITEMS: usize = 100;

fn source_of(id: &str) -> Option<&'static Source> {
    SOURCES.iter().find(|s| s.id == id)
}

/// `name=value` of the `Set-Cookie` named `name` in an answer.
fn set_cookie(response: &Response, name: &str) -> Option<String> {
    response
        .headers
        .iter()
        .filter(|(n, _)| n.eq_ignore_ascii_case("set-cookie"))
        .filter_map(|(_, v)| v.split(';').next())
        .map(str::trim)
        .find(|pair| {
            pair.split_once('=')
                .is_some_and(|(k, v)| k.trim() == name && !v.is_empty())
        })
        .map(String::from)
}

struct HotAdapter;

impl Adapter for HotAdapter {
    fn keeps_history(&self, _: &ResourceDef) -> bool {
        true
    }

    /// The items only: a list fetched again unchanged (a new `updated_at`)
    /// is not a new snapshot.
    fn history_digest(&self, body: &[u8]) -> u64 {
        match serde_json::from_slice::<serde_json::Value>(body) {
            Ok(doc) => xxhash_rust::xxh3::xxh3_64(doc["items"].to_string().as_bytes()),
            Err(_) => xxhash_rust::xxh3::xxh3_64(body),
        }
    }

    fn check(&self, resolved: &Resolved) -> Result<(), RequestError> {
        let id = resolved.param("source").unwrap_or_default();
        source_of(id)
            .map(|_| ())
            .ok_or_else(|| RequestError::new("invalid-parameter", format!("no hot source {id:?}")))
    }

    fn next_call(&self, fill: &Fill<'_>, answers: &[Response]) -> Option<Request> {
        let source = source_of(fill.param("source")?)?;
        // A source with a prelude: that call first, then the list with the
        // cookie it set.
        let cookie = match (source.prelude, answers.len()) {
            (Some((path, _)), 0) => {
                let mut r = Request::get(path).on_host(source.id);
                r.authorized = false;
                return Some(r.header("user-agent", BROWSER_UA));
            }
            (Some((_, name)), 1) => Some(set_cookie(&answers[0], name)?),
            (None, 0) => None,
            _ => return None,
        };
        let mut request = match source.body {
            Some(body) => Request::post_json(
                source.path,
                &serde_json::from_str(body).unwrap_or(serde_json::Value::Null),
            ),
            None => Request::get(source.path),
        }
        .on_host(source.id);
        request.authorized = false;
        request = request.header("user-agent", BROWSER_UA);
        for (name, value) in source.headers {
            request = request.header(name, *value);
        }
        if let Some(setting) = source.cookie
            && let Some(cookie) = fill.settings.setting(setting)
        {
            request = request.header("cookie", cookie);
        }
        if let Some(cookie) = cookie {
            request = request.header("cookie", cookie);
        }
        Some(request)
    }

    fn finish(&self, fill: &Fill<'_>, answers: Vec<Response>) -> Result<Product, String> {
        let source = source_of(fill.param("source").ok_or("no source")?).ok_or("no source")?;
        let last = answers.into_iter().last().ok_or("no answer")?;
        let mut items = match &source.parse {
            sources::Parse::Json(map) => json::read(map, &last.body)?,
            sources::Parse::Page(read) => read(&String::from_utf8_lossy(&last.body))?,
        };
        items.retain(|i| !i.title.trim().is_empty() && !i.url.is_empty());
        items.truncate(MAX_ITEMS);
        if items.is_empty() {
            return Err(format!("{}: no items in the answer", source.id));
        }
        for (i, item) in items.iter_mut().enumerate() {
            item.rank = i + 1;
        }
        Ok(Product::json(&serde_json::json!({
            "source": source.id,
            "title": source.title,
            "category": source.category,
            "updated_at": chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            "items": items,
        })))
    }
}

#[cfg(test)]
mod tests;
