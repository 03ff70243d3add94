//! The counted amount of each commitment, one line at a time, for spreadsheets: converted
//! so that a column of them adds up, to the cent, to the total the API gives for the same
//! filter.
//!
//! The API converts each (currency, rate, measure) bucket's exact sum once (see
//! [`super::build`]). A row read alone cannot know its share of that rounding without the
//! whole bucket, and an export streams. So the ledger converts running sums: a row's counted
//! amount is `R(sum up to and including it) − R(sum before it)`, with `R` the bucket's
//! rounding. A bucket's shares telescope to `R(bucket sum)`, the API's figure, in whatever
//! order the rows come; each share is within one minor unit of the row converted alone; and
//! the ledger holds one running sum per bucket, never the rows.

use std::collections::HashMap;

use super::Pair;
use crate::domain::{
    codes::CurrencyCode,
    counting::{Measure, Rule},
    fx::{Conversion, EuroRate, NoRate, RateKey, convert_minor},
};

/// How a commitment counts in a total on the new-money basis.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CountedAs {
    /// Its own amount.
    Own,
    /// A part of a headline package: counted on its own, and taken out of the headline.
    Part,
    /// A headline package: its amount minus the parts that count on their own.
    Remainder,
    /// Its amount minus money an earlier announcement already counted.
    OverlapRemoved,
    /// A detail inside another pledge's figure: counted there, 0 here.
    Detail,
    /// A confirmation of an earlier pledge: not added again.
    Confirmation,
    /// No amount ("several billion").
    Unquantified,
    /// No exchange rate to convert it.
    NoRate,
    /// Withdrawn.
    Withdrawn,
    /// Retracted by the tracker.
    Retracted,
}

impl CountedAs {
    /// The spreadsheet code.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Own => "own",
            Self::Part => "part",
            Self::Remainder => "remainder",
            Self::OverlapRemoved => "overlap-removed",
            Self::Detail => "detail",
            Self::Confirmation => "confirmation",
            Self::Unquantified => "unquantified",
            Self::NoRate => "no-rate",
            Self::Withdrawn => "withdrawn",
            Self::Retracted => "retracted",
        }
    }

    /// How a commitment with these counted rows counts (`relation`: its own relation to its
    /// parent, such as `PART_OF`). `None` when it has no counted row.
    pub fn of_rules(rules: &[Rule], relation: Option<&str>) -> Option<Self> {
        let has = |r: Rule| rules.contains(&r);
        Some(if rules.is_empty() {
            return None;
        } else if has(Rule::Detail) {
            Self::Detail
        } else if has(Rule::Confirmed) {
            Self::Confirmation
        } else if has(Rule::CarveOut) {
            Self::Remainder
        } else if has(Rule::Overlap) {
            Self::OverlapRemoved
        } else if has(Rule::Unquantified) && !has(Rule::Own) {
            Self::Unquantified
        } else if relation == Some("PART_OF") {
            Self::Part
        } else {
            Self::Own
        })
    }
}

/// One counted row of a commitment.
#[derive(Debug, Clone)]
pub struct LedgerRow {
    pub rule: Rule,
    pub currency: CurrencyCode,
    pub rate_key: RateKey,
    /// Minor units of `currency` (negative for carve-outs and overlaps).
    pub low: i128,
    pub high: i128,
    /// The slug of the related commitment (the part, the earlier pledge, the package).
    pub related: Option<String>,
}

/// A commitment's line in the ledger.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    pub counted_as: CountedAs,
    /// Counted on the new-money basis, minor units of the reporting currency (low and high
    /// scenario); `None` when the commitment counts for nothing because it is left out (no
    /// rate, withdrawn, retracted, no amount).
    pub counted: Option<Pair>,
    /// The rates applied, each once.
    pub rates: Vec<EuroRate>,
    /// Why some of its money could not be converted.
    pub no_rate: Option<NoRate>,
    /// In words: what the line counts and why.
    pub note: String,
}

/// Running sums per bucket of the reporting currency `to`.
#[derive(Debug)]
pub struct Ledger {
    to: CurrencyCode,
    running: HashMap<(CurrencyCode, RateKey, Measure), Pair>,
}

