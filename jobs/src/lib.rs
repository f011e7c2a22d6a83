//! The shared contract of larder: everything both the API and the workers
//! must agree on, and nothing that knows about hyper or apalis workers.
//!
//! - [`config`]: layered configuration (defaults → file → env → flags).
//! - [`provider`]: the provider catalogue. A provider is mostly data: a table
//!   of resources (route → upstream path, allowed parameters, TTLs). Parsing a
//!   request against it yields a canonical [`key::CacheKey`].
//! - [`store`]: the narrow interface to Postgres for cache entries, in-flight
//!   fill records and fill notifications; [`keys`] and [`rate`] hold the
//!   rest of larder's SQL (with [`db`] and the migrations).
//! - [`keys`]: service keys.
//! - [`rate`]: the per-provider rate limiter shared through Postgres.
//! - [`job`]: queue payloads.
//! - [`names`]: metric names and their descriptions.
//! - [`coding`]: how stored bodies are compressed.
//! - [`assets`]: images: spooling downloads, storage backends, pointers.

pub mod assets;
pub mod coding;
pub mod config;
pub mod db;
pub mod error;
pub mod failure;
pub mod health;
pub mod job;
pub mod key;
pub mod keys;
pub mod names;
pub mod provider;
pub mod rate;
pub mod schedule;
pub mod store;
pub mod token;
pub mod trace;

pub use error::{Error, RequestError};
