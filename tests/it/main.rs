//! Integration tests: the real server over HTTP against a real database.

mod dashboard;
mod data_io;
mod editing;
mod faults;
mod hardening;
mod helpers;
mod import;
mod live;
mod operations;
mod parity;
mod postgres;
mod process;
mod read_api;
mod schema;
mod totals;
