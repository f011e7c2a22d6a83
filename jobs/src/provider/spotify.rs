//! Spotify Web API. (Being written: no resources yet.)

use super::{Host, ProviderDef, Rate};

pub static SPOTIFY: ProviderDef = ProviderDef::new(
    "spotify",
    "Spotify Web API",
    &[Host {
        name: "",
        urls: &["https://api.spotify.com"],
    }],
    Rate::per_second(10, 10),
    &[],
);
