//! fanart.tv. (Being written: no resources yet.)

use super::{Host, ProviderDef, Rate};

pub static FANART: ProviderDef = ProviderDef::new(
    "fanart",
    "fanart.tv",
    &[Host {
        name: "",
        urls: &["https://webservice.fanart.tv"],
    }],
    Rate::per_second(10, 10),
    &[],
);
