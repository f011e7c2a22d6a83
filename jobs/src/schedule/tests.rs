//! Parsing, expanding and stepping schedules.

use super::*;

fn cat() -> &'static Catalogue {
    Catalogue::builtin()
}

#[test]
fn a_good_file_parses_and_expands() {
    let text = r#"
timezone = "Asia/Shanghai"

[[schedule]]
name = "trending"
cron = "0 */5 * * * *"
prewarm = ["/v1/tmdb/trending/*/day", "/v1/tmdb/genre/movie/list"]

[[schedule]]
name = "weather"
cron = "0 0 * * * *"
timezone = "Pacific/Kiritimati"
prewarm = ["/v1/openmeteo/forecast?latitude=1&longitude=2&start_date={today}&end_date={today+1}"]

[[schedule]]
name = "refresh-ahead"
cron = "0 * * * * *"
refresh_ahead = { within = "10m", min_hits = 3 }
"#;
    let s = parse(text, cat()).unwrap();
    assert_eq!(s.len(), 3);
    assert_eq!(s[0].tz, chrono_tz::Asia::Shanghai);
    let keys = s[0].keys(Utc::now(), cat()).unwrap();
    assert_eq!(keys.len(), 5, "{keys:?}");
    assert!(
        keys.iter()
            .any(|k| k.as_str() == "tmdb/trending/person/day")
    );
    assert_eq!(s[0].interval(), Duration::from_secs(300));
    assert_eq!(s[2].refresh_ahead.unwrap().min_hits, 3);
    assert_eq!(
        s[2].refresh_ahead.unwrap().window,
        Duration::from_secs(3600)
    );
    // {today} is the schedule's own date: at 11:00 UTC it is already
    // tomorrow in Kiritimati (UTC+14).
    let t = DateTime::parse_from_rfc3339("2026-12-03T11:00:00Z")
        .unwrap()
        .with_timezone(&Utc);
    let k = s[1].keys(t, cat()).unwrap();
    assert!(
        k[0].as_str().contains("start_date=2026-12-04")
            && k[0].as_str().contains("end_date=2026-12-05"),
        "{k:?}"
    );
}

#[test]
fn prewarm_each_reads_ids_from_a_list() {
    let text = "[[schedule]]\nname = \"each\"\ncron = \"0 * * * * *\"\nprewarm_each = [{ list = \"/v1/tmdb/trending/movie/day\", ids = \"results.*.id\", path = \"/v1/tmdb/movie/*\" }]\n";
    let s = parse(text, cat()).unwrap();
    assert_eq!(s[0].prewarm_each[0].path, "/v1/tmdb/movie/*");
    let doc = serde_json::json!({"results": [{"id": 550}, {"id": 551}, {"name": "x"}]});
    assert_eq!(ids_at(&doc, "results.*.id"), vec!["550", "551"]);
    for (bad, why) in [
        ("path = \"/v1/tmdb/movie/1\"", "exactly one *"),
        ("path = \"/v1/tmdb/nothing/*\"", "resolves for no id"),
    ] {
        let t = text.replace("path = \"/v1/tmdb/movie/*\"", bad);
        let err = parse(&t, cat()).unwrap_err();
        assert!(err.starts_with("4: ") && err.contains(why), "{err}");
    }
}

#[test]
fn ticks_step_forward_and_back() {
    let s = &parse(
        "[[schedule]]\nname = \"a\"\ncron = \"*/10 * * * * *\"\nprewarm = [\"/v1/tmdb/configuration\"]\n",
        cat(),
    )
    .unwrap()[0];
    let t = DateTime::parse_from_rfc3339("2026-12-03T10:00:05Z")
        .unwrap()
        .with_timezone(&Utc);
    assert_eq!(
        s.next_after(t).unwrap().to_rfc3339(),
        "2026-12-03T10:00:10+00:00"
    );
    assert_eq!(
        s.last_at_or_before(t).unwrap().to_rfc3339(),
        "2026-12-03T10:00:00+00:00"
    );
    let on = t - chrono::Duration::seconds(5);
    assert_eq!(s.last_at_or_before(on).unwrap(), on);
}

#[test]
fn bad_files_name_the_line_and_the_reason() {
    for (text, line, why) in [
        (
            "[[schedule]]\nname = \"a\"\ncron = \"0 * * * *\"\nprewarm = [\"/v1/tmdb/configuration\"]\n",
            3,
            "expected 6 fields",
        ),
        (
            "[[schedule]]\nname = \"a\"\ncron = \"0 99 * * * *\"\nprewarm = [\"/v1/tmdb/configuration\"]\n",
            3,
            "cron",
        ),
        ("timezone = \"Mars/Olympus\"\n", 1, "unknown time zone"),
        (
            "[[schedule]]\nname = \"a\"\ncron = \"0 * * * * *\"\nprewarm = [\n  \"/v1/tmdb/configuration\",\n  \"/v1/tmdb/movie/abc\",\n]\n",
            6,
            "prewarm",
        ),
        (
            "[[schedule]]\nname = \"a\"\ncron = \"0 * * * * *\"\nprewarm = [\"/v1/nope/x\"]\n",
            4,
            "prewarm",
        ),
        (
            "[[schedule]]\nname = \"a\"\ncron = \"0 * * * * *\"\n",
            1,
            "neither prewarm nor refresh_ahead",
        ),
        (
            "[[schedule]]\nname = \"a\"\ncron = \"0 * * * * *\"\nprewarm = [\"/v1/tmdb/configuration\"]\nevery = 5\n",
            5,
            "unknown field",
        ),
        (
            "[[schedule]]\nname = \"a\"\ncron = \"0 * * * * *\"\nprewarm = [\"/v1/tmdb/movie/{today+x}\"]\n",
            4,
            "today",
        ),
        (
            "[[schedule]]\nname = \"a\"\ncron = \"0 * * * * *\"\nprewarm = [\"/v1/tmdb/movie/*\"]\n",
            4,
            "list of values",
        ),
        ("[[schedule\nname = 1\n", 1, ""),
    ] {
        let err = parse(text, cat()).unwrap_err();
        let (at, reason) = err.split_once(": ").unwrap_or(("", &err));
        assert_eq!(at, line.to_string(), "{text:?} → {err}");
        assert!(reason.contains(why), "{text:?} → {err}");
    }
}
