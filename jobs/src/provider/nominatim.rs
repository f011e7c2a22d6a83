//! Nominatim, OpenStreetMap's geocoder
//! (<https://nominatim.org/release-docs/latest/api/Overview/>). No key, but
//! its usage policy requires an identifying User-Agent and at most one
//! request a second for the whole application.

use serde_json::Value;

use super::{
    Adapter, Fill, Host, Kind, Param, Product, ProviderDef, Rate, Request, ResourceDef, Response,
    Setting, Ttl, Verdict, classify_status, days, passthrough_json,
};

const fn text(name: &'static str) -> Param {
    Param::opt(
        name,
        Kind::Text {
            max_len: 255,
            fold_case: true,
        },
    )
}
const fn flag(name: &'static str, default: &'static str) -> Param {
    Param::default(name, Kind::Bool, default)
}
const LANGUAGE: Param = Param::opt("accept-language", Kind::Language);
const LAYER: Param = Param::opt(
    "layer",
    Kind::SetOf {
        values: &["address", "manmade", "natural", "poi", "railway"],
        max: 5,
    },
);
/// The coordinates of a reverse lookup: ~1 m at 5 decimals.
pub(super) const LAT: Param = Param::req(
    "lat",
    Kind::Float {
        min: -90.0,
        max: 90.0,
        decimals: 5,
    },
);
pub(super) const LON: Param = Param::req(
    "lon",
    Kind::Float {
        min: -180.0,
        max: 180.0,
        decimals: 5,
    },
);
pub(super) const ZOOM: Param = Param::default("zoom", Kind::Int { min: 0, max: 18 }, "18");
const POLYGON: Param = flag("polygon_geojson", "false");
const THRESHOLD: Param = Param::default(
    "polygon_threshold",
    Kind::Float {
        min: 0.0,
        max: 10.0,
        decimals: 5,
    },
    "0",
);

pub static NOMINATIM: ProviderDef = ProviderDef {
    settings: &[Setting::required("user_agent", "NOMINATIM_USER_AGENT")],
    user_agent: Some("user_agent"),
    adapter: &NominatimAdapter,
    ..ProviderDef::new(
        "nominatim",
        "Nominatim (OpenStreetMap)",
        &[Host {
            name: "",
            urls: &["https://nominatim.openstreetmap.org"],
        }],
        // The usage policy's absolute maximum.
        Rate::per_second(1, 1),
        &[
            ResourceDef {
                name: "search",
                route: "search",
                upstream: "/search",
                params: &[
                    // Free form, or the structured fields (not both).
                    text("q"),
                    text("amenity"),
                    text("street"),
                    text("city"),
                    text("county"),
                    text("state"),
                    text("country"),
                    text("postalcode"),
                    Param::opt(
                        "countrycodes",
                        Kind::Ident {
                            max_len: 200,
                            extra: ",",
                        },
                    ),
                    Param::opt(
                        "exclude_place_ids",
                        Kind::Ident {
                            max_len: 500,
                            extra: ",",
                        },
                    ),
                    Param::default("limit", Kind::Int { min: 1, max: 50 }, "10"),
                    flag("addressdetails", "false"),
                    flag("extratags", "false"),
                    flag("namedetails", "false"),
                    LANGUAGE,
                    // `x1,y1,x2,y2`.
                    Param::opt(
                        "viewbox",
                        Kind::Ident {
                            max_len: 100,
                            extra: ",.-",
                        },
                    ),
                    flag("bounded", "false"),
                    flag("dedupe", "true"),
                    LAYER,
                    Param::opt(
                        "featureType",
                        Kind::OneOf(&["country", "state", "city", "settlement"]),
                    ),
                    POLYGON,
                    THRESHOLD,
                ],
                // OSM changes slowly and the policy asks for caching.
                ttl: Ttl::new(days(1), days(30), days(1), days(90)),
            },
            ResourceDef {
                name: "reverse",
                route: "reverse",
                upstream: "/reverse",
                params: &[
                    LAT,
                    LON,
                    ZOOM,
                    flag("addressdetails", "true"),
                    flag("extratags", "false"),
                    flag("namedetails", "false"),
                    LANGUAGE,
                    LAYER,
                    POLYGON,
                    THRESHOLD,
                ],
                ttl: Ttl::new(days(7), days(30), days(1), days(90)),
            },
        ],
    )
};

struct NominatimAdapter;

/// A call to Nominatim: `path` with `query`, then `format=jsonv2` (the
/// default of `/reverse` is XML).
pub(super) fn request<'a>(
    path: &str,
    query: impl IntoIterator<Item = (&'a str, &'a str)>,
) -> Request {
    let mut request = Request::get(path);
    for (name, value) in query {
        request.push_query(name, value);
    }
    request.query("format", "jsonv2")
}

/// An `error` in a 200: nothing at a point (`{"error":"Unable to geocode"}`)
/// is not found when `reverse`; anything else is garbage. `None` without one.
pub(super) fn error_in_200(response: &Response, body: &Value, reverse: bool) -> Option<Verdict> {
    match body.get("error")? {
        Value::String(_) if reverse => Some(Verdict::NotFound(response.body.clone())),
        other => Some(Verdict::Garbage(format!("an error in a 200: {other}"))),
    }
}

