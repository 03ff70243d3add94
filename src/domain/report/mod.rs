//! From database buckets (exact integer sums per group, currency and rate) to a totals
//! report in one reporting currency: converted, range-aware, and adding up exactly.
//!
//! The grand total of each measure and scenario is the sum, over every (currency, rate)
//! bucket, of that bucket's exact sum converted and rounded once. Each group gets its share
//! of every bucket by [`allocate`], so the groups of any grouping add up to the grand total
//! exactly, and the grand total does not depend on the grouping.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use rust_decimal::Decimal;

use super::{
    codes::CurrencyCode,
    counting::Measure,
    fx::{Conversion, EuroRate, NoRate, RateKey, RateTable, allocate},
    totals::Dimension,
};

/// A group's key: one value per grouping dimension (`None`: the value is unknown).
pub type GroupKey = Vec<Option<KeyValue>>;

/// What one grouping dimension holds for the rows of a group, typed as stored: ids and
/// years as the numbers they are (so groups sort 9 before 10), the rest as text.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum KeyValue {
    /// A stored row's id (EVENT, PLEDGER).
    Id(i64),
    /// A year (YEAR).
    Year(i32),
    /// A stored text value: a country, a sector, a kind, a status, a currency, a month.
    Text(String),
}

impl KeyValue {
    /// The value of `dimension` written as text (how SQLite groups ids and years), typed;
    /// `None` when a number does not parse (no stored row has such a value).
    pub fn parse(dimension: Dimension, text: &str) -> Option<Self> {
        match dimension {
            Dimension::Event | Dimension::Pledger => text.parse().ok().map(Self::Id),
            Dimension::Year => text.parse().ok().map(Self::Year),
            _ => Some(Self::Text(text.to_owned())),
        }
    }

    /// The id, for EVENT and PLEDGER.
    pub fn id(&self) -> Option<i64> {
        match self {
            Self::Id(id) => Some(*id),
            _ => None,
        }
    }
}

impl std::fmt::Display for KeyValue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Id(id) => write!(f, "{id}"),
            Self::Year(year) => write!(f, "{year}"),
            Self::Text(text) => f.write_str(text),
        }
    }
}

/// Exact sums of counted rows sharing a group, a measure, a currency and a rate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bucket {
    pub key: GroupKey,
    pub measure: Measure,
    pub currency: CurrencyCode,
    pub rate_key: RateKey,
    /// Low-scenario sum, minor units of `currency` (a sum of any number of stored amounts:
    /// wider than a stored amount).
    pub low: i128,
    /// High-scenario sum, minor units of `currency`.
    pub high: i128,
    /// Commitments counted (primary rows).
    pub count: i64,
}

/// A low/high pair in minor units of some currency.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Pair {
    pub low: i128,
    pub high: i128,
}

impl Pair {
    fn add(&mut self, low: i128, high: i128) {
        self.low += low;
        self.high += high;
    }

    /// The interval the two scenarios span, low end first. A scenario sum is not always an
    /// end: a headline's remainder is largest when its parts are at their low end, so a
    /// group holding the remainder without the parts has its low scenario above its high
    /// one. The scenario sums add up across groups; the interval is what a reader quotes.
    pub fn interval(self) -> Pair {
        Pair { low: self.low.min(self.high), high: self.low.max(self.high) }
    }

    /// The pair as decimals of a currency with `exponent`, written with its minor-unit
    /// digits ("318185467861.62", "109000000000.00").
    pub fn to_decimals(self, exponent: u32) -> (Decimal, Decimal) {
        (Decimal::from_i128_with_scale(self.low, exponent), Decimal::from_i128_with_scale(self.high, exponent))
    }
}

/// The money of one original currency in a group.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CurrencyPart {
    pub currency: CurrencyCode,
    /// Money as announced (own amounts and carve-outs), minor units of `currency`, exact.
    pub original: Pair,
    /// The same, converted: minor units of the reporting currency.
    pub converted: Pair,
    /// Money presented again (negative), minor units of `currency`, exact.
    pub original_represented: Pair,
    /// The same, converted.
    pub converted_represented: Pair,
}

impl CurrencyPart {
    /// Counted money (new money only), exact in `currency`.
    pub fn counted_original(&self) -> Pair {
        Pair {
            low: self.original.low + self.original_represented.low,
            high: self.original.high + self.original_represented.high,
        }
    }

    /// Counted money, converted.
    pub fn counted_converted(&self) -> Pair {
        Pair {
            low: self.converted.low + self.converted_represented.low,
            high: self.converted.high + self.converted_represented.high,
        }
    }
}

/// The measures of a group (or of the grand total), in the reporting currency's minor units.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Totals {
    /// Commitments counted.
    pub count: i64,
    /// Money new at this announcement.
    pub new: Pair,
    /// Money presented again (a negative adjustment).
    pub represented: Pair,
    /// Money confirmed by later announcements (not part of the total).
    pub confirmed: Pair,
    /// Money by original currency, ordered by code.
    pub by_currency: Vec<CurrencyPart>,
}

impl Totals {
    /// The total without double counting: new money only, each overlap counted once.
    pub fn counted(&self) -> Pair {
        Pair { low: self.new.low + self.represented.low, high: self.new.high + self.represented.high }
    }

    /// The total as announced: presented-again money included.
    pub fn as_announced(&self) -> Pair {
        self.new
    }

    fn add_share(&mut self, measure: Measure, low: i128, high: i128) {
        match measure {
            Measure::New => self.new.add(low, high),
            Measure::Represented => self.represented.add(low, high),
            Measure::Confirmed => self.confirmed.add(low, high),
            Measure::Uncounted => {}
        }
    }

