//! The operators' web console (`GET /admin/`) in a real headless Chromium,
//! driven over WebDriver: sign in, queue counts, cache browse and purge,
//! retry of a failed fill, a key created (its token shown once) and revoked.
//!
//! Needs Debian's `chromium` and `chromium-driver` (scripts/test installs
//! them); `LARDER_CHROMIUM` and `LARDER_CHROMEDRIVER` point elsewhere. A
//! machine without them fails this test rather than skipping it.

use std::future::Future;
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use fantoccini::elements::Element;
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{Value, json};

use crate::helpers::*;

const ADMIN: &str = "console-admin-token-0123456789";
/// How long the browser gets to show something.
const WAIT: Duration = Duration::from_secs(20);

fn tool(env: &str, default: &str, package: &str) -> PathBuf {
    let path = PathBuf::from(std::env::var(env).unwrap_or_else(|_| default.into()));
    assert!(
        path.exists(),
        "{} not found: the console's browser test needs Debian's `{package}` \
         (apt-get install -y chromium chromium-driver; scripts/test installs it) \
         or {env} naming it",
        path.display()
    );
    path
}

/// chromedriver in a process group of its own, with the browsers it starts:
/// the whole group is killed when this is dropped, on a panic too.
struct Driver {
    child: Child,
    port: u16,
    profile: tempfile::TempDir,
    chromium: PathBuf,
}

