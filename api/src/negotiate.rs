//! `Accept-Encoding` (RFC 9110 §12.5.3): which of the codings larder serves
//! (gzip, identity) a client accepts.

use hyper::HeaderMap;
use hyper::header::ACCEPT_ENCODING;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Accept {
    pub gzip: bool,
    pub identity: bool,
}

impl Accept {
    /// What `headers` accept. No `Accept-Encoding` at all: identity only (a
    /// client that did not ask may not decode anything else).
    pub fn from_headers(headers: &HeaderMap) -> Accept {
        let mut gzip = None;
        let mut identity = None;
        let mut star = None;
        let mut any = false;
        for value in headers.get_all(ACCEPT_ENCODING) {
            let Ok(value) = value.to_str() else { continue };
            for item in value.split(',') {
                let mut parts = item.split(';');
                let coding = parts.next().unwrap_or_default().trim();
                if coding.is_empty() {
                    continue;
                }
                any = true;
                let q = parts
                    .filter_map(|p| p.trim().split_once('='))
                    .find(|(k, _)| k.trim().eq_ignore_ascii_case("q"))
                    .map_or(1.0, |(_, v)| v.trim().parse::<f32>().unwrap_or(0.0));
                let accepted = q > 0.0;
                if coding.eq_ignore_ascii_case("gzip") || coding.eq_ignore_ascii_case("x-gzip") {
                    gzip = Some(accepted);
                } else if coding.eq_ignore_ascii_case("identity") {
                    identity = Some(accepted);
                } else if coding == "*" {
                    star = Some(accepted);
                }
            }
        }
        if !any {
            return Accept {
                gzip: false,
                identity: true,
            };
        }
        Accept {
            gzip: gzip.or(star).unwrap_or(false),
            // Identity is acceptable unless excluded, by name or by `*;q=0`.
            identity: identity.or(star).unwrap_or(true),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hyper::header::HeaderValue;

    fn accept(v: Option<&'static str>) -> (bool, bool) {
        let mut h = HeaderMap::new();
        if let Some(v) = v {
            h.insert(ACCEPT_ENCODING, HeaderValue::from_static(v));
        }
        let a = Accept::from_headers(&h);
        (a.gzip, a.identity)
    }

    #[test]
    fn codings_and_q_values() {
        assert_eq!(accept(None), (false, true));
        assert_eq!(accept(Some("")), (false, true));
        assert_eq!(accept(Some("gzip")), (true, true));
        assert_eq!(accept(Some("gzip, deflate, br, zstd")), (true, true));
        assert_eq!(accept(Some("br;q=1.0, GZIP;q=0.5")), (true, true));
        assert_eq!(accept(Some("gzip;q=0")), (false, true));
        assert_eq!(accept(Some("gzip;q=0.000")), (false, true));
        assert_eq!(accept(Some("*")), (true, true));
        assert_eq!(accept(Some("*;q=0")), (false, false));
        assert_eq!(accept(Some("gzip, *;q=0")), (true, false));
        assert_eq!(accept(Some("identity;q=0, gzip")), (true, false));
        assert_eq!(accept(Some("identity, *;q=0")), (false, true));
        assert_eq!(accept(Some("x-gzip")), (true, true));
        assert_eq!(accept(Some("br")), (false, true));
        assert_eq!(accept(Some("gzip;q=bogus")), (false, true));
    }
}
