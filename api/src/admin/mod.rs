//! The operators' API, `/admin/*` (SPEC §3.4), and the web console at
//! `GET /admin/`.
//!
//! Served only when `LARDER_ADMIN_TOKEN` is set; every route but the
//! console page wants `Authorization: Bearer <that token>`, compared in
//! constant time. Routes are one table ([`ROUTES`]): the router matches a
//! path to its entry, the entry's methods decide 405 (with `Allow`), and the
//! OpenAPI document is built from the same table. Every write is logged
//! with what it changed, never a secret.

pub mod cache;
mod jobs;
pub mod keys;
pub mod providers;

use std::sync::{Arc, OnceLock};

use bytes::Bytes;
use http_body_util::{BodyExt, Limited};
use hyper::body::Incoming;
use hyper::header::{CACHE_CONTROL, HeaderValue};
use hyper::{HeaderMap, Method, Request, StatusCode};
use serde::de::DeserializeOwned;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::reply::{self, ApiError, Reply};
use crate::state::State;

/// The largest admin request body read.
const MAX_BODY: usize = 64 * 1024;

/// What an admin route does; one per path pattern of [`ROUTES`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Console,
    Overview,
    Keys,
    Key,
    Cache,
    Prewarm,
    Jobs,
    JobRetry,
    Providers,
    Provider,
    Config,
}

/// One admin path: its pattern (matchit syntax), what it does, its methods.
pub struct AdminRoute {
    pub pattern: &'static str,
    pub op: Op,
    pub methods: &'static [Method],
}

/// Every admin route.
pub const ROUTES: &[AdminRoute] = &[
    AdminRoute {
        pattern: "/admin/",
        op: Op::Console,
        methods: &[Method::GET],
    },
    AdminRoute {
        pattern: "/admin/overview",
        op: Op::Overview,
        methods: &[Method::GET],
    },
    AdminRoute {
        pattern: "/admin/keys",
        op: Op::Keys,
        methods: &[Method::GET, Method::POST],
    },
    AdminRoute {
        pattern: "/admin/keys/{id}",
        op: Op::Key,
        methods: &[Method::GET, Method::PATCH, Method::DELETE],
    },
    AdminRoute {
        pattern: "/admin/cache",
        op: Op::Cache,
        methods: &[Method::GET, Method::DELETE],
    },
    AdminRoute {
        pattern: "/admin/prewarm",
        op: Op::Prewarm,
        methods: &[Method::POST],
    },
    AdminRoute {
        pattern: "/admin/jobs",
        op: Op::Jobs,
        methods: &[Method::GET],
    },
    AdminRoute {
        pattern: "/admin/jobs/{id}/retry",
        op: Op::JobRetry,
        methods: &[Method::POST],
    },
    AdminRoute {
        pattern: "/admin/providers",
        op: Op::Providers,
        methods: &[Method::GET],
    },
    AdminRoute {
        pattern: "/admin/providers/{name}",
        op: Op::Provider,
        methods: &[Method::GET, Method::PATCH],
    },
    AdminRoute {
        pattern: "/admin/config",
        op: Op::Config,
        methods: &[Method::GET],
    },
];

fn router() -> &'static matchit::Router<usize> {
    static ROUTER: OnceLock<matchit::Router<usize>> = OnceLock::new();
    ROUTER.get_or_init(|| {
        let mut r = matchit::Router::new();
        for (i, route) in ROUTES.iter().enumerate() {
            r.insert(route.pattern, i)
                .expect("admin routes are distinct");
        }
        r
    })
}

/// A matched admin request: the route and its path parameter, if any.
pub(crate) struct Call<'a> {
    pub state: &'a Arc<State>,
    pub param: String,
    pub query: &'a str,
    pub method: Method,
    body: Option<Incoming>,
}

impl Call<'_> {
    /// The request body as `T` (JSON, at most 64 KiB).
    pub async fn json<T: DeserializeOwned>(&mut self) -> Result<T, ApiError> {
        let body = self.body.take().ok_or_else(|| bad("bad-body", "no body"))?;
        let bytes: Bytes = Limited::new(body, MAX_BODY)
            .collect()
            .await
            .map_err(|_| {
                ApiError::new(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "body-too-large",
                    format!("the body is larger than {MAX_BODY} bytes, or was cut short"),
                )
            })?
            .to_bytes();
        serde_json::from_slice(&bytes).map_err(|e| bad("bad-json", format!("body: {e}")))
    }

    /// `limit=`: 1 to `max`, `default` when absent.
    pub fn limit(&self, default: i64, max: i64) -> Result<i64, ApiError> {
        match self.query_param("limit") {
            None => Ok(default),
            Some(l) => l
                .parse::<i64>()
                .ok()
                .filter(|n| (1..=max).contains(n))
                .ok_or_else(|| bad("invalid-limit", format!("limit: 1 to {max}"))),
        }
    }

    /// A query parameter's value.
    pub fn query_param(&self, name: &str) -> Option<String> {
        form_urlencoded::parse(self.query.as_bytes())
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.into_owned())
    }
}

