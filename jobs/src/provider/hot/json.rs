//! Reading a JSON list by a [`JsonList`] mapping: dotted paths to the
//! array and to each item's fields, and how an item's URL is made.

use serde_json::Value;

use super::Item;
use super::sources::{JsonList, Link};

/// The value at a dotted path (`data.realtime`, `stat.view`, `0.title`).
pub(super) fn at<'a>(v: &'a Value, path: &str) -> Option<&'a Value> {
    if path.is_empty() {
        return Some(v);
    }
    path.split('.').try_fold(v, |v, seg| match v {
        Value::Array(a) => a.get(seg.parse::<usize>().ok()?),
        Value::Object(o) => o.get(seg),
        _ => None,
    })
}

/// A field as text (a string, or a number written out); blank is none.
pub(super) fn text(v: &Value, path: &str) -> Option<String> {
    let s = match at(v, path)? {
        Value::String(s) => s.trim().to_owned(),
        Value::Number(n) => n.to_string(),
        _ => return None,
    };
    (!s.is_empty()).then_some(s)
}

/// A heat figure: a number, or text such as `123万`, `4.5亿`, `1,234`,
/// `12.3k`.
pub(super) fn figure(v: &Value, path: &str) -> Option<f64> {
    match at(v, path)? {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => parse_figure(s),
        _ => None,
    }
}

pub(super) fn parse_figure(s: &str) -> Option<f64> {
    let s: String = s.chars().filter(|c| !matches!(c, ',' | ' ')).collect();
    let digits: String = s
        .chars()
        .take_while(|c| c.is_ascii_digit() || *c == '.')
        .collect();
    let n: f64 = digits.parse().ok()?;
    let unit = s[digits.len()..].trim_start();
    let scale = match unit.chars().next() {
        Some('万') => 1e4,
        Some('亿') => 1e8,
        Some('k' | 'K') => 1e3,
        Some('m' | 'M') => 1e6,
        _ => 1.0,
    };
    Some(n * scale)
}

/// Fill `{path}` placeholders of a template with an item's fields, each
/// percent-encoded as a URL component.
fn fill(template: &str, item: &Value) -> Option<String> {
    let mut out = String::new();
    let mut rest = template;
    while let Some(start) = rest.find('{') {
        out.push_str(&rest[..start]);
        let end = rest[start..].find('}')? + start;
        let name = &rest[start + 1..end];
        // `{!path}`: a value that is a URL path already, as it is.
        match name.strip_prefix('!') {
            Some(raw) => out.push_str(&text(item, raw)?),
            None => {
                let value = text(item, name)?;
                out.extend(form_urlencoded::byte_serialize(value.as_bytes()));
            }
        }
        rest = &rest[end + 1..];
    }
    out.push_str(rest);
    Some(out)
}

fn link(l: &Link, item: &Value) -> Option<String> {
    match l {
        Link::Field(path) => text(item, path),
        Link::Template(t) => fill(t, item),
    }
}

pub(super) fn read(map: &JsonList, body: &[u8]) -> Result<Vec<Item>, String> {
    let doc: Value = serde_json::from_slice(body).map_err(|e| format!("not JSON: {e}"))?;
    let list = at(&doc, map.list)
        .and_then(Value::as_array)
        .ok_or_else(|| format!("no list at {:?}", map.list))?;
    let mut items = Vec::new();
    for raw in list {
        let item = match map.item {
            Some(p) => match at(raw, p) {
                Some(v) => v,
                None => continue,
            },
            None => raw,
        };
        if map.skip.iter().any(|(path, value)| {
            text(raw, path).as_deref() == Some(value) || text(item, path).as_deref() == Some(value)
        }) {
            continue;
        }
        if map
            .only
            .iter()
            .any(|(path, value)| text(item, path).as_deref() != Some(value))
        {
            continue;
        }
        let Some(title) = text(item, map.title) else {
            continue;
        };
        let Some(url) = link(&map.url, item) else {
            continue;
        };
        items.push(Item {
            rank: 0,
            id: text(item, map.id).unwrap_or_else(|| url.clone()),
            title,
            mobile_url: map.mobile_url.as_ref().and_then(|l| link(l, item)),
            url,
            desc: map.desc.and_then(|p| text(item, p)),
            hot: map.hot.and_then(|p| figure(item, p)),
            cover: map.cover.and_then(|p| text(item, p)),
            author: map.author.and_then(|p| text(item, p)),
            timestamp: map.timestamp.and_then(|p| figure(item, p)).map(|t| {
                // Milliseconds when it looks like them.
                if t > 1e11 {
                    (t / 1000.0) as i64
                } else {
                    t as i64
                }
            }),
        });
    }
    Ok(items)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn figures_read_chinese_units() {
        assert_eq!(parse_figure("123万"), Some(1_230_000.0));
        assert_eq!(parse_figure("4.5亿热度"), Some(450_000_000.0));
        assert_eq!(parse_figure("1,234"), Some(1234.0));
        assert_eq!(parse_figure("12.3k"), Some(12_300.0));
        assert_eq!(parse_figure("热"), None);
    }

    #[test]
    fn paths_and_templates() {
        let v: Value = serde_json::json!({"a": {"b": [{"c": "x y"}]}, "n": 5});
        assert_eq!(text(&v, "a.b.0.c").as_deref(), Some("x y"));
        assert_eq!(text(&v, "n").as_deref(), Some("5"));
        assert_eq!(
            fill("https://s.weibo.com/weibo?q=%23{a.b.0.c}%23", &v).as_deref(),
            Some("https://s.weibo.com/weibo?q=%23x+y%23")
        );
    }
}
