//! Geocoding in one schema over two free geocoders: forward with Open-Meteo's
//! GeoNames search (<https://open-meteo.com/en/docs/geocoding-api>), falling
//! back to Nominatim when it knows no such place (streets, POIs); reverse
//! with Nominatim (<https://nominatim.org/release-docs/latest/api/Reverse/>).
//! Every call counts against the rate of the provider whose upstream it is.

use serde_json::{Value, json};

use super::{
    Adapter, Fill, Host, Kind, Param, Product, ProviderDef, Rate, Request, ResourceDef, Response,
    Setting, Ttl, Verdict, classify_status, days, nominatim,
};

const LANGUAGE: Param = Param::default("language", Kind::Language, "en");
const OPEN_METEO: &str = "openmeteo";

pub static GEOCODING: ProviderDef = ProviderDef {
    // Nominatim's usage policy: an identifying User-Agent.
    settings: &[Setting::required("user_agent", "NOMINATIM_USER_AGENT")],
    user_agent: Some("user_agent"),
    adapter: &GeocodingAdapter,
    ..ProviderDef::new(
        "geocoding",
        "Geocoding (Open-Meteo and Nominatim, one schema)",
        &[
            Host {
                name: "",
                urls: &["https://nominatim.openstreetmap.org"],
            },
            Host {
                name: OPEN_METEO,
                urls: &["https://geocoding-api.open-meteo.com"],
            },
        ],
        // Unused: every call counts against `openmeteo` or `nominatim`.
        Rate::per_second(10, 10),
        &[
            ResourceDef {
                name: "forward",
                route: "forward",
                upstream: "/v1/search",
                params: &[
                    Param::req(
                        "q",
                        Kind::Text {
                            max_len: 200,
                            fold_case: true,
                        },
                    ),
                    LANGUAGE,
                    Param::default("count", Kind::Int { min: 1, max: 20 }, "10"),
                    Param::opt("country", Kind::Region),
                ],
                // Places change slowly; both upstreams ask to be cached.
                ttl: Ttl::new(days(1), days(30), days(1), days(90)),
            },
            ResourceDef {
                name: "reverse",
                route: "reverse",
                upstream: "/reverse",
                params: &[nominatim::LAT, nominatim::LON, LANGUAGE, nominatim::ZOOM],
                ttl: Ttl::new(days(7), days(30), days(1), days(90)),
            },
        ],
    )
};

struct GeocodingAdapter;

fn param<'a>(fill: &Fill<'a>, name: &str, default: &'a str) -> &'a str {
    fill.param(name).unwrap_or(default)
}

/// Open-Meteo's place search.
fn open_meteo_search(fill: &Fill<'_>) -> Request {
    let language = param(fill, "language", "en");
    // Open-Meteo takes the bare language code.
    let language = language.split('-').next().unwrap_or(language);
    let mut request = Request::get("/v1/search")
        .query("name", param(fill, "q", ""))
        .query("count", param(fill, "count", "10"))
        .query("language", language)
        .query("format", "json");
    if let Some(country) = fill.param("country") {
        request.push_query("countryCode", country);
    }
    request.on_host(OPEN_METEO).rate_as("openmeteo")
}

/// Nominatim's search, for what GeoNames does not know.
fn nominatim_search(fill: &Fill<'_>) -> Request {
    let mut request = nominatim::request(
        "/search",
        [
            ("q", param(fill, "q", "")),
            ("limit", param(fill, "count", "10")),
            ("accept-language", param(fill, "language", "en")),
            ("addressdetails", "1"),
        ],
    );
    if let Some(country) = fill.param("country") {
        request.push_query("countrycodes", &country.to_ascii_lowercase());
    }
    request.rate_as("nominatim")
}

fn nominatim_reverse(fill: &Fill<'_>) -> Request {
    nominatim::request(
        "/reverse",
        [
            ("lat", param(fill, "lat", "")),
            ("lon", param(fill, "lon", "")),
            ("zoom", param(fill, "zoom", "18")),
            ("accept-language", param(fill, "language", "en")),
            ("addressdetails", "1"),
        ],
    )
    .rate_as("nominatim")
}

/// Open-Meteo's results; none when it has no match (`results` is left out).
fn open_meteo_results(answer: &Response) -> Vec<Value> {
    match answer.json() {
        Some(Value::Object(mut o)) => match o.remove("results") {
            Some(Value::Array(list)) => list,
            _ => Vec::new(),
        },
        _ => Vec::new(),
    }
}

fn text(v: &Value) -> Value {
    match v.as_str().map(str::trim) {
        Some(s) if !s.is_empty() => Value::String(s.to_owned()),
        _ => Value::Null,
    }
}

fn first_text(v: &Value, keys: &[&str]) -> Value {
    keys.iter()
        .map(|k| text(&v[*k]))
        .find(|t| !t.is_null())
        .unwrap_or(Value::Null)
}

