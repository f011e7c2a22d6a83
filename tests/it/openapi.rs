//! `/openapi.json` against the routes really served, and (with
//! `scripts/fuzz-api`) schemathesis against a running larder.

use std::collections::BTreeSet;
use std::time::Duration;

use futures_util::future::join_all;
use serde_json::Value;

use crate::helpers::*;

const TOKEN: &str = "admin-token-for-openapi-tests";

/// A value the parameter's schema accepts.
fn sample(schema: &Value) -> String {
    if let Some(first) = schema["enum"].as_array().and_then(|v| v.first()) {
        return first
            .as_str()
            .map_or_else(|| first.to_string(), str::to_owned);
    }
    match schema["type"].as_str() {
        Some("integer") | Some("number") => {
            return schema["minimum"]
                .as_f64()
                .map_or("1".into(), |m| (m.max(1.0) as i64).to_string());
        }
        Some("boolean") => return "true".into(),
        _ => {}
    }
    if schema["format"] == "date" {
        return "2024-01-15".into();
    }
    let pattern = schema["pattern"].as_str().unwrap_or("");
    if let Some(rest) = pattern.strip_prefix("^((")
        && pattern.contains(")(,(")
    {
        // A comma-separated set: its first value.
        return rest.split(['|', ')']).next().unwrap_or("a").to_owned();
    }
    if let Some(rest) = pattern.strip_prefix("^(")
        && pattern.contains(")(,(")
    {
        return rest.split(['|', ')']).next().unwrap_or("a").to_owned();
    }
    if pattern.contains("[a-zA-Z]{2}(-") {
        return "en".into();
    }
    if pattern == "^[a-zA-Z]{2}$" {
        return "US".into();
    }
    if let Some(counts) = pattern.strip_prefix("^[A-Za-z")
        && !pattern.starts_with("^[A-Za-z0-9")
    {
        // A code of letters: `{min,max}`.
        let min = counts
            .rsplit('{')
            .next()
            .and_then(|c| c.split(',').next())
            .and_then(|n| n.parse::<usize>().ok())
            .unwrap_or(2);
        return "x".repeat(min.max(1));
    }
    if schema["maxLength"].as_u64() == Some(64) {
        return "UTC".into();
    }
    "abc1".into()
}

/// Codes meaning "no such route": the document named something not served.
const NOT_SERVED: &[&str] = &["not-found", "unknown-provider", "unknown-resource"];

#[tokio::test]
async fn the_document_describes_every_route_served_and_nothing_else() {
    let app = TestApp::with_env(&[("LARDER_ADMIN_TOKEN", TOKEN)]).await;
    let doc: Value = app.json("/openapi.json").await;
    assert!(
        doc["openapi"].as_str().unwrap().starts_with("3.1"),
        "{}",
        doc["openapi"]
    );
    let paths = doc["paths"].as_object().unwrap();
    // Every resource of every provider is described (the catalogue as the
    // API lists it), and every admin route.
    let providers = app.json("/v1/providers").await;
    let mut served = BTreeSet::new();
    for p in providers["providers"].as_array().unwrap() {
        for r in p["resources"].as_array().unwrap() {
            served.insert(r["route"].as_str().unwrap().to_owned());
        }
    }
    assert!(served.len() > 100, "{} resources", served.len());
    for route in &served {
        assert!(
            paths.contains_key(route),
            "{route} is served but not described"
        );
    }
    for route in larder_api::admin::ROUTES {
        assert!(
            paths.contains_key(route.pattern),
            "{} not described",
            route.pattern
        );
    }
    let described_v1: BTreeSet<&String> = paths
        .keys()
        .filter(|p| {
            p.starts_with("/v1/")
                && *p != "/v1/providers"
                && *p != "/v1/hot"
                && !p.ends_with("/history")
        })
        .collect();
    assert_eq!(
        described_v1.len(),
        served.len(),
        "described but not served: {:?}",
        described_v1
            .iter()
            .filter(|p| !served.contains(**p))
            .collect::<Vec<_>>()
    );
    // Every GET in the document, with values its schema accepts, reaches a
    // route (whatever the route then says about the values).
    let mut calls = Vec::new();
    for (path, item) in paths {
        let Some(op) = item.get("get") else { continue };
        let mut url = path.clone();
        let mut query = Vec::new();
        for p in op["parameters"].as_array().into_iter().flatten() {
            let value = sample(&p["schema"]);
            let name = p["name"].as_str().unwrap();
            match p["in"].as_str() {
                Some("path") => url = url.replace(&format!("{{{name}}}"), &value),
                _ if p["required"] == true => query.push(format!("{name}={value}")),
                _ => {}
            }
        }
        if !query.is_empty() {
            url = format!("{url}?{}", query.join("&"));
        }
        calls.push(url);
    }
    assert!(calls.len() > 150, "{} GET operations", calls.len());
    for chunk in calls.chunks(16) {
        let answers = join_all(chunk.iter().map(|url| {
            let r = app.http.get(app.url(url)).bearer_auth(TOKEN);
            async move {
                (
                    url.clone(),
                    r.timeout(Duration::from_secs(40)).send().await.unwrap(),
                )
            }
        }))
        .await;
        for (url, r) in answers {
            let status = r.status().as_u16();
            let body: Value = r.json().await.unwrap_or(Value::Null);
            let code = body["error"]["code"].as_str().unwrap_or("");
            assert!(
                !NOT_SERVED.contains(&code) && status != 405 && status != 500,
                "GET {url}: {status} {body}"
            );
        }
    }
    app.stop().await;
}

/// schemathesis against a running larder (every operation of the
/// document, generated and negative inputs): no 5xx but the upstream's,
/// answers as documented. Run by `scripts/fuzz-api` (installs it).
#[tokio::test]
#[ignore = "needs schemathesis: scripts/fuzz-api"]
async fn schemathesis_finds_no_server_error() {
    let app = TestApp::with_env(&[("LARDER_ADMIN_TOKEN", TOKEN)]).await;
    // Providers that log in first get their tokens; every other upstream
    // call gets the fixture or a 404 (negative-cached).
    app.upstream
        .route("/api/token", Step::file(200, "spotify/token.json"));
    app.upstream
        .route("/v4/login", Step::file(200, "thetvdb/login.json"));
    let st = std::env::var("SCHEMATHESIS").unwrap_or_else(|_| "st".into());
    let examples = std::env::var("FUZZ_EXAMPLES").unwrap_or_else(|_| "20".into());
    let out = tokio::process::Command::new(st)
        .args([
            "run",
            &app.url("/openapi.json"),
            "--checks",
            "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance",
            "--max-examples",
            &examples,
            "--header",
            &format!("Authorization: Bearer {TOKEN}"),
            // Writes that would change what the rest of the run sees (a
            // purge, a provider switched off) are left out; the other
            // admin routes are fuzzed.
            "--exclude-path-regex",
            "^/admin/(cache|providers/\\{name\\})$",
            "--request-timeout",
            "40",
            // Fuzzing and stateful phases (the coverage phase takes
            // minutes per hundred operations on two cores).
            "--phases",
            &std::env::var("FUZZ_PHASES").unwrap_or_else(|_| "examples,fuzzing,stateful".into()),
        ])
        .output()
        .await
        .expect("schemathesis (st) runs: install it with scripts/fuzz-api");
    let text = format!(
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    println!("{text}");
    assert!(out.status.success(), "schemathesis found failures");
    app.stop().await;
}
