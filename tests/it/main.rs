//! Integration tests: the real server over HTTP against a real database.

mod editing;
mod helpers;
mod import;
mod postgres;
mod read_api;
mod schema;
mod totals;
