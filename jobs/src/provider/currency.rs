//! Exchange rates from ExchangeRate-API's open access endpoint
//! (<https://www.exchangerate-api.com/docs/free>). No key.
//!
//! Errors come as `{"result": "error", "error-type": …}` whatever the
//! status: `unsupported-code` is an unknown base currency (not found); any
//! other error fails the fill and nothing is stored. A rate-limited IP gets
//! 429s for 20 minutes.

use std::time::Duration;

use super::{
    Adapter, Fill, Host, Kind, Param, Product, ProviderDef, Rate, Request, ResourceDef, Response,
    Ttl, Verdict, classify_status, days, hours, mins, not_found_body, passthrough_json,
};

/// How long ExchangeRate-API blocks an IP that asked too often.
const BLOCKED: Duration = mins(20);

pub static CURRENCY: ProviderDef = ProviderDef {
    adapter: &CurrencyAdapter,
    ..ProviderDef::new(
        "currency",
        "Exchange rates (ExchangeRate-API open access)",
        &[Host {
            name: "",
            urls: &["https://open.er-api.com"],
        }],
        // No published quota; one call per base an hour is what it is
        // built for.
        Rate::per_second(1, 5),
        &[ResourceDef {
            name: "rates",
            route: "rates",
            upstream: "/v6/latest/{base}",
            params: &[
                // ISO 4217: three letters (checked, and upper-cased for the
                // upstream, by the adapter).
                Param::req(
                    "base",
                    Kind::Code {
                        min_len: 3,
                        max_len: 3,
                        extra: "",
                        upper: true,
                    },
                ),
            ],
            // Rates update daily (some hourly): an hour fresh; an unknown
            // code stays unknown for a day.
            ttl: Ttl::new(hours(1), hours(24), days(1), days(7)),
        }],
    )
};

/// The base as ExchangeRate-API spells it: three upper-case letters.
fn currency_code(v: &str) -> Option<String> {
    (v.len() == 3 && v.chars().all(|c| c.is_ascii_alphabetic())).then(|| v.to_ascii_uppercase())
}

struct CurrencyAdapter;

impl Adapter for CurrencyAdapter {
    fn next_call(&self, fill: &Fill<'_>, answers: &[Response]) -> Option<Request> {
        if !answers.is_empty() {
            return None;
        }
        let base = currency_code(fill.param("base")?)?;
        Some(Request::get(format!("/v6/latest/{base}")))
    }

    fn classify(&self, _: &Fill<'_>, _: &Request, response: &Response) -> Verdict {
        if response.status == 429 {
            return Verdict::SlowDown(Some(response.retry_after().unwrap_or(BLOCKED)));
        }
        if let Some(body) = response.json()
            && body.get("result").and_then(|r| r.as_str()) == Some("error")
        {
            return match body.get("error-type").and_then(|t| t.as_str()) {
                Some("unsupported-code") => Verdict::NotFound(response.body.clone()),
                Some("quota-reached") => Verdict::SlowDown(Some(BLOCKED)),
                other => Verdict::Garbage(format!(
                    "upstream error {}",
                    other.unwrap_or("without a type")
                )),
            };
        }
        classify_status(response)
    }

    fn finish(&self, fill: &Fill<'_>, answers: Vec<Response>) -> Result<Product, String> {
        let Some(last) = answers.into_iter().last() else {
            // No call: the base is no currency code.
            let base = fill.param("base").unwrap_or_default();
            return Ok(Product::NotFound(not_found_body(&format!(
                "{base:?} is not a three-letter currency code"
            ))));
        };
        let ok = last.json().is_some_and(|v| {
            v.get("result").and_then(|r| r.as_str()) == Some("success")
                && v.get("rates").is_some_and(|r| r.is_object())
        });
        if !ok {
            return Err("not a rates answer".into());
        }
        passthrough_json(last)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::provider::Resolved;
    use crate::provider::testing::{self, response};

    fn resolve(query: &str) -> Resolved {
        testing::resolve(&CURRENCY, "rates", query)
    }

    fn with_fill<T>(r: &Resolved, f: impl FnOnce(&Fill<'_>) -> T) -> T {
        testing::with_fill(&CURRENCY, r, f)
    }

    #[test]
    fn the_base_goes_upper_case_into_the_path() {
        let r = resolve("base=USD");
        assert_eq!(r.key.as_str(), "currency/rates?base=USD");
        let call = with_fill(&r, |f| CURRENCY.adapter.next_call(f, &[])).unwrap();
        assert_eq!(call.path, "/v6/latest/USD");
        let r = resolve("base=eur");
        let call = with_fill(&r, |f| CURRENCY.adapter.next_call(f, &[])).unwrap();
        assert_eq!(call.path, "/v6/latest/EUR");
    }

    #[test]
    fn bases_that_are_no_code_are_refused_or_not_found() {
        let code = |q: &str| testing::code(&CURRENCY, "rates", q);
        assert_eq!(code(""), "missing-parameter");
        assert_eq!(code("base=USDT"), "invalid-parameter");
        assert_eq!(code("base=U%2FD"), "invalid-parameter");
        assert_eq!(code("base=USD&symbols=EUR"), "unknown-parameter");
        assert_eq!(code("base=US"), "invalid-parameter");
        assert_eq!(code("base=U5D"), "invalid-parameter");
        // Case folds into one key.
        assert_eq!(resolve("base=eur").key, resolve("base=EUR").key);
    }

    #[test]
    fn errors_are_read_from_the_body() {
        let r = resolve("base=USD");
        with_fill(&r, |f| {
            let a = CURRENCY.adapter;
            let req = Request::get("/v6/latest/USD");
            let ok = r#"{"result":"success","base_code":"USD","rates":{"USD":1,"EUR":0.853877}}"#;
            assert_eq!(a.classify(f, &req, &response(200, ok)), Verdict::Found);
            assert!(matches!(
                a.finish(f, vec![response(200, ok)]),
                Ok(Product::Found { .. })
            ));
            let unknown = r#"{"result":"error","error-type":"unsupported-code"}"#;
            for status in [200, 404] {
                assert!(matches!(
                    a.classify(f, &req, &response(status, unknown)),
                    Verdict::NotFound(_)
                ));
            }
            let malformed = r#"{"result":"error","error-type":"malformed-request"}"#;
            assert!(matches!(
                a.classify(f, &req, &response(200, malformed)),
                Verdict::Garbage(_)
            ));
            assert_eq!(
                a.classify(f, &req, &response(429, "")),
                Verdict::SlowDown(Some(BLOCKED))
            );
            assert!(
                a.finish(f, vec![response(200, r#"{"result":"error"}"#)])
                    .is_err()
            );
            assert!(a.finish(f, vec![response(200, "{}")]).is_err());
        });
    }
}
