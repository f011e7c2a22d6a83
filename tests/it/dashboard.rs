//! SPEC §8: every query of the Grafana dashboard (`deploy/grafana/larder.json`)
//! names a metric larder really exports. Traffic makes every metric family
//! appear in the app's `/metrics` (a miss and its fill, hits, coalesced
//! misses, a failing upstream, a rate-limit wait, an image fill, scheduler
//! ticks), then every metric name of every `expr` is looked up there.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use futures_util::future::join_all;
use larder_jobs::names;
use tokio::sync::watch;

use crate::helpers::*;

const DASHBOARD: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/deploy/grafana/larder.json");
/// The poster `tmdb/movie/550.json` names: prefetched when the record is stored.
const POSTER: &str = "/t/p/w500/pB8BM7pdSp6B6Ih7QZ4DrQ3PmJK.jpg";

/// The families the dashboard must chart: SPEC §7's, the in-process cache's
/// and the scheduler's ticks.
const CHARTED: &[&str] = &[
    names::HTTP_REQUESTS,
    names::HTTP_DURATION,
    names::CACHE_LOOKUPS,
    names::FILLS_COALESCED,
    names::FILL_WAIT,
    names::UPSTREAM_REQUESTS,
    names::UPSTREAM_DURATION,
    names::RATE_LIMIT_WAIT,
    names::JOBS,
    names::JOB_DURATION,
    names::QUEUE_JOBS,
    names::ASSETS_STORED_BYTES,
    names::HOT_LOOKUPS,
    names::HOT_ENTRIES,
    names::HOT_BYTES,
    names::SCHEDULER_TICKS,
];

/// Every panel, rows' nested panels included.
fn panels(dashboard: &serde_json::Value) -> Vec<&serde_json::Value> {
    fn walk<'a>(panels: &'a serde_json::Value, out: &mut Vec<&'a serde_json::Value>) {
        for panel in panels.as_array().into_iter().flatten() {
            out.push(panel);
            walk(&panel["panels"], out);
        }
    }
    let mut out = Vec::new();
    walk(&dashboard["panels"], &mut out);
    out
}

/// The metric names a PromQL expression selects: its identifiers outside
/// label matchers (`{…}`), ranges (`[…]`), strings and grouping lists
/// (`by (…)`, `on (…)`…), that are neither functions nor keywords
/// (aggregations among them: `sum by (le) (…)` has no `(` after `sum`).
fn metric_names(expr: &str) -> Vec<String> {
    const KEYWORDS: &[&str] = &[
        "sum",
        "min",
        "max",
        "avg",
        "group",
        "stddev",
        "stdvar",
        "count",
        "count_values",
        "bottomk",
        "topk",
        "quantile",
        "by",
        "without",
        "on",
        "ignoring",
        "group_left",
        "group_right",
        "bool",
        "and",
        "or",
        "unless",
        "offset",
        "atan2",
        "inf",
        "nan",
    ];
    let chars: Vec<char> = expr.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    // Set after a grouping keyword: its parenthesised list names labels.
    let mut labels_next = false;
    while i < chars.len() {
        let c = chars[i];
        let skip_to = |close: char, from: usize| {
            let mut j = from + 1;
            while j < chars.len() && chars[j] != close {
                // Escapes inside strings (`"a\"b"`).
                j += if chars[j] == '\\' { 2 } else { 1 };
            }
            j + 1
        };
        match c {
            '{' => i = skip_to('}', i),
            '[' => i = skip_to(']', i),
            '"' | '\'' | '`' => i = skip_to(c, i),
            // Grafana's variables (`$__rate_interval`, `${datasource}`).
            '$' => {
                i += 1;
                while i < chars.len()
                    && (chars[i].is_ascii_alphanumeric() || "_{}:".contains(chars[i]))
                {
                    i += 1;
                }
            }
            '(' if labels_next => {
                labels_next = false;
                i = skip_to(')', i);
            }
            c if c.is_ascii_alphabetic() || c == '_' || c == ':' => {
                let start = i;
                while i < chars.len()
                    && (chars[i].is_ascii_alphanumeric() || chars[i] == '_' || chars[i] == ':')
                {
                    i += 1;
                }
                let word: String = chars[start..i].iter().collect();
                let next = chars[i..].iter().find(|c| !c.is_whitespace());
                if matches!(
                    word.as_str(),
                    "by" | "without" | "on" | "ignoring" | "group_left" | "group_right"
                ) {
                    labels_next = true;
                } else if next != Some(&'(') && !KEYWORDS.contains(&word.to_lowercase().as_str()) {
                    out.push(word);
                }
            }
            // Numbers (`0.95`, `1e3`) and durations outside ranges.
            c if c.is_ascii_digit() || c == '.' => {
                while i < chars.len() && (chars[i].is_ascii_alphanumeric() || chars[i] == '.') {
                    i += 1;
                }
            }
            _ => i += 1,
        }
    }
    out
}

