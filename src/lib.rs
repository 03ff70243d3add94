//! pledgewatch: a GraphQL server tracking what governments, companies and funds announce
//! and commit around AI investment summits.
//!
//! Layers point inward: `http` wires axum to `graphql`; `graphql` converts between API
//! types and `storage`/`domain`; `storage` is the only module with SQL; `domain` is plain
//! Rust rules.

pub mod auth;
pub mod cli;
pub mod csvset;
pub mod domain;
pub mod ecb;
pub mod error;
pub mod graphql;
pub mod http;
pub mod metrics;
pub mod reference;
pub mod storage;
