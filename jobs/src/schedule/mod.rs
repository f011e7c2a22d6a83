//! `schedules.toml`: cron schedules that prewarm larder paths and refresh
//! popular keys ahead of their expiry (SPEC §6).
//!
//! A file is checked whole when it is loaded: every cron expression, time
//! zone and prewarm path (expanded for today) must be valid, or loading
//! fails naming the line and the reason. Running the schedules is
//! `larder-scheduler`'s; this module only knows what a schedule says.

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Tz;
use serde::Deserialize;
use toml::Spanned;

use crate::config::Config;
use crate::key::CacheKey;
use crate::provider::Catalogue;

mod expand;
pub use expand::{expand, ids_at};

/// The most keys one schedule may expand to (a tick enqueues them in
/// batches, in one transaction).
pub const MAX_KEYS: usize = 50_000;

/// One schedule, checked.
#[derive(Debug, Clone)]
pub struct Schedule {
    pub name: String,
    cron: cron::Schedule,
    pub cron_text: String,
    pub tz: Tz,
    pub prewarm: Vec<String>,
    /// Keys named by a cached list: every id it holds.
    pub prewarm_each: Vec<Each>,
    pub refresh_ahead: Option<RefreshAhead>,
    /// Where it starts in the file.
    pub line: usize,
}

/// Prewarm every id a list names: `{ list = "/v1/tmdb/trending/movie/day",
/// ids = "results.*.id", path = "/v1/tmdb/movie/*" }`. The list's cached
/// entry is read at the tick (prewarm it too, earlier or in the same
/// schedule); each id found at `ids` (`*` walks an array) replaces the `*`
/// of `path`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Each {
    pub list: String,
    pub ids: String,
    pub path: String,
}

/// Most ids taken from one list.
pub const MAX_EACH: usize = 1000;

