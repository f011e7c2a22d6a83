//! Parameter types: each parses a raw value and returns its canonical form,
//! so equivalent requests share one cache key.

use crate::error::RequestError;

#[derive(Debug, Clone, Copy)]
pub enum Kind {
    /// An integer in `min..=max`.
    Int { min: i64, max: i64 },
    /// A decimal in `min..=max`, rounded to `decimals` places.
    Float { min: f64, max: f64, decimals: i32 },
    /// `true`/`false` (also `1`/`0`).
    Bool,
    /// Free text up to `max_len` characters, trimmed; `fold_case` lowercases
    /// it when the upstream ignores case anyway (search queries).
    Text { max_len: usize, fold_case: bool },
    /// An identifier: ASCII letters and digits plus the characters in
    /// `extra`, at most `max_len` long, case kept (`tt0137523`, an MBID, a
    /// Spotify id).
    Ident { max_len: usize, extra: &'static str },
    /// A code of ASCII letters (plus the characters in `extra`), `min_len`
    /// to `max_len` long, folded to upper or lower case: a currency (`USD`),
    /// a Wikipedia edition (`zh-yue`).
    Code {
        min_len: usize,
        max_len: usize,
        extra: &'static str,
        upper: bool,
    },
    /// One of these values.
    OneOf(&'static [&'static str]),
    /// A comma-separated subset of these values (sorted, de-duplicated),
    /// at most `max` items.
    SetOf {
        values: &'static [&'static str],
        max: usize,
    },
    /// ISO 639-1 language, optionally with an ISO 3166-1 region: `en`, `en-US`.
    Language,
    /// A comma-separated set of languages (or `null`).
    LanguageSet,
    /// ISO 3166-1 alpha-2 region: `US`.
    Region,
    /// `YYYY-MM-DD`.
    Date,
    /// An IANA time zone name, `GMT`, `UTC` or `auto`.
    Timezone,
}

fn invalid(name: &str, why: impl std::fmt::Display) -> RequestError {
    RequestError::new("invalid-parameter", format!("parameter {name:?}: {why}"))
}

