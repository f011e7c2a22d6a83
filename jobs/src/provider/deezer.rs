//! Deezer. (Being written: no resources yet.)

use super::{Host, ProviderDef, Rate};

pub static DEEZER: ProviderDef = ProviderDef::new(
    "deezer",
    "Deezer",
    &[Host {
        name: "",
        urls: &["https://api.deezer.com"],
    }],
    Rate::per_second(10, 10),
    &[],
);