impl Ledger {
    pub fn new(to: CurrencyCode) -> Self {
        Self { to, running: HashMap::new() }
    }

    /// The line of a commitment left out whole (`Withdrawn`, `Retracted`, `Unquantified`).
    pub fn left_out(counted_as: CountedAs) -> Line {
        let note = match counted_as {
            CountedAs::Withdrawn => "withdrawn: not counted",
            CountedAs::Retracted => "retracted by the tracker: not counted",
            _ => "no amount: nothing to add",
        };
        Line { counted_as, counted: None, rates: Vec::new(), no_rate: None, note: note.to_owned() }
    }

    /// The line of one commitment from its counted rows. `conversion` gives the conversion
    /// of a currency under a rate key into the reporting currency. Call it once per
    /// commitment, in any order: the lines of all commitments add up to the total.
    pub fn line(
        &mut self,
        rows: &[LedgerRow],
        relation: Option<&str>,
        mut conversion: impl FnMut(CurrencyCode, RateKey) -> Result<Conversion, NoRate>,
    ) -> Option<Line> {
        let rules: Vec<Rule> = rows.iter().map(|r| r.rule).collect();
        let mut counted_as = CountedAs::of_rules(&rules, relation)?;
        if counted_as == CountedAs::Unquantified {
            return Some(Self::left_out(counted_as));
        }
        let mut counted = Pair::default();
        let mut rates: Vec<EuroRate> = Vec::new();
        let mut no_rate = None;
        for row in rows {
            let measure = row.rule.measure();
            if measure == Measure::Uncounted {
                continue;
            }
            let key = if row.currency == self.to { RateKey::Identity } else { row.rate_key };
            let conv = match conversion(row.currency, key) {
                Ok(c) => c,
                Err(reason) => {
                    // As `totals` lists them: a commitment whose own (or confirmed) amount
                    // cannot be converted is left out; a carve-out or overlap without a
                    // rate only adds nothing.
                    if matches!(row.rule, Rule::Own | Rule::Confirmed) {
                        counted_as = CountedAs::NoRate;
                    }
                    no_rate.get_or_insert(reason);
                    continue;
                }
            };
            if measure == Measure::Confirmed {
                continue;
            }
            for leg in conv.legs() {
                if !rates.contains(leg) {
                    rates.push(leg.clone());
                }
            }
            let (from, to) = (row.currency.exponent(), self.to.exponent());
            let running = self.running.entry((row.currency, key, measure)).or_default();
            let share = |before: i128, amount: i128| {
                convert_minor(before + amount, from, to, &conv) - convert_minor(before, from, to, &conv)
            };
            counted.low += share(running.low, row.low);
            counted.high += share(running.high, row.high);
            running.low += row.low;
            running.high += row.high;
        }
        let note = note(rows, counted_as, no_rate.as_ref());
        let counted = (counted_as != CountedAs::NoRate).then_some(counted);
        Some(Line { counted_as, counted, rates, no_rate, note })
    }
}

fn note(rows: &[LedgerRow], counted_as: CountedAs, no_rate: Option<&NoRate>) -> String {
    let related = |rule: Rule| -> Vec<&str> {
        rows.iter()
            .filter(|r| r.rule == rule)
            .map(|r| r.related.as_deref().unwrap_or("money announced before"))
            .collect()
    };
    let mut words = match counted_as {
        CountedAs::Own => "its own amount".to_owned(),
        CountedAs::Part => "a part of its package, counted here and taken out of the package".to_owned(),
        CountedAs::Remainder => {
            format!("its amount minus its parts counted on their own ({})", related(Rule::CarveOut).join(", "))
        }
        CountedAs::OverlapRemoved => String::new(),
        CountedAs::Detail => {
            let inside = related(Rule::Detail);
            match inside.first() {
                Some(&slug) if slug != "money announced before" => format!("inside {slug}: counted there, so 0 here"),
                _ => "inside another pledge's figure: counted there, so 0 here".to_owned(),
            }
        }
        CountedAs::Confirmation => "confirms an earlier pledge: not added again".to_owned(),
        CountedAs::NoRate => "not converted".to_owned(),
        CountedAs::Unquantified | CountedAs::Withdrawn | CountedAs::Retracted => String::new(),
    };
    let overlaps = related(Rule::Overlap);
    if !overlaps.is_empty() {
        if !words.is_empty() {
            words.push_str("; ");
        }
        words.push_str(&format!("minus money counted before ({})", overlaps.join(", ")));
    }
    if let Some(reason) = no_rate {
        words.push_str(&format!(": {}", reason.describe()));
    }
    words
}

