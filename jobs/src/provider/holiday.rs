//! Public holidays: Nager.Date (<https://date.nager.at/Api>) for every
//! country it knows, and for China also timor.tech's year calendar
//! (<https://timor.tech/api/holiday>), which adds the official rest days
//! around each holiday and the make-up working days (调休补班).
//!
//! One schema for every country:
//! `{"country","year","holidays":[Nager's items],"rest_days","adjusted_workdays"}`,
//! the last two lists for `CN` and `null` elsewhere.

use serde_json::{Value, json};

use super::{
    Adapter, Fill, Host, Kind, Param, Product, ProviderDef, Rate, Request, ResourceDef, Response,
    Ttl, Verdict, classify_status, days, not_found_body,
};

const TIMOR: &str = "timor";

pub static HOLIDAY: ProviderDef = ProviderDef {
    adapter: &HolidayAdapter,
    ..ProviderDef::new(
        "holiday",
        "Public holidays (Nager.Date; timor.tech for China)",
        &[
            Host {
                name: "",
                urls: &["https://date.nager.at"],
            },
            Host {
                name: TIMOR,
                urls: &["https://timor.tech"],
            },
        ],
        Rate::per_second(10, 10),
        &[ResourceDef {
            name: "holidays",
            route: "{country}/{year}",
            upstream: "/api/v3/PublicHolidays/{year}/{country}",
            params: &[
                Param::req("country", Kind::Region),
                Param::req(
                    "year",
                    Kind::Int {
                        min: 1900,
                        max: 2100,
                    },
                ),
            ],
            // Holidays rarely change once announced (China's are announced
            // late in the previous year): a day fresh, long stale.
            ttl: Ttl::new(days(1), days(180), days(1), days(365)),
        }],
    )
};

struct HolidayAdapter;

fn country<'a>(fill: &Fill<'a>) -> &'a str {
    fill.param("country").unwrap_or_default()
}

impl Adapter for HolidayAdapter {
    fn next_call(&self, fill: &Fill<'_>, answers: &[Response]) -> Option<Request> {
        match answers.len() {
            0 => Some(fill.table_request()),
            1 if country(fill) == "CN" => {
                let year = fill.param("year").unwrap_or_default();
                Some(Request::get(format!("/api/holiday/year/{year}")).on_host(TIMOR))
            }
            _ => None,
        }
    }

    /// Nager answers an unknown country with a 404 whose body may be empty
    /// (and has said it may become a 400); timor.tech signals its errors
    /// with `code` in a 200.
    fn classify(&self, fill: &Fill<'_>, request: &Request, response: &Response) -> Verdict {
        if request.host == TIMOR {
            return match response.status {
                200 => match response.json().map(|b| b["code"].as_i64()) {
                    Some(Some(0)) => Verdict::Found,
                    Some(code) => Verdict::Retry(format!("timor.tech answered code {code:?}")),
                    None => Verdict::Garbage("timor.tech answered no JSON".into()),
                },
                404 => Verdict::Garbage("timor.tech has no such calendar".into()),
                _ => classify_status(response),
            };
        }
        match response.status {
            400 | 404 => Verdict::NotFound(not_found_body(&format!(
                "Nager.Date knows no public holidays for {}",
                country(fill)
            ))),
            _ => classify_status(response),
        }
    }

    fn finish(&self, fill: &Fill<'_>, answers: Vec<Response>) -> Result<Product, String> {
        let year: i64 = fill
            .param("year")
            .and_then(|y| y.parse().ok())
            .ok_or("no year")?;
        let mut answers = answers.iter();
        let holidays = match answers.next().and_then(Response::json) {
            Some(list @ Value::Array(_)) => list,
            _ => return Err("Nager.Date did not answer a list".into()),
        };
        let (rest_days, workdays) = match answers.next() {
            Some(timor) => {
                let (rest, work) = timor_days(timor, year)?;
                (Value::Array(rest), Value::Array(work))
            }
            None => (Value::Null, Value::Null),
        };
        Ok(Product::json(&json!({
            "country": country(fill),
            "year": year,
            "holidays": holidays,
            "rest_days": rest_days,
            "adjusted_workdays": workdays,
        })))
    }
}