    fn add_currency(&mut self, currency: CurrencyCode, measure: Measure, original: Pair, converted: Pair) {
        let index = match self.by_currency.iter().position(|p| p.currency == currency) {
            Some(i) => i,
            None => {
                self.by_currency.push(CurrencyPart {
                    currency,
                    original: Pair::default(),
                    converted: Pair::default(),
                    original_represented: Pair::default(),
                    converted_represented: Pair::default(),
                });
                self.by_currency.len() - 1
            }
        };
        let part = &mut self.by_currency[index];
        let (o, c) = match measure {
            Measure::Represented => (&mut part.original_represented, &mut part.converted_represented),
            _ => (&mut part.original, &mut part.converted),
        };
        o.add(original.low, original.high);
        c.add(converted.low, converted.high);
    }
}

/// A group of the report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Group {
    pub key: GroupKey,
    pub totals: Totals,
}

/// Buckets that could not be converted, with why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unconverted {
    pub currency: CurrencyCode,
    pub rate_key: RateKey,
    pub reason: NoRate,
    /// Commitments left out (primary rows) and their counted money in `currency`.
    pub count: i64,
    pub original: Pair,
}

/// A totals report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    pub currency: CurrencyCode,
    /// Groups in key order.
    pub groups: Vec<Group>,
    pub grand: Totals,
    /// Every published rate applied, ordered by currency and date.
    pub rates: Vec<EuroRate>,
    pub unconverted: Vec<Unconverted>,
}

/// Converts and adds up `buckets` into a report in `to`.
pub fn build(buckets: &[Bucket], to: CurrencyCode, rates: &RateTable) -> Report {
    // Classes of buckets that share one conversion: (currency, rate, measure).
    let mut classes: BTreeMap<(&'static str, RateKey, Measure), Vec<&Bucket>> = BTreeMap::new();
    for b in buckets {
        classes.entry((b.currency.as_str(), b.rate_key, b.measure)).or_default().push(b);
    }
    let mut conversions: HashMap<(&'static str, RateKey), Result<Conversion, NoRate>> = HashMap::new();
    // Keyed by the buckets' own keys (no copy per bucket); sorted once at the end.
    let mut groups: HashMap<&GroupKey, Totals> = HashMap::new();
    let mut grand = Totals::default();
    let mut used: BTreeSet<EuroRate> = BTreeSet::new();
    let mut unconverted: BTreeMap<(&'static str, RateKey), Unconverted> = BTreeMap::new();
    for ((code, key, measure), members) in classes {
        let currency = members[0].currency;
        // Rows that count for nothing (details inside another pledge) need no rate: they
        // are counted whatever their currency.
        if measure == Measure::Uncounted {
            for b in members {
                grand.count += b.count;
                groups.entry(&b.key).or_default().count += b.count;
            }
            continue;
        }
        let conversion =
            conversions.entry((code, key)).or_insert_with(|| rates.conversion(code, to.as_str(), key)).clone();
        let conversion = match conversion {
            Ok(c) => c,
            Err(reason) => {
                let entry = unconverted.entry((code, key)).or_insert_with(|| Unconverted {
                    currency,
                    rate_key: key,
                    reason,
                    count: 0,
                    original: Pair::default(),
                });
                for b in members {
                    entry.count += b.count;
                    if matches!(measure, Measure::New | Measure::Represented) {
                        entry.original.add(b.low, b.high);
                    }
                }
                continue;
            }
        };
        used.extend(conversion.legs().cloned());
        let lows: Vec<i128> = members.iter().map(|b| b.low).collect();
        let highs: Vec<i128> = members.iter().map(|b| b.high).collect();
        let (total_low, share_low) = allocate(&lows, currency.exponent(), to.exponent(), &conversion);
        let (total_high, share_high) = allocate(&highs, currency.exponent(), to.exponent(), &conversion);
        grand.add_share(measure, total_low, total_high);
        let counted_money = matches!(measure, Measure::New | Measure::Represented);
        if counted_money {
            grand.add_currency(
                currency,
                measure,
                Pair { low: lows.iter().sum(), high: highs.iter().sum() },
                Pair { low: total_low, high: total_high },
            );
        }
        for (i, b) in members.iter().enumerate() {
            grand.count += b.count;
            let totals = groups.entry(&b.key).or_default();
            totals.count += b.count;
            totals.add_share(measure, share_low[i], share_high[i]);
            if counted_money {
                totals.add_currency(
                    currency,
                    measure,
                    Pair { low: b.low, high: b.high },
                    Pair { low: share_low[i], high: share_high[i] },
                );
            }
        }
    }
    let sort = |t: &mut Totals| t.by_currency.sort_by_key(|p| p.currency.as_str());
    sort(&mut grand);
    let mut groups: Vec<Group> = groups
        .into_iter()
        .map(|(key, mut totals)| {
            sort(&mut totals);
            Group { key: key.clone(), totals }
        })
        .collect();
    groups.sort_unstable_by(|a, b| a.key.cmp(&b.key));
    Report {
        currency: to,
        groups,
        grand,
        rates: used.into_iter().collect(),
        unconverted: unconverted.into_values().collect(),
    }
}

/// Which money a total reports: new money (each overlap counted once, at its first
/// announcement) or every commitment as announced.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum Basis {
    #[default]
    NewMoney,
    AsAnnounced,
}

impl Totals {
    /// The scenario sums of a basis (they add up across groups; see [`Pair::interval`]).
    pub fn of_basis(&self, basis: Basis) -> Pair {
        match basis {
            Basis::NewMoney => self.counted(),
            Basis::AsAnnounced => self.as_announced(),
        }
    }
}

pub mod ledger;
#[cfg(test)]
mod tests;
