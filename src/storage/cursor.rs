//! Opaque keyset cursors: the sort key values of the last row seen, base64url-encoded JSON.

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};

use crate::domain::FieldError;

/// Encodes the key of a row: the list tag (so a cursor is only used with its own ordering)
/// and the sort key values.
pub fn encode(tag: &str, key: &[Option<String>]) -> String {
    // Serialized straight from the tuple: a `json!` tree first cost an allocation per value,
    // for every row of every page.
    let json = serde_json::to_vec(&(tag, key)).unwrap_or_default();
    URL_SAFE_NO_PAD.encode(json)
}

/// Decodes a cursor made by [`encode`] with the same `tag` and `len` key values.
pub fn decode(field: &str, tag: &str, len: usize, cursor: &str) -> Result<Vec<Option<String>>, FieldError> {
    let invalid = || FieldError::new(field, "is not a cursor of this list and ordering");
    let bytes = URL_SAFE_NO_PAD.decode(cursor).map_err(|_| invalid())?;
    let (found_tag, key): (String, Vec<Option<String>>) = serde_json::from_slice(&bytes).map_err(|_| invalid())?;
    if found_tag != tag || key.len() != len {
        return Err(invalid());
    }
    Ok(key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_refuse_other_lists() {
        let key = vec![Some("2025-02-10".to_owned()), None];
        let cursor = encode("commitments:ANNOUNCED_ON_DESC", &key);
        assert_eq!(decode("after", "commitments:ANNOUNCED_ON_DESC", 2, &cursor).unwrap(), key);
        assert!(decode("after", "commitments:TITLE_ASC", 2, &cursor).is_err());
        assert_eq!(decode("after", "x", 2, "not base64!").unwrap_err().field, "after");
    }
}
