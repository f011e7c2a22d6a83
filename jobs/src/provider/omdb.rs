//! OMDb. (Being written: no resources yet.)

use super::{Host, ProviderDef, Rate};

pub static OMDB: ProviderDef = ProviderDef::new(
    "omdb",
    "OMDb",
    &[Host {
        name: "",
        urls: &["https://www.omdbapi.com"],
    }],
    Rate::per_second(10, 10),
    &[],
);
