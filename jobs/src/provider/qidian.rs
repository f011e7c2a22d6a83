//! Qidian books. (Being written: no resources yet.)

use super::{Host, ProviderDef, Rate};

pub static QIDIAN: ProviderDef = ProviderDef::new(
    "qidian",
    "Qidian books",
    &[Host {
        name: "",
        urls: &["https://www.qidian.com"],
    }],
    Rate::per_second(10, 10),
    &[],
);