#[test]
fn the_promql_scanner_finds_metrics_not_labels_or_functions() {
    assert_eq!(
        metric_names(
            "histogram_quantile(0.95, sum by (le, route) (rate(larder_x_bucket{route=~\"a|b\"}[$__rate_interval])))"
        ),
        ["larder_x_bucket"]
    );
    assert_eq!(
        metric_names(
            "sum(a_total{s!~\"[23]..\"}) / on (job) group_left (x) b offset 5m > bool 1e3 * $k"
        ),
        ["a_total", "b"]
    );
    assert_eq!(
        metric_names("max without (instance) (c) or sum(d) by (x) or vector(0)"),
        ["c", "d"]
    );
}

/// What a `/metrics` text says: the `# TYPE` of each family, and the
/// names its samples carry (`…_bucket`, `…_sum`, `…_count` for histograms).
struct Exposition {
    types: std::collections::BTreeMap<String, String>,
    samples: BTreeSet<String>,
}

impl Exposition {
    fn parse(text: &str) -> Exposition {
        let mut types = std::collections::BTreeMap::new();
        let mut samples = BTreeSet::new();
        for line in text.lines() {
            if let Some(rest) = line.strip_prefix("# TYPE ") {
                let mut parts = rest.split_whitespace();
                if let (Some(name), Some(kind)) = (parts.next(), parts.next()) {
                    types.insert(name.to_owned(), kind.to_owned());
                }
            } else if !line.starts_with('#') && !line.is_empty() {
                let end = line.find(['{', ' ']).unwrap_or(line.len());
                samples.insert(line[..end].to_owned());
            }
        }
        Exposition { types, samples }
    }

    /// The family `name` belongs to, when it has samples under that name:
    /// itself for a counter or a gauge, the histogram for `_bucket`,
    /// `_sum` and `_count` (a histogram's bare name has no samples).
    fn family(&self, name: &str) -> Option<String> {
        if !self.samples.contains(name) {
            return None;
        }
        if self.types.get(name).is_some_and(|t| t != "histogram") {
            return Some(name.to_owned());
        }
        ["_bucket", "_sum", "_count"].iter().find_map(|suffix| {
            let base = name.strip_suffix(suffix)?;
            (self.types.get(base)? == "histogram").then(|| base.to_owned())
        })
    }
}

/// A PNG signature and header, then filler: enough for the sniffer.
fn png() -> Vec<u8> {
    let mut out = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x10\0\0\0\x10\x08\x06\0\0\0".to_vec();
    out.extend((0..4000u32).map(|i| (i * 7 % 251) as u8));
    out
}

