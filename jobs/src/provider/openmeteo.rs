//! Open-Meteo (<https://open-meteo.com/en/docs>): the forecast, air-quality,
//! geocoding and historical-weather (archive) APIs. No key. Each API has its
//! own host; its resource's calls go there.

use super::openmeteo_vars::{
    AQ_CURRENT, AQ_HOURLY, ARCHIVE_DAILY, ARCHIVE_HOURLY, ARCHIVE_MODELS, DAILY, HOURLY, MODELS,
};
use super::{
    Adapter, Fill, Host, Kind, Param, ProviderDef, Rate, Request, ResourceDef, Response, Ttl, days,
    hours, mins,
};

// ~11 m at 4 decimals: finer precision only busts the cache.
const LATITUDE: Param = Param::req(
    "latitude",
    Kind::Float {
        min: -90.0,
        max: 90.0,
        decimals: 4,
    },
);
const LONGITUDE: Param = Param::req(
    "longitude",
    Kind::Float {
        min: -180.0,
        max: 180.0,
        decimals: 4,
    },
);
const ELEVATION: Param = Param::opt(
    "elevation",
    Kind::Float {
        min: -500.0,
        max: 9000.0,
        decimals: 1,
    },
);
const TEMPERATURE_UNIT: Param = Param::default(
    "temperature_unit",
    Kind::OneOf(&["celsius", "fahrenheit"]),
    "celsius",
);
const WIND_SPEED_UNIT: Param = Param::default(
    "wind_speed_unit",
    Kind::OneOf(&["kmh", "ms", "mph", "kn"]),
    "kmh",
);
const PRECIPITATION_UNIT: Param =
    Param::default("precipitation_unit", Kind::OneOf(&["mm", "inch"]), "mm");
const TIMEFORMAT: Param = Param::default(
    "timeformat",
    Kind::OneOf(&["iso8601", "unixtime"]),
    "iso8601",
);
const TIMEZONE: Param = Param::default("timezone", Kind::Timezone, "GMT");
const PAST_DAYS: Param = Param::default("past_days", Kind::Int { min: 0, max: 92 }, "0");
const PAST_HOURS: Param = Param::opt("past_hours", Kind::Int { min: 0, max: 2208 });
const CELL_SELECTION: Kind = Kind::OneOf(&["land", "sea", "nearest"]);

