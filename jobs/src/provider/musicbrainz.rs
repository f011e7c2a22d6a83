//! MusicBrainz. (Being written: no resources yet.)

use super::{Host, ProviderDef, Rate};

pub static MUSICBRAINZ: ProviderDef = ProviderDef::new(
    "musicbrainz",
    "MusicBrainz",
    &[Host {
        name: "",
        urls: &["https://musicbrainz.org"],
    }],
    Rate::per_second(10, 10),
    &[],
);
