//! Text rules: accent folding for search, slugs, and the limits on names.

use super::FieldError;

/// Folds text for accent- and case-insensitive search: transliterate to ASCII, lowercase,
/// collapse white space ("Élysée" → "elysee", "Straße" → "strasse", "Łódź" → "lodz").
pub fn fold(text: &str) -> String {
    let ascii = deunicode::deunicode(text).to_lowercase();
    ascii.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// A `LIKE` pattern matching folded text that contains the folded `query`; `\` escapes.
pub fn contains_pattern(query: &str) -> String {
    format!("%{}%", like_escaped(&fold(query)))
}

/// `text` with the `LIKE` wildcards (`%`, `_`) and the escape character `\` escaped, to
/// match literally inside a pattern.
pub fn like_escaped(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            escaped.push('\\');
        }
        escaped.push(c);
    }
    escaped
}

/// Longest slug accepted.
pub const MAX_SLUG_LEN: usize = 100;

/// Checks a slug: lower-case ASCII letters and digits in groups joined by single hyphens.
pub fn check_slug(field: &str, raw: &str) -> Result<(), FieldError> {
    let well_formed = !raw.is_empty()
        && raw.len() <= MAX_SLUG_LEN
        && raw
            .split('-')
            .all(|part| !part.is_empty() && part.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit()));
    if well_formed {
        Ok(())
    } else {
        Err(FieldError::new(
            field,
            format!("{raw:?} is not a slug: use a-z, 0-9 and single hyphens, at most {MAX_SLUG_LEN} characters"),
        ))
    }
}

/// Whether `c` changes the direction of the text around it (the bidirectional controls
/// of Unicode: embeddings, overrides, isolates and marks). Such a character makes "Total"
/// display as "latoT" or hides what a name really says; no record needs one.
pub fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{061C}' | '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

fn check_bidi(field: &str, raw: &str) -> Result<(), FieldError> {
    match raw.chars().find(|&c| is_bidi_control(c)) {
        Some(c) => Err(FieldError::new(
            field,
            format!("must not contain bidirectional control characters (found U+{:04X})", u32::from(c)),
        )),
        None => Ok(()),
    }
}

/// Checks a required one-line text (names, titles): not blank, no control characters
/// (bidirectional ones included), at most `max` characters.
pub fn check_line(field: &str, raw: &str, max: usize) -> Result<(), FieldError> {
    if raw.trim().is_empty() {
        return Err(FieldError::new(field, "must not be blank"));
    }
    if raw.chars().any(char::is_control) {
        return Err(FieldError::new(field, "must not contain control characters"));
    }
    check_bidi(field, raw)?;
    check_len(field, raw, max)
}

/// Checks a free text (notes, quotes): at most `max` characters, no control characters but
/// line breaks and tabs, no bidirectional controls.
pub fn check_free_text(field: &str, raw: &str, max: usize) -> Result<(), FieldError> {
    if raw.chars().any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t')) {
        return Err(FieldError::new(field, "must not contain control characters"));
    }
    check_bidi(field, raw)?;
    check_len(field, raw, max)
}

/// Longest search text (`search`, the `text` filters), in characters.
pub const MAX_SEARCH_CHARS: usize = 200;

/// Most items in one list of a filter or an input (slugs, countries, sources).
pub const MAX_LIST_ITEMS: usize = 1_000;

/// Checks a search text: at most [`MAX_SEARCH_CHARS`] characters.
pub fn check_search(field: &str, raw: &str) -> Result<(), FieldError> {
    check_len(field, raw, MAX_SEARCH_CHARS)
}

/// Checks the length of a list: at most [`MAX_LIST_ITEMS`] items.
pub fn check_list_len(field: &str, len: usize) -> Result<(), FieldError> {
    if len > MAX_LIST_ITEMS {
        return Err(FieldError::new(field, format!("has {len} items, more than {MAX_LIST_ITEMS}")));
    }
    Ok(())
}

fn check_len(field: &str, raw: &str, max: usize) -> Result<(), FieldError> {
    let len = raw.chars().count();
    if len > max {
        return Err(FieldError::new(field, format!("is {len} characters long, the limit is {max}")));
    }
    Ok(())
}

