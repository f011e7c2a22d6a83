//! Exchange rates. (Being written: no resources yet.)

use super::{Host, ProviderDef, Rate};

pub static CURRENCY: ProviderDef = ProviderDef::new(
    "currency",
    "Exchange rates",
    &[Host {
        name: "",
        urls: &["https://open.er-api.com"],
    }],
    Rate::per_second(10, 10),
    &[],
);