/// A 400 with a stable code.
pub(crate) fn bad(code: &'static str, message: impl Into<String>) -> ApiError {
    ApiError::new(StatusCode::BAD_REQUEST, code, message)
}

/// A 404 of a thing that does not exist.
pub(crate) fn missing(code: &'static str, message: impl Into<String>) -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, code, message)
}

/// A JSON answer.
pub(crate) fn json(status: StatusCode, value: &serde_json::Value) -> Reply {
    let mut r = reply::json(status, value);
    r.headers_mut()
        .insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

/// Whether `headers` carry the admin token (constant time: both sides are
/// hashed first, so neither the token's length nor its content shows in
/// the time taken).
fn authorized(state: &State, headers: &HeaderMap) -> bool {
    let (Some(expected), Some(given)) = (&state.config.admin_token, crate::auth::bearer(headers))
    else {
        return false;
    };
    let a = Sha256::digest(expected.expose().as_bytes());
    let b = Sha256::digest(given.as_bytes());
    a.ct_eq(&b).into()
}

const CONSOLE: &str = include_str!("console.html");
const CONSOLE_CSP: &str = "default-src 'none'; script-src 'unsafe-inline'; \
    style-src 'unsafe-inline'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; \
    form-action 'none'; frame-ancestors 'none'";

fn console() -> Reply {
    let mut r = reply::text(StatusCode::OK, "text/html; charset=utf-8", CONSOLE);
    let h = r.headers_mut();
    h.insert(
        "content-security-policy",
        HeaderValue::from_static(CONSOLE_CSP),
    );
    h.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert("referrer-policy", HeaderValue::from_static("no-referrer"));
    h.insert("x-frame-options", HeaderValue::from_static("DENY"));
    r
}

/// Serve an admin request (`path` starts with `/admin`).
pub async fn route(state: &Arc<State>, req: Request<Incoming>) -> Result<Reply, ApiError> {
    if state
        .config
        .admin_token
        .as_ref()
        .is_none_or(|t| t.expose().trim().is_empty())
    {
        // No token configured: the admin API does not exist.
        return Err(ApiError::not_found());
    }
    let (parts, body) = req.into_parts();
    let path = parts.uri.path();
    let path = if path == "/admin" { "/admin/" } else { path };
    let Ok(matched) = router().at(path) else {
        return Err(ApiError::not_found());
    };
    let route = &ROUTES[*matched.value];
    let param = matched
        .params
        .iter()
        .next()
        .map(|(_, v)| v.to_owned())
        .unwrap_or_default();
    let method = if parts.method == Method::HEAD {
        Method::GET
    } else {
        parts.method.clone()
    };
    if !route.methods.contains(&method) {
        return Err(not_allowed(route.methods));
    }
    if route.op == Op::Console {
        return Ok(console());
    }
    if !authorized(state, &parts.headers) {
        return Err(ApiError::unauthorized(
            "missing or wrong Authorization: Bearer <LARDER_ADMIN_TOKEN>",
        ));
    }
    let mut call = Call {
        state,
        param,
        query: parts.uri.query().unwrap_or(""),
        method,
        body: Some(body),
    };
    match route.op {
        Op::Console => Ok(console()),
        Op::Overview => jobs::overview(&call).await,
        Op::Keys if call.method == Method::POST => keys::create(&mut call).await,
        Op::Keys => keys::list(&call).await,
        Op::Key => keys::one(&mut call).await,
        Op::Cache => cache::entries(&call).await,
        Op::Prewarm => cache::prewarm(&mut call).await,
        Op::Jobs => jobs::list(&call).await,
        Op::JobRetry => jobs::retry(&call).await,
        Op::Providers => providers::list(&call).await,
        Op::Provider => providers::one(&mut call).await,
        Op::Config => Ok(json(StatusCode::OK, &providers::config(state))),
    }
}

/// 405 naming the route's methods.
fn not_allowed(methods: &[Method]) -> ApiError {
    let allow: Vec<&str> = methods
        .iter()
        .flat_map(|m| {
            if *m == Method::GET {
                vec!["GET", "HEAD"]
            } else {
                vec![m.as_str()]
            }
        })
        .collect();
    ApiError {
        allow: Some(allow.join(", ")),
        ..ApiError::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "method-not-allowed",
            format!("this route serves {}", allow.join(", ")),
        )
    }
}