/// Checks an absolute http(s) URL with a host.
pub fn check_url(field: &str, raw: &str) -> Result<(), FieldError> {
    let rest = raw.strip_prefix("https://").or_else(|| raw.strip_prefix("http://"));
    let host = rest.map(|r| r.split(['/', '?', '#']).next().unwrap_or_default());
    let ok = matches!(host, Some(h) if !h.is_empty() && !h.contains(char::is_whitespace))
        && !raw.chars().any(|c| c.is_whitespace() || c.is_control())
        && raw.len() <= 2000;
    if ok { Ok(()) } else { Err(FieldError::new(field, format!("{raw:?} is not an absolute http(s) URL"))) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folding_removes_accents_and_case() {
        let cases = [
            ("Élysée", "elysee"),
            ("Émirats arabes unis", "emirats arabes unis"),
            ("Straße", "strasse"),
            ("Łódź", "lodz"),
            ("  Saint-Siège\n", "saint-siege"),
        ];
        for (input, folded) in cases {
            assert_eq!(fold(input), folded, "case {input:?}");
        }
    }

    #[test]
    fn like_patterns_escape_wildcards() {
        assert_eq!(contains_pattern("Élysée"), "%elysee%");
        assert_eq!(contains_pattern("50%_x"), "%50\\%\\_x%");
    }

    #[test]
    fn slugs_are_lowercase_words_joined_by_hyphens() {
        assert_eq!(check_slug("slug", "ai-action-summit-2025"), Ok(()));
        let long = "a".repeat(MAX_SLUG_LEN + 1);
        for bad in ["", "AI", "a--b", "-a", "a-", "a b", "é", long.as_str()] {
            let err = check_slug("slug", bad).unwrap_err();
            assert_eq!(err.field, "slug");
            assert!(err.message.starts_with(&format!("{bad:?} is not a slug")), "case {bad:?}: {}", err.message);
        }
    }

    #[test]
    fn lines_refuse_blanks_control_characters_and_excess_length() {
        assert_eq!(check_line("name", "France", 10), Ok(()));
        assert_eq!(check_line("name", "  ", 10).unwrap_err().message, "must not be blank");
        assert_eq!(check_line("name", "a\u{7}b", 10).unwrap_err().message, "must not contain control characters");
        assert_eq!(
            check_line("name", "abcdefghijk", 10).unwrap_err().message,
            "is 11 characters long, the limit is 10"
        );
    }

    #[test]
    fn bidirectional_controls_are_refused_everywhere_but_plain_rtl_text_is_not() {
        for c in ['\u{202E}', '\u{202A}', '\u{2066}', '\u{2069}', '\u{200F}', '\u{061C}'] {
            let text = format!("Total{c} 5bn");
            let error = check_line("title", &text, 100).unwrap_err();
            assert_eq!(error.field, "title");
            assert!(error.message.contains("bidirectional"), "{}", error.message);
            assert!(check_free_text("notes", &text, 100).is_err());
        }
        assert!(check_line("name", "الإمارات العربية المتحدة", 100).is_ok(), "Arabic itself is fine");
    }

    #[test]
    fn search_texts_and_lists_are_bounded() {
        assert!(check_search("query", &"a".repeat(MAX_SEARCH_CHARS)).is_ok());
        assert_eq!(check_search("query", &"a".repeat(MAX_SEARCH_CHARS + 1)).unwrap_err().field, "query");
        assert!(check_list_len("filter.events", MAX_LIST_ITEMS).is_ok());
        assert_eq!(check_list_len("filter.events", MAX_LIST_ITEMS + 1).unwrap_err().field, "filter.events");
    }

    #[test]
    fn urls_must_be_absolute_http() {
        assert_eq!(check_url("url", "https://www.elysee.fr/x"), Ok(()));
        for bad in ["ftp://x.org", "https://", "www.x.org", "https://a b.org", "javascript:alert(1)"] {
            let err = check_url("url", bad).unwrap_err();
            assert_eq!((err.field.as_str(), err.message), ("url", format!("{bad:?} is not an absolute http(s) URL")));
        }
    }
}