#[cfg(test)]
mod tests {
    use std::str::FromStr;

    use chrono::NaiveDate;
    use proptest::prelude::*;
    use rust_decimal::Decimal;

    use super::*;
    use crate::domain::fx::allocate;

    fn usd_conversion(rate: &str) -> Conversion {
        let on = NaiveDate::from_ymd_opt(2025, 2, 10).unwrap();
        Conversion {
            from_leg: Some(EuroRate {
                quote: "USD".into(),
                on,
                rate: Decimal::from_str(rate).unwrap(),
                average_of: None,
            }),
            to_leg: None,
        }
    }

    fn code(c: &str) -> CurrencyCode {
        CurrencyCode::parse("currency", c).unwrap()
    }

    fn row(rule: Rule, currency: &str, low: i128, high: i128) -> LedgerRow {
        LedgerRow {
            rule,
            currency: code(currency),
            rate_key: RateKey::Day(NaiveDate::from_ymd_opt(2025, 2, 10).unwrap()),
            low,
            high,
            related: Some("other".into()),
        }
    }

    #[test]
    fn a_package_counts_its_remainder_and_says_so() {
        let mut ledger = Ledger::new(code("EUR"));
        let rows = [row(Rule::Own, "EUR", 10_000, 10_000), row(Rule::CarveOut, "EUR", -8_000, -8_000)];
        let line = ledger.line(&rows, None, |_, _| Ok(Conversion::default())).unwrap();
        assert_eq!(line.counted_as, CountedAs::Remainder);
        assert_eq!(line.counted, Some(Pair { low: 2_000, high: 2_000 }));
        assert_eq!(line.note, "its amount minus its parts counted on their own (other)");
        let detail = ledger.line(&[row(Rule::Detail, "EUR", 0, 0)], Some("DETAIL_OF"), |_, _| unreachable!()).unwrap();
        assert_eq!((detail.counted_as, detail.counted), (CountedAs::Detail, Some(Pair::default())));
        assert_eq!(detail.note, "inside other: counted there, so 0 here");
    }

    #[test]
    fn a_row_without_a_rate_is_named_and_counts_nothing() {
        let mut ledger = Ledger::new(code("EUR"));
        let missing = NoRate::Missing { currency: "USD".into(), on: NaiveDate::from_ymd_opt(2026, 1, 1).unwrap() };
        let line = ledger.line(&[row(Rule::Own, "USD", 5, 5)], None, |_, _| Err(missing.clone())).unwrap();
        assert_eq!((line.counted_as, line.counted), (CountedAs::NoRate, None));
        assert!(line.note.starts_with("not converted: no EUR/USD rate"), "{}", line.note);
    }

    proptest! {
        /// Whatever the order and the split into commitments, the lines of a bucket add up
        /// to the bucket's total converted once, as the API computes it; and each line is
        /// within one cent of its rows converted alone.
        #[test]
        fn lines_add_up_to_the_total_converted_once(
            amounts in prop::collection::vec(0_i64..500_000_000_000, 1..40),
            rate in 5000_u32..20000,
        ) {
            let rate = Decimal::new(i64::from(rate), 4).to_string();
            let conv = usd_conversion(&rate);
            let mut ledger = Ledger::new(code("EUR"));
            let mut sum = 0_i128;
            for &a in &amounts {
                let line = ledger.line(&[row(Rule::Own, "USD", a.into(), a.into())], None, |_, _| Ok(conv.clone())).unwrap();
                let counted = line.counted.unwrap();
                let alone = convert_minor(a.into(), 2, 2, &conv);
                prop_assert!((counted.low - alone).abs() <= 1);
                sum += counted.low;
            }
            let parts: Vec<i128> = amounts.iter().map(|&a| i128::from(a)).collect();
            prop_assert_eq!(sum, allocate(&parts, 2, 2, &conv).0);
        }
    }
}
