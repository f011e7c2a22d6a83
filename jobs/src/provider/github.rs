//! GitHub REST API releases (<https://docs.github.com/rest/releases/releases>).
//!
//! A token (`GITHUB_TOKEN`) is optional: without one GitHub allows 60 calls
//! an hour per IP, with one 5,000. When the quota runs out GitHub answers
//! 403 (or 429) with `X-RateLimit-Remaining: 0` and the time it resets in
//! `X-RateLimit-Reset`: the provider pauses until then. A secondary limit
//! says so with `Retry-After` or in its message. Any other 403 is a refusal.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::{
    Adapter, Auth, Fill, Host, Kind, Param, Product, ProviderDef, Rate, Request, ResourceDef,
    Response, Setting, Ttl, Verdict, classify_status, days, hours, not_found_body,
    passthrough_json, secs,
};

/// User and organisation names: up to 39 characters.
const OWNER: Param = Param::req(
    "owner",
    Kind::Ident {
        max_len: 39,
        extra: "-_.",
    },
);
/// Repository names: up to 100 characters.
const REPO: Param = Param::req(
    "repo",
    Kind::Ident {
        max_len: 100,
        extra: "-_.",
    },
);

/// Releases appear now and then; the anonymous budget is 60 calls an hour.
/// A repository without releases may publish its first one.
const RELEASES: Ttl = Ttl::new(hours(1), hours(24), hours(1), days(7));

/// How long to hold off when GitHub asks without saying for how long
/// (its documentation: at least a minute).
const SECONDARY_PAUSE: Duration = secs(60);

pub static GITHUB: ProviderDef = ProviderDef {
    auth: Auth::Bearer,
    settings: &[Setting::optional("token", "GITHUB_TOKEN")],
    credential: Some("token"),
    rate_with_credential: Some(Rate::per_window(5000, hours(1), 50)),
    adapter: &GithubAdapter,
    ..ProviderDef::new(
        "github",
        "GitHub releases",
        &[Host {
            name: "",
            urls: &["https://api.github.com"],
        }],
        Rate::per_window(60, hours(1), 10),
        &[
            ResourceDef {
                name: "release-latest",
                route: "releases/{owner}/{repo}/latest",
                upstream: "/repos/{owner}/{repo}/releases/latest",
                params: &[OWNER, REPO],
                ttl: RELEASES,
            },
            ResourceDef {
                name: "releases",
                route: "releases/{owner}/{repo}",
                upstream: "/repos/{owner}/{repo}/releases",
                params: &[
                    OWNER,
                    REPO,
                    Param::default("per_page", Kind::Int { min: 1, max: 100 }, "30"),
                    Param::default(
                        "page",
                        Kind::Int {
                            min: 1,
                            max: 10_000,
                        },
                        "1",
                    ),
                ],
                ttl: RELEASES,
            },
        ],
    )
};

/// `.` and `..` are no repository's name, and would be dot segments in
/// the upstream path (`/repos/../users`).
fn is_dot_segment(v: &str) -> bool {
    v == "." || v == ".."
}

/// How long until `X-RateLimit-Reset` (UTC epoch seconds), at least a
/// second.
fn until_reset(response: &Response) -> Option<Duration> {
    let reset: u64 = response.header("x-ratelimit-reset")?.trim().parse().ok()?;
    // An absurd reset is no reason to crash: cap it like any pause.
    let at = UNIX_EPOCH.checked_add(Duration::from_secs(reset))?;
    let wait = at
        .duration_since(SystemTime::now())
        .unwrap_or(Duration::ZERO);
    Some(wait.max(secs(1)))
}

struct GithubAdapter;

impl Adapter for GithubAdapter {
    fn next_call(&self, fill: &Fill<'_>, answers: &[Response]) -> Option<Request> {
        if !answers.is_empty() {
            return None;
        }
        let names = [fill.param("owner"), fill.param("repo")];
        if names.into_iter().flatten().any(is_dot_segment) {
            return None;
        }
        Some(
            fill.table_request()
                .header("accept", "application/vnd.github+json")
                .header("x-github-api-version", "2022-11-28"),
        )
    }

    fn classify(&self, _: &Fill<'_>, _: &Request, response: &Response) -> Verdict {
        match response.status {
            403 | 429 => {
                let exhausted = response
                    .header("x-ratelimit-remaining")
                    .is_some_and(|v| v.trim() == "0");
                if exhausted {
                    return Verdict::SlowDown(Some(
                        until_reset(response)
                            .or_else(|| response.retry_after())
                            .unwrap_or(SECONDARY_PAUSE),
                    ));
                }
                if let Some(wait) = response.retry_after() {
                    return Verdict::SlowDown(Some(wait));
                }
                let secondary = String::from_utf8_lossy(&response.body)
                    .to_ascii_lowercase()
                    .contains("secondary rate limit");
                if response.status == 429 || secondary {
                    Verdict::SlowDown(Some(SECONDARY_PAUSE))
                } else {
                    Verdict::Rejected(403)
                }
            }
            _ => classify_status(response),
        }
    }

