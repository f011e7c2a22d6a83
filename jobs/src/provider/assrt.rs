//! ASSRT (射手网(伪)) subtitle search (<https://assrt.net/api/doc>).
//!
//! Every answer carries a numeric `status` (0 = ok) that decides what it
//! means whatever the HTTP status: 20900 is an unknown subtitle, 30900 the
//! per-token quota, other codes are errors that are never cached.

use std::time::Duration;

use serde_json::Value;

use super::{
    Adapter, Auth, Fill, Host, Kind, Param, Product, ProviderDef, Rate, Request, ResourceDef,
    Response, Setting, Ttl, Verdict, classify_status, days, hours, mins, not_found_body,
    passthrough_json,
};

/// Flags the upstream takes as `1`; larder takes booleans, `false` meaning
/// absent.
const FLAGS: &[&str] = &["is_file", "no_muxer", "filelist"];

/// How long the lane pauses on "exceeding request limits" when the answer
/// says nothing: the quota is counted per minute.
const QUOTA_PAUSE: Duration = Duration::from_secs(60);

pub static ASSRT: ProviderDef = ProviderDef {
    auth: Auth::Query("token"),
    settings: &[Setting::required("api_key", "ASSRT_API_KEY")],
    credential: Some("api_key"),
    adapter: &AssrtAdapter,
    ..ProviderDef::new(
        "assrt",
        "ASSRT subtitles",
        // The backup domain api.makedie.me serves the same API; it is left to
        // configuration (LARDER_ASSRT_BASE_URL) since the quota is per token.
        &[Host {
            name: "",
            urls: &["https://api.assrt.net"],
        }],
        // The default quota is 20 calls a minute per token and per IP.
        Rate::per_window(20, mins(1), 5),
        &[
            ResourceDef {
                name: "search",
                route: "search",
                upstream: "/v1/sub/search",
                params: &[
                    // At least 3 characters upstream (status 101 otherwise).
                    Param::req(
                        "q",
                        Kind::Text {
                            max_len: 200,
                            fold_case: true,
                        },
                    ),
                    Param::default("cnt", Kind::Int { min: 1, max: 15 }, "15"),
                    Param::default(
                        "pos",
                        Kind::Int {
                            min: 0,
                            max: 100_000,
                        },
                        "0",
                    ),
                    Param::default("is_file", Kind::Bool, "false"),
                    Param::default("no_muxer", Kind::Bool, "false"),
                    Param::default("filelist", Kind::Bool, "false"),
                ],
                // Results change slowly and the quota is scarce; an empty
                // result (a 200) may be filled by new uploads, hence not 12 h.
                ttl: Ttl::new(hours(6), days(1), hours(1), days(3)),
            },
            ResourceDef {
                name: "detail",
                route: "sub/{id}",
                upstream: "/v1/sub/detail",
                params: &[Param::req(
                    "id",
                    Kind::Int {
                        min: 1,
                        max: i32::MAX as i64,
                    },
                )],
                // The download links are signed and expire: never served
                // older than 10 minutes, not even when the upstream fails.
                ttl: Ttl::new(mins(5), mins(5), hours(1), mins(5)),
            },
        ],
    )
};

struct AssrtAdapter;

impl Adapter for AssrtAdapter {
    fn next_call(&self, fill: &Fill<'_>, answers: &[Response]) -> Option<Request> {
        if !answers.is_empty() {
            return None;
        }
        let resolved = fill.resolved;
        let mut request = Request::get(resolved.resource.upstream);
        for (name, value) in resolved.path.iter().chain(&resolved.query) {
            match (FLAGS.contains(name), value.as_str()) {
                (true, "true") => request.push_query(name, "1"),
                (true, _) => {}
                (false, _) => request.push_query(name, value),
            }
        }
        Some(request)
    }

    fn classify(&self, fill: &Fill<'_>, _: &Request, response: &Response) -> Verdict {
        let body = response.json();
        let Some(status) = body.as_ref().and_then(|b| b.get("status")?.as_i64()) else {
            return match classify_status(response) {
                // Flow control as a bare HTTP 509.
                _ if response.status == 509 => {
                    Verdict::SlowDown(Some(response.retry_after().unwrap_or(QUOTA_PAUSE)))
                }
                Verdict::Found => Verdict::Garbage("no status in the answer".into()),
                other => other,
            };
        };
        match status {
            0 if fill.resource() == "detail" && no_subs(body.as_ref()) => {
                Verdict::NotFound(not_found_body("subtitle not found"))
            }
            0 if (200..300).contains(&response.status) => Verdict::Found,
            0 => classify_status(response),
            20900 => Verdict::NotFound(response.body.clone()),
            30900 => Verdict::SlowDown(Some(response.retry_after().unwrap_or(QUOTA_PAUSE))),
            // Server, database, search engine, temporarily unavailable.
            30000..=30899 => Verdict::Retry(format!("status {status}")),
            // No such user, invalid token.
            1 | 20001 => Verdict::Unauthorized,
            // Keyword too short, missing arguments, unknown codes.
            _ => Verdict::Rejected(if response.status >= 400 {
                response.status
            } else {
                400
            }),
        }
    }

    /// An empty search has `sub.subs` as `{}`: stored as `[]`, the type it
    /// has when there are results.
    fn finish(&self, _: &Fill<'_>, answers: Vec<Response>) -> Result<Product, String> {
        let last = answers.into_iter().last().ok_or("no answer")?;
        let mut body: Value = match last.json() {
            Some(v) => v,
            None => return passthrough_json(last),
        };
        match body.pointer_mut("/sub/subs") {
            Some(subs) if subs.as_object().is_some_and(|o| o.is_empty()) => {
                *subs = Value::Array(Vec::new());
                Ok(Product::json(&body))
            }
            _ => passthrough_json(last),
        }
    }
}

