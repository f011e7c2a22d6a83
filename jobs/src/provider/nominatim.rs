//! Nominatim (OpenStreetMap). (Being written: no resources yet.)

use super::{Host, ProviderDef, Rate};

pub static NOMINATIM: ProviderDef = ProviderDef::new(
    "nominatim",
    "Nominatim (OpenStreetMap)",
    &[Host {
        name: "",
        urls: &["https://nominatim.openstreetmap.org"],
    }],
    Rate::per_second(10, 10),
    &[],
);