impl Driver {
    async fn start() -> Driver {
        let chromium = tool("LARDER_CHROMIUM", "/usr/bin/chromium", "chromium");
        let chromedriver = tool(
            "LARDER_CHROMEDRIVER",
            "/usr/bin/chromedriver",
            "chromium-driver",
        );
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new(&chromedriver)
            .arg(format!("--port={port}"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", chromedriver.display()));
        let mut driver = Driver {
            child,
            port,
            profile: tempfile::tempdir().unwrap(),
            chromium,
        };
        let status = format!("http://127.0.0.1:{port}/status");
        let http = reqwest::Client::new();
        let end = tokio::time::Instant::now() + WAIT;
        loop {
            if let Ok(r) = http.get(&status).send().await
                && let Ok(body) = r.json::<Value>().await
                && body["value"]["ready"] == true
            {
                return driver;
            }
            if let Ok(Some(exit)) = driver.child.try_wait() {
                panic!("chromedriver exited at start: {exit}");
            }
            assert!(
                tokio::time::Instant::now() < end,
                "chromedriver not ready on port {port} within {WAIT:?}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    async fn browser(&self) -> Browser {
        let caps = json!({
            "browserName": "chrome",
            // Commands sent while a dialog is open fail instead of
            // silently dismissing it.
            "unhandledPromptBehavior": "ignore",
            "goog:chromeOptions": {
                "binary": self.chromium,
                "args": [
                    "--headless",
                    "--no-sandbox",
                    "--disable-dev-shm-usage",
                    "--disable-gpu",
                    "--no-first-run",
                    "--window-size=1400,1000",
                    format!("--user-data-dir={}", self.profile.path().display()),
                ],
            },
        });
        let Value::Object(caps) = caps else {
            unreachable!()
        };
        let connector = hyper_util::client::legacy::connect::HttpConnector::new();
        let client = ClientBuilder::new(connector)
            .capabilities(caps)
            .connect(&format!("http://127.0.0.1:{}", self.port))
            .await
            .unwrap_or_else(|e| panic!("no WebDriver session: {e}"));
        Browser { c: client }
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        // The group chromedriver leads: it and every browser process it began.
        let pgid = self.child.id() as libc::pid_t;
        unsafe {
            libc::kill(-pgid, libc::SIGKILL);
        }
        let _ = self.child.wait();
    }
}

/// The selector of the element with this `data-testid`.
fn tid(id: &str) -> String {
    format!("[data-testid=\"{id}\"]")
}

struct Browser {
    c: Client,
}

impl Browser {
    async fn find(&self, css: &str) -> Element {
        self.c
            .wait()
            .at_most(WAIT)
            .for_element(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("no element {css} within {WAIT:?}: {e}"))
    }

    async fn click(&self, css: &str) {
        let el = self.find(css).await;
        el.click()
            .await
            .unwrap_or_else(|e| panic!("click {css}: {e}"));
    }

    async fn fill(&self, css: &str, text: &str) {
        let el = self.find(css).await;
        el.clear().await.unwrap();
        el.send_keys(text)
            .await
            .unwrap_or_else(|e| panic!("type into {css}: {e}"));
    }

    /// The rendered text of `css`, "" while it is absent.
    async fn text(&self, css: &str) -> String {
        match self.c.find(Locator::Css(css)).await {
            Ok(el) => el.text().await.unwrap_or_default(),
            Err(_) => String::new(),
        }
    }

    async fn count(&self, css: &str) -> usize {
        self.c
            .find_all(Locator::Css(css))
            .await
            .map_or(0, |v| v.len())
    }

    async fn displayed(&self, css: &str) -> bool {
        match self.c.find(Locator::Css(css)).await {
            Ok(el) => el.is_displayed().await.unwrap_or(false),
            Err(_) => false,
        }
    }

    async fn js(&self, script: &str) -> Value {
        self.c
            .execute(script, vec![])
            .await
            .unwrap_or_else(|e| panic!("script {script}: {e}"))
    }

    /// Wait until `f` holds, or panic naming `what`.
    async fn until<F, Fut>(&self, what: &str, mut f: F)
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = bool>,
    {
        let end = tokio::time::Instant::now() + WAIT;
        while !f().await {
            if tokio::time::Instant::now() > end {
                let page = self.c.source().await.unwrap_or_default();
                panic!("not within {WAIT:?}: {what}\n--- page ---\n{page}");
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Wait for a `confirm()` dialog, accept it and return its text.
    async fn accept_dialog(&self) -> String {
        let end = tokio::time::Instant::now() + WAIT;
        loop {
            if let Ok(text) = self.c.get_alert_text().await {
                self.c.accept_alert().await.unwrap();
                return text;
            }
            assert!(
                tokio::time::Instant::now() < end,
                "no dialog within {WAIT:?}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

async fn admin(app: &TestApp, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
    let mut r = app
        .http
        .request(method.clone(), app.url(path))
        .bearer_auth(ADMIN);
    if let Some(b) = body {
        r = r.json(&b);
    }
    let r = r.send().await.unwrap();
    let status = r.status();
    let text = r.text().await.unwrap();
    assert!(status.is_success(), "{method} {path}: {status} {text}");
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{method} {path}: {e}: {text}"))
}

async fn admin_get(app: &TestApp, path: &str) -> Value {
    admin(app, reqwest::Method::GET, path, None).await
}

async fn read_status(app: &TestApp, token: &str, path: &str) -> u16 {
    app.http
        .get(app.url(path))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_console_drives_the_admin_api_in_a_real_browser() {
    // Before anything else: a machine without the browser fails here.
    let driver = Driver::start().await;
    let app = TestApp::with_env(&[
        ("LARDER_ADMIN_TOKEN", ADMIN),
        ("LARDER_AUTH", "required"),
        ("LARDER_UPSTREAM_ATTEMPTS", "2"),
    ])
    .await;

    // The page: one self-contained HTML document under a strict CSP.
    let page = app.http.get(app.url("/admin/")).send().await.unwrap();
    assert_eq!(page.status(), 200);
    let ct = page.headers()["content-type"].to_str().unwrap().to_owned();
    assert!(ct.starts_with("text/html"), "{ct}");
    let csp = page.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(csp.contains("default-src 'none'"), "{csp}");
    let html = page.text().await.unwrap();
    assert!(!html.contains("http://") && !html.contains("https://"));

    // Two entries under tmdb/movie, read with a key made through the API.
    let made = admin(
        &app,
        reqwest::Method::POST,
        "/admin/keys",
        Some(json!({"name": "fixture"})),
    )
    .await;
    let key = made["token"].as_str().unwrap().to_owned();
    for path in ["/v1/tmdb/movie/550", "/v1/tmdb/movie/550?language=en-US"] {
        assert_eq!(read_status(&app, &key, path).await, 200, "{path}");
    }
    assert_eq!(
        admin_get(&app, "/admin/cache?prefix=tmdb/movie&limit=50").await["total"],
        2
    );

    // A fill that fails: the upstream answers 500 to every attempt.
    const TV: &str = "/3/tv/1399";
    app.upstream.route(TV, Step::status(500));
    assert_ne!(read_status(&app, &key, "/v1/tmdb/tv/1399").await, 200);
    eventually(Duration::from_secs(30), || async {
        let failed = admin_get(&app, "/admin/jobs?state=failed&limit=50").await;
        failed["jobs"]
            .as_array()
            .unwrap()
            .iter()
            .any(|j| j["key"] == "tmdb/tv/1399")
    })
    .await;

    let b = driver.browser().await;
    b.c.goto(&app.url("/admin/")).await.unwrap();

    // A wrong token is refused and the form says so.
    b.fill(&tid("token-input"), "not-the-token").await;
    b.click(&tid("login-submit")).await;
    b.until("the refusal of a wrong token", || async {
        b.text(&tid("login-message")).await.contains("refused")
    })
    .await;

    // Sign in; the token lives in sessionStorage only, never in the URL.
    b.fill(&tid("token-input"), ADMIN).await;
    b.click(&tid("login-submit")).await;
    b.until("the console shown after sign-in", || async {
        b.displayed(&tid("sign-out")).await
    })
    .await;
    let stored = b
        .js("return [sessionStorage.getItem('larder.admin-token'), localStorage.length, location.href]")
        .await;
    assert_eq!(stored[0], ADMIN);
    assert_eq!(stored[1], 0);
    assert!(!stored[2].as_str().unwrap().contains(ADMIN));

    // The queue counts are the API's.
    b.until("the queue counts of /admin/overview", || async {
        let o = admin_get(&app, "/admin/overview").await;
        let shown = |text: String| text.parse::<u64>().ok();
        let failed = shown(b.text(&tid("queue-failed")).await);
        let done = shown(b.text(&tid("queue-done")).await);
        failed == o["queue"]["failed"].as_u64()
            && done == o["queue"]["done"].as_u64()
            && failed >= Some(1)
    })
    .await;

    // Cache: browse everything; a purge of everything asks for the count to
    // be typed, and cancelling it drops nothing.
    b.fill(&tid("cache-prefix"), "").await;
    b.click(&tid("cache-browse")).await;
    let everything = admin_get(&app, "/admin/cache?prefix=&limit=50").await["total"]
        .as_u64()
        .unwrap();
    b.until("the count of every entry", || async {
        b.text(&tid("cache-shown-prefix")).await == "(everything)"
            && b.text(&tid("cache-total")).await == everything.to_string()
    })
    .await;
    b.click(&tid("cache-purge")).await;
    let asked = b.accept_dialog().await;
    assert!(asked.contains("EVERY cache entry"), "{asked}");
    b.until("the typed confirmation for an empty prefix", || async {
        b.displayed(&tid("purge-confirm-input")).await
    })
    .await;
    b.fill(&tid("purge-confirm-input"), "0").await;
    b.click(&tid("purge-confirm-cancel")).await;
    b.until("the purge to be cancelled", || async {
        b.text(&tid("cache-msg")).await.contains("cancelled")
    })
    .await;
    assert_eq!(
        admin_get(&app, "/admin/cache?prefix=&limit=50").await["total"],
        everything
    );

    // Browse tmdb/movie and purge it.
    b.fill(&tid("cache-prefix"), "tmdb/movie").await;
    b.click(&tid("cache-browse")).await;
    b.until("two tmdb/movie entries listed", || async {
        b.text(&tid("cache-shown-prefix")).await == "tmdb/movie…"
            && b.text(&tid("cache-total")).await == "2"
            && b.count(&format!("{} {}", tid("cache-table"), tid("cache-row")))
                .await
                == 2
    })
    .await;
    let rows = b.text(&tid("cache-table")).await;
    assert!(rows.contains("tmdb/movie/550"), "{rows}");
    b.click(&tid("cache-purge")).await;
    let asked = b.accept_dialog().await;
    assert!(
        asked.contains("2 entries") && asked.contains("tmdb/movie"),
        "{asked}"
    );
    b.until("the purge to be reported", || async {
        b.text(&tid("cache-msg")).await.contains("Purged 2")
    })
    .await;
    let left = admin_get(&app, "/admin/cache?prefix=tmdb/movie&limit=50").await;
    assert_eq!(left["total"], 0, "{left}");
    assert_eq!(left["entries"].as_array().unwrap().len(), 0, "{left}");

    // Retry the failed fill, the upstream healed.
    app.upstream.script(TV, [Step::fixture(), Step::fixture()]);
    let retry = format!(
        "{} [data-key=\"tmdb/tv/1399\"] {}",
        tid("jobs-table"),
        tid("job-retry")
    );
    b.click(&retry).await;
    b.until("the retry to be reported", || async {
        let msg = b.text(&tid("jobs-msg")).await;
        msg.contains("tmdb/tv/1399") && (msg.contains("started") || msg.contains("joined"))
    })
    .await;
    eventually(Duration::from_secs(30), || async {
        let tv = admin_get(&app, "/admin/cache?prefix=tmdb/tv/1399&limit=50").await;
        tv["entries"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["key"] == "tmdb/tv/1399")
    })
    .await;
    assert_eq!(read_status(&app, &key, "/v1/tmdb/tv/1399").await, 200);

    // Create a key: its token is shown once, and it reads.
    b.fill(&tid("key-name"), "browser-app").await;
    b.fill(&tid("key-scopes"), "tmdb").await;
    b.fill(&tid("key-expires"), "30d").await;
    b.fill(&tid("key-quota"), "600/min").await;
    b.click(&tid("key-create-submit")).await;
    b.until("the new token", || async {
        b.text(&tid("new-token-value")).await.starts_with("lk_")
    })
    .await;
    let token = b.text(&tid("new-token-value")).await;
    let row = format!("{}[data-name=\"browser-app\"]", tid("key-row"));
    b.until("the new key listed", || async {
        b.text(&row).await.contains("600/min")
    })
    .await;
    assert_eq!(
        read_status(&app, &token, "/v1/tmdb/movie/550").await,
        200,
        "the console's new key reads"
    );
    b.click(&tid("new-token-dismiss")).await;
    b.until("the token box dismissed", || async {
        !b.displayed(&tid("new-token")).await
    })
    .await;
    let shown = b
        .js("return document.querySelector('[data-testid=\"new-token-value\"]').textContent")
        .await;
    assert_eq!(shown, "", "the token is gone from the page once dismissed");

    // Revoke it (confirming): it is refused from then on.
    b.click(&format!("{row} {}", tid("key-revoke"))).await;
    let asked = b.accept_dialog().await;
    assert!(asked.contains("browser-app"), "{asked}");
    b.until("the key shown revoked", || async {
        b.find(&row).await.attr("data-status").await.ok().flatten() == Some("revoked".into())
    })
    .await;
    eventually(Duration::from_secs(10), || async {
        read_status(&app, &token, "/v1/tmdb/movie/550").await == 401
    })
    .await;

    // Sign out: back to the form, the token forgotten.
    b.click(&tid("sign-out")).await;
    b.until("the sign-in form after sign-out", || async {
        b.displayed(&tid("login-form")).await && !b.displayed(&tid("sign-out")).await
    })
    .await;
    assert_eq!(
        b.js("return sessionStorage.getItem('larder.admin-token')")
            .await,
        Value::Null
    );

    // A token that stops working (here: a stale one in the tab) sends the
    // console back to the form, with the reason.
    b.js("sessionStorage.setItem('larder.admin-token', 'stale'); return null")
        .await;
    b.c.refresh().await.unwrap();
    b.until("the sign-in form for a refused stored token", || async {
        b.displayed(&tid("login-form")).await
            && b.text(&tid("login-message")).await.contains("refused")
    })
    .await;

    let _ = b.c.close().await;
    drop(driver);
    app.stop().await;
}