impl Adapter for NominatimAdapter {
    /// The table call with booleans as Nominatim reads them (any value but
    /// `0` is true) and `format=jsonv2` (the default of `/reverse` is XML).
    fn next_call(&self, fill: &Fill<'_>, answers: &[Response]) -> Option<Request> {
        if !answers.is_empty() {
            return None;
        }
        let resolved = fill.resolved;
        let query = resolved.query.iter().map(|(name, value)| {
            let flag = resolved
                .resource
                .param(name)
                .is_some_and(|p| matches!(p.kind, Kind::Bool));
            let value = match (flag, value.as_str()) {
                (true, "true") => "1",
                (true, "false") => "0",
                (_, v) => v,
            };
            (*name, value)
        });
        Some(request(resolved.resource.upstream, query))
    }

    /// Nothing at a point is a 200 `{"error":"Unable to geocode"}`.
    fn classify(&self, fill: &Fill<'_>, _: &Request, response: &Response) -> Verdict {
        if fill.resource() == "reverse"
            && response.status == 200
            && let Some(verdict) = response
                .json()
                .and_then(|body| error_in_200(response, &body, true))
        {
            return verdict;
        }
        classify_status(response)
    }

    /// A search answers a list (`[]` when nothing matches), a reverse one place.
    fn finish(&self, fill: &Fill<'_>, answers: Vec<Response>) -> Result<Product, String> {
        let last = answers.into_iter().last().ok_or("no answer")?;
        let body = last.json().ok_or("invalid JSON")?;
        let fits = match fill.resource() {
            "search" => body.is_array(),
            _ => body.get("lat").is_some(),
        };
        if !fits {
            return Err(format!("not a {} answer", fill.resource()));
        }
        passthrough_json(last)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::provider::testing::{self, response, with_request};

    fn with_fill<T>(path: &str, query: &str, f: impl FnOnce(&Fill<'_>) -> T) -> T {
        with_request(&NOMINATIM, path, query, f)
    }

    fn ok(body: &str) -> Response {
        response(200, body)
    }

    #[test]
    fn search_sends_jsonv2_and_flags_as_digits() {
        let r = testing::resolve(
            &NOMINATIM,
            "search",
            "q=Brandenburger%20Tor&addressdetails=true&limit=10&dedupe=0&countrycodes=de",
        );
        assert_eq!(
            r.key.as_str(),
            "nominatim/search?addressdetails=true&countrycodes=de&dedupe=false&q=brandenburger+tor"
        );
        let path = with_fill(
            "search",
            "q=Brandenburger%20Tor&addressdetails=true&dedupe=0&countrycodes=de",
            |f| NominatimAdapter.next_call(f, &[]).unwrap().path,
        );
        assert_eq!(
            path,
            "/search?addressdetails=1&countrycodes=de&dedupe=0&q=brandenburger+tor&format=jsonv2"
        );
    }

    #[test]
    fn reverse_rounds_and_drops_defaults() {
        let (key, path) = with_fill(
            "reverse",
            "lat=-34.440762&lon=-58.705212&zoom=18&addressdetails=1",
            |f| {
                (
                    f.resolved.key.as_str().to_owned(),
                    NominatimAdapter.next_call(f, &[]).unwrap().path,
                )
            },
        );
        assert_eq!(key, "nominatim/reverse?lat=-34.44076&lon=-58.70521");
        assert_eq!(path, "/reverse?lat=-34.44076&lon=-58.70521&format=jsonv2");
        let code = |p: &str, q: &str| testing::code(&NOMINATIM, p, q);
        assert_eq!(code("reverse", "lat=1"), "missing-parameter");
        assert_eq!(code("reverse", "lat=1&lon=2&zoom=19"), "invalid-parameter");
        assert_eq!(
            code("reverse", "lat=1&lon=2&format=xml"),
            "unknown-parameter"
        );
        assert_eq!(code("search", "q=x&limit=51"), "invalid-parameter");
        assert_eq!(code("search", "q=x&json_callback=f"), "unknown-parameter");
    }

    #[test]
    fn unable_to_geocode_is_not_found_and_an_empty_search_is_found() {
        with_fill("reverse", "lat=0&lon=0", |f| {
            let req = NominatimAdapter.next_call(f, &[]).unwrap();
            let nothing = ok(r#"{"error":"Unable to geocode"}"#);
            assert_eq!(
                NominatimAdapter.classify(f, &req, &nothing),
                Verdict::NotFound(nothing.body.clone())
            );
            let place = ok(r#"{"place_id":1,"lat":"0.1","lon":"0.2"}"#);
            assert_eq!(NominatimAdapter.classify(f, &req, &place), Verdict::Found);
            assert!(NominatimAdapter.finish(f, vec![place]).is_ok());
            assert!(NominatimAdapter.finish(f, vec![ok("[]")]).is_err());
        });
        with_fill("search", "q=nowhere", |f| {
            let req = NominatimAdapter.next_call(f, &[]).unwrap();
            assert_eq!(
                NominatimAdapter.classify(f, &req, &ok("[]")),
                Verdict::Found
            );
            assert!(NominatimAdapter.finish(f, vec![ok("[]")]).is_ok());
            assert!(
                NominatimAdapter
                    .finish(f, vec![ok("<html></html>")])
                    .is_err()
            );
        });
    }
}
