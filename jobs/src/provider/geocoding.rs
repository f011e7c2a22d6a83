//! Geocoding (Nominatim + Open-Meteo). (Being written: no resources yet.)

use super::{Host, ProviderDef, Rate};

pub static GEOCODING: ProviderDef = ProviderDef::new(
    "geocoding",
    "Geocoding (Nominatim + Open-Meteo)",
    &[Host {
        name: "",
        urls: &["https://nominatim.openstreetmap.org"],
    }],
    Rate::per_second(10, 10),
    &[],
);
