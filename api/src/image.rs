//! Answering from an asset entry: the entry (found like any other, in the
//! hot cache or Postgres, filled once on a miss) points at bytes in asset
//! storage; this sends them, or a redirect to them.
//!
//! The headers are decided from the pointer alone (so a 304 touches no
//! storage); the bytes are attached after: small images from a bounded
//! in-memory cache by content hash, others streamed from storage in 64 KiB
//! chunks, so 64 clients of a 20 MiB image cost a few MiB, not 1.3 GB.

use bytes::Bytes;
use hyper::header::{
    CACHE_CONTROL, CONTENT_LENGTH, CONTENT_TYPE, ETAG, HeaderName, HeaderValue, LOCATION,
};
use hyper::{Response, StatusCode};
use larder_jobs::assets::{Pointer, StorageError};

use crate::reply::{ApiError, Body, Reply};
use crate::state::State;

/// Images at most this large are kept in memory once read.
const SMALL: u64 = 512 * 1024;
/// The in-memory image cache's budget.
const CACHE_BYTES: u64 = 64 * 1024 * 1024;

pub type ImageCache = moka::sync::Cache<String, Bytes>;

pub fn cache() -> ImageCache {
    moka::sync::Cache::builder()
        .weigher(|k: &String, v: &Bytes| u32::try_from(k.len() + v.len()).unwrap_or(u32::MAX))
        .max_capacity(CACHE_BYTES)
        .build()
}

const IMMUTABLE: HeaderValue = HeaderValue::from_static("public, max-age=31536000, immutable");
/// An image is never a document: an SVG's scripts do not run, nothing it
/// links loads.
const CSP_NAME: HeaderName = HeaderName::from_static("content-security-policy");
const CSP: HeaderValue =
    HeaderValue::from_static("default-src 'none'; style-src 'unsafe-inline'; sandbox");

/// The asset's headers (200, or 304 when `If-None-Match` names its hash).
/// The body is attached by [`attach`], which finds the pointer in the
/// reply's extensions.
pub fn head(
    body: &[u8],
    x_cache: HeaderValue,
    inm: Option<&HeaderValue>,
) -> Result<Reply, ApiError> {
    let Some(p) = Pointer::from_json(body) else {
        tracing::error!("an asset entry that is not a pointer");
        return Err(ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "internal error",
        ));
    };
    let etag = HeaderValue::from_str(&format!("\"{}\"", p.sha256))
        .unwrap_or(HeaderValue::from_static("\"\""));
    let not_modified = inm.is_some_and(|v| crate::read::etag_matches(v, &etag));
    let mut r = Response::new(Body::default());
    let h = r.headers_mut();
    h.insert(ETAG, etag);
    h.insert(CACHE_CONTROL, IMMUTABLE);
    h.insert(crate::read::X_CACHE, x_cache);
    if not_modified {
        *r.status_mut() = StatusCode::NOT_MODIFIED;
        return Ok(r);
    }
    h.insert(
        CONTENT_TYPE,
        HeaderValue::from_str(&p.content_type)
            .unwrap_or(HeaderValue::from_static("application/octet-stream")),
    );
    h.insert(CONTENT_LENGTH, HeaderValue::from(p.size));
    h.insert(CSP_NAME, CSP);
    r.extensions_mut().insert(p);
    Ok(r)
}

/// Attach the bytes (or turn the answer into a redirect) when `reply` is an
/// asset's 200; anything else passes through.
pub async fn attach(state: &State, mut reply: Reply, head_only: bool) -> Result<Reply, ApiError> {
    let Some(p) = reply.extensions_mut().remove::<Pointer>() else {
        return Ok(reply);
    };
    if state.config.storage.redirect {
        match state.storage.url(&p.object).await {
            Ok(Some(url)) => return Ok(redirect(reply, &url, state)),
            Ok(None) => {}
            Err(e) => return Err(storage_failed(&p, e)),
        }
    }
    if head_only {
        return Ok(reply);
    }
    let body = if p.size <= SMALL {
        match state.images.get(&p.sha256) {
            Some(bytes) => Body::new(bytes),
            None => {
                let object = state
                    .storage
                    .get(&p.object)
                    .await
                    .map_err(|e| storage_failed(&p, e))?;
                let bytes = object
                    .collect(p.size)
                    .await
                    .map_err(|e| storage_failed(&p, e))?;
                if bytes.len() as u64 != p.size {
                    return Err(storage_failed(
                        &p,
                        StorageError::Unavailable("object size differs".into()),
                    ));
                }
                state.images.insert(p.sha256.clone(), bytes.clone());
                Body::new(bytes)
            }
        }
    } else {
        let object = state
            .storage
            .get(&p.object)
            .await
            .map_err(|e| storage_failed(&p, e))?;
        Body::stream(object.body, p.size)
    };
    *reply.body_mut() = body;
    Ok(reply)
}

/// A 302 to where the bytes are. A public URL is stable; a presigned one
/// is cached by clients for a fraction of its life only.
fn redirect(mut reply: Reply, url: &str, state: &State) -> Reply {
    let Ok(location) = HeaderValue::from_str(url) else {
        return reply;
    };
    *reply.status_mut() = StatusCode::FOUND;
    let h = reply.headers_mut();
    for name in [CONTENT_TYPE, CONTENT_LENGTH, CSP_NAME] {
        h.remove(name);
    }
    h.insert(LOCATION, location);
    let cache = match &state.config.storage.s3.public_base {
        Some(_) => "public, max-age=86400".to_owned(),
        None => format!(
            "private, max-age={}",
            state.config.storage.s3.presign_ttl.as_secs() / 2
        ),
    };
    if let Ok(v) = HeaderValue::from_str(&cache) {
        h.insert(CACHE_CONTROL, v);
    }
    reply
}

fn storage_failed(p: &Pointer, e: StorageError) -> ApiError {
    tracing::warn!(object = p.object, error = %e, "asset storage failed; 503");
    ApiError::storage_unavailable()
}
