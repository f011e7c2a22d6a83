//! One module per provider: success, not found and the provider's quirks,
//! against a loopback upstream serving fixtures written from its docs.

mod assrt;
mod bangumi;
mod bing;
mod currency;
mod deezer;
mod douban;
mod fanart;
mod geocoding;
mod gestdown;
mod github;
mod hitokoto;
mod holiday;
mod lrclib;
mod musicbrainz;
mod nominatim;
mod omdb;
mod openmeteo;
mod opensubtitles;
mod qidian;
mod regielive;
mod spotify;
mod thetvdb;
mod tmdb;
mod wikipedia;
mod zenquotes;
