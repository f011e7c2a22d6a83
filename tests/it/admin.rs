//! The admin API (`/admin/*`): auth, bad input, and its effects on every
//! process (real `larder` processes on one database).

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::Duration;

use serde_json::{Value, json};

use crate::helpers::*;
use crate::processes::{all_and_api, exits_cleanly, ready, start};

const TOKEN: &str = "admin-token-for-tests-0123456789";

/// An HTTP client for one process's admin API.
struct Admin {
    http: reqwest::Client,
    addr: SocketAddr,
}

impl Admin {
    fn new(addr: SocketAddr) -> Admin {
        Admin {
            http: reqwest::Client::new(),
            addr,
        }
    }
    fn req(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        self.http
            .request(method, format!("http://{}{path}", self.addr))
            .bearer_auth(TOKEN)
    }
    async fn get(&self, path: &str) -> Value {
        let r = self.req(reqwest::Method::GET, path).send().await.unwrap();
        assert_eq!(r.status(), 200, "GET {path}");
        r.json().await.unwrap()
    }
    async fn send(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> (u16, Value) {
        let mut r = self.req(method, path);
        if let Some(b) = body {
            r = r.json(&b);
        }
        let r = r.send().await.unwrap();
        let status = r.status().as_u16();
        (status, r.json().await.unwrap_or(Value::Null))
    }
}

fn admin_env(db: &TestDb, upstream: &Upstream) -> BTreeMap<String, String> {
    let mut env = env_for(db, upstream);
    env.insert("LARDER_ADMIN_TOKEN".into(), TOKEN.into());
    env
}

#[tokio::test]
async fn without_a_token_configured_there_is_no_admin_api() {
    let app = TestApp::spawn().await;
    for path in ["/admin/", "/admin/keys", "/admin/config"] {
        let r = app
            .http
            .get(app.url(path))
            .bearer_auth("anything")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 404, "{path}");
    }
    app.stop().await;
}

