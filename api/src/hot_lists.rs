//! `/v1/hot`: the hot-list sources with their categories and last update,
//! and any list as RSS 2.0 (`/v1/hot/{source}?format=rss`, built with the
//! `rss` crate from the same cached entry as the JSON).

use std::sync::Arc;

use bytes::Bytes;
use http_body_util::BodyExt;
use hyper::header::{ACCEPT_ENCODING, CONTENT_LENGTH, CONTENT_TYPE, ETAG, HeaderValue};
use hyper::{HeaderMap, Response, StatusCode};
use larder_jobs::provider::hot::SOURCES;

use crate::reply::{ApiError, Body, Reply, json};
use crate::state::State;

/// `GET /v1/hot`.
pub async fn index(state: &State) -> Result<Reply, ApiError> {
    let updated = state.store.fetched_like("hot/").await?;
    let mut categories: Vec<&str> = Vec::new();
    let sources: Vec<serde_json::Value> = SOURCES
        .iter()
        .map(|s| {
            if !categories.contains(&s.category) {
                categories.push(s.category);
            }
            let key = format!("hot/{}", s.id);
            let at = updated
                .iter()
                .find(|(k, _)| *k == key)
                .map(|(_, t)| t.to_rfc3339());
            serde_json::json!({
                "id": s.id,
                "title": s.title,
                "category": s.category,
                "route": format!("/v1/hot/{}", s.id),
                "updated": at,
            })
        })
        .collect();
    Ok(json(
        StatusCode::OK,
        &serde_json::json!({"sources": sources, "categories": categories}),
    ))
}

/// The query without `format` (`format=json` is the plain read; any other
/// value is left in, for the catalogue to refuse).
pub fn without_format(query: &str) -> String {
    let mut rest = form_urlencoded::Serializer::new(String::new());
    for (k, v) in form_urlencoded::parse(query.as_bytes()) {
        if !(k == "format" && v == "json") {
            rest.append_pair(&k, &v);
        }
    }
    rest.finish()
}

/// `GET /v1/hot/{source}/history?date=YYYY-MM-DD[&tz=Asia/Shanghai]`: the
/// snapshots of that day (in `tz`, default UTC), oldest first; one per
/// change of the list.
pub async fn history(state: &State, source: &str, query: &str) -> Result<Reply, ApiError> {
    let bad =
        |code: &'static str, message: String| ApiError::new(StatusCode::BAD_REQUEST, code, message);
    if !SOURCES.iter().any(|s| s.id == source) {
        return Err(bad(
            "invalid-parameter",
            format!("no hot source {source:?}"),
        ));
    }
    let (mut date, mut tz) = (None, chrono_tz::Tz::UTC);
    for (k, v) in form_urlencoded::parse(query.as_bytes()) {
        match &*k {
            "date" => {
                date = Some(
                    chrono::NaiveDate::parse_from_str(&v, "%Y-%m-%d").map_err(|_| {
                        bad(
                            "invalid-parameter",
                            format!("date {v:?}: expected YYYY-MM-DD"),
                        )
                    })?,
                )
            }
            "tz" => {
                tz = v
                    .parse()
                    .map_err(|_| bad("invalid-parameter", format!("tz {v:?}: an IANA time zone")))?
            }
            other => {
                return Err(bad(
                    "unknown-parameter",
                    format!("history does not take parameter {other:?}"),
                ));
            }
        }
    }
    let date = date.unwrap_or_else(|| chrono::Utc::now().with_timezone(&tz).date_naive());
    let start = |d: chrono::NaiveDate| {
        d.and_hms_opt(0, 0, 0)
            .and_then(|t| t.and_local_timezone(tz).earliest())
            .map(|t| t.with_timezone(&chrono::Utc))
    };
    let (Some(from), Some(to)) = (start(date), date.succ_opt().and_then(start)) else {
        return Err(bad("invalid-parameter", "date out of range".into()));
    };
    let rows = state
        .store
        .snapshots(
            &format!("hot/{source}"),
            from,
            to,
            state.config.upstream.max_body_bytes,
        )
        .await?;
    let snapshots: Vec<serde_json::Value> = rows
        .iter()
        .filter_map(|(at, body)| {
            let doc: serde_json::Value = serde_json::from_slice(body).ok()?;
            Some(serde_json::json!({"fetched_at": at.to_rfc3339(), "items": doc["items"]}))
        })
        .collect();
    Ok(json(
        StatusCode::OK,
        &serde_json::json!({
            "source": source,
            "date": date.format("%Y-%m-%d").to_string(),
            "timezone": tz.name(),
            "snapshots": snapshots,
        }),
    ))
}

/// Whether a hot-list request asks for RSS; the query without `format`.
pub fn wants_rss(query: &str) -> Option<String> {
    let mut rss = false;
    let mut rest = form_urlencoded::Serializer::new(String::new());
    for (k, v) in form_urlencoded::parse(query.as_bytes()) {
        if k == "format" {
            rss = v == "rss";
            if !rss && v != "json" {
                return None;
            }
        } else {
            rest.append_pair(&k, &v);
        }
    }
    rss.then(|| rest.finish())
}

/// `GET /v1/hot/{source}?format=rss`: the list's entry, as RSS.
pub async fn rss(
    state: &Arc<State>,
    headers: &HeaderMap,
    source: &str,
    query: &str,
    head_only: bool,
) -> Result<Reply, ApiError> {
    let mut asked = headers.clone();
    asked.insert(ACCEPT_ENCODING, HeaderValue::from_static("identity"));
    let reply = crate::read::read(state, &asked, "hot", source, query, head_only).await?;
    if reply.status() != StatusCode::OK {
        return Ok(reply);
    }
    let (mut parts, body) = reply.into_parts();
    let bytes = body
        .collect()
        .await
        .map_err(|_| {
            ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                "internal error",
            )
        })?
        .to_bytes();
    let doc: serde_json::Value = serde_json::from_slice(&bytes).map_err(|_| {
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "internal error",
        )
    })?;
    let text = |v: &serde_json::Value, k: &str| v.get(k).and_then(|x| x.as_str()).map(String::from);
    let items: Vec<rss::Item> = doc["items"]
        .as_array()
        .map(|a| a.as_slice())
        .unwrap_or_default()
        .iter()
        .map(|i| {
            let mut item = rss::Item::default();
            item.set_title(text(i, "title"));
            item.set_link(text(i, "url"));
            item.set_description(text(i, "desc"));
            item.set_author(text(i, "author"));
            if let Some(url) = text(i, "url") {
                let mut guid = rss::Guid::default();
                guid.set_value(url);
                guid.set_permalink(true);
                item.set_guid(Some(guid));
            }
            item
        })
        .collect();
    let mut channel = rss::Channel::default();
    channel.set_title(format!(
        "{} · {}",
        text(&doc, "title").unwrap_or_default(),
        text(&doc, "category").unwrap_or_default()
    ));
    channel.set_link(format!("/v1/hot/{source}"));
    channel.set_description(format!("larder hot list {source}"));
    channel.set_generator(Some("larder".to_owned()));
    channel.set_items(items);
    let out = Bytes::from(channel.to_string());
    parts.headers.insert(
        CONTENT_TYPE,
        HeaderValue::from_static("application/rss+xml; charset=utf-8"),
    );
    parts.headers.remove(ETAG);
    parts.headers.remove(hyper::header::CONTENT_ENCODING);
    parts
        .headers
        .insert(CONTENT_LENGTH, HeaderValue::from(out.len()));
    Ok(Response::from_parts(parts, Body::new(out)))
}
