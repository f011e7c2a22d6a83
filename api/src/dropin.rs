//! The TMDB drop-in: `/3/{path}` answers like `api.themoviedb.org/3`, so a
//! media server that lets you set TMDB's base URL (Jellyfin, Emby, Kodi,
//! tinyMediaManager) can point at larder.
//!
//! The client gives its larder service key where it would give a TMDB key
//! (`api_key=` or a bearer token); larder drops it, resolves the rest
//! against the `tmdb` catalogue (the same keys, TTLs and single fill as
//! `/v1/tmdb/…`) and its worker puts larder's own TMDB key on the call.
//! Errors come in TMDB's shape (`{"success":false,"status_code":34,…}`)
//! with TMDB's HTTP status, which TMDB clients know how to read.

use std::sync::Arc;

use bytes::Bytes;
use http_body_util::BodyExt;
use hyper::header::{
    ACCEPT_ENCODING, CONTENT_LENGTH, CONTENT_TYPE, ETAG, HOST, HeaderValue, RETRY_AFTER,
};
use hyper::{HeaderMap, Response, StatusCode};
use larder_jobs::config::AuthMode;

use crate::reply::{ApiError, Body, Reply};
use crate::state::State;

/// A media server scanning a library waits for its answer: the longest
/// wait `Prefer` allows, unless the client says otherwise.
const WAIT: HeaderValue = HeaderValue::from_static("wait=30");

pub async fn tmdb(
    state: &Arc<State>,
    headers: &HeaderMap,
    path: &str,
    query: &str,
    head_only: bool,
) -> Reply {
    match answer(state, headers, path, query, head_only).await {
        Ok(r) => r,
        Err(e) => tmdb_error(&e),
    }
}

async fn answer(
    state: &Arc<State>,
    headers: &HeaderMap,
    path: &str,
    query: &str,
    head_only: bool,
) -> Result<Reply, ApiError> {
    let (key, query) = split_key(query);
    if state.config.auth == AuthMode::Required
        && state.config.tmdb_dropin_auth == AuthMode::Required
    {
        let token = key.as_deref().or_else(|| crate::auth::bearer(headers));
        crate::auth::check_token(state, token, Some("tmdb")).await?;
    }
    let mut asked = headers.clone();
    if !asked.contains_key("prefer") {
        asked.insert("prefer", WAIT);
    }
    let configuration = path.trim_matches('/') == "configuration";
    if configuration {
        // Rewritten below: read it as identity.
        asked.insert(ACCEPT_ENCODING, HeaderValue::from_static("identity"));
    }
    let reply = crate::read::read_open(state, &asked, "tmdb", path, &query, head_only).await?;
    match reply.status() {
        StatusCode::ACCEPTED => Err(ApiError::new(
            StatusCode::GATEWAY_TIMEOUT,
            "pending",
            "the fill is still running",
        )),
        StatusCode::OK if configuration && !head_only => {
            Ok(point_images_here(state, headers, reply).await)
        }
        // A negative entry: TMDB's own "not found".
        StatusCode::NOT_FOUND => Err(ApiError::upstream_not_found()),
        _ => Ok(reply),
    }
}

/// The query without `api_key` (the client's larder key), and the key.
fn split_key(query: &str) -> (Option<String>, String) {
    let mut key = None;
    let mut rest = form_urlencoded::Serializer::new(String::new());
    for (k, v) in form_urlencoded::parse(query.as_bytes()) {
        if k == "api_key" {
            key = Some(v.into_owned());
        } else {
            rest.append_pair(&k, &v);
        }
    }
    (key, rest.finish())
}

