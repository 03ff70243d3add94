//! Whole GraphQL responses kept for anonymous read queries, until the next write: a
//! dashboard polling the same query is answered from memory. Exact, never stale: every
//! write that changes anything readable increments the data version, and an entry serves
//! only requests made at the version it was computed at (or later data: a write landing
//! between reading the version and executing the query only makes the entry newer).
//!
//! A query is kept from its second successful run on: the first only marks it as known,
//! so that a request refused by validation (too deep, malformed) never costs the version
//! read, and one-off queries do not crowd the cache.

use std::{collections::HashMap, sync::Mutex};

use axum::body::Bytes;

/// What identifies an answer: the query text, its variables, its operation and the
/// response format asked for.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct Key {
    pub query: String,
    pub variables: String,
    pub operation: Option<String>,
    pub legacy_json: bool,
}

/// Responses larger than this are not kept.
const LARGEST: usize = 1024 * 1024;

/// At most this many bytes of responses in all.
const BUDGET: usize = 32 * 1024 * 1024;

#[derive(Debug, Default)]
struct Inner {
    version: i64,
    /// Queries that ran without error before (valid whatever the data).
    known: std::collections::HashSet<Key>,
    entries: HashMap<Key, Bytes>,
    bytes: usize,
    hits: u64,
    misses: u64,
}

/// The response cache; `capacity` 0 switches it off.
#[derive(Debug)]
pub struct ResponseCache {
    capacity: usize,
    inner: Mutex<Inner>,
}

impl ResponseCache {
    pub fn new(capacity: usize) -> Self {
        Self { capacity, inner: Mutex::new(Inner::default()) }
    }

    pub fn enabled(&self) -> bool {
        self.capacity > 0
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Whether `key` ran without error before: only then is it worth the version read.
    pub(crate) fn is_known(&self, key: &Key) -> bool {
        self.lock().known.contains(key)
    }

    /// Notes that `key` ran without error.
    pub(crate) fn mark_known(&self, key: Key) {
        let mut inner = self.lock();
        if inner.known.len() >= self.capacity * 4 {
            inner.known.clear();
        }
        inner.known.insert(key);
    }

    /// The body kept for `key` at data version `version`, if any.
    pub(crate) fn get(&self, version: i64, key: &Key) -> Option<Bytes> {
        let mut inner = self.lock();
        if inner.version != version {
            inner.misses += 1;
            return None;
        }
        let found = inner.entries.get(key).cloned();
        if found.is_some() {
            inner.hits += 1
        } else {
            inner.misses += 1
        }
        found
    }

    /// Keeps `body` for `key`, computed at data version `version` (or later). Entries of
    /// older versions are dropped; when full, everything is (the next requests refill it).
    pub(crate) fn put(&self, version: i64, key: Key, body: Bytes) {
        if body.len() > LARGEST {
            return;
        }
        let mut inner = self.lock();
        if version < inner.version {
            return;
        }
        if version > inner.version || inner.entries.len() >= self.capacity || inner.bytes + body.len() > BUDGET {
            inner.version = version;
            inner.entries.clear();
            inner.bytes = 0;
        }
        inner.bytes += body.len() + key.query.len() + key.variables.len();
        inner.entries.insert(key, body);
    }

    /// Hits and misses so far.
    pub fn stats(&self) -> (u64, u64) {
        let inner = self.lock();
        (inner.hits, inner.misses)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(query: &str) -> Key {
        Key { query: query.into(), variables: "{}".into(), operation: None, legacy_json: false }
    }

    #[test]
    fn an_entry_serves_only_its_data_version() {
        let cache = ResponseCache::new(4);
        cache.put(3, key("{ a }"), Bytes::from_static(b"A3"));
        assert_eq!(cache.get(3, &key("{ a }")), Some(Bytes::from_static(b"A3")));
        assert_eq!(cache.get(3, &key("{ b }")), None);
        assert_eq!(cache.get(4, &key("{ a }")), None, "a write happened: the entry is stale");
        cache.put(4, key("{ a }"), Bytes::from_static(b"A4"));
        cache.put(3, key("{ b }"), Bytes::from_static(b"B3"));
        assert_eq!(cache.get(4, &key("{ b }")), None, "an answer of an older version is not kept");
        assert_eq!(cache.get(4, &key("{ a }")), Some(Bytes::from_static(b"A4")));
    }

    #[test]
    fn it_keeps_no_answer_over_a_mebibyte_and_no_more_than_its_byte_budget() {
        let cache = ResponseCache::new(1_000);
        cache.put(1, key("{ big }"), Bytes::from(vec![b'x'; LARGEST + 1]));
        assert_eq!(cache.get(1, &key("{ big }")), None, "an answer over 1 MiB is not kept");
        // 40 answers of 1 MiB: the 32 MiB budget is never exceeded.
        for i in 0..40 {
            cache.put(1, key(&format!("{{ q{i} }}")), Bytes::from(vec![b'x'; LARGEST]));
            assert!(cache.lock().bytes <= BUDGET, "{} bytes kept after {i}", cache.lock().bytes);
        }
        assert!(cache.get(1, &key("{ q39 }")).is_some(), "the newest answer is kept");
    }

    #[test]
    fn it_stays_within_its_capacity() {
        let cache = ResponseCache::new(2);
        for q in ["{ a }", "{ b }", "{ c }"] {
            cache.put(1, key(q), Bytes::from_static(b"x"));
        }
        assert!(cache.lock().entries.len() <= 2);
        assert_eq!(cache.get(1, &key("{ c }")), Some(Bytes::from_static(b"x")));
    }
}