const fn set(name: &'static str, values: &'static [&'static str]) -> Param {
    Param::opt(name, Kind::SetOf { values, max: 64 })
}

pub static OPENMETEO: ProviderDef = ProviderDef {
    adapter: &OpenMeteoAdapter,
    ..ProviderDef::new(
        "openmeteo",
        "Open-Meteo weather, air quality, geocoding and history",
        &[
            Host {
                name: "",
                urls: &["https://api.open-meteo.com"],
            },
            Host {
                name: "air-quality",
                urls: &["https://air-quality-api.open-meteo.com"],
            },
            Host {
                name: "geocoding",
                urls: &["https://geocoding-api.open-meteo.com"],
            },
            Host {
                name: "archive",
                urls: &["https://archive-api.open-meteo.com"],
            },
        ],
        // The free tier allows 600 calls/minute.
        Rate::per_second(10, 10),
        &[
            ResourceDef {
                name: "forecast",
                route: "forecast",
                upstream: "/v1/forecast",
                params: &[
                    LATITUDE,
                    LONGITUDE,
                    ELEVATION,
                    set("hourly", HOURLY),
                    set("daily", DAILY),
                    set("current", HOURLY),
                    set("minutely_15", HOURLY),
                    TEMPERATURE_UNIT,
                    WIND_SPEED_UNIT,
                    PRECIPITATION_UNIT,
                    TIMEFORMAT,
                    TIMEZONE,
                    Param::default("forecast_days", Kind::Int { min: 0, max: 16 }, "7"),
                    PAST_DAYS,
                    Param::opt("forecast_hours", Kind::Int { min: 0, max: 384 }),
                    PAST_HOURS,
                    Param::opt("start_date", Kind::Date),
                    Param::opt("end_date", Kind::Date),
                    Param::opt(
                        "models",
                        Kind::SetOf {
                            values: MODELS,
                            max: 16,
                        },
                    ),
                    Param::default("cell_selection", CELL_SELECTION, "land"),
                ],
                ttl: Ttl::new(mins(15), hours(1), mins(5), hours(6)),
            },
            ResourceDef {
                name: "air-quality",
                route: "air-quality",
                upstream: "/v1/air-quality",
                params: &[
                    LATITUDE,
                    LONGITUDE,
                    set("hourly", AQ_HOURLY),
                    set("current", AQ_CURRENT),
                    Param::default(
                        "domains",
                        Kind::OneOf(&["auto", "cams_europe", "cams_global"]),
                        "auto",
                    ),
                    TIMEFORMAT,
                    TIMEZONE,
                    PAST_DAYS,
                    Param::default("forecast_days", Kind::Int { min: 0, max: 7 }, "5"),
                    Param::opt("forecast_hours", Kind::Int { min: 0, max: 168 }),
                    PAST_HOURS,
                    Param::opt("start_date", Kind::Date),
                    Param::opt("end_date", Kind::Date),
                    // The documentation disagrees with itself on the default:
                    // no default, so every value reaches the upstream.
                    Param::opt("cell_selection", CELL_SELECTION),
                ],
                // CAMS updates every 12 to 24 h; values are hourly.
                ttl: Ttl::new(mins(30), hours(2), mins(5), hours(6)),
            },
            ResourceDef {
                name: "geocoding",
                route: "geocoding",
                upstream: "/v1/search",
                params: &[
                    Param::req(
                        "name",
                        Kind::Text {
                            max_len: 200,
                            fold_case: true,
                        },
                    ),
                    Param::default("count", Kind::Int { min: 1, max: 100 }, "10"),
                    Param::default("language", Kind::Language, "en"),
                    Param::opt("countryCode", Kind::Region),
                ],
                // GeoNames changes rarely. No match is a 200 without
                // `results`, cached like any answer.
                ttl: Ttl::new(days(7), days(30), days(1), days(90)),
            },
            ResourceDef {
                name: "archive",
                route: "archive",
                upstream: "/v1/archive",
                params: &[
                    LATITUDE,
                    LONGITUDE,
                    Param::req("start_date", Kind::Date),
                    Param::req("end_date", Kind::Date),
                    set("hourly", ARCHIVE_HOURLY),
                    set("daily", ARCHIVE_DAILY),
                    ELEVATION,
                    TEMPERATURE_UNIT,
                    WIND_SPEED_UNIT,
                    PRECIPITATION_UNIT,
                    TIMEFORMAT,
                    TIMEZONE,
                    Param::default("cell_selection", CELL_SELECTION, "land"),
                    Param::opt(
                        "models",
                        Kind::SetOf {
                            values: ARCHIVE_MODELS,
                            max: 6,
                        },
                    ),
                    Param::opt(
                        "tilt",
                        Kind::Float {
                            min: 0.0,
                            max: 90.0,
                            decimals: 1,
                        },
                    ),
                    Param::opt(
                        "azimuth",
                        Kind::Float {
                            min: -180.0,
                            max: 180.0,
                            decimals: 1,
                        },
                    ),
                ],
                // Reanalysis is final once past its few days' delay; a range
                // touching the last days fills in daily.
                ttl: Ttl::new(days(1), days(30), hours(1), days(365)),
            },
        ],
    )
};

/// The host of a resource's API.
fn host(resource: &str) -> &'static str {
    match resource {
        "air-quality" => "air-quality",
        "geocoding" => "geocoding",
        "archive" => "archive",
        _ => "",
    }
}

struct OpenMeteoAdapter;

