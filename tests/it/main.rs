//! Integration tests: real Postgres, real HTTP upstreams on loopback, the
//! real binary for the multi-process cases. Set TEST_LOG=1 for logs.

mod helpers;
mod upstream;

mod admin;
mod auth;
mod compression;
mod console;
mod custom;
mod dashboard;
mod disk;
mod dropin;
mod faults;
mod first_hour;
mod hardening;
mod hot;
mod images;
mod lanes;
mod openapi;
mod processes;
mod providers;
mod rate;
mod reads;
mod scheduler;
mod traces;
