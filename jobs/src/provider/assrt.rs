//! ASSRT subtitles. (Being written: no resources yet.)

use super::{Host, ProviderDef, Rate};

pub static ASSRT: ProviderDef = ProviderDef::new(
    "assrt",
    "ASSRT subtitles",
    &[Host {
        name: "",
        urls: &["https://api.assrt.net"],
    }],
    Rate::per_second(10, 10),
    &[],
);