fn upper(v: Value) -> Value {
    match v {
        Value::String(s) => Value::String(s.to_ascii_uppercase()),
        other => other,
    }
}

/// A coordinate: a number (Open-Meteo) or a decimal string (Nominatim).
fn coordinate(v: &Value) -> Option<f64> {
    v.as_f64()
        .or_else(|| v.as_str().and_then(|s| s.trim().parse().ok()))
}

fn from_open_meteo(r: &Value) -> Option<Value> {
    let (latitude, longitude) = (coordinate(&r["latitude"])?, coordinate(&r["longitude"])?);
    let name = text(&r["name"]);
    let mut parts: Vec<&str> = Vec::new();
    for part in [&name, &r["admin1"], &r["country"]] {
        if let Some(p) = part
            .as_str()
            .filter(|p| !p.is_empty() && parts.last() != Some(p))
        {
            parts.push(p);
        }
    }
    let populated = r["feature_code"]
        .as_str()
        .is_some_and(|c| c.starts_with("PPL"));
    Some(json!({
        "name": name,
        "latitude": latitude,
        "longitude": longitude,
        "country": text(&r["country"]),
        "country_code": upper(text(&r["country_code"])),
        "admin1": text(&r["admin1"]),
        "admin2": text(&r["admin2"]),
        "locality": if populated { name.clone() } else { Value::Null },
        "postcode": text(&r["postcodes"][0]),
        "timezone": text(&r["timezone"]),
        "display_name": parts.join(", "),
        "source": "open-meteo",
        "ref": r["id"].as_i64().map(|id| format!("geonames:{id}")),
    }))
}

fn from_nominatim(r: &Value) -> Option<Value> {
    let (latitude, longitude) = (coordinate(&r["lat"])?, coordinate(&r["lon"])?);
    let address = &r["address"];
    let display = text(&r["display_name"]);
    let name = match text(&r["name"]) {
        Value::Null => display
            .as_str()
            .and_then(|d| d.split(',').next())
            .map_or(Value::Null, |n| Value::String(n.trim().to_owned())),
        name => name,
    };
    let reference = match (r["osm_type"].as_str(), r["osm_id"].as_i64()) {
        (Some(kind), Some(id)) => Some(format!("osm:{kind}:{id}")),
        _ => None,
    };
    Some(json!({
        "name": name,
        "latitude": latitude,
        "longitude": longitude,
        "country": text(&address["country"]),
        "country_code": upper(text(&address["country_code"])),
        "admin1": first_text(address, &["state", "province", "region"]),
        "admin2": first_text(address, &["county", "state_district"]),
        "locality": first_text(address, &["city", "town", "village", "municipality"]),
        "postcode": text(&address["postcode"]),
        "timezone": null,
        "display_name": display,
        "source": "nominatim",
        "ref": reference,
    }))
}

impl Adapter for GeocodingAdapter {
    fn next_call(&self, fill: &Fill<'_>, answers: &[Response]) -> Option<Request> {
        match (fill.resource(), answers) {
            ("reverse", []) => Some(nominatim_reverse(fill)),
            ("reverse", _) => None,
            (_, []) => Some(open_meteo_search(fill)),
            (_, [open_meteo]) if open_meteo_results(open_meteo).is_empty() => {
                Some(nominatim_search(fill))
            }
            _ => None,
        }
    }

    /// Nominatim's "nothing here" is a 200 `{"error":"Unable to geocode"}`;
    /// Open-Meteo's errors are `{"error":true,"reason":…}`.
    fn classify(&self, _: &Fill<'_>, request: &Request, response: &Response) -> Verdict {
        if response.status == 200 {
            let Some(body) = response.json() else {
                return Verdict::Garbage("a 200 that is not JSON".into());
            };
            let reverse = request.path.starts_with("/reverse");
            if let Some(verdict) = nominatim::error_in_200(response, &body, reverse) {
                return verdict;
            }
        }
        classify_status(response)
    }

