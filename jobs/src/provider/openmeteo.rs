//! Open-Meteo forecast API (<https://open-meteo.com/en/docs>). No key.

use super::{Kind, Param, ProviderDef, ResourceDef, Ttl, hours, mins};

const HOURLY: &[&str] = &[
    "apparent_temperature", "cape", "cloud_cover", "cloud_cover_high", "cloud_cover_low",
    "cloud_cover_mid", "dew_point_2m", "diffuse_radiation", "direct_normal_irradiance",
    "direct_radiation", "et0_fao_evapotranspiration", "evapotranspiration",
    "freezing_level_height", "is_day", "precipitation", "precipitation_probability",
    "pressure_msl", "rain", "relative_humidity_2m", "shortwave_radiation", "showers",
    "snow_depth", "snowfall", "soil_moisture_0_to_1cm", "soil_moisture_1_to_3cm",
    "soil_moisture_27_to_81cm", "soil_moisture_3_to_9cm", "soil_moisture_9_to_27cm",
    "soil_temperature_0cm", "soil_temperature_18cm", "soil_temperature_54cm",
    "soil_temperature_6cm", "sunshine_duration", "surface_pressure", "temperature_120m",
    "temperature_180m", "temperature_2m", "temperature_80m", "uv_index", "uv_index_clear_sky",
    "vapour_pressure_deficit", "visibility", "weather_code", "wind_direction_100m",
    "wind_direction_10m", "wind_direction_120m", "wind_direction_180m", "wind_direction_80m",
    "wind_gusts_10m", "wind_speed_100m", "wind_speed_10m", "wind_speed_120m", "wind_speed_180m",
    "wind_speed_80m",
];

const DAILY: &[&str] = &[
    "apparent_temperature_max", "apparent_temperature_mean", "apparent_temperature_min",
    "daylight_duration", "et0_fao_evapotranspiration", "precipitation_hours",
    "precipitation_probability_max", "precipitation_probability_mean",
    "precipitation_probability_min", "precipitation_sum", "rain_sum",
    "shortwave_radiation_sum", "showers_sum", "snowfall_sum", "sunrise", "sunset",
    "sunshine_duration", "temperature_2m_max", "temperature_2m_mean", "temperature_2m_min",
    "uv_index_clear_sky_max", "uv_index_max", "weather_code", "wind_direction_10m_dominant",
    "wind_gusts_10m_max", "wind_speed_10m_max",
];

const MODELS: &[&str] = &[
    "best_match", "ecmwf_ifs025", "ecmwf_aifs025", "gfs_seamless", "gfs_global", "icon_seamless",
    "icon_global", "icon_eu", "icon_d2", "jma_seamless", "meteofrance_seamless",
    "metno_seamless", "gem_seamless", "ukmo_seamless", "cma_grapes_global", "bom_access_global",
];

pub static OPENMETEO: ProviderDef = ProviderDef {
    id: "openmeteo",
    title: "Open-Meteo weather forecast",
    base_urls: &["https://api.open-meteo.com"],
    credential: None,
    // The free tier allows 600 calls/minute.
    rate: 10.0,
    burst: 10,
    resources: &[ResourceDef {
        name: "forecast",
        route: "forecast",
        upstream: "/v1/forecast",
        params: &[
            // ~11 m at 4 decimals: finer precision only busts the cache.
            Param::req("latitude", Kind::Float { min: -90.0, max: 90.0, decimals: 4 }),
            Param::req("longitude", Kind::Float { min: -180.0, max: 180.0, decimals: 4 }),
            Param::opt("elevation", Kind::Float { min: -500.0, max: 9000.0, decimals: 1 }),
            Param::opt("hourly", Kind::SetOf { values: HOURLY, max: 64 }),
            Param::opt("daily", Kind::SetOf { values: DAILY, max: 64 }),
            Param::opt("current", Kind::SetOf { values: HOURLY, max: 64 }),
            Param::opt("minutely_15", Kind::SetOf { values: HOURLY, max: 64 }),
            Param::default("temperature_unit", Kind::OneOf(&["celsius", "fahrenheit"]), "celsius"),
            Param::default("wind_speed_unit", Kind::OneOf(&["kmh", "ms", "mph", "kn"]), "kmh"),
            Param::default("precipitation_unit", Kind::OneOf(&["mm", "inch"]), "mm"),
            Param::default("timeformat", Kind::OneOf(&["iso8601", "unixtime"]), "iso8601"),
            Param::default("timezone", Kind::Timezone, "GMT"),
            Param::default("forecast_days", Kind::Int { min: 0, max: 16 }, "7"),
            Param::default("past_days", Kind::Int { min: 0, max: 92 }, "0"),
            Param::opt("forecast_hours", Kind::Int { min: 0, max: 384 }),
            Param::opt("past_hours", Kind::Int { min: 0, max: 2208 }),
            Param::opt("start_date", Kind::Date),
            Param::opt("end_date", Kind::Date),
            Param::opt("models", Kind::SetOf { values: MODELS, max: 16 }),
            Param::default("cell_selection", Kind::OneOf(&["land", "sea", "nearest"]), "land"),
        ],
        ttl: Ttl::new(mins(15), hours(1), mins(5), hours(6)),
    }],
};
