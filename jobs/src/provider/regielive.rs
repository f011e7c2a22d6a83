//! RegieLive subtitles. (Being written: no resources yet.)

use super::{Host, ProviderDef, Rate};

pub static REGIELIVE: ProviderDef = ProviderDef::new(
    "regielive",
    "RegieLive subtitles",
    &[Host {
        name: "",
        urls: &["https://api.regielive.ro"],
    }],
    Rate::per_second(10, 10),
    &[],
);
