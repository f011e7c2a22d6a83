//! Bing daily wallpaper. (Being written: no resources yet.)

use super::{Host, ProviderDef, Rate};

pub static BING: ProviderDef = ProviderDef::new(
    "bing",
    "Bing daily wallpaper",
    &[Host {
        name: "",
        urls: &["https://www.bing.com"],
    }],
    Rate::per_second(10, 10),
    &[],
);