#[tokio::test]
async fn every_dashboard_query_names_a_metric_larder_exports() {
    let dashboard: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(DASHBOARD).unwrap()).unwrap();
    assert_eq!(dashboard["uid"], "larder");
    let variables = dashboard["templating"]["list"].as_array().unwrap();
    assert!(
        variables
            .iter()
            .any(|v| v["name"] == "datasource" && v["query"] == "prometheus"),
        "a ${{datasource}} variable of Prometheus data sources"
    );
    let mut queries = Vec::new();
    for panel in panels(&dashboard) {
        let Some(targets) = panel["targets"].as_array() else {
            continue; // a row
        };
        // Every query goes to the data source the variable picks.
        assert_eq!(
            panel["datasource"]["uid"], "${datasource}",
            "{}",
            panel["title"]
        );
        for target in targets {
            assert_eq!(target["datasource"]["uid"], "${datasource}");
            queries.push(target["expr"].as_str().unwrap().to_owned());
        }
    }
    assert!(queries.len() >= 20, "{queries:?}");

    let storage = tempfile::tempdir().unwrap();
    let app = TestApp::spawn_with(Options {
        env: vec![
            ("LARDER_STORAGE_DIR", storage.path().display().to_string()),
            // A stored movie prefetches its poster: an image fill.
            ("LARDER_TMDB_PREFETCH_IMAGES", "poster:w500".into()),
            // Five Open-Meteo calls a second, no burst: of two fills at
            // once, the second waits for its rate slot.
            ("LARDER_OPENMETEO_RATE", "5/s".into()),
            ("LARDER_OPENMETEO_BURST", "1".into()),
        ],
        ..Default::default()
    })
    .await;
    app.upstream
        .route(POSTER, Step::bytes(200, "image/png", png()));
    app.upstream.route("/3/movie/603", Step::status(500));
    app.upstream.script(
        "/3/tv/1399",
        [Step::fixture().delay(Duration::from_millis(300))],
    );

    // The scheduler, in this process like the API and the worker: a
    // schedule firing every second.
    let schedules = tempfile::Builder::new().suffix(".toml").tempfile().unwrap();
    std::fs::write(
        schedules.path(),
        "[[schedule]]\nname = \"every-second\"\ncron = \"* * * * * *\"\nprewarm = [\"/v1/tmdb/configuration\"]\n",
    )
    .unwrap();
    let mut env = env_for(&app.db, &app.upstream);
    env.insert(
        "LARDER_SCHEDULES".into(),
        schedules.path().display().to_string(),
    );
    let config = Arc::new(larder_jobs::config::Config::load(None, &env).unwrap());
    let (stop, mut stopped) = watch::channel(false);
    let scheduler = tokio::spawn(larder_scheduler::run(
        config,
        app.db.pool.clone(),
        async move {
            let _ = stopped.wait_for(|v| *v).await;
        },
    ));

    // A miss and its fill, then a hit.
    let r = app.get("/v1/tmdb/movie/550").send().await.unwrap();
    assert_eq!(r.headers()["x-cache"], "MISS");
    let r = app.get("/v1/tmdb/movie/550").send().await.unwrap();
    assert_eq!(r.headers()["x-cache"], "HIT");
    // Concurrent misses of one key: one fill, the others join it.
    for r in join_all((0..10).map(|_| app.get("/v1/tmdb/tv/1399").send())).await {
        assert_eq!(r.unwrap().status(), 200);
    }
    // An upstream that keeps failing: a failed fill, a 502.
    let r = app
        .get("/v1/tmdb/movie/603")
        .header("prefer", "wait=20")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 502);
    // Two fills of one provider at once: one waits for its rate slot.
    let forecasts = ["52.52", "48.85"].map(|lat| {
        app.get(&format!(
            "/v1/openmeteo/forecast?latitude={lat}&longitude=13.41"
        ))
        .send()
    });
    for r in join_all(forecasts).await {
        assert_eq!(r.unwrap().status(), 200);
    }

    // Every name of every query, until each has samples (the prefetched
    // image and the scheduler's ticks come in their own time).
    let wanted: BTreeSet<String> = queries.iter().flat_map(|e| metric_names(e)).collect();
    let mut missing = Vec::new();
    let mut exposition = None;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while tokio::time::Instant::now() < deadline {
        let text = app.metrics().await;
        let parsed = Exposition::parse(&text);
        missing = wanted
            .iter()
            .filter(|n| parsed.family(n).is_none())
            .cloned()
            .collect();
        exposition = Some(parsed);
        if missing.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let _ = stop.send(true);
    scheduler.await.unwrap().unwrap();
    let exposition = exposition.unwrap();
    assert!(
        missing.is_empty(),
        "the dashboard names metrics /metrics does not have: {missing:?}\nfamilies: {:?}",
        exposition.types.keys().collect::<Vec<_>>()
    );
    for expr in &queries {
        let names = metric_names(expr);
        assert!(!names.is_empty(), "no metric in {expr}");
        for n in &names {
            assert!(n.starts_with("larder_"), "{n} in {expr}: not larder's");
        }
    }
    // Each family SPEC §7 (and the in-process cache, and the scheduler)
    // names is charted.
    let charted: BTreeSet<String> = wanted.iter().filter_map(|n| exposition.family(n)).collect();
    for family in CHARTED {
        assert!(charted.contains(*family), "the dashboard has no {family}");
    }
    app.stop().await;
}
