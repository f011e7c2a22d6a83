//! OpenSubtitles. (Being written: no resources yet.)

use super::{Host, ProviderDef, Rate};

pub static OPENSUBTITLES: ProviderDef = ProviderDef::new(
    "opensubtitles",
    "OpenSubtitles",
    &[Host {
        name: "",
        urls: &["https://api.opensubtitles.com"],
    }],
    Rate::per_second(10, 10),
    &[],
);
