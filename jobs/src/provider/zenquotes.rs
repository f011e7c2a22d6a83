//! ZenQuotes (<https://zenquotes.io>): a random quote and the quote of the
//! day. No key on the free tier, which allows 5 calls per 30 seconds per IP.
//!
//! Past that, ZenQuotes answers a normal-looking quote whose text is the
//! error ("Too many requests. Obtain an auth key for unlimited access."),
//! with a 429 or even a 200. It is read by its text, whatever the status:
//! the provider pauses for the 30-second window and the quote is never
//! stored.

use std::time::Duration;

use super::{
    Adapter, Fill, Host, Product, ProviderDef, Rate, Request, ResourceDef, Response, Ttl, Verdict,
    classify_status, hours, mins, passthrough_json, secs,
};

/// The free tier's window.
const WINDOW: Duration = secs(30);

pub static ZENQUOTES: ProviderDef = ProviderDef {
    adapter: &ZenQuotesAdapter,
    ..ProviderDef::new(
        "zenquotes",
        "ZenQuotes",
        &[Host {
            name: "",
            urls: &["https://zenquotes.io"],
        }],
        Rate::per_window(5, WINDOW, 5),
        &[
            ResourceDef {
                name: "random",
                route: "random",
                upstream: "/api/random",
                params: &[],
                // Random by design: a minute fresh keeps some variety at
                // about one call a minute; stale copies while it refreshes.
                ttl: Ttl::new(mins(1), hours(1), mins(5), hours(24)),
            },
            ResourceDef {
                name: "today",
                route: "today",
                upstream: "/api/today",
                params: &[],
                // One quote a day, but ZenQuotes does not say when (or in
                // which time zone) its day turns: an hour fresh bounds how
                // long yesterday's quote outlives the change, at 24 calls
                // a day.
                ttl: Ttl::new(hours(1), hours(24), mins(5), hours(48)),
            },
        ],
    )
};

/// Whether a body is the throttle notice dressed as a quote.
fn is_throttle_notice(body: &[u8]) -> bool {
    let Ok(value) = serde_json::from_slice::<serde_json::Value>(body) else {
        return false;
    };
    let first = match &value {
        serde_json::Value::Array(items) => items.first(),
        other => Some(other),
    };
    first
        .and_then(|q| q.get("q"))
        .and_then(serde_json::Value::as_str)
        .is_some_and(|q| q.trim_start().starts_with("Too many requests"))
}

struct ZenQuotesAdapter;

impl Adapter for ZenQuotesAdapter {
    fn classify(&self, _: &Fill<'_>, _: &Request, response: &Response) -> Verdict {
        if is_throttle_notice(&response.body) {
            return Verdict::SlowDown(Some(response.retry_after().unwrap_or(WINDOW)));
        }
        match response.status {
            429 => Verdict::SlowDown(Some(response.retry_after().unwrap_or(WINDOW))),
            _ => classify_status(response),
        }
    }

    /// A quote is an array of `{q, a, h}` objects.
    fn finish(&self, _: &Fill<'_>, answers: Vec<Response>) -> Result<Product, String> {
        let last = answers.into_iter().last().ok_or("no answer")?;
        if is_throttle_notice(&last.body) {
            return Err("the throttle notice is no quote".into());
        }
        let quotes = last.json().and_then(|v| match v {
            serde_json::Value::Array(items) => Some(items),
            _ => None,
        });
        let ok = quotes.is_some_and(|items| {
            !items.is_empty()
                && items
                    .iter()
                    .all(|q| q.get("q").is_some_and(|t| t.is_string()))
        });
        if !ok {
            return Err("not an array of quotes".into());
        }
        passthrough_json(last)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::provider::Resolved;
    use crate::provider::testing::{self, response};

    const QUOTE: &str = r#"[{"q":"The best way out is always through.","a":"Robert Frost","h":"<blockquote>&ldquo;The best way out is always through.&rdquo; &mdash; <footer>Robert Frost</footer></blockquote>"}]"#;
    const THROTTLED: &str = r#"[{"q":"Too many requests. Obtain an auth key for unlimited access.","a":"zenquotes.io","h":"Too many requests. Obtain an auth key for unlimited access @ zenquotes.io"}]"#;

    fn resolve(path: &str) -> Resolved {
        testing::resolve(&ZENQUOTES, path, "")
    }

    fn with_fill<T>(r: &Resolved, f: impl FnOnce(&Fill<'_>) -> T) -> T {
        testing::with_fill(&ZENQUOTES, r, f)
    }

    #[test]
    fn both_resources_resolve_without_parameters() {
        let r = resolve("random");
        assert_eq!(r.key.as_str(), "zenquotes/random");
        assert_eq!(r.upstream_path_and_query(), "/api/random");
        let r = resolve("today");
        assert_eq!(r.upstream_path_and_query(), "/api/today");
        assert_eq!(
            testing::code(&ZENQUOTES, "random", "author=x"),
            "unknown-parameter"
        );
        assert_eq!(ZENQUOTES.rate.interval(), 6.0);
    }

    #[test]
    fn the_throttle_notice_slows_down_whatever_its_status() {
        let r = resolve("random");
        with_fill(&r, |f| {
            let a = ZENQUOTES.adapter;
            let req = Request::get("/api/random");
            for status in [200, 429] {
                assert_eq!(
                    a.classify(f, &req, &response(status, THROTTLED)),
                    Verdict::SlowDown(Some(WINDOW))
                );
            }
            assert!(a.finish(f, vec![response(200, THROTTLED)]).is_err());
            assert_eq!(
                a.classify(f, &req, &response(429, "")),
                Verdict::SlowDown(Some(WINDOW))
            );
            assert_eq!(a.classify(f, &req, &response(200, QUOTE)), Verdict::Found);
            assert!(matches!(
                a.finish(f, vec![response(200, QUOTE)]),
                Ok(Product::Found { .. })
            ));
            assert!(a.finish(f, vec![response(200, "[]")]).is_err());
            assert!(a.finish(f, vec![response(200, "{\"q\":1}")]).is_err());
        });
    }
}
