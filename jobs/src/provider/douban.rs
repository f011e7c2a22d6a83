//! Douban movies. (Being written: no resources yet.)

use super::{Host, ProviderDef, Rate};

pub static DOUBAN: ProviderDef = ProviderDef::new(
    "douban",
    "Douban movies",
    &[Host {
        name: "",
        urls: &["https://movie.douban.com"],
    }],
    Rate::per_second(10, 10),
    &[],
);