/// `sub.subs` missing or empty (`[]` or `{}`).
fn no_subs(body: Option<&Value>) -> bool {
    match body.and_then(|b| b.pointer("/sub/subs")) {
        Some(Value::Array(a)) => a.is_empty(),
        Some(Value::Object(o)) => o.is_empty(),
        _ => true,
    }
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;

    use super::*;
    use crate::provider::Resolved;
    use crate::provider::testing::{self, response};

    fn resolve(path: &str, query: &str) -> Resolved {
        testing::resolve(&ASSRT, path, query)
    }

    fn with_fill<T>(r: &Resolved, f: impl FnOnce(&Fill<'_>) -> T) -> T {
        testing::with_fill(&ASSRT, r, f)
    }

    fn classify(r: &Resolved, status: u16, body: &str) -> Verdict {
        testing::verdict(&ASSRT, r, &response(status, body))
    }

    #[test]
    fn search_keys_drop_defaults_and_flags_go_upstream_as_1() {
        let r = resolve(
            "search",
            "q=The%20Matrix&cnt=15&pos=0&is_file=true&no_muxer=0&filelist=1",
        );
        assert_eq!(
            r.key.as_str(),
            "assrt/search?filelist=true&is_file=true&q=the+matrix"
        );
        let call = with_fill(&r, |fill| AssrtAdapter.next_call(fill, &[])).unwrap();
        assert_eq!(
            call.path,
            "/v1/sub/search?filelist=1&is_file=1&q=the+matrix"
        );
        let r = resolve("search", "q=x&cnt=5&pos=30");
        let call = with_fill(&r, |fill| AssrtAdapter.next_call(fill, &[])).unwrap();
        assert_eq!(call.path, "/v1/sub/search?cnt=5&pos=30&q=x");
    }

    #[test]
    fn detail_id_goes_in_the_query() {
        let r = resolve("sub/673114", "");
        assert_eq!(r.key.as_str(), "assrt/sub/673114");
        let call = with_fill(&r, |fill| AssrtAdapter.next_call(fill, &[])).unwrap();
        assert_eq!(call.path, "/v1/sub/detail?id=673114");
        assert!(call.authorized);
    }

    #[test]
    fn bad_requests() {
        let code = |p: &str, q: &str| testing::code(&ASSRT, p, q);
        assert_eq!(code("search", ""), "missing-parameter");
        assert_eq!(code("search", "q=matrix&cnt=16"), "invalid-parameter");
        assert_eq!(code("search", "q=matrix&token=x"), "unknown-parameter");
        assert_eq!(code("sub/abc", ""), "invalid-parameter");
    }

    #[test]
    fn the_body_status_decides() {
        let search = resolve("search", "q=matrix");
        let detail = resolve("sub/1", "");
        assert_eq!(
            classify(&search, 200, r#"{"status":0,"sub":{"subs":{}}}"#),
            Verdict::Found
        );
        assert_eq!(
            classify(&detail, 200, r#"{"status":0,"sub":{"subs":[{"id":1}]}}"#),
            Verdict::Found
        );
        assert!(matches!(
            classify(&detail, 200, r#"{"status":0,"sub":{"subs":[]}}"#),
            Verdict::NotFound(_)
        ));
        let gone = r#"{"status":20900,"errmsg":"subtitle not found"}"#;
        assert_eq!(
            classify(&detail, 404, gone),
            Verdict::NotFound(Bytes::from(gone))
        );
        assert_eq!(
            classify(&detail, 200, gone),
            Verdict::NotFound(Bytes::from(gone))
        );
        assert_eq!(
            classify(
                &search,
                200,
                r#"{"status":30900,"errmsg":"exceeding request limits"}"#
            ),
            Verdict::SlowDown(Some(QUOTA_PAUSE))
        );
        assert!(matches!(
            classify(&search, 503, r#"{"status":30300}"#),
            Verdict::Retry(_)
        ));
        assert_eq!(
            classify(&search, 400, r#"{"status":20001,"errmsg":"invalid token"}"#),
            Verdict::Unauthorized
        );
        assert_eq!(
            classify(
                &search,
                200,
                r#"{"status":101,"errmsg":"length of keyword must be longer than 3"}"#
            ),
            Verdict::Rejected(400)
        );
        assert_eq!(
            classify(&search, 509, "Bandwidth"),
            Verdict::SlowDown(Some(QUOTA_PAUSE))
        );
        assert!(matches!(
            classify(&search, 200, "<html>"),
            Verdict::Garbage(_)
        ));
        assert!(matches!(
            classify(&search, 502, "<html>"),
            Verdict::Retry(_)
        ));
    }

    #[test]
    fn an_empty_search_is_stored_with_an_empty_list() {
        let r = resolve("search", "q=nothing");
        let empty =
            r#"{"sub":{"keyword":"x","result":"succeed","subs":{},"action":"search"},"status":0}"#;
        let product = with_fill(&r, |fill| {
            AssrtAdapter.finish(fill, vec![response(200, empty)])
        })
        .unwrap();
        let Product::Found { body, .. } = product else {
            panic!("an empty search is a 200");
        };
        let v: Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(v["sub"]["subs"], serde_json::json!([]));
        assert_eq!(v["sub"]["keyword"], "x");
    }
}