    fn finish(&self, _: &Fill<'_>, answers: Vec<Response>) -> Result<Product, String> {
        match answers.into_iter().last() {
            Some(last) => passthrough_json(last),
            None => Ok(Product::NotFound(not_found_body("no such repository"))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;
    use crate::provider::testing::{self, first_call, response_with};
    use crate::provider::{ProviderSettings, Resolved};

    fn resolve(path: &str, query: &str) -> Resolved {
        testing::resolve(&GITHUB, path, query)
    }

    fn code(path: &str, query: &str) -> &'static str {
        testing::code(&GITHUB, path, query)
    }

    fn settings(config: &Config) -> ProviderSettings {
        ProviderSettings::new(&GITHUB, config)
    }

    fn call(r: &Resolved) -> Option<Request> {
        first_call(&GITHUB, r)
    }

    fn verdict(status: u16, headers: &[(&str, &str)], body: &str) -> Verdict {
        let r = resolve("releases/cli/cli/latest", "");
        testing::verdict(&GITHUB, &r, &response_with(status, headers, body))
    }

    #[test]
    fn routes_map_to_the_releases_api() {
        let r = resolve("releases/cli/cli/latest", "");
        assert_eq!(r.resource.name, "release-latest");
        assert_eq!(r.key.as_str(), "github/releases/cli/cli/latest");
        let c = call(&r).unwrap();
        assert_eq!(c.path, "/repos/cli/cli/releases/latest");
        assert!(
            c.headers
                .contains(&("accept", "application/vnd.github+json".into()))
        );
        assert!(
            c.headers
                .contains(&("x-github-api-version", "2022-11-28".into()))
        );

        let r = resolve("releases/rust-lang/rust.vim", "per_page=30&page=2");
        assert_eq!(r.resource.name, "releases");
        assert_eq!(r.key.as_str(), "github/releases/rust-lang/rust.vim?page=2");
        assert_eq!(
            call(&r).unwrap().path,
            "/repos/rust-lang/rust.vim/releases?page=2"
        );
        let r = resolve("releases/a/b", "per_page=100");
        assert_eq!(call(&r).unwrap().path, "/repos/a/b/releases?per_page=100");
    }

    #[test]
    fn bad_names_and_params_are_refused() {
        assert_eq!(code("releases/a%2Fb/c", ""), "invalid-parameter");
        assert_eq!(code("releases/a/b%3Fx", ""), "invalid-parameter");
        assert_eq!(
            code(&format!("releases/{}/c", "a".repeat(40)), ""),
            "invalid-parameter"
        );
        assert_eq!(code("releases/a/b", "per_page=101"), "invalid-parameter");
        assert_eq!(code("releases/a/b", "page=0"), "invalid-parameter");
        assert_eq!(code("releases/a/b/latest", "page=2"), "unknown-parameter");
        assert_eq!(code("releases/a", ""), "unknown-resource");
    }

    #[test]
    fn dot_names_are_refused() {
        for path in [
            "releases/../users/latest",
            "releases/a/..",
            "releases/a/./latest",
        ] {
            let e = crate::provider::Catalogue::builtin()
                .resolve("github", path, "")
                .unwrap_err();
            assert_eq!(e.code, "invalid-parameter", "{path}");
        }
        assert!(call(&resolve("releases/a/.github", "")).is_some());
    }

    #[test]
    fn the_token_changes_the_rate() {
        assert_eq!(settings(&Config::default()).rate.calls, 60);
        let mut config = Config::default();
        config
            .providers
            .entry("github".into())
            .or_default()
            .settings
            .insert("token".into(), crate::config::Secret::new("ghp_x"));
        let s = settings(&config);
        assert_eq!(s.rate.calls, 5000);
        assert_eq!(s.credential(0), Some("ghp_x"));
    }

    #[test]
    fn an_exhausted_quota_pauses_until_the_reset() {
        let reset = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs()
            + 120;
        let reset = reset.to_string();
        let body = r#"{"message":"API rate limit exceeded for 203.0.113.7.","status":"403"}"#;
        for status in [403, 429] {
            let v = verdict(
                status,
                &[
                    ("x-ratelimit-remaining", "0"),
                    ("x-ratelimit-reset", &reset),
                ],
                body,
            );
            let Verdict::SlowDown(Some(wait)) = v else {
                panic!("{v:?}")
            };
            assert!(wait > secs(110) && wait <= secs(120), "{wait:?}");
        }
        // A reset already past still pauses a moment.
        assert_eq!(
            verdict(
                403,
                &[("x-ratelimit-remaining", "0"), ("x-ratelimit-reset", "1")],
                body
            ),
            Verdict::SlowDown(Some(secs(1)))
        );
    }

    #[test]
    fn secondary_limits_slow_down_and_other_403s_are_refusals() {
        assert_eq!(
            verdict(
                403,
                &[("x-ratelimit-remaining", "4000"), ("retry-after", "30")],
                "{}"
            ),
            Verdict::SlowDown(Some(secs(30)))
        );
        assert_eq!(
            verdict(
                403,
                &[("x-ratelimit-remaining", "4000")],
                r#"{"message":"You have exceeded a secondary rate limit."}"#
            ),
            Verdict::SlowDown(Some(SECONDARY_PAUSE))
        );
        assert_eq!(
            verdict(429, &[], "{}"),
            Verdict::SlowDown(Some(SECONDARY_PAUSE))
        );
        assert_eq!(
            verdict(
                403,
                &[("x-ratelimit-remaining", "59")],
                r#"{"message":"Resource not accessible by personal access token"}"#
            ),
            Verdict::Rejected(403)
        );
        assert_eq!(verdict(403, &[], "{}"), Verdict::Rejected(403));
        assert!(matches!(
            verdict(
                404,
                &[],
                r#"{"message":"Not Found","documentation_url":"https://docs.github.com/rest/releases/releases#get-the-latest-release","status":"404"}"#
            ),
            Verdict::NotFound(_)
        ));
        assert_eq!(verdict(401, &[], "{}"), Verdict::Unauthorized);
    }
}
