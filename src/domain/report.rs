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
};

/// A group's key: one value per grouping dimension (`None`: the value is unknown).
pub type GroupKey = Vec<Option<String>>;

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

    /// The pair as decimals of a currency with `exponent`.
    pub fn to_decimals(self, exponent: u32) -> (Decimal, Decimal) {
        (
            Decimal::from_i128_with_scale(self.low, exponent).normalize(),
            Decimal::from_i128_with_scale(self.high, exponent).normalize(),
        )
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
    let mut groups: BTreeMap<GroupKey, Totals> = BTreeMap::new();
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
                groups.entry(b.key.clone()).or_default().count += b.count;
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
            let totals = groups.entry(b.key.clone()).or_default();
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
    let groups = groups
        .into_iter()
        .map(|(key, mut totals)| {
            sort(&mut totals);
            Group { key, totals }
        })
        .collect();
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

/// Which figure orders or filters groups: the low or high end of the interval shown, or
/// the count.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RankBy {
    Low,
    High,
    Count,
}

/// Keeps the groups whose figure (on `basis`; minor units of the reporting currency for
/// money) is at least `min` and at most `max`.
pub fn having(groups: &mut Vec<Group>, rank: RankBy, basis: Basis, min: Option<i128>, max: Option<i128>) {
    groups.retain(|g| {
        let v = value(g, rank, basis);
        min.is_none_or(|m| v >= m) && max.is_none_or(|m| v <= m)
    });
}

/// Orders groups by a figure on `basis` (ties keep key order).
pub fn order_by(groups: &mut [Group], rank: RankBy, basis: Basis, descending: bool) {
    groups.sort_by(|a, b| {
        let (x, y) = (value(a, rank, basis), value(b, rank, basis));
        if descending { y.cmp(&x) } else { x.cmp(&y) }
    });
}

/// The figure a reader sees: the ends of the group's interval on `basis`.
fn value(g: &Group, rank: RankBy, basis: Basis) -> i128 {
    let shown = g.totals.of_basis(basis).interval();
    match rank {
        RankBy::Low => shown.low,
        RankBy::High => shown.high,
        RankBy::Count => i128::from(g.totals.count),
    }
}

#[cfg(test)]
mod tests {
    use std::str::FromStr;

    use chrono::NaiveDate;
    use proptest::prelude::*;

    use super::*;

    fn cur(code: &str) -> CurrencyCode {
        CurrencyCode::parse("currency", code).unwrap()
    }