/// TMDB's `configuration` names the image host; a client builds every
/// image URL from it. Point it at larder's `/t/p/`, so images come through
/// larder too (stored once, served from storage).
async fn point_images_here(state: &State, headers: &HeaderMap, reply: Reply) -> Reply {
    let base = match &state.config.public_url {
        Some(url) => url.clone(),
        None => match headers.get(HOST).and_then(|h| h.to_str().ok()) {
            Some(host) => format!("http://{host}"),
            None => return reply,
        },
    };
    let (mut parts, body) = reply.into_parts();
    let Ok(collected) = body.collect().await else {
        return Response::from_parts(parts, Body::default());
    };
    let bytes = collected.to_bytes();
    let Ok(mut doc) = serde_json::from_slice::<serde_json::Value>(&bytes) else {
        return Response::from_parts(parts, Body::new(bytes));
    };
    if let Some(images) = doc.get_mut("images").and_then(|v| v.as_object_mut()) {
        let url = format!("{base}/t/p/");
        images.insert("base_url".into(), url.clone().into());
        images.insert("secure_base_url".into(), url.into());
    }
    let out = Bytes::from(doc.to_string());
    parts.headers.remove(ETAG);
    parts
        .headers
        .insert(CONTENT_LENGTH, HeaderValue::from(out.len()));
    Response::from_parts(parts, Body::new(out))
}

/// TMDB's code and HTTP status for one of larder's errors.
fn tmdb_status(e: &ApiError) -> (StatusCode, u16, &'static str) {
    match (e.status.as_u16(), e.code) {
        (401, _) => (
            StatusCode::UNAUTHORIZED,
            7,
            "Invalid API key: You must be granted a valid key.",
        ),
        (403, _) => (
            StatusCode::UNAUTHORIZED,
            3,
            "Authentication failed: You do not have permissions to access the service.",
        ),
        (404, _) | (400, "unknown-resource") => (
            StatusCode::NOT_FOUND,
            34,
            "The resource you requested could not be found.",
        ),
        (400, _) => (
            StatusCode::UNPROCESSABLE_ENTITY,
            5,
            "Invalid parameters: Your request parameters are incorrect.",
        ),
        (429, _) => (
            StatusCode::TOO_MANY_REQUESTS,
            25,
            "Your request count is over the allowed limit.",
        ),
        (504, _) => (
            StatusCode::GATEWAY_TIMEOUT,
            24,
            "Your request to the backend server timed out. Try again.",
        ),
        (503, _) => (
            StatusCode::SERVICE_UNAVAILABLE,
            9,
            "Service offline: This service is temporarily offline, try again later.",
        ),
        _ => (
            StatusCode::INTERNAL_SERVER_ERROR,
            11,
            "Internal error: Something went wrong, contact TMDB.",
        ),
    }
}

/// An error in TMDB's shape; larder's own code and message ride along
/// (TMDB clients ignore fields they do not know), so an operator still
/// sees what happened.
pub fn tmdb_error(e: &ApiError) -> Reply {
    let (status, code, message) = tmdb_status(e);
    let body = serde_json::json!({
        "success": false,
        "status_code": code,
        "status_message": message,
        "larder": {"code": e.code, "message": e.message},
    });
    let mut r = Response::new(Body::new(Bytes::from(body.to_string())));
    *r.status_mut() = status;
    r.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    if let Some(secs) = e.retry_after {
        r.headers_mut().insert(RETRY_AFTER, HeaderValue::from(secs));
    }
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_key_leaves_the_query() {
        let (key, rest) = split_key("api_key=lk_abc&language=de-DE&append_to_response=credits");
        assert_eq!(key.as_deref(), Some("lk_abc"));
        assert_eq!(rest, "language=de-DE&append_to_response=credits");
        assert_eq!(split_key(""), (None, String::new()));
    }

    #[test]
    fn errors_map_to_tmdb_codes() {
        let cases = [
            (ApiError::unauthorized("x"), 401, 7),
            (ApiError::upstream_not_found(), 404, 34),
            (
                ApiError::new(StatusCode::BAD_REQUEST, "unknown-resource", "x"),
                404,
                34,
            ),
            (
                ApiError::new(StatusCode::BAD_REQUEST, "invalid-parameter", "x"),
                422,
                5,
            ),
            (ApiError::unavailable(), 503, 9),
            (
                ApiError::new(StatusCode::BAD_GATEWAY, "upstream-error", "x"),
                500,
                11,
            ),
        ];
        for (e, status, code) in cases {
            let (s, c, _) = tmdb_status(&e);
            assert_eq!((s.as_u16(), c), (status, code), "{}", e.code);
        }
    }
}