    fn finish(&self, fill: &Fill<'_>, answers: Vec<Response>) -> Result<Product, String> {
        let results: Vec<Value> = match (fill.resource(), answers.as_slice()) {
            ("reverse", [place]) => {
                let place = place.json().ok_or("invalid JSON")?;
                vec![from_nominatim(&place).ok_or("a place without coordinates")?]
            }
            ("forward", [open_meteo]) => open_meteo_results(open_meteo)
                .iter()
                .filter_map(from_open_meteo)
                .collect(),
            ("forward", [_, nominatim]) => match nominatim.json() {
                Some(Value::Array(list)) => list.iter().filter_map(from_nominatim).collect(),
                _ => return Err("Nominatim's search did not answer a list".into()),
            },
            _ => return Err("unexpected answers".into()),
        };
        Ok(Product::json(&json!({ "results": results })))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::provider::testing::{found_json as body, response, with_request};

    fn with_fill<T>(path: &str, query: &str, f: impl FnOnce(&Fill<'_>) -> T) -> T {
        with_request(&GEOCODING, path, query, f)
    }

    fn ok(body: &str) -> Response {
        response(200, body)
    }

    const TOKYO: &str = r#"{"results":[{"id":1850147,"name":"Tokyo","latitude":35.6895,
        "longitude":139.69171,"feature_code":"PPLC","country_code":"JP","timezone":"Asia/Tokyo",
        "country":"Japan","admin1":"Tokyo"}],"generationtime_ms":0.9}"#;
    const PLACE: &str = r#"{"osm_type":"way","osm_id":23730950,"lat":"35.6801236",
        "lon":"139.6902108","name":"","display_name":"甲州街道, 新宿区, 東京都, 日本",
        "address":{"road":"甲州街道","city":"新宿区","province":"東京都","country":"日本",
        "country_code":"jp","postcode":"160-0023"}}"#;

    #[test]
    fn forward_asks_open_meteo_then_nominatim_when_it_knows_nothing() {
        with_fill("forward", "q=Tokyo&language=en-US&country=jp", |f| {
            assert_eq!(
                f.resolved.key.as_str(),
                "geocoding/forward?country=JP&language=en-US&q=tokyo"
            );
            let first = GeocodingAdapter.next_call(f, &[]).unwrap();
            assert_eq!((first.host, first.rate_as), (OPEN_METEO, Some("openmeteo")));
            assert_eq!(
                first.path,
                "/v1/search?name=tokyo&count=10&language=en&format=json&countryCode=JP"
            );
            assert!(GeocodingAdapter.next_call(f, &[ok(TOKYO)]).is_none());
            let out = body(GeocodingAdapter.finish(f, vec![ok(TOKYO)]).unwrap());
            let r = &out["results"][0];
            assert_eq!(r["source"], "open-meteo");
            assert_eq!(r["display_name"], "Tokyo, Japan");
            assert_eq!(r["locality"], "Tokyo");
            assert_eq!(r["ref"], "geonames:1850147");

            let none = ok(r#"{"generationtime_ms":0.41}"#);
            let second = GeocodingAdapter
                .next_call(f, std::slice::from_ref(&none))
                .unwrap();
            assert_eq!((second.host, second.rate_as), ("", Some("nominatim")));
            assert_eq!(
                second.path,
                "/search?q=tokyo&limit=10&accept-language=en-US&addressdetails=1&format=jsonv2&countrycodes=jp"
            );
            let answers = vec![none.clone(), ok(&format!("[{PLACE}]"))];
            assert!(GeocodingAdapter.next_call(f, &answers).is_none());
            let out = body(GeocodingAdapter.finish(f, answers).unwrap());
            assert_eq!(out["results"][0]["source"], "nominatim");
            assert_eq!(out["results"][0]["name"], "甲州街道");
            let out = body(GeocodingAdapter.finish(f, vec![none, ok("[]")]).unwrap());
            assert_eq!(out, json!({"results": []}));
        });
    }

    #[test]
    fn reverse_asks_nominatim_and_maps_its_place() {
        with_fill("reverse", "lat=35.680124&lon=139.69021", |f| {
            let call = GeocodingAdapter.next_call(f, &[]).unwrap();
            assert_eq!((call.host, call.rate_as), ("", Some("nominatim")));
            assert_eq!(
                call.path,
                "/reverse?lat=35.68012&lon=139.69021&zoom=18&accept-language=en&addressdetails=1&format=jsonv2"
            );
            let nothing = ok(r#"{"error":"Unable to geocode"}"#);
            assert_eq!(
                GeocodingAdapter.classify(f, &call, &nothing),
                Verdict::NotFound(nothing.body.clone())
            );
            assert_eq!(
                GeocodingAdapter.classify(f, &call, &ok(PLACE)),
                Verdict::Found
            );
            let out = body(GeocodingAdapter.finish(f, vec![ok(PLACE)]).unwrap());
            let r = &out["results"][0];
            assert_eq!(r["country_code"], "JP");
            assert_eq!(r["admin1"], "東京都");
            assert_eq!(r["locality"], "新宿区");
            assert_eq!(r["latitude"], 35.6801236);
            assert_eq!(r["ref"], "osm:way:23730950");
            assert!(GeocodingAdapter.finish(f, vec![ok("{}")]).is_err());
        });
    }

    #[test]
    fn an_open_meteo_error_in_a_200_is_garbage() {
        with_fill("forward", "q=x", |f| {
            let call = GeocodingAdapter.next_call(f, &[]).unwrap();
            let e = ok(r#"{"error":true,"reason":"Parameter count must be between 1 and 100."}"#);
            assert!(matches!(
                GeocodingAdapter.classify(f, &call, &e),
                Verdict::Garbage(_)
            ));
        });
    }
}