#[tokio::test]
async fn admin_routes_check_the_token_methods_and_input() {
    let app = TestApp::with_env(&[
        ("LARDER_ADMIN_TOKEN", TOKEN),
        ("TMDB_API_KEY", "tmdb-secret-never-shown"),
        ("GITHUB_TOKEN", "ghp_secret_never_shown"),
    ])
    .await;
    let admin = Admin::new(app.addr);
    // The token: missing, wrong, right.
    let url = app.url("/admin/keys");
    assert_eq!(app.http.get(&url).send().await.unwrap().status(), 401);
    let wrong = app
        .http
        .get(&url)
        .bearer_auth("admin-token-for-tests-012345678X");
    assert_eq!(wrong.send().await.unwrap().status(), 401);
    admin.get("/admin/keys").await;
    // Every route but the console page, every method: 401 without the token.
    for route in larder_api::admin::ROUTES {
        if route.pattern == "/admin/" {
            continue;
        }
        let path = route.pattern.replace("{id}", "1").replace("{name}", "tmdb");
        for method in route.methods {
            let m = reqwest::Method::from_bytes(method.as_str().as_bytes()).unwrap();
            let r = app
                .http
                .request(m, app.url(&path))
                .bearer_auth("wrong")
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 401, "{method} {path}");
        }
    }
    // The console page needs no token (it asks for it).
    let page = app.http.get(app.url("/admin/")).send().await.unwrap();
    assert_eq!(page.status(), 200);
    assert!(
        page.headers()["content-security-policy"]
            .to_str()
            .unwrap()
            .contains("default-src 'none'")
    );
    assert!(page.text().await.unwrap().contains("<html"));
    // Methods other than the route's: 405 with Allow.
    let r = admin
        .req(reqwest::Method::PUT, "/admin/keys")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 405);
    assert_eq!(r.headers()["allow"], "GET, HEAD, POST");
    let r = admin
        .req(reqwest::Method::GET, "/admin/prewarm")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 405);
    assert_eq!(r.headers()["allow"], "POST");
    assert_eq!(
        admin
            .send(reqwest::Method::GET, "/admin/nothing", None)
            .await
            .0,
        404
    );
    // Bad input: 400 with a stable code; nothing changed.
    let post = reqwest::Method::POST;
    let patch = reqwest::Method::PATCH;
    let del = reqwest::Method::DELETE;
    let cases: Vec<(reqwest::Method, &str, Option<Value>, &str)> = vec![
        (
            post.clone(),
            "/admin/keys",
            Some(json!({"name": "x", "quota": "lots"})),
            "invalid-quota",
        ),
        (
            post.clone(),
            "/admin/keys",
            Some(json!({"name": "x", "scopes": ["nope"]})),
            "invalid-scope",
        ),
        (
            post.clone(),
            "/admin/keys",
            Some(json!({"name": ""})),
            "invalid-name",
        ),
        (
            post.clone(),
            "/admin/keys",
            Some(json!({"name": "x", "expires_in": "soon"})),
            "invalid-expires-in",
        ),
        (
            post.clone(),
            "/admin/keys",
            Some(json!({"name": "x", "owner": "me"})),
            "bad-json",
        ),
        (post.clone(), "/admin/keys", None, "bad-json"),
        (
            patch.clone(),
            "/admin/keys/abc",
            Some(json!({"quota": null})),
            "invalid-id",
        ),
        (
            reqwest::Method::GET,
            "/admin/jobs?state=lost",
            None,
            "invalid-state",
        ),
        (
            reqwest::Method::GET,
            "/admin/cache?limit=0",
            None,
            "invalid-limit",
        ),
        (del.clone(), "/admin/cache", None, "confirm-required"),
        (
            del.clone(),
            "/admin/cache?prefix=",
            None,
            "confirm-required",
        ),
        (
            patch.clone(),
            "/admin/providers/tmdb",
            Some(json!({})),
            "empty-patch",
        ),
        (
            patch.clone(),
            "/admin/providers/tmdb",
            Some(json!({"rate": "fast"})),
            "invalid-rate",
        ),
        (
            patch.clone(),
            "/admin/providers/tmdb",
            Some(json!({"ttl": "0s"})),
            "invalid-ttl",
        ),
        (
            patch.clone(),
            "/admin/providers/tmdb",
            Some(json!({"enabled": "no"})),
            "bad-json",
        ),
        (
            post.clone(),
            "/admin/prewarm",
            Some(json!({"paths": ["/v1/nope/x"]})),
            "invalid-path",
        ),
        (
            post.clone(),
            "/admin/prewarm",
            Some(json!({"paths": []})),
            "invalid-paths",
        ),
        (post.clone(), "/admin/jobs/../retry", None, "not-found"),
    ];
    for (method, path, body, code) in cases {
        let (status, answer) = admin.send(method.clone(), path, body).await;
        let expected = if code == "not-found" { 404 } else { 400 };
        assert_eq!(status, expected, "{method} {path}: {answer}");
        assert_eq!(answer["error"]["code"], code, "{method} {path}");
    }
    let big = json!({"name": "x".repeat(70_000)});
    assert_eq!(
        admin.send(post.clone(), "/admin/keys", Some(big)).await.0,
        413
    );
    assert_eq!(
        admin
            .send(reqwest::Method::GET, "/admin/keys/999", None)
            .await
            .1["error"]["code"],
        "key-not-found"
    );
    assert_eq!(
        admin
            .send(post.clone(), "/admin/jobs/01ABC/retry", None)
            .await
            .1["error"]["code"],
        "job-not-found"
    );
    assert_eq!(
        admin
            .send(reqwest::Method::GET, "/admin/providers/nope", None)
            .await
            .1["error"]["code"],
        "provider-not-found"
    );
    assert_eq!(app.db.count("SELECT count(*) FROM larder_keys").await, 0);
    // The configuration in effect, every secret redacted.
    let r = admin
        .req(reqwest::Method::GET, "/admin/config")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let text = r.text().await.unwrap();
    for secret in [TOKEN, "tmdb-secret-never-shown", "ghp_secret_never_shown"] {
        assert!(!text.contains(secret), "{secret} in /admin/config");
    }
    let config: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(config["admin_token"], "[redacted]");
    app.stop().await;
}

