//! Expanding prewarm paths: dates, `*`, and ids read from a list.

use chrono::{Days, NaiveDate};

use super::MAX_EACH;
use crate::key::CacheKey;
use crate::provider::{Catalogue, Kind};

/// Expand one prewarm path: `{today}`, `{today+N}`, `{today-N}` become the
/// date; a `*` path segment becomes every value its parameter allows (a
/// parameter with a fixed list of values: every trending media type, every
/// source of a list provider). `/v1/` is optional.
pub fn expand(
    path: &str,
    today: NaiveDate,
    catalogue: &Catalogue,
) -> Result<Vec<CacheKey>, String> {
    let text = substitute_dates(path, today)?;
    let text = text.trim();
    let text = text
        .strip_prefix("/v1/")
        .or(text.strip_prefix('/'))
        .unwrap_or(text);
    let (path, query) = text.split_once('?').unwrap_or((text, ""));
    let (provider, rest) = path
        .split_once('/')
        .ok_or("expected /v1/{provider}/{resource}")?;
    let segments: Vec<&str> = rest.split('/').collect();
    if !segments.contains(&"*") {
        let r = catalogue
            .resolve(provider, rest, query)
            .map_err(|e| e.message)?;
        return Ok(vec![r.key]);
    }
    let def = catalogue
        .provider(provider)
        .ok_or_else(|| format!("unknown provider {provider:?}"))?;
    let mut keys = Vec::new();
    for resource in def.resources {
        let parts: Vec<&str> = resource.route.split('/').collect();
        if parts.len() != segments.len() {
            continue;
        }
        // Each `*` must sit on a parameter with a list of values; literal
        // segments must match.
        let mut choices: Vec<Vec<String>> = Vec::new();
        let mut fits = true;
        for (part, seg) in parts.iter().zip(&segments) {
            let placeholder = part.strip_prefix('{').and_then(|p| p.strip_suffix('}'));
            match (placeholder, *seg) {
                (Some(name), "*") => match resource.param(name).map(|p| p.kind) {
                    Some(Kind::OneOf(values)) => {
                        choices.push(values.iter().map(|v| v.to_string()).collect())
                    }
                    _ => fits = false,
                },
                (Some(_), seg) => choices.push(vec![seg.to_owned()]),
                (None, seg) if seg == *part => choices.push(vec![seg.to_owned()]),
                (None, _) => fits = false,
            }
        }
        if !fits {
            continue;
        }
        let mut paths = vec![String::new()];
        for options in &choices {
            paths = paths
                .iter()
                .flat_map(|p| {
                    options.iter().map(move |o| match p.is_empty() {
                        true => o.clone(),
                        false => format!("{p}/{o}"),
                    })
                })
                .collect();
        }
        for p in paths {
            // A value that does not resolve here may belong to another
            // route shape; skip it.
            if let Ok(r) = catalogue.resolve(provider, &p, query)
                && !keys.contains(&r.key)
            {
                keys.push(r.key);
            }
        }
        if !keys.is_empty() {
            break;
        }
    }
    if keys.is_empty() {
        return Err(format!(
            "no resource of {provider} has a parameter with a list of values where * stands"
        ));
    }
    Ok(keys)
}

/// The values at a dotted path of `doc`, `*` walking every element of an
/// array (`results.*.id`), as text; at most [`MAX_EACH`].
pub fn ids_at(doc: &serde_json::Value, path: &str) -> Vec<String> {
    fn walk(v: &serde_json::Value, parts: &[&str], out: &mut Vec<String>) {
        if out.len() >= MAX_EACH {
            return;
        }
        let Some((first, rest)) = parts.split_first() else {
            match v {
                serde_json::Value::String(s) if !s.is_empty() => out.push(s.clone()),
                serde_json::Value::Number(n) => out.push(n.to_string()),
                _ => {}
            }
            return;
        };
        match (*first, v) {
            ("*", serde_json::Value::Array(items)) => {
                for i in items {
                    walk(i, rest, out);
                }
            }
            (key, serde_json::Value::Object(map)) => {
                if let Some(child) = map.get(key) {
                    walk(child, rest, out);
                }
            }
            (index, serde_json::Value::Array(items)) => {
                if let Some(child) = index.parse::<usize>().ok().and_then(|i| items.get(i)) {
                    walk(child, rest, out);
                }
            }
            _ => {}
        }
    }
    let parts: Vec<&str> = path.split('.').filter(|p| !p.is_empty()).collect();
    let mut out = Vec::new();
    walk(doc, &parts, &mut out);
    out.dedup();
    out
}

/// `{today}`, `{today+N}`, `{today-N}` → `YYYY-MM-DD`.
fn substitute_dates(path: &str, today: NaiveDate) -> Result<String, String> {
    let mut out = String::new();
    let mut rest = path;
    while let Some(start) = rest.find("{today") {
        out.push_str(&rest[..start]);
        let after = &rest[start + "{today".len()..];
        let end = after.find('}').ok_or("unclosed {today")?;
        let offset = after[..end].trim();
        let date = if offset.is_empty() {
            Some(today)
        } else if let Some(n) = offset.strip_prefix('+') {
            n.trim()
                .parse::<u64>()
                .ok()
                .and_then(|n| today.checked_add_days(Days::new(n)))
        } else if let Some(n) = offset.strip_prefix('-') {
            n.trim()
                .parse::<u64>()
                .ok()
                .and_then(|n| today.checked_sub_days(Days::new(n)))
        } else {
            None
        };
        let date = date.ok_or_else(|| {
            format!("{{today{offset}}}: expected {{today}}, {{today+N}} or {{today-N}}")
        })?;
        out.push_str(&date.format("%Y-%m-%d").to_string());
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}