impl Kind {
    pub fn normalise(&self, name: &str, raw: &str) -> Result<String, RequestError> {
        let v = raw.trim();
        if v.is_empty() {
            return Err(invalid(name, "must not be empty"));
        }
        match *self {
            Kind::Int { min, max } => {
                let n: i64 = v.parse().map_err(|_| invalid(name, "must be an integer"))?;
                if n < min || n > max {
                    return Err(invalid(name, format!("must be between {min} and {max}")));
                }
                Ok(n.to_string())
            }
            Kind::Float { min, max, decimals } => {
                let n: f64 = v.parse().map_err(|_| invalid(name, "must be a number"))?;
                if !n.is_finite() || n < min || n > max {
                    return Err(invalid(name, format!("must be between {min} and {max}")));
                }
                let scale = 10f64.powi(decimals);
                let rounded = (n * scale).round() / scale;
                // -0 and 0 are one key.
                Ok(format!("{}", if rounded == 0.0 { 0.0 } else { rounded }))
            }
            Kind::Bool => match v.to_ascii_lowercase().as_str() {
                "true" | "1" => Ok("true".into()),
                "false" | "0" => Ok("false".into()),
                _ => Err(invalid(name, "must be true or false")),
            },
            Kind::Text { max_len, fold_case } => {
                if v.chars().any(char::is_control) {
                    return Err(invalid(name, "contains control characters"));
                }
                let collapsed = v.split_whitespace().collect::<Vec<_>>().join(" ");
                let out = if fold_case {
                    collapsed.to_lowercase()
                } else {
                    collapsed
                };
                // Checked after folding: lowercasing can lengthen a string,
                // and the key must resolve again to itself.
                if out.chars().count() > max_len {
                    return Err(invalid(name, format!("longer than {max_len} characters")));
                }
                Ok(out)
            }
            Kind::Ident { max_len, extra } => {
                if v.len() > max_len {
                    return Err(invalid(name, format!("longer than {max_len} characters")));
                }
                if v.chars()
                    .all(|c| c.is_ascii_alphanumeric() || extra.contains(c))
                {
                    Ok(v.to_string())
                } else if extra.is_empty() {
                    Err(invalid(name, "must be letters and digits"))
                } else {
                    Err(invalid(
                        name,
                        format!("must be letters, digits and {extra}"),
                    ))
                }
            }
            Kind::Code {
                min_len,
                max_len,
                extra,
                upper,
            } => {
                let ok = (min_len..=max_len).contains(&v.len())
                    && v.chars()
                        .all(|c| c.is_ascii_alphabetic() || extra.contains(c));
                if !ok {
                    return Err(invalid(
                        name,
                        format!("must be {min_len} to {max_len} letters"),
                    ));
                }
                Ok(if upper {
                    v.to_ascii_uppercase()
                } else {
                    v.to_ascii_lowercase()
                })
            }
            Kind::OneOf(values) => values
                .iter()
                .find(|x| x.eq_ignore_ascii_case(v))
                .map(|x| x.to_string())
                .ok_or_else(|| invalid(name, format!("must be one of {}", values.join(", ")))),
            Kind::SetOf { values, max } => {
                let mut items = Vec::new();
                for item in v.split(',').map(str::trim).filter(|s| !s.is_empty()) {
                    let known = values
                        .iter()
                        .find(|x| x.eq_ignore_ascii_case(item))
                        .ok_or_else(|| {
                            invalid(
                                name,
                                format!("{item:?} is not one of {}", values.join(", ")),
                            )
                        })?;
                    items.push(*known);
                }
                finish_set(name, items, max)
            }
            Kind::Language => {
                language(v).ok_or_else(|| invalid(name, "must look like en or en-US"))
            }
            Kind::LanguageSet => {
                let mut items = Vec::new();
                for item in v.split(',').map(str::trim).filter(|s| !s.is_empty()) {
                    if item.eq_ignore_ascii_case("null") {
                        items.push("null".to_string());
                    } else {
                        items.push(
                            language(item).ok_or_else(|| {
                                invalid(name, format!("{item:?} is not a language"))
                            })?,
                        );
                    }
                }
                let refs: Vec<&str> = items.iter().map(String::as_str).collect();
                finish_set(name, refs, 20)
            }
            Kind::Region => {
                if v.len() == 2 && v.chars().all(|c| c.is_ascii_alphabetic()) {
                    Ok(v.to_ascii_uppercase())
                } else {
                    Err(invalid(name, "must be a two-letter country code"))
                }
            }
            Kind::Date => {
                let b = v.as_bytes();
                let ok = b.len() == 10
                    && b[4] == b'-'
                    && b[7] == b'-'
                    && b.iter()
                        .enumerate()
                        .all(|(i, c)| i == 4 || i == 7 || c.is_ascii_digit());
                let month: u32 = v.get(5..7).and_then(|m| m.parse().ok()).unwrap_or(0);
                let day: u32 = v.get(8..10).and_then(|d| d.parse().ok()).unwrap_or(0);
                if ok && (1..=12).contains(&month) && (1..=31).contains(&day) {
                    Ok(v.to_string())
                } else {
                    Err(invalid(name, "must be a date like 2026-01-31"))
                }
            }
            Kind::Timezone => {
                if v.eq_ignore_ascii_case("auto") {
                    return Ok("auto".into());
                }
                let ok = v.len() <= 64
                    && v.chars()
                        .all(|c| c.is_ascii_alphanumeric() || "/_+-".contains(c))
                    && v.chars().next().is_some_and(|c| c.is_ascii_uppercase());
                if ok {
                    Ok(v.to_string())
                } else {
                    Err(invalid(
                        name,
                        "must be an IANA time zone such as Europe/Berlin, or auto",
                    ))
                }
            }
        }
    }

    /// A short human description for `/v1/providers`.
    pub fn describe(&self) -> String {
        match *self {
            Kind::Int { min, max } => format!("integer {min}..{max}"),
            Kind::Float { min, max, .. } => format!("number {min}..{max}"),
            Kind::Bool => "boolean".into(),
            Kind::Text { max_len, .. } => format!("text (≤{max_len} chars)"),
            Kind::Ident { max_len, .. } => format!("identifier (≤{max_len} chars)"),
            Kind::Code {
                min_len, max_len, ..
            } => format!("code of {min_len} to {max_len} letters"),
            Kind::OneOf(v) => format!("one of: {}", v.join(", ")),
            Kind::SetOf { values, .. } => format!("comma-separated, any of: {}", values.join(", ")),
            Kind::Language => "language (en, en-US)".into(),
            Kind::LanguageSet => "comma-separated languages or null".into(),
            Kind::Region => "country code (US)".into(),
            Kind::Date => "date (YYYY-MM-DD)".into(),
            Kind::Timezone => "IANA time zone or auto".into(),
        }
    }
}

fn finish_set(name: &str, mut items: Vec<&str>, max: usize) -> Result<String, RequestError> {
    items.sort_unstable();
    items.dedup();
    if items.is_empty() {
        return Err(invalid(name, "must list at least one value"));
    }
    if items.len() > max {
        return Err(invalid(name, format!("at most {max} values")));
    }
    Ok(items.join(","))
}

fn language(v: &str) -> Option<String> {
    let (lang, region) = match v.split_once('-') {
        Some((l, r)) => (l, Some(r)),
        None => (v, None),
    };
    if lang.len() != 2 || !lang.chars().all(|c| c.is_ascii_alphabetic()) {
        return None;
    }
    let mut out = lang.to_ascii_lowercase();
    if let Some(r) = region {
        if r.len() != 2 || !r.chars().all(|c| c.is_ascii_alphabetic()) {
            return None;
        }
        out.push('-');
        out.push_str(&r.to_ascii_uppercase());
    }
    Some(out)
}
