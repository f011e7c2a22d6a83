//! The hot-list sources: for each, the upstream call DailyHotApi makes and
//! how its answer reads.

use super::Item;

/// How an item's URL is made: a field holding it, or a template whose
/// `{path}` placeholders are filled from the item (percent-encoded).
pub enum Link {
    Field(&'static str),
    Template(&'static str),
}

/// A JSON list: dotted paths from the answer to the array, and from each
/// element (or its `item` part) to the fields.
pub struct JsonList {
    pub list: &'static str,
    /// Where the fields are inside each element (`target` for Zhihu).
    pub item: Option<&'static str>,
    pub id: &'static str,
    pub title: &'static str,
    pub url: Link,
    pub mobile_url: Option<Link>,
    pub desc: Option<&'static str>,
    pub hot: Option<&'static str>,
    pub cover: Option<&'static str>,
    pub author: Option<&'static str>,
    pub timestamp: Option<&'static str>,
    /// Elements to leave out: `(path, value)` (ads, pinned items).
    pub skip: &'static [(&'static str, &'static str)],
    /// Elements to keep, when only some are items: `(path, value)`.
    pub only: &'static [(&'static str, &'static str)],
}

// Only ever in statics, never moved around: the size difference costs nothing.
#[allow(clippy::large_enum_variant)]
pub enum Parse {
    Json(JsonList),
    /// A page read with the HTML parser (see `pages`).
    Page(fn(&str) -> Result<Vec<Item>, String>),
}

pub struct Source {
    pub id: &'static str,
    pub title: &'static str,
    /// DailyHotApi's list type (热搜榜, 热榜, Trending…).
    pub category: &'static str,
    /// Path and query on the source's host (`LARDER_HOT_<ID>_BASE_URL`).
    pub path: &'static str,
    /// A JSON body: the call is a POST.
    pub body: Option<&'static str>,
    pub headers: &'static [(&'static str, &'static str)],
    /// The setting sent as `Cookie`, when the source takes one.
    pub cookie: Option<&'static str>,
    /// A first call whose `Set-Cookie` named this way is sent as the
    /// list call's `Cookie` (Douyin's `passport_csrf_token`): `(path, name)`.
    pub prelude: Option<(&'static str, &'static str)>,
    pub parse: Parse,
}

pub(super) const fn json(
    list: &'static str,
    id: &'static str,
    title: &'static str,
    url: Link,
) -> JsonList {
    JsonList {
        list,
        item: None,
        id,
        title,
        url,
        mobile_url: None,
        desc: None,
        hot: None,
        cover: None,
        author: None,
        timestamp: None,
        skip: &[],
        only: &[],
    }
}
