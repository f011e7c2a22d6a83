//! Wikipedia page summaries. (Being written: no resources yet.)

use super::{Host, ProviderDef, Rate};

pub static WIKIPEDIA: ProviderDef = ProviderDef::new(
    "wikipedia",
    "Wikipedia page summaries",
    &[Host {
        name: "",
        urls: &["https://{lang}.wikipedia.org"],
    }],
    Rate::per_second(10, 10),
    &[],
);