    fn day(n: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2025, 2, n).unwrap()
    }

    fn rates() -> RateTable {
        let mut t = RateTable::default();
        for (n, usd, jpy) in [(3, "1.0316", "158.98"), (7, "1.0323", "156.46"), (10, "1.0303", "157.50")] {
            t.insert("USD", day(n), Decimal::from_str(usd).unwrap());
            t.insert("JPY", day(n), Decimal::from_str(jpy).unwrap());
        }
        t
    }

    /// A fine-grained row: (dimension values, measure, currency, day, low, high, primary).
    type Row = ([u8; 2], Measure, &'static str, u32, i64, i64, i64);

    /// Fine-grained rows summed per (key, measure, currency, day): (low, high, count).
    type Sums<'a> = BTreeMap<(GroupKey, Measure, &'a str, u32), (i64, i64, i64)>;

    /// Buckets as storage makes them for a report in `to`: the report's own currency needs
    /// no rate, every other one its day's.
    fn bucketize(rows: &[Row], dims: &[usize], to: &str) -> Vec<Bucket> {
        let mut sums: Sums = BTreeMap::new();
        for (values, measure, currency, d, low, high, count) in rows {
            let key: GroupKey = dims.iter().map(|&i| Some(values[i].to_string())).collect();
            let e = sums.entry((key, *measure, *currency, *d)).or_default();
            e.0 += low;
            e.1 += high;
            e.2 += count;
        }
        sums.into_iter()
            .map(|((key, measure, currency, d), (low, high, count))| Bucket {
                key,
                measure,
                currency: cur(currency),
                rate_key: if currency == to { RateKey::Identity } else { RateKey::Day(day(d)) },
                low: i128::from(low),
                high: i128::from(high),
                count,
            })
            .collect()
    }

    /// The rates of [`rates`] as (integer, decimal places): units of the currency per euro.
    fn rate_of(currency: &str, d: u32) -> (i128, u32) {
        match (currency, d) {
            ("EUR", _) => (1, 0),
            ("USD", 3) => (10_316, 4),
            ("USD", 7) => (10_323, 4),
            ("USD", 10) => (10_303, 4),
            ("JPY", 3) => (15_898, 2),
            ("JPY", 7) => (15_646, 2),
            ("JPY", 10) => (15_750, 2),
            _ => unreachable!("no such rate in the test table"),
        }
    }

    fn exponent(currency: &str) -> u32 {
        if currency == "JPY" { 0 } else { 2 }
    }

    /// `amount` minor units of `from` (on day `d`) in minor units of `to`, rounded half to
    /// even, with integers only: an independent check of the conversion (through the euro,
    /// `amount / rate_from × rate_to`).
    fn convert_exact(amount: i128, from: &str, to: &str, d: u32) -> i128 {
        if from == to {
            return amount;
        }
        let ((rf, kf), (rt, kt)) = (rate_of(from, d), rate_of(to, d));
        let num = amount * rt * 10_i128.pow(exponent(to)) * 10_i128.pow(kf);
        let den = rf * 10_i128.pow(kt) * 10_i128.pow(exponent(from));
        let (q, r) = (num.div_euclid(den), num.rem_euclid(den));
        match (2 * r).cmp(&den) {
            std::cmp::Ordering::Less => q,
            std::cmp::Ordering::Greater => q + 1,
            std::cmp::Ordering::Equal => q + q.rem_euclid(2),
        }
    }

    fn sum_groups(report: &Report) -> Totals {
        let mut t = Totals::default();
        for g in &report.groups {
            t.count += g.totals.count;
            t.new.add(g.totals.new.low, g.totals.new.high);
            t.represented.add(g.totals.represented.low, g.totals.represented.high);
            t.confirmed.add(g.totals.confirmed.low, g.totals.confirmed.high);
        }
        t
    }

    #[test]
    fn a_headline_and_its_carve_out_cancel_in_any_currency() {
        // 109bn EUR headline, a 5bn USD part and its carve-out under the headline.
        let rows: Vec<Row> = vec![
            ([0, 0], Measure::New, "EUR", 9, 10_900_000_000_000, 10_900_000_000_000, 1),
            ([0, 0], Measure::New, "USD", 10, -500_000_000_000, -500_000_000_000, 0),
            ([0, 1], Measure::New, "USD", 10, 500_000_000_000, 500_000_000_000, 1),
        ];
        let by_event = build(&bucketize(&rows, &[0], "EUR"), cur("EUR"), &rates());
        assert_eq!(by_event.groups[0].totals.counted(), Pair { low: 10_900_000_000_000, high: 10_900_000_000_000 });
        let by_pledger = build(&bucketize(&rows, &[1], "EUR"), cur("EUR"), &rates());
        // 5bn USD / 1.0303 = 4,852,955,449.87 EUR; the remainder is 109bn minus that.
        assert_eq!(by_pledger.groups[1].totals.new.low, 485_295_544_987);
        assert_eq!(by_pledger.groups[0].totals.new.low, 10_900_000_000_000 - 485_295_544_987);
        assert_eq!(by_pledger.rates.len(), 1);
        assert_eq!(by_pledger.grand.by_currency.len(), 2);
    }

    #[test]
    fn a_bucket_without_a_rate_is_reported_not_dropped() {
        let rows: Vec<Row> = vec![([0, 0], Measure::New, "USD", 20, 100, 200, 1)];
        let report = build(&bucketize(&rows, &[0], "EUR"), cur("EUR"), &rates());
        assert!(report.groups.is_empty());
        assert_eq!(report.unconverted.len(), 1);
        assert_eq!(report.unconverted[0].original, Pair { low: 100, high: 200 });
    }

    fn row() -> impl Strategy<Value = Row> {
        (
            [0_u8..4, 0_u8..5],
            prop_oneof![Just(Measure::New), Just(Measure::Represented), Just(Measure::Confirmed)],
            prop_oneof![Just("EUR"), Just("USD"), Just("JPY")],
            prop_oneof![Just(3_u32), Just(7), Just(10)],
            -1_000_000_000_000_i64..1_000_000_000_000,
            0_i64..1_000_000_000_000,
            0_i64..2,
        )
            .prop_map(|(v, m, c, d, low, extra, n)| (v, m, c, d, low, low + extra, n))
    }

    proptest! {
        #[test]
        fn groups_of_any_grouping_add_up_to_the_same_grand_total(
            rows in proptest::collection::vec(row(), 0..60),
            to in prop_oneof![Just("EUR"), Just("USD"), Just("JPY")],
        ) {
            let code = to;
            let to = cur(to);
            let whole = build(&bucketize(&rows, &[], code), to, &rates());
            // The grand total against an independent conversion: each (currency, day) sum
            // of new money converted with integers and rounded once.
            let mut sums: BTreeMap<(&str, u32), (i128, i128)> = BTreeMap::new();
            for r in rows.iter().filter(|r| r.1 == Measure::New) {
                let e = sums.entry((r.2, r.3)).or_default();
                e.0 += i128::from(r.4);
                e.1 += i128::from(r.5);
            }
            let expected = sums.iter().fold((0_i128, 0_i128), |(l, h), ((from, d), (low, high))| {
                (l + convert_exact(*low, from, code, *d), h + convert_exact(*high, from, code, *d))
            });
            prop_assert_eq!((whole.grand.new.low, whole.grand.new.high), expected);
            for dims in [vec![0], vec![1], vec![0, 1], vec![1, 0]] {
                let report = build(&bucketize(&rows, &dims, code), to, &rates());
                let summed = sum_groups(&report);
                prop_assert_eq!(summed.count, report.grand.count);
                prop_assert_eq!(summed.new, report.grand.new);
                prop_assert_eq!(summed.represented, report.grand.represented);
                prop_assert_eq!(summed.confirmed, report.grand.confirmed);
                prop_assert_eq!(&report.grand, &whole.grand);
            }
        }

        #[test]
        fn counted_rows_of_any_hierarchy_add_up_under_any_grouping(
            nodes in crate::domain::counting::tests::forest(),
            picks in proptest::collection::vec(0_usize..3, 40),
            to in prop_oneof![Just("EUR"), Just("USD")],
        ) {
            use chrono::Datelike;

            use crate::domain::counting::{counted_rows, tests::{fitting_facts, root_of}};
            let codes = ["EUR", "USD", "JPY"];
            let days = [3_u32, 7, 10];
            let mut facts = fitting_facts(&nodes);
            for (f, pick) in facts.iter_mut().zip(&picks) {
                f.currency = cur(codes[*pick]);
                f.date = Some(day(days[f.id as usize % 3]));
            }
            let table = rates();
            let counted = counted_rows(&facts, &[], &table);
            let rows: Vec<Row> = counted
                .iter()
                .map(|r| {
                    let dims = [(root_of(&facts, r.owner) % 4) as u8, (r.owner % 3) as u8];
                    let d = r.date.map_or(3, |d| d.day());
                    (dims, r.rule.measure(), r.currency.as_str(), d, r.low, r.high, i64::from(r.primary))
                })
                .collect();
            let whole = build(&bucketize(&rows, &[], to), cur(to), &table);
            prop_assert_eq!(whole.grand.count, facts.len() as i64);
            for dims in [vec![0], vec![1], vec![0, 1]] {
                let report = build(&bucketize(&rows, &dims, to), cur(to), &table);
                let summed = sum_groups(&report);
                prop_assert_eq!(summed.new, report.grand.new);
                prop_assert_eq!(summed.count, report.grand.count);
                prop_assert_eq!(&report.grand, &whole.grand);
            }
            // In one currency, the hierarchy counts each family's headline exactly once.
            let mut eur_facts = fitting_facts(&nodes);
            for f in &mut eur_facts {
                f.date = Some(day(3));
            }
            let counted = counted_rows(&eur_facts, &[], &table);
            let rows: Vec<Row> = counted
                .iter()
                .map(|r| ([0, 0], r.rule.measure(), "EUR", 3, r.low, r.high, i64::from(r.primary)))
                .collect();
            let report = build(&bucketize(&rows, &[], "EUR"), cur("EUR"), &table);
            let roots_high: i128 = eur_facts.iter().filter(|f| f.parent.is_none()).map(|f| i128::from(f.high.unwrap_or(0))).sum();
            prop_assert_eq!(report.grand.new.high, roots_high);
        }

        #[test]
        fn in_one_currency_totals_are_the_exact_integer_sums(rows in proptest::collection::vec(row(), 0..60)) {
            let eur: Vec<Row> = rows.into_iter().map(|r| (r.0, r.1, "EUR", r.3, r.4, r.5, r.6)).collect();
            let report = build(&bucketize(&eur, &[0], "EUR"), cur("EUR"), &rates());
            let new_low: i128 = eur.iter().filter(|r| r.1 == Measure::New).map(|r| i128::from(r.4)).sum();
            prop_assert_eq!(report.grand.new.low, new_low);
            prop_assert!(report.rates.is_empty());
        }
    }
}
