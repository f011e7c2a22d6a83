//! Helpers for the providers' unit tests: resolve a request, build a fill
//! and an answer, and ask a provider's adapter about them.

use std::collections::BTreeMap;

use bytes::Bytes;
use serde_json::Value;

use super::{
    Catalogue, Fill, Product, ProviderDef, ProviderSettings, Request, Resolved, Response, Verdict,
};
use crate::config::Config;

/// A request to `def` that the catalogue accepts.
pub(crate) fn resolve(def: &ProviderDef, path: &str, query: &str) -> Resolved {
    Catalogue::builtin().resolve(def.id, path, query).unwrap()
}

/// The error code of a request to `def` that the catalogue refuses.
pub(crate) fn code(def: &ProviderDef, path: &str, query: &str) -> &'static str {
    Catalogue::builtin()
        .resolve(def.id, path, query)
        .unwrap_err()
        .code
}

/// `def`'s settings under the default configuration.
pub(crate) fn settings(def: &'static ProviderDef) -> ProviderSettings {
    ProviderSettings::new(def, &Config::default())
}

/// `def`'s settings with these environment variables set.
pub(crate) fn settings_with(def: &'static ProviderDef, env: &[(&str, &str)]) -> ProviderSettings {
    let env: BTreeMap<String, String> = env
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    ProviderSettings::new(def, &Config::load(None, &env).unwrap())
}

/// `f` on a fill of `resolved` with `settings`.
pub(crate) fn fill<T>(
    settings: &ProviderSettings,
    resolved: &Resolved,
    f: impl FnOnce(&Fill<'_>) -> T,
) -> T {
    f(&Fill { resolved, settings })
}

/// `f` on a fill of `resolved` with `def`'s default settings.
pub(crate) fn with_fill<T>(
    def: &'static ProviderDef,
    resolved: &Resolved,
    f: impl FnOnce(&Fill<'_>) -> T,
) -> T {
    fill(&settings(def), resolved, f)
}

/// `f` on a fill of a request to `def` with its default settings.
pub(crate) fn with_request<T>(
    def: &'static ProviderDef,
    path: &str,
    query: &str,
    f: impl FnOnce(&Fill<'_>) -> T,
) -> T {
    with_fill(def, &resolve(def, path, query), f)
}

/// The first call of a fill of `resolved`.
pub(crate) fn first_call(def: &'static ProviderDef, resolved: &Resolved) -> Option<Request> {
    with_fill(def, resolved, |f| def.adapter.next_call(f, &[]))
}

/// The one call of a fill of `resolved`: once it is answered, the fill
/// asks nothing more.
pub(crate) fn only_call(def: &'static ProviderDef, resolved: &Resolved) -> Request {
    with_fill(def, resolved, |f| {
        let call = def.adapter.next_call(f, &[]).unwrap();
        assert_eq!(def.adapter.next_call(f, &[response(200, "{}")]), None);
        call
    })
}

/// What `def`'s adapter makes of `response` to the table call of `resolved`.
pub(crate) fn verdict(
    def: &'static ProviderDef,
    resolved: &Resolved,
    response: &Response,
) -> Verdict {
    with_fill(def, resolved, |f| {
        def.adapter.classify(f, &f.table_request(), response)
    })
}

/// What `def`'s adapter stores from `answers` to a fill of `resolved`.
pub(crate) fn finish(
    def: &'static ProviderDef,
    resolved: &Resolved,
    answers: Vec<Response>,
) -> Result<Product, String> {
    with_fill(def, resolved, |f| def.adapter.finish(f, answers))
}

/// The JSON that `def`'s adapter stores from `answer` to a fill of
/// `resolved` (HTML read into JSON), or why it stores nothing.
pub(crate) fn finish_json(
    def: &'static ProviderDef,
    resolved: &Resolved,
    answer: Response,
) -> Result<Value, String> {
    match finish(def, resolved, vec![answer])? {
        Product::Found { content_type, body } => {
            assert_eq!(content_type, "application/json");
            Ok(serde_json::from_slice(&body).unwrap())
        }
        other => panic!("{other:?}"),
    }
}

/// The JSON body of a found entry.
pub(crate) fn found_json(product: Product) -> Value {
    match product {
        Product::Found { body, .. } => serde_json::from_slice(&body).unwrap(),
        other => panic!("{other:?}"),
    }
}

/// An answer without headers.
pub(crate) fn response(status: u16, body: &str) -> Response {
    response_with(status, &[], body)
}

/// An answer with these headers.
pub(crate) fn response_with(status: u16, headers: &[(&str, &str)], body: &str) -> Response {
    Response {
        status,
        headers: headers
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        body: Bytes::from(body.to_owned()),
        download: None,
    }
}

/// An HTML page as a scraped site serves it.
pub(crate) fn html(status: u16, body: &str) -> Response {
    response_with(
        status,
        &[("content-type", "text/html; charset=utf-8")],
        body,
    )
}
