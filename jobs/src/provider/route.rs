//! Route templates: matching a request path, filling an upstream path.

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};

/// Everything but RFC 3986's unreserved characters is encoded in a path
/// segment: a title with `/`, `+`, `?` or a space stays one segment and means
/// the same to every upstream.
const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// Match `segments` against a route template (`movie/{id}`), returning the
/// `{name}` captures, percent-decoded.
pub fn match_route(route: &'static str, segments: &[&str]) -> Option<Vec<(&'static str, String)>> {
    let parts: Vec<&'static str> = route.split('/').collect();
    if parts.len() != segments.len() {
        return None;
    }
    let mut captured = Vec::new();
    for (part, seg) in parts.into_iter().zip(segments) {
        match placeholder(part) {
            Some(name) if !seg.is_empty() => captured.push((name, percent_decode(seg)?)),
            Some(_) => return None,
            None if part == *seg => {}
            None => return None,
        }
    }
    Some(captured)
}

fn placeholder(part: &str) -> Option<&str> {
    part.strip_prefix('{').and_then(|p| p.strip_suffix('}'))
}

fn percent_decode(s: &str) -> Option<String> {
    percent_encoding::percent_decode_str(s)
        .decode_utf8()
        .ok()
        .map(|c| c.into_owned())
}

/// Fill a template's `{name}` segments with `values`, each percent-encoded
/// as one path segment.
pub fn fill_template(template: &str, values: &[(&'static str, String)]) -> String {
    template
        .split('/')
        .map(|part| match placeholder(part) {
            Some(name) => values
                .iter()
                .find(|(n, _)| *n == name)
                .map(|(_, v)| encode_segment(v))
                .unwrap_or_default(),
            None => part.to_string(),
        })
        .collect::<Vec<_>>()
        .join("/")
}

pub fn encode_segment(v: &str) -> String {
    utf8_percent_encode(v, SEGMENT).to_string()
}

pub fn encode_query(values: &[(&'static str, String)]) -> String {
    let mut ser = form_urlencoded::Serializer::new(String::new());
    for (k, v) in values {
        ser.append_pair(k, v);
    }
    ser.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_values_are_one_encoded_segment() {
        let v = [("title", "AC/DC + Friends?".to_string())];
        assert_eq!(
            fill_template("/page/{title}", &v),
            "/page/AC%2FDC%20%2B%20Friends%3F"
        );
        let back = match_route("page/{title}", &["page", "AC%2FDC%20%2B%20Friends%3F"]).unwrap();
        assert_eq!(back[0].1, "AC/DC + Friends?");
        assert_eq!(fill_template("{t}", &[("t", "Café".into())]), "Caf%C3%A9");
    }
}