/// Every admin write made on one API process is in force on the other.
#[tokio::test]
async fn admin_writes_reach_every_process_and_survive_restarts() {
    init_logs();
    let db = TestDb::new().await;
    let upstream = Upstream::start().await;
    let mut env = admin_env(&db, &upstream);
    env.insert("LARDER_AUTH".into(), "required".into());
    env.insert("LARDER_UPSTREAM_ATTEMPTS".into(), "2".into());
    let (a, b) = all_and_api(&env).await;
    let http = reqwest::Client::new();
    let (a_addr, b_addr) = (a.addr.unwrap(), b.addr.unwrap());
    let (on_a, on_b) = (Admin::new(a_addr), Admin::new(b_addr));

    // Keys: created on a (the token is in that answer only), good on b;
    // revoked on b, refused by a.
    let (status, created) = on_a
        .send(
            reqwest::Method::POST,
            "/admin/keys",
            Some(json!({"name": "app", "scopes": ["tmdb"]})),
        )
        .await;
    assert_eq!(status, 201, "{created}");
    let token = created["token"].as_str().unwrap().to_owned();
    let id = created["key"]["id"].as_i64().unwrap();
    assert_eq!(created["key"]["scopes"], json!(["tmdb"]));
    let listed = on_b.get("/admin/keys").await;
    assert!(
        !listed.to_string().contains(&token),
        "a token is shown once"
    );
    let read = |addr: SocketAddr, path: &'static str| {
        let (http, token) = (http.clone(), token.clone());
        async move {
            http.get(format!("http://{addr}{path}"))
                .bearer_auth(token)
                .header("prefer", "wait=30")
                .send()
                .await
                .unwrap()
        }
    };
    assert_eq!(read(b_addr, "/v1/tmdb/movie/550").await.status(), 200);
    assert_eq!(
        read(b_addr, "/v1/openmeteo/forecast?latitude=1&longitude=1")
            .await
            .status(),
        403
    );

    // Cache: browse on b, purge on b, a's in-memory copy goes too.
    assert_eq!(
        read(a_addr, "/v1/tmdb/movie/550").await.headers()["x-cache"],
        "HIT"
    );
    let cache = on_b.get("/admin/cache?prefix=tmdb/movie/&limit=10").await;
    assert_eq!(cache["total"], 1);
    assert_eq!(cache["entries"][0]["key"], "tmdb/movie/550");
    assert_eq!(cache["entries"][0]["status"], 200);
    let (status, purged) = on_b
        .send(
            reqwest::Method::DELETE,
            "/admin/cache?prefix=tmdb/movie/",
            None,
        )
        .await;
    assert_eq!((status, purged["purged"].as_i64()), (200, Some(1)));
    eventually(Duration::from_secs(5), || async {
        read(a_addr, "/v1/tmdb/movie/550").await.headers()["x-cache"] == "MISS"
    })
    .await;
    assert_eq!(upstream.count(), 2);

    // Prewarm refetches even a fresh entry.
    let (status, warmed) = on_b
        .send(
            reqwest::Method::POST,
            "/admin/prewarm",
            Some(json!({"paths": ["/v1/tmdb/movie/550"]})),
        )
        .await;
    assert_eq!(status, 202, "{warmed}");
    assert_eq!(warmed["results"][0]["key"], "tmdb/movie/550");
    upstream.wait_for_hits(3).await;

    // Providers: switched off on a, b refuses at once; the worker too.
    let (status, p) = on_a
        .send(
            reqwest::Method::PATCH,
            "/admin/providers/tmdb",
            Some(json!({"enabled": false})),
        )
        .await;
    assert_eq!(status, 200, "{p}");
    assert_eq!(p["enabled"], false);
    eventually(Duration::from_secs(5), || async {
        let r = read(b_addr, "/v1/tmdb/movie/550").await;
        r.status() == 503
    })
    .await;
    let r = read(b_addr, "/v1/tmdb/movie/550").await;
    assert_eq!(error_code(r).await, "provider-disabled");
    // Back on, with a TTL and a rate of the operator's.
    let (status, p) = on_b
        .send(
            reqwest::Method::PATCH,
            "/admin/providers/tmdb",
            Some(json!({"enabled": null, "ttl": "2h", "rate": "900/min"})),
        )
        .await;
    assert_eq!(status, 200, "{p}");
    assert_eq!(
        (p["enabled"].clone(), p["ttl"].clone(), p["rate"].clone()),
        (json!(true), json!("2h"), json!("900/min"))
    );
    eventually(Duration::from_secs(5), || async {
        let p = on_a.get("/admin/providers/tmdb").await;
        p["rate"] == "900/min" && p["enabled"] == true
    })
    .await;
    // A refill takes the new TTL (workers re-read overrides every 2 s).
    eventually(Duration::from_secs(10), || async {
        on_a.send(
            reqwest::Method::DELETE,
            "/admin/cache?prefix=tmdb/movie/550",
            None,
        )
        .await;
        let r = read(a_addr, "/v1/tmdb/movie/550").await;
        r.status() == 200 && (7000..=7200).contains(&max_age(&r))
    })
    .await;

    // Jobs: a failed fill is listed with its reason and can be retried.
    // Every attempt of one fill (LARDER_UPSTREAM_ATTEMPTS=2) answers 500;
    // later calls get the fixture.
    upstream.script("/3/movie/551", [Step::status(500), Step::status(500)]);
    assert_eq!(read(b_addr, "/v1/tmdb/movie/551").await.status(), 502);
    // The job ends (acknowledged to the queue) just after its waiters are told.
    eventually(Duration::from_secs(5), || async {
        on_b.get("/admin/jobs?state=failed").await["jobs"]
            .as_array()
            .is_some_and(|j| !j.is_empty())
    })
    .await;
    let failed = on_b.get("/admin/jobs?state=failed").await;
    let job = failed["jobs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|j| j["key"] == "tmdb/movie/551")
        .unwrap_or_else(|| panic!("no failed job in {failed}"))
        .clone();
    assert!(
        job["error"].as_str().unwrap().contains("status 500"),
        "{job}"
    );
    let overview = on_a.get("/admin/overview").await;
    assert!(
        overview["queue"]["failed"].as_i64().unwrap() >= 1,
        "{overview}"
    );
    let providers = on_a.get("/admin/providers").await;
    let tmdb = providers["providers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "tmdb")
        .unwrap();
    assert!(
        tmdb["recent_errors"].to_string().contains("status 500"),
        "{tmdb}"
    );
    upstream.route("/3/movie/551", Step::file(200, "tmdb/movie/550.json"));
    let job_id = job["id"].as_str().unwrap();
    let (status, retried) = on_a
        .send(
            reqwest::Method::POST,
            &format!("/admin/jobs/{job_id}/retry"),
            None,
        )
        .await;
    assert_eq!(status, 202, "{retried}");
    assert_eq!(retried["key"], "tmdb/movie/551");
    // The retry alone fills the key (nobody reads it meanwhile).
    eventually(Duration::from_secs(10), || async {
        db.count("SELECT count(*) FROM larder_cache WHERE key = 'tmdb/movie/551' AND status = 200")
            .await
            == 1
    })
    .await;
    assert_eq!(
        read(b_addr, "/v1/tmdb/movie/551").await.headers()["x-cache"],
        "HIT"
    );
    let failed = on_b.get("/admin/jobs?state=failed").await;
    assert!(
        !failed.to_string().contains(job_id),
        "retried job still listed: {failed}"
    );

    // Revoked on b: a refuses the key.
    let (status, _) = on_b
        .send(reqwest::Method::DELETE, &format!("/admin/keys/{id}"), None)
        .await;
    assert_eq!(status, 200);
    eventually(Duration::from_secs(5), || async {
        read(a_addr, "/v1/tmdb/movie/550").await.status() == 401
    })
    .await;

    // Overrides survive restarts: a process started now has them.
    exits_cleanly(b).await;
    let c = start(&["api"], &env).await;
    let c_addr = c.addr.unwrap();
    ready(&http, c_addr).await;
    let p = Admin::new(c_addr).get("/admin/providers/tmdb").await;
    assert_eq!(
        (p["ttl"].clone(), p["rate"].clone()),
        (json!("2h"), json!("900/min"))
    );
    exits_cleanly(c).await;
    exits_cleanly(a).await;
    db.drop_db().await;
}

/// A key's quota holds across two API processes without touching others.
#[tokio::test]
async fn quotas_count_across_api_processes() {
    init_logs();
    let db = TestDb::new().await;
    let upstream = Upstream::start().await;
    let mut env = admin_env(&db, &upstream);
    env.insert("LARDER_AUTH".into(), "required".into());
    let (a, b) = all_and_api(&env).await;
    let http = reqwest::Client::new();
    let (a_addr, b_addr) = (a.addr.unwrap(), b.addr.unwrap());
    let admin = Admin::new(a_addr);
    let create = |body: Value| {
        let admin = &admin;
        async move {
            let (status, created) = admin
                .send(reqwest::Method::POST, "/admin/keys", Some(body))
                .await;
            assert_eq!(status, 201, "{created}");
            (
                created["key"]["id"].as_i64().unwrap(),
                created["token"].as_str().unwrap().to_owned(),
            )
        }
    };
    let (limited_id, limited) = create(json!({"name": "limited", "quota": "5/30d"})).await;
    let (_, free) = create(json!({"name": "free"})).await;
    let get = |addr: SocketAddr, token: String| {
        let http = http.clone();
        async move {
            http.get(format!("http://{addr}/v1/tmdb/movie/550"))
                .bearer_auth(token)
                .header("prefer", "wait=30")
                .send()
                .await
                .unwrap()
        }
    };
    for _ in 0..5 {
        assert_eq!(get(a_addr, limited.clone()).await.status(), 200);
    }
    let r = get(a_addr, limited.clone()).await;
    assert_eq!(r.status(), 429);
    let retry_after: u64 = r.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=2_592_000).contains(&retry_after), "{retry_after}");
    assert_eq!(error_code(r).await, "quota-exceeded");
    // a's count reaches the database within a flush; b then refuses the
    // key from its first request on, and serves the other key.
    eventually(Duration::from_secs(5), || async {
        db.count(&format!("SELECT COALESCE(sum(count), 0)::int8 FROM larder_quota_usage WHERE key_id = {limited_id}"))
            .await
            >= 5
    })
    .await;
    assert_eq!(get(b_addr, limited.clone()).await.status(), 429);
    for _ in 0..20 {
        assert_eq!(get(b_addr, free.clone()).await.status(), 200);
    }
    // A quota raised through the admin API applies at once.
    let (status, key) = admin
        .send(
            reqwest::Method::PATCH,
            &format!("/admin/keys/{limited_id}"),
            Some(json!({"quota": "100/30d"})),
        )
        .await;
    assert_eq!((status, key["quota"].clone()), (200, json!("100/2592000s")));
    eventually(Duration::from_secs(5), || async {
        get(b_addr, limited.clone()).await.status() == 200
    })
    .await;
    // The upstream was asked once; quotas are never the upstream's 429.
    assert_eq!(upstream.count(), 1);
    exits_cleanly(b).await;
    exits_cleanly(a).await;
    db.drop_db().await;
}
