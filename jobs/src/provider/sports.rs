//! Sports schedules (SPEC §3.3) from Baidu Sports' day schedule
//! (`tiyu.baidu.com/al/api/home/schedule`), the upstream tokimo-server
//! used, read into normalised matches (tokimo-server's own reader expected
//! snake_case fields the upstream does not send; this one reads the
//! upstream's camelCase).
//!
//! The upstream answers the day before `date` with `direction=forward`
//! (`date=D+1` gives day D), and skips to the nearest day with matches when
//! D has none: such an answer is D with no matches, not another day's.

use serde_json::{Value, json};

use super::{
    Adapter, Fill, Host, Kind, Param, Product, ProviderDef, Rate, Request, ResourceDef, Response,
    Ttl, days, mins,
};

/// Scores move during a match: two minutes fresh, ten stale, a day on
/// error (a schedule is still a schedule).
const DAY: Ttl = Ttl::new(mins(2), mins(10), mins(5), days(1));

/// `hot` and `all` are the upstream's own; a sport is `all` filtered on
/// the match's sport.
const TYPES: &[&str] = &["hot", "all", "football", "basketball", "esports"];

pub static SPORTS: ProviderDef = ProviderDef {
    adapter: &SportsAdapter,
    ..ProviderDef::new(
        "sports",
        "Sports schedules (Baidu Sports)",
        &[Host {
            name: "",
            urls: &["https://tiyu.baidu.com"],
        }],
        Rate::per_second(5, 5),
        &[ResourceDef {
            name: "schedule",
            route: "schedule",
            upstream: "/al/api/home/schedule",
            params: &[
                Param::default("type", Kind::OneOf(TYPES), "hot"),
                Param::req("date", Kind::Date),
            ],
            ttl: DAY,
        }],
    )
};

struct SportsAdapter;

impl Adapter for SportsAdapter {
    fn next_call(&self, fill: &Fill<'_>, answers: &[Response]) -> Option<Request> {
        if !answers.is_empty() {
            return None;
        }
        let date = chrono::NaiveDate::parse_from_str(fill.param("date")?, "%Y-%m-%d").ok()?;
        let upstream_type = match fill.param("type").unwrap_or("hot") {
            "hot" => "hot",
            _ => "all",
        };
        let mut r = Request::get("/al/api/home/schedule")
            .query("direction", "forward")
            .query("type", upstream_type)
            .query("date", &date.succ_opt()?.format("%Y-%m-%d").to_string())
            .header("referer", "https://tiyu.baidu.com/al/live")
            .header("user-agent", super::hot::BROWSER_UA);
        r.authorized = false;
        Some(r)
    }

    fn finish(&self, fill: &Fill<'_>, answers: Vec<Response>) -> Result<Product, String> {
        let last = answers.into_iter().last().ok_or("no answer")?;
        let doc = last.json().ok_or("not JSON")?;
        let data = doc.get("data").ok_or("no data in the answer")?;
        let date = fill.param("date").ok_or("no date")?;
        let kind = fill.param("type").unwrap_or("hot");
        let list = data
            .get("list")
            .and_then(Value::as_array)
            .ok_or("no list in the answer")?;
        // Another day's answer: the asked day has no matches.
        let same_day = data.get("time").and_then(Value::as_str) == Some(date);
        let matches: Vec<Value> = if same_day {
            list.iter()
                .filter(|m| match kind {
                    "hot" | "all" => true,
                    sport => m.get("matchType").and_then(Value::as_str) == Some(sport),
                })
                .filter_map(normalise)
                .collect()
        } else {
            Vec::new()
        };
        Ok(Product::json(&json!({
            "type": kind,
            "date": date,
            "matches": matches,
        })))
    }
}

fn text(v: &Value, key: &str) -> Option<String> {
    let s = match v.get(key)? {
        Value::String(s) => s.trim().to_owned(),
        Value::Number(n) => n.to_string(),
        _ => return None,
    };
    (!s.is_empty()).then_some(s)
}

fn team(v: Option<&Value>) -> Value {
    let Some(v) = v else { return Value::Null };
    json!({
        "name": text(v, "name"),
        "logo": text(v, "logo"),
        // "-" before kickoff.
        "score": text(v, "score").and_then(|s| s.parse::<u32>().ok()),
    })
}

