//! Gestdown (Addic7ed proxy). (Being written: no resources yet.)

use super::{Host, ProviderDef, Rate};

pub static GESTDOWN: ProviderDef = ProviderDef::new(
    "gestdown",
    "Gestdown (Addic7ed proxy)",
    &[Host {
        name: "",
        urls: &["https://api.gestdown.info"],
    }],
    Rate::per_second(10, 10),
    &[],
);
