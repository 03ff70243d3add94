//! Exact money: amounts as `Decimal`, stored as `i64` minor units of their currency, and
//! amount ranges that say honestly what is known (a point, a range, "up to X", or nothing).

use rust_decimal::{Decimal, prelude::ToPrimitive};

use super::{FieldError, codes::CurrencyCode};

/// How much of an amount is known.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AmountKind {
    /// One figure: low = high.
    Point,
    /// A range low–high, or two disputed figures.
    Range,
    /// "Up to X": only the high end is known.
    UpTo,
    /// "Several billion": no figure at all. Never summed as zero.
    Unquantified,
}

/// An amount range in currency units. `low` without `high` cannot happen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AmountRange {
    low: Option<Decimal>,
    high: Option<Decimal>,
}

impl AmountRange {
    /// Checks the rules: both ends ≥ 0, low ≤ high, no low without a high. `prefix` names
    /// the fields in errors (`amount` gives `amountLow`, `amountHigh`).
    pub fn new(prefix: &str, low: Option<Decimal>, high: Option<Decimal>) -> Result<Self, FieldError> {
        let low_field = format!("{prefix}Low");
        let high_field = format!("{prefix}High");
        for (field, value) in [(&low_field, low), (&high_field, high)] {
            if value.is_some_and(|v| v.is_sign_negative() && !v.is_zero()) {
                return Err(FieldError::new(field.as_str(), "must not be negative"));
            }
        }
        match (low, high) {
            (Some(_), None) => Err(FieldError::new(high_field, "is required when a low amount is given")),
            (Some(l), Some(h)) if l > h => {
                Err(FieldError::new(low_field, format!("{l} is greater than the high amount {h}")))
            }
            _ => Ok(Self { low, high }),
        }
    }

    /// The low end, `None` when unknown.
    pub fn low(&self) -> Option<Decimal> {
        self.low
    }

    /// The high end, `None` when unquantified.
    pub fn high(&self) -> Option<Decimal> {
        self.high
    }

    /// What is known of the amount.
    pub fn kind(&self) -> AmountKind {
        match (self.low, self.high) {
            (Some(l), Some(h)) if l == h => AmountKind::Point,
            (Some(_), Some(_)) => AmountKind::Range,
            (None, Some(_)) => AmountKind::UpTo,
            _ => AmountKind::Unquantified,
        }
    }
}

/// An amount range in one currency.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Money {
    /// The range in currency units.
    pub range: AmountRange,
    /// Its currency.
    pub currency: CurrencyCode,
}

/// The stored form of [`Money`]: minor units plus the currency.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MinorRange {
    /// Low end in minor units.
    pub low: Option<i64>,
    /// High end in minor units.
    pub high: Option<i64>,
    /// The currency whose exponent scales the units.
    pub currency: CurrencyCode,
}

impl Money {
    /// Converts to minor units, refusing amounts finer than the currency's minor unit or
    /// beyond `i64`. `prefix` names the fields in errors, as in [`AmountRange::new`].
    pub fn to_minor(&self, prefix: &str) -> Result<MinorRange, FieldError> {
        let exponent = self.currency.exponent();
        let convert = |suffix: &str, value: Option<Decimal>| {
            value
                .map(|v| {
                    to_minor_units(v, exponent).map_err(|message| FieldError::new(format!("{prefix}{suffix}"), message))
                })
                .transpose()
        };
        Ok(MinorRange {
            low: convert("Low", self.range.low)?,
            high: convert("High", self.range.high)?,
            currency: self.currency,
        })
    }
}

impl MinorRange {
    /// Back to currency units; the stored values passed the rules when written.
    pub fn to_money(&self) -> Money {
        let exponent = self.currency.exponent();
        Money {
            range: AmountRange {
                low: self.low.map(|m| from_minor_units(m, exponent)),
                high: self.high.map(|m| from_minor_units(m, exponent)),
            },
            currency: self.currency,
        }
    }
}

/// The largest amount recorded, in units of any currency: 10^15 (a thousand trillion). With
/// it, a stored amount fits in minor units with room to spare, and totals (summed as
/// `i128`, converted as 96-bit decimals) cannot overflow for any realistic number of rows.
pub const MAX_AMOUNT: Decimal = Decimal::from_parts(2_764_472_320, 232_830, 0, false, 0);

/// `amount × 10^exponent`, exactly, or `None` when it does not fit a decimal: the one
/// place money is scaled to minor units (records, filters, `having` bounds).
pub fn scaled(amount: Decimal, exponent: u32) -> Option<Decimal> {
    amount.checked_mul(Decimal::from(10_i64.checked_pow(exponent)?))
}

/// `amount × 10^exponent` as an exact integer, or why not: finer than the minor unit, or
/// beyond [`MAX_AMOUNT`].
pub fn to_minor_units(amount: Decimal, exponent: u32) -> Result<i64, String> {
    if amount.abs() > MAX_AMOUNT {
        return Err(format!("{amount} is above the largest amount recorded, {MAX_AMOUNT} (10^15)"));
    }
    let scaled = scaled(amount, exponent).ok_or_else(|| format!("{amount} is too large"))?;
    if !scaled.fract().is_zero() {
        return Err(format!("{amount} has more than {exponent} decimal places, the currency's minor unit"));
    }
    scaled.to_i64().ok_or_else(|| format!("{amount} is too large"))
}

/// `minor / 10^exponent`, exact, written with the currency's ISO 4217 minor-unit digits
/// ("750000000.10" EUR, "5000000000" JPY): a client reads an amount as its currency has it.
pub fn from_minor_units(minor: i64, exponent: u32) -> Decimal {
    Decimal::new(minor, exponent)
}

