//! sea-orm entities of pledgewatch, close to their generated form.
//!
//! Behaviour lives elsewhere: validation in the main crate's `domain`, queries in its
//! `storage`. Enumerations are stored as their SCREAMING_SNAKE text and parsed by `domain`;
//! amounts are minor units (`i64`) with the currency's exponent beside them.

pub mod actor;
pub mod api_token;
pub mod audit_entry;
pub mod claim;
pub mod coalition;
pub mod commitment;
pub mod counted_amount;
pub mod event;
pub mod exchange_rate;
pub mod fundraising_target;
pub mod overlap;
pub mod reported_count;
pub mod signature;
pub mod source;
pub mod source_link;
pub mod status_history;
