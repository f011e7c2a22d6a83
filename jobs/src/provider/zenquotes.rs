//! ZenQuotes. (Being written: no resources yet.)

use super::{Host, ProviderDef, Rate};

pub static ZENQUOTES: ProviderDef = ProviderDef::new(
    "zenquotes",
    "ZenQuotes",
    &[Host {
        name: "",
        urls: &["https://zenquotes.io"],
    }],
    Rate::per_second(10, 10),
    &[],
);
