//! Web pages read into JSON, for providers without an API (Douban, Qidian):
//! what a browser asks for, how a page's 404 reads, and the text and
//! attributes of its elements.

use scraper::{ElementRef, Html, Node, Selector};
use serde_json::Value;

use super::{Fill, Response, Verdict, classify_status, not_found_body};

/// The `Accept` of a browser asking for a page.
pub(super) const ACCEPT_HTML: &str =
    "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8";

/// A 404 of an item's page (the resource `page`) is that item missing, with
/// `missing` as the reason; everything else reads the usual way.
pub(super) fn classify_page(
    fill: &Fill<'_>,
    response: &Response,
    page: &str,
    missing: &str,
) -> Verdict {
    match response.status {
        404 if fill.resource() == page => Verdict::NotFound(not_found_body(missing)),
        _ => classify_status(response),
    }
}

pub(super) fn selector(css: &str) -> Selector {
    Selector::parse(css).unwrap_or_else(|e| panic!("selector {css:?}: {e}"))
}

/// An element's text with whitespace runs collapsed.
pub(super) fn text(el: ElementRef<'_>) -> String {
    el.text()
        .collect::<String>()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

/// The text of the first element below `el` matching `css` that has any.
pub(super) fn first_text_in(el: ElementRef<'_>, css: &str) -> Option<String> {
    el.select(&selector(css)).map(text).find(|t| !t.is_empty())
}

/// The text of the first element of the page matching `css` that has any.
pub(super) fn first_text(doc: &Html, css: &str) -> Option<String> {
    first_text_in(doc.root_element(), css)
}

/// The texts of the elements of the page matching `css`, empty ones left out.
pub(super) fn all_text(doc: &Html, css: &str) -> Vec<String> {
    doc.root_element()
        .select(&selector(css))
        .map(text)
        .filter(|t| !t.is_empty())
        .collect()
}

/// The first non-blank `attr` of the elements below `el` matching `css`,
/// trimmed.
pub(super) fn attr_in(el: ElementRef<'_>, css: &str, attr: &str) -> Option<String> {
    el.select(&selector(css))
        .filter_map(|e| e.value().attr(attr))
        .map(str::trim)
        .find(|v| !v.is_empty())
        .map(String::from)
}

/// An element's text as lines: `<br>` ends a line, each line trimmed (the
/// ideographic indent too), blank lines dropped.
pub(super) fn lines(el: ElementRef<'_>) -> Vec<String> {
    let mut out = String::new();
    for node in el.descendants() {
        match node.value() {
            Node::Text(t) => out.push_str(t),
            Node::Element(e) if e.name() == "br" => out.push('\n'),
            _ => {}
        }
    }
    out.lines()
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
        .filter(|l| !l.is_empty())
        .collect()
}

/// A value, or JSON `null`.
pub(super) fn nullable<T: Into<Value>>(v: Option<T>) -> Value {
    v.map_or(Value::Null, Into::into)
}
