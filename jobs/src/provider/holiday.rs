//! Public holidays. (Being written: no resources yet.)

use super::{Host, ProviderDef, Rate};

pub static HOLIDAY: ProviderDef = ProviderDef::new(
    "holiday",
    "Public holidays",
    &[Host {
        name: "",
        urls: &["https://date.nager.at"],
    }],
    Rate::per_second(10, 10),
    &[],
);
