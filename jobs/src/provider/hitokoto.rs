//! Hitokoto. (Being written: no resources yet.)

use super::{Host, ProviderDef, Rate};

pub static HITOKOTO: ProviderDef = ProviderDef::new(
    "hitokoto",
    "Hitokoto",
    &[Host {
        name: "",
        urls: &["https://v1.hitokoto.cn"],
    }],
    Rate::per_second(10, 10),
    &[],
);
