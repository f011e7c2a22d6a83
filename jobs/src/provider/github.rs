//! GitHub releases. (Being written: no resources yet.)

use super::{Host, ProviderDef, Rate};

pub static GITHUB: ProviderDef = ProviderDef::new(
    "github",
    "GitHub releases",
    &[Host {
        name: "",
        urls: &["https://api.github.com"],
    }],
    Rate::per_second(10, 10),
    &[],
);
