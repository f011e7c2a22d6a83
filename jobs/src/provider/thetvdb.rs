//! TheTVDB v4. (Being written: no resources yet.)

use super::{Host, ProviderDef, Rate};

pub static THETVDB: ProviderDef = ProviderDef::new(
    "thetvdb",
    "TheTVDB v4",
    &[Host {
        name: "",
        urls: &["https://api4.thetvdb.com"],
    }],
    Rate::per_second(10, 10),
    &[],
);
