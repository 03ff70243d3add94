//! ISO codes: countries (ISO 3166-1 alpha-2), currencies (ISO 4217), languages (ISO 639-1).

use super::FieldError;

/// An ISO 3166-1 alpha-2 country code, upper case (`FR`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CountryCode(String);

/// A list of country codes (ISO 3166-1 alpha-2, any case) as their canonical codes,
/// naming the field and position of a bad one (`filter.countries[2]`); none given: none.
pub fn country_codes(field: &str, raw: Option<Vec<String>>) -> Result<Vec<String>, FieldError> {
    raw.unwrap_or_default()
        .into_iter()
        .enumerate()
        .map(|(i, c)| Ok(CountryCode::parse(&format!("{field}[{i}]"), &c)?.as_str().to_owned()))
        .collect()
}

impl CountryCode {
    /// Parses an upper-case alpha-2 code that ISO 3166-1 assigns.
    pub fn parse(field: &str, raw: &str) -> Result<Self, FieldError> {
        let valid =
            raw.len() == 2 && raw.bytes().all(|b| b.is_ascii_uppercase()) && celes::Country::from_alpha2(raw).is_ok();
        if valid {
            Ok(Self(raw.to_owned()))
        } else {
            Err(FieldError::new(field, format!("{raw:?} is not an ISO 3166-1 alpha-2 country code (e.g. FR)")))
        }
    }

    /// The code as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// An ISO 4217 currency that has a minor-unit exponent (EUR, USD, JPY; not XAU).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct CurrencyCode {
    code: &'static str,
    exponent: u16,
}

impl CurrencyCode {
    /// Parses an upper-case ISO 4217 code.
    pub fn parse(field: &str, raw: &str) -> Result<Self, FieldError> {
        let currency = (raw.len() == 3 && raw.bytes().all(|b| b.is_ascii_uppercase()))
            .then(|| iso_currency::Currency::from_code(raw))
            .flatten()
            .ok_or_else(|| FieldError::new(field, format!("{raw:?} is not an ISO 4217 currency code (e.g. EUR)")))?;
        let exponent = currency
            .exponent()
            .ok_or_else(|| FieldError::new(field, format!("{raw} has no minor unit and cannot hold an amount")))?;
        Ok(Self { code: currency.code(), exponent })
    }

    /// The code as text (`EUR`).
    pub fn as_str(&self) -> &'static str {
        self.code
    }

    /// The ISO 4217 minor-unit exponent: 2 for EUR, 0 for JPY, 3 for BHD.
    pub fn exponent(&self) -> u32 {
        u32::from(self.exponent)
    }
}

/// Checks an ISO 639-1 language code: two lower-case letters (`fr`).
pub fn check_language(field: &str, raw: &str) -> Result<(), FieldError> {
    if raw.len() == 2 && raw.bytes().all(|b| b.is_ascii_lowercase()) {
        Ok(())
    } else {
        Err(FieldError::new(field, format!("{raw:?} is not an ISO 639-1 language code (e.g. fr)")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn countries_are_checked_against_iso_3166() {
        assert_eq!(CountryCode::parse("country", "FR").unwrap().as_str(), "FR");
        for bad in ["fr", "FRA", "ZZ", "", "F1"] {
            let err = CountryCode::parse("country", bad).unwrap_err();
            assert_eq!(err.field, "country", "case {bad:?}");
        }
    }

    #[test]
    fn currencies_carry_their_iso_4217_exponent() {
        let cases = [("EUR", 2), ("USD", 2), ("JPY", 0), ("BHD", 3)];
        for (code, exponent) in cases {
            let currency = CurrencyCode::parse("currency", code).unwrap();
            assert_eq!(currency.exponent(), exponent, "case {code}");
            assert_eq!(currency.as_str(), code);
        }
    }

    #[test]
    fn currencies_outside_iso_4217_or_without_minor_unit_are_refused() {
        for bad in ["eur", "EURO", "ABC", "XAU", ""] {
            let err = CurrencyCode::parse("currency", bad).unwrap_err();
            assert_eq!(err.field, "currency", "case {bad:?}");
        }
    }

    #[test]
    fn languages_are_two_lowercase_letters() {
        assert_eq!(check_language("language", "fr"), Ok(()));
        for bad in ["FR", "fra", "f", ""] {
            let err = check_language("language", bad).unwrap_err();
            assert_eq!(err.field, "language", "case {bad:?}");
        }
    }
}