fn normalise(m: &Value) -> Option<Value> {
    let id = text(m, "matchId").or_else(|| text(m, "key"))?;
    // Beijing time, without an offset in the text.
    let start = text(m, "startTime").and_then(|t| {
        chrono::NaiveDateTime::parse_from_str(&t, "%Y-%m-%d %H:%M:%S")
            .ok()
            .map(|t| format!("{}+08:00", t.format("%Y-%m-%dT%H:%M:%S")))
    });
    let status = match text(m, "matchStatus").as_deref() {
        Some("0") => "scheduled",
        Some("1") => "live",
        Some("2") => "finished",
        _ => "other",
    };
    Some(json!({
        "id": id,
        "sport": text(m, "matchType"),
        "league": text(m, "game"),
        "round": text(m, "matchName"),
        "stage": text(m, "matchStage"),
        "start": start,
        "status": status,
        "status_text": text(m, "matchStatusText"),
        "live_stage": text(m, "liveStageText"),
        "home": team(m.get("leftLogo")),
        "away": team(m.get("rightLogo")),
        "summary": m.get("resultDesc").and_then(|r| text(r, "text")),
        "url": text(m, "link").map(|l| format!("https://tiyu.baidu.com{l}")),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::provider::testing::{self, response};

    fn finish(query: &str, body: &str) -> Value {
        let r = testing::resolve(&SPORTS, "schedule", query);
        let settings =
            crate::provider::ProviderSettings::new(&SPORTS, &crate::config::Config::default());
        let fill = Fill {
            resolved: &r,
            settings: &settings,
        };
        match SPORTS
            .adapter
            .finish(&fill, vec![response(200, body)])
            .unwrap()
        {
            Product::Found { body, .. } => serde_json::from_slice(&body).unwrap(),
            other => panic!("{other:?}"),
        }
    }

    const FIXTURE: &str = include_str!("../../../tests/fixtures/sports/schedule.json");

    #[test]
    fn the_day_before_is_asked_forward_and_matches_are_normalised() {
        let r = testing::resolve(&SPORTS, "schedule", "date=2025-01-05");
        assert_eq!(r.key.as_str(), "sports/schedule?date=2025-01-05");
        let settings =
            crate::provider::ProviderSettings::new(&SPORTS, &crate::config::Config::default());
        let fill = Fill {
            resolved: &r,
            settings: &settings,
        };
        let call = SPORTS.adapter.next_call(&fill, &[]).unwrap();
        assert_eq!(
            call.path,
            "/al/api/home/schedule?direction=forward&type=hot&date=2025-01-06"
        );
        let v = finish("date=2025-01-05", FIXTURE);
        let m = v["matches"].as_array().unwrap();
        assert_eq!(m.len(), 3);
        assert_eq!(m[0]["league"], "NBA");
        assert_eq!(m[0]["status"], "finished");
        assert_eq!(m[0]["home"]["name"], "湖人");
        assert_eq!(m[0]["home"]["score"], 114);
        assert_eq!(m[0]["start"], "2025-01-05T10:00:00+08:00");
        assert_eq!(m[1]["status"], "live");
        assert_eq!(m[2]["home"]["score"], Value::Null, "not kicked off");
        assert!(
            m[2]["url"]
                .as_str()
                .unwrap()
                .starts_with("https://tiyu.baidu.com/al/live/detail?")
        );
    }

    #[test]
    fn sports_filter_and_other_days_are_empty() {
        let v = finish("type=football&date=2025-01-05", FIXTURE);
        assert_eq!(v["matches"].as_array().unwrap().len(), 1);
        let v = finish("date=2025-01-04", FIXTURE);
        assert_eq!(
            v["matches"].as_array().unwrap().len(),
            0,
            "the upstream skipped a day"
        );
        assert_eq!(
            testing::code(&SPORTS, "schedule", "date=tomorrow"),
            "invalid-parameter"
        );
        assert_eq!(testing::code(&SPORTS, "schedule", ""), "missing-parameter");
        assert_eq!(
            testing::code(&SPORTS, "schedule", "date=2025-01-05&type=chess"),
            "invalid-parameter"
        );
    }
}