/// timor.tech's `holiday` map (`"MM-DD"` → day) as rest days and make-up
/// working days, sorted by date. `rest` (days from the request's date to
/// the day) is left out: it changes every day.
fn timor_days(answer: &Response, year: i64) -> Result<(Vec<Value>, Vec<Value>), String> {
    let body = answer.json().ok_or("timor.tech answered no JSON")?;
    let map = body["holiday"]
        .as_object()
        .ok_or("timor.tech answered no holiday map")?;
    let (mut rest, mut work) = (Vec::new(), Vec::new());
    for (month_day, day) in map {
        let date = match day["date"].as_str() {
            Some(d) => d.to_owned(),
            None => format!("{year}-{month_day}"),
        };
        match day["holiday"].as_bool() {
            Some(true) => rest.push(json!({
                "date": date,
                "name": day["name"],
                "wage": day["wage"],
            })),
            Some(false) => work.push(json!({
                "date": date,
                "name": day["name"],
                "target": day["target"],
                "after": day["after"],
            })),
            None => return Err(format!("timor.tech day {month_day} has no holiday flag")),
        }
    }
    let by_date = |a: &Value, b: &Value| a["date"].as_str().cmp(&b["date"].as_str());
    rest.sort_by(by_date);
    work.sort_by(by_date);
    Ok((rest, work))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::provider::testing::{self, found_json, response, with_request};

    fn with_fill<T>(path: &str, f: impl FnOnce(&Fill<'_>) -> T) -> T {
        with_request(&HOLIDAY, path, "", f)
    }

    const NAGER: &str = r#"[{"date":"2025-01-01","localName":"元旦","name":"New Year's Day",
        "countryCode":"CN","fixed":true,"global":true,"counties":null,"launchYear":null,
        "types":["Public"]}]"#;
    const TIMOR_2025: &str = r#"{"code":0,"holiday":{
        "02-08":{"holiday":false,"name":"春节后补班","wage":1,"after":true,"target":"春节","date":"2025-02-08","rest":38},
        "01-01":{"holiday":true,"name":"元旦","wage":3,"date":"2025-01-01","rest":1},
        "01-28":{"holiday":true,"name":"除夕","wage":2,"rest":27}}}"#;

    #[test]
    fn routes_and_keys() {
        let r = testing::resolve(&HOLIDAY, "de/2025", "");
        assert_eq!(r.key.as_str(), "holiday/DE/2025");
        assert_eq!(
            r.upstream_path_and_query(),
            "/api/v3/PublicHolidays/2025/DE"
        );
        let code = |p: &str| testing::code(&HOLIDAY, p, "");
        assert_eq!(code("DEU/2025"), "invalid-parameter");
        assert_eq!(code("DE/1899"), "invalid-parameter");
        assert_eq!(code("DE/twenty"), "invalid-parameter");
        assert_eq!(code("DE"), "unknown-resource");
    }

    #[test]
    fn other_countries_make_one_call() {
        with_fill("US/2025", |f| {
            let first = HolidayAdapter.next_call(f, &[]).unwrap();
            assert_eq!(
                (first.host, first.path.as_str()),
                ("", "/api/v3/PublicHolidays/2025/US")
            );
            let nager = response(200, "[]");
            assert!(
                HolidayAdapter
                    .next_call(f, std::slice::from_ref(&nager))
                    .is_none()
            );
            let v = found_json(HolidayAdapter.finish(f, vec![nager]).unwrap());
            assert_eq!(
                v,
                json!({"country":"US","year":2025,"holidays":[],"rest_days":null,"adjusted_workdays":null})
            );
            for status in [404, 400] {
                assert!(matches!(
                    HolidayAdapter.classify(f, &first, &response(status, "")),
                    Verdict::NotFound(_)
                ));
            }
        });
    }

    #[test]
    fn china_merges_timor() {
        with_fill("cn/2025", |f| {
            let nager = response(200, NAGER);
            let second = HolidayAdapter
                .next_call(f, std::slice::from_ref(&nager))
                .unwrap();
            assert_eq!(
                (second.host, second.path.as_str()),
                (TIMOR, "/api/holiday/year/2025")
            );
            let timor = response(200, TIMOR_2025);
            assert_eq!(HolidayAdapter.classify(f, &second, &timor), Verdict::Found);
            assert!(matches!(
                HolidayAdapter.classify(f, &second, &response(200, r#"{"code":-1}"#)),
                Verdict::Retry(_)
            ));
            assert!(matches!(
                HolidayAdapter.classify(f, &second, &response(200, "<html>")),
                Verdict::Garbage(_)
            ));
            assert!(
                HolidayAdapter
                    .next_call(f, &[nager.clone(), timor.clone()])
                    .is_none()
            );
            let v = found_json(HolidayAdapter.finish(f, vec![nager, timor]).unwrap());
            assert_eq!(v["holidays"][0]["name"], "New Year's Day");
            assert_eq!(
                v["rest_days"],
                json!([
                    {"date":"2025-01-01","name":"元旦","wage":3},
                    {"date":"2025-01-28","name":"除夕","wage":2}
                ])
            );
            assert_eq!(
                v["adjusted_workdays"],
                json!([{"date":"2025-02-08","name":"春节后补班","target":"春节","after":true}])
            );
        });
    }
}
