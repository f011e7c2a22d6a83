//! Bangumi. (Being written: no resources yet.)

use super::{Host, ProviderDef, Rate};

pub static BANGUMI: ProviderDef = ProviderDef::new(
    "bangumi",
    "Bangumi",
    &[Host {
        name: "",
        urls: &["https://api.bgm.tv"],
    }],
    Rate::per_second(10, 10),
    &[],
);
