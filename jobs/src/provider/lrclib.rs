//! LRCLIB lyrics. (Being written: no resources yet.)

use super::{Host, ProviderDef, Rate};

pub static LRCLIB: ProviderDef = ProviderDef::new(
    "lrclib",
    "LRCLIB lyrics",
    &[Host {
        name: "",
        urls: &["https://lrclib.net"],
    }],
    Rate::per_second(10, 10),
    &[],
);