/// Refresh popular keys before they expire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RefreshAhead {
    /// Refresh entries whose freshness ends within this long.
    pub within: Duration,
    /// …when they were hit at least this often…
    pub min_hits: u32,
    /// …over this window.
    pub window: Duration,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileDef {
    timezone: Option<Spanned<String>>,
    #[serde(default)]
    schedule: Vec<Spanned<ScheduleDef>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ScheduleDef {
    name: Spanned<String>,
    cron: Spanned<String>,
    timezone: Option<Spanned<String>>,
    #[serde(default)]
    prewarm: Vec<Spanned<String>>,
    #[serde(default)]
    prewarm_each: Vec<Spanned<Each>>,
    refresh_ahead: Option<Spanned<RefreshAheadDef>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RefreshAheadDef {
    within: String,
    min_hits: u32,
    window: Option<String>,
}

/// Line number (1-based) of a byte offset.
fn line_of(text: &str, offset: usize) -> usize {
    text[..offset.min(text.len())].matches('\n').count() + 1
}

/// The configured schedules: `LARDER_SCHEDULES` (which must exist), else
/// `./schedules.toml` when present; `Ok(None)` when there is none.
pub fn load_configured(
    config: &Config,
) -> Result<Option<(std::path::PathBuf, Vec<Schedule>)>, String> {
    let (path, explicit) = match &config.schedules {
        Some(p) => (p.clone(), true),
        None => (std::path::PathBuf::from("schedules.toml"), false),
    };
    if !explicit && !path.exists() {
        return Ok(None);
    }
    let schedules = load(&path, &config.catalogue())?;
    Ok(Some((path, schedules)))
}

/// Read and check `path`.
pub fn load(path: &Path, catalogue: &Catalogue) -> Result<Vec<Schedule>, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    parse(&text, catalogue).map_err(|e| format!("{}:{e}", path.display()))
}

/// Check a file's text: `Err("LINE: reason")`.
pub fn parse(text: &str, catalogue: &Catalogue) -> Result<Vec<Schedule>, String> {
    let file: FileDef = toml::from_str(text).map_err(|e| {
        let line = e.span().map_or(1, |s| line_of(text, s.start));
        format!("{line}: {}", e.message())
    })?;
    let at = |span: std::ops::Range<usize>| line_of(text, span.start);
    let default_tz = match &file.timezone {
        Some(tz) => parse_tz(tz.get_ref()).map_err(|e| format!("{}: {e}", at(tz.span())))?,
        None => Tz::UTC,
    };
    let mut out: Vec<Schedule> = Vec::new();
    for def in &file.schedule {
        let line = at(def.span());
        let def = def.get_ref();
        let name = def.name.get_ref().trim().to_owned();
        if name.is_empty()
            || name.len() > 64
            || !name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
        {
            return Err(format!(
                "{}: schedule name {name:?}: letters, digits, '-', '_' and '.', at most 64",
                at(def.name.span())
            ));
        }
        if out.iter().any(|s| s.name == name) {
            return Err(format!(
                "{}: schedule name {name:?} is used twice",
                at(def.name.span())
            ));
        }
        let cron_text = def.cron.get_ref().trim().to_owned();
        let fields = cron_text.split_whitespace().count();
        if !(6..=7).contains(&fields) {
            return Err(format!(
                "{}: cron {cron_text:?}: expected 6 fields (sec min hour day-of-month month day-of-week), found {fields}",
                at(def.cron.span())
            ));
        }
        let cron = cron::Schedule::from_str(&cron_text)
            .map_err(|e| format!("{}: cron {cron_text:?}: {e}", at(def.cron.span())))?;
        let tz = match &def.timezone {
            Some(tz) => parse_tz(tz.get_ref()).map_err(|e| format!("{}: {e}", at(tz.span())))?,
            None => default_tz,
        };
        let refresh_ahead = match &def.refresh_ahead {
            None => None,
            Some(r) => {
                let l = at(r.span());
                let r = r.get_ref();
                let dur = |what: &str, v: &str| {
                    crate::config::parse_duration(v)
                        .map_err(|e| format!("{l}: refresh_ahead.{what} {v:?}: {e}"))
                };
                let within = dur("within", &r.within)?;
                let window = match &r.window {
                    Some(w) => dur("window", w)?,
                    None => Duration::from_secs(3600),
                };
                if r.min_hits == 0 || within.is_zero() || window.is_zero() {
                    return Err(format!(
                        "{l}: refresh_ahead needs within > 0, window > 0 and min_hits ≥ 1"
                    ));
                }
                Some(RefreshAhead {
                    within,
                    min_hits: r.min_hits,
                    window,
                })
            }
        };
        if def.prewarm.is_empty() && def.prewarm_each.is_empty() && refresh_ahead.is_none() {
            return Err(format!(
                "{line}: schedule {name:?} has neither prewarm nor refresh_ahead"
            ));
        }
        for e in &def.prewarm_each {
            let l = at(e.span());
            let e = e.get_ref();
            let today = Utc::now().date_naive();
            match expand(&e.list, today, catalogue) {
                Ok(keys) if keys.len() == 1 => {}
                Ok(_) => {
                    return Err(format!(
                        "{l}: prewarm_each list {:?}: one list, no *",
                        e.list
                    ));
                }
                Err(why) => return Err(format!("{l}: prewarm_each list {:?}: {why}", e.list)),
            }
            if e.path.matches('*').count() != 1 {
                return Err(format!(
                    "{l}: prewarm_each path {:?}: exactly one * (where each id goes)",
                    e.path
                ));
            }
            if ["1", "a1", "tt0000001"]
                .iter()
                .all(|id| expand(&e.path.replace('*', id), today, catalogue).is_err())
            {
                return Err(format!(
                    "{l}: prewarm_each path {:?}: resolves for no id",
                    e.path
                ));
            }
            if e.ids.is_empty() {
                return Err(format!(
                    "{l}: prewarm_each ids: a path such as results.*.id"
                ));
            }
        }
        let schedule = Schedule {
            name,
            cron,
            cron_text,
            tz,
            prewarm: def.prewarm.iter().map(|p| p.get_ref().clone()).collect(),
            prewarm_each: def
                .prewarm_each
                .iter()
                .map(|e| e.get_ref().clone())
                .collect(),
            refresh_ahead,
            line,
        };
        // Every path must resolve today (and so on any day).
        let today = schedule.today(Utc::now());
        let mut total = 0;
        for p in &def.prewarm {
            let keys = expand(p.get_ref(), today, catalogue)
                .map_err(|e| format!("{}: prewarm {:?}: {e}", at(p.span()), p.get_ref()))?;
            total += keys.len();
        }
        if total > MAX_KEYS {
            return Err(format!(
                "{line}: schedule {:?} expands to {total} keys (at most {MAX_KEYS})",
                schedule.name
            ));
        }
        out.push(schedule);
    }
    Ok(out)
}

fn parse_tz(name: &str) -> Result<Tz, String> {
    name.trim()
        .parse::<Tz>()
        .map_err(|_| format!("unknown time zone {name:?} (an IANA name such as Asia/Shanghai)"))
}

impl Schedule {
    /// The first tick strictly after `t`.
    pub fn next_after(&self, t: DateTime<Utc>) -> Option<DateTime<Utc>> {
        self.cron
            .after(&t.with_timezone(&self.tz))
            .next()
            .map(|d| d.with_timezone(&Utc))
    }

    /// The last tick at or before `t`.
    pub fn last_at_or_before(&self, t: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let after = t + chrono::Duration::milliseconds(1);
        self.cron
            .after(&after.with_timezone(&self.tz))
            .next_back()
            .map(|d| d.with_timezone(&Utc))
            .filter(|d| *d <= t)
    }

    /// The shortest gap between its next few ticks.
    pub fn interval(&self) -> Duration {
        let now = Utc::now();
        let ticks: Vec<_> = self
            .cron
            .after(&now.with_timezone(&self.tz))
            .take(6)
            .collect();
        ticks
            .windows(2)
            .filter_map(|w| (w[1] - w[0]).to_std().ok())
            .min()
            .unwrap_or(Duration::from_secs(86_400))
    }

    /// The date at `t` in the schedule's time zone.
    pub fn today(&self, t: DateTime<Utc>) -> NaiveDate {
        t.with_timezone(&self.tz).date_naive()
    }

    /// Every key the schedule prewarms at tick `t`.
    pub fn keys(&self, t: DateTime<Utc>, catalogue: &Catalogue) -> Result<Vec<CacheKey>, String> {
        let today = self.today(t);
        let mut keys: Vec<CacheKey> = Vec::new();
        for p in &self.prewarm {
            for k in expand(p, today, catalogue)? {
                if !keys.contains(&k) {
                    keys.push(k);
                }
            }
        }
        Ok(keys)
    }

    /// Warnings for `larder check`: prewarmed keys that go cold between
    /// ticks (fresh + stale shorter than the interval).
    pub fn warnings(&self, config: &Config) -> Vec<String> {
        let catalogue = config.catalogue();
        let interval = self.interval();
        let mut out = Vec::new();
        let Ok(keys) = self.keys(Utc::now(), &catalogue) else {
            return out;
        };
        for key in keys {
            let Ok(r) = catalogue.resolve_key(key.as_str()) else {
                continue;
            };
            let ttl = r.ttl(config);
            if ttl.fresh + ttl.stale < interval {
                out.push(format!(
                    "schedule {:?} (line {}) prewarms {} every {}, but it stays fresh {} and stale {}: it goes cold between ticks",
                    self.name,
                    self.line,
                    key,
                    humantime::format_duration(interval),
                    humantime::format_duration(ttl.fresh),
                    humantime::format_duration(ttl.stale),
                ));
            }
        }
        out
    }
}

#[cfg(test)]
mod tests;