impl Adapter for OpenMeteoAdapter {
    /// The table call, on the resource's own host; geocoding always asks for
    /// JSON (its other format is protobuf).
    fn next_call(&self, fill: &Fill<'_>, answers: &[Response]) -> Option<Request> {
        if !answers.is_empty() {
            return None;
        }
        let request = fill.table_request().on_host(host(fill.resource()));
        Some(match fill.resource() {
            "geocoding" => request.query("format", "json"),
            _ => request,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::provider::testing::{self, only_call, settings};

    fn call(path: &str, query: &str) -> (String, Request) {
        let r = testing::resolve(&OPENMETEO, path, query);
        let request = only_call(&OPENMETEO, &r);
        (r.key.as_str().to_owned(), request)
    }

    fn code(path: &str, query: &str) -> &'static str {
        testing::code(&OPENMETEO, path, query)
    }

    #[test]
    fn forecast_keeps_its_key_and_the_main_host() {
        let (key, req) = call("forecast", "latitude=52.52&longitude=13.41&forecast_days=7");
        assert_eq!(key, "openmeteo/forecast?latitude=52.52&longitude=13.41");
        assert_eq!(req.host, "");
        assert_eq!(req.path, "/v1/forecast?latitude=52.52&longitude=13.41");
    }

    #[test]
    fn air_quality_goes_to_its_host() {
        let (key, req) = call(
            "air-quality",
            "longitude=13.41&latitude=52.52&current=us_aqi,pm2_5&domains=auto&forecast_days=5",
        );
        assert_eq!(
            key,
            "openmeteo/air-quality?current=pm2_5%2Cus_aqi&latitude=52.52&longitude=13.41"
        );
        assert_eq!(req.host, "air-quality");
        assert_eq!(
            req.path,
            "/v1/air-quality?current=pm2_5%2Cus_aqi&latitude=52.52&longitude=13.41"
        );
        assert_eq!(
            code(
                "air-quality",
                "latitude=1&longitude=1&hourly=temperature_2m"
            ),
            "invalid-parameter"
        );
        assert_eq!(
            code("air-quality", "latitude=1&longitude=1&forecast_days=8"),
            "invalid-parameter"
        );
    }

    #[test]
    fn geocoding_always_asks_for_json() {
        let (key, req) = call(
            "geocoding",
            "name=Berlin&count=10&language=EN&countryCode=de",
        );
        assert_eq!(key, "openmeteo/geocoding?countryCode=DE&name=berlin");
        assert_eq!(req.host, "geocoding");
        assert_eq!(
            req.path,
            "/v1/search?countryCode=DE&name=berlin&format=json"
        );
        assert_eq!(code("geocoding", "count=2"), "missing-parameter");
        assert_eq!(code("geocoding", "name=x&count=101"), "invalid-parameter");
        assert_eq!(
            code("geocoding", "name=x&format=protobuf"),
            "unknown-parameter"
        );
    }

    #[test]
    fn archive_needs_a_date_range() {
        let (key, req) = call(
            "archive",
            "latitude=52.52&longitude=13.41&start_date=2024-01-01&end_date=2024-01-02&daily=temperature_2m_max&timezone=Europe/Berlin",
        );
        assert_eq!(
            key,
            "openmeteo/archive?daily=temperature_2m_max&end_date=2024-01-02&latitude=52.52&longitude=13.41&start_date=2024-01-01&timezone=Europe%2FBerlin"
        );
        assert_eq!(req.host, "archive");
        assert!(req.path.starts_with("/v1/archive?daily="), "{}", req.path);
        assert_eq!(
            code("archive", "latitude=1&longitude=1&start_date=2024-01-01"),
            "missing-parameter"
        );
        assert_eq!(
            code(
                "archive",
                "latitude=1&longitude=1&start_date=2024-01-01&end_date=2024-02-30x"
            ),
            "invalid-parameter"
        );
    }

    #[test]
    fn every_host_has_a_base_url() {
        let settings = settings(&OPENMETEO);
        for r in OPENMETEO.resources {
            assert_eq!(settings.base_urls(host(r.name)).len(), 1, "{}", r.name);
        }
        assert_eq!(
            settings.base_urls("air-quality"),
            ["https://air-quality-api.open-meteo.com"]
        );
    }
}
