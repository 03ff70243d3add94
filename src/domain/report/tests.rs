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
        let key: GroupKey = dims.iter().map(|&i| Some(KeyValue::Text(values[i].to_string()))).collect();
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
fn group_keys_are_typed_so_ids_and_years_sort_as_numbers() {
    // SQLite hands ids and years over as text; read back typed, event 9 sorts before 10.
    let nine = KeyValue::parse(Dimension::Event, "9").unwrap();
    let ten = KeyValue::parse(Dimension::Event, "10").unwrap();
    assert_eq!((nine.clone(), ten.clone()), (KeyValue::Id(9), KeyValue::Id(10)));
    assert!(nine < ten);
    assert_eq!(KeyValue::parse(Dimension::Year, "2025"), Some(KeyValue::Year(2025)));
    assert_eq!(KeyValue::parse(Dimension::Pledger, "not-an-id"), None);
    assert_eq!(KeyValue::parse(Dimension::PledgerCountry, "FR"), Some(KeyValue::Text("FR".into())));
    assert_eq!((ten.to_string(), ten.id()), ("10".to_owned(), Some(10)));
    assert_eq!(KeyValue::Text("FR".into()).id(), None);
    // A report's groups come in key order.
    let rows: Vec<Row> =
        vec![([10, 0], Measure::New, "EUR", 9, 100, 100, 1), ([9, 0], Measure::New, "EUR", 9, 200, 200, 1)];
    let mut buckets = bucketize(&rows, &[0], "EUR");
    for b in &mut buckets {
        b.key =
            b.key.iter().map(|v| v.as_ref().and_then(|v| KeyValue::parse(Dimension::Event, &v.to_string()))).collect();
    }
    let report = build(&buckets, cur("EUR"), &rates());
    let keys: Vec<_> = report.groups.iter().map(|g| g.key.clone()).collect();
    assert_eq!(keys, vec![vec![Some(KeyValue::Id(9))], vec![Some(KeyValue::Id(10))]]);
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