#[cfg(test)]
mod tests {
    use std::str::FromStr;

    use proptest::prelude::*;

    use super::*;

    fn dec(s: &str) -> Decimal {
        Decimal::from_str(s).unwrap()
    }

    fn eur() -> CurrencyCode {
        CurrencyCode::parse("currency", "EUR").unwrap()
    }

    #[test]
    fn range_kinds_follow_what_is_known() {
        let cases = [
            (Some("5"), Some("5"), AmountKind::Point),
            (Some("30"), Some("50"), AmountKind::Range),
            (None, Some("4"), AmountKind::UpTo),
            (None, None, AmountKind::Unquantified),
        ];
        for (low, high, kind) in cases {
            let range = AmountRange::new("amount", low.map(dec), high.map(dec)).unwrap();
            assert_eq!(range.kind(), kind, "case {low:?}–{high:?}");
        }
    }

    #[test]
    fn low_above_high_is_refused_on_the_low_field() {
        let err = AmountRange::new("amount", Some(dec("51")), Some(dec("50"))).unwrap_err();
        assert_eq!(err.field, "amountLow");
    }

    #[test]
    fn negative_amounts_and_low_without_high_are_refused() {
        assert_eq!(AmountRange::new("amount", Some(dec("-1")), Some(dec("1"))).unwrap_err().field, "amountLow");
        assert_eq!(AmountRange::new("amount", None, Some(dec("-0.01"))).unwrap_err().field, "amountHigh");
        assert_eq!(AmountRange::new("amount", Some(dec("1")), None).unwrap_err().field, "amountHigh");
    }

    #[test]
    fn minor_units_keep_every_cent_that_doubles_lose() {
        // Values that an f64 (SQLite REAL) cannot hold exactly.
        for s in ["999999999999999.99", "12345678901234.56", "0.10", "0.20"] {
            let minor = to_minor_units(dec(s), 2).unwrap();
            assert_eq!(from_minor_units(minor, 2), dec(s), "case {s}");
            assert_eq!(from_minor_units(minor, 2).scale(), 2, "case {s}: the cents are written");
        }
        let a = to_minor_units(dec("0.10"), 2).unwrap();
        let b = to_minor_units(dec("0.20"), 2).unwrap();
        assert_eq!(from_minor_units(a + b, 2).to_string(), "0.30");
        assert_eq!(from_minor_units(5_000_000_000, 0).to_string(), "5000000000");
        assert_eq!(from_minor_units(75_000_000_010, 2).to_string(), "750000000.10");
        let big = to_minor_units(dec("999999999999999"), 2).unwrap() + to_minor_units(dec("0.99"), 2).unwrap();
        assert_eq!(from_minor_units(big, 2).to_string(), "999999999999999.99");
    }

    #[test]
    fn amounts_finer_than_the_minor_unit_or_too_large_are_refused() {
        assert!(to_minor_units(dec("0.001"), 2).is_err());
        assert!(to_minor_units(dec("1.5"), 0).is_err());
        assert_eq!(to_minor_units(dec("1.5"), 3).unwrap(), 1500);
        assert!(to_minor_units(dec("100000000000000000"), 2).is_err());
    }

    #[test]
    fn nothing_above_ten_to_the_fifteen_is_recorded_and_scaling_never_panics() {
        assert_eq!(MAX_AMOUNT, dec("1000000000000000"));
        assert_eq!(to_minor_units(dec("1000000000000000"), 2).unwrap(), 100_000_000_000_000_000);
        assert_eq!(to_minor_units(dec("1000000000000000"), 3).unwrap(), 1_000_000_000_000_000_000);
        let refused = to_minor_units(dec("1000000000000000.01"), 2).unwrap_err();
        assert!(refused.contains("above the largest amount recorded"), "{refused}");
        // The amount of the defect report: it used to be accepted and broke every total.
        assert!(to_minor_units(dec("92233720368547758.07"), 2).is_err());
        assert_eq!(scaled(Decimal::MAX, 2), None);
        assert_eq!(scaled(dec("1.5"), 40), None);
    }

    #[test]
    fn money_round_trips_through_minor_units() {
        let money = Money {
            range: AmountRange::new("amount", Some(dec("30000000000")), Some(dec("50000000000"))).unwrap(),
            currency: eur(),
        };
        let minor = money.to_minor("amount").unwrap();
        assert_eq!(minor.low, Some(3_000_000_000_000));
        assert_eq!(
            minor.to_money(),
            Money {
                range: AmountRange::new("amount", Some(dec("30000000000")), Some(dec("50000000000"))).unwrap(),
                currency: eur()
            }
        );
    }

    proptest! {
        #[test]
        fn any_cent_amount_round_trips_exactly(minor in 0_i64..=100_000_000_000_000_000) {
            let amount = from_minor_units(minor, 2);
            prop_assert_eq!(to_minor_units(amount, 2).unwrap(), minor);
        }

        #[test]
        fn sums_of_minor_units_equal_decimal_sums(values in proptest::collection::vec(0_i64..1_000_000_000_000_000, 0..50)) {
            let minor_sum: i128 = values.iter().map(|&v| i128::from(v)).sum();
            let decimal_sum: Decimal = values.iter().map(|&v| from_minor_units(v, 2)).sum();
            prop_assert_eq!(Decimal::from_i128_with_scale(minor_sum, 2).normalize(), decimal_sum.normalize());
        }
    }
}
