//! Property tests of the totals over the real database, on both backends: random families
//! of commitments (several currencies and days, a day without a rate, ranges, "up to" and
//! unquantified figures, parts below, equal to and above their headline, details and
//! confirmations, overlaps, withdrawals with effective dates, retractions) are imported,
//! then every rule a reader relies on is checked through the API:
//!
//! - the groups of every grouping add up to the grand total, in both bases;
//! - every commitment the filter matches is counted or excluded, exactly once;
//! - `having` and `orderBy` never change the grand total;
//! - as announced = new money + represented, and overlaps move only new money;
//! - the database's total equals the domain's own computation over the same rows;
//! - an incremental rebuild after random edits equals a full rebuild;
//! - no group below zero and `low ≤ high` in every grouping and basis;
//! - a cached total brought up to date from the change log after each write equals the
//!   same total computed afresh;
//! - the write-time sums after random writes equal the sums of a full rebuild, and a total
//!   added up from them equals the same total added up from the counted rows;
//! - parts dropped by `asOf` leave each package counted once, in full where its parts had
//!   exceeded it.
//!
//! The cases come from proptest strategies with a deterministic runner, so a failure names
//! its case and reproduces.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use pledgewatch::domain::{
    codes::CurrencyCode,
    counting::{Facts, OverlapFacts, Rule, counted_rows},
    fx::{RateKey, RateTable},
    kinds::CommitmentRelation,
    records::{
        CommitmentRecord, DataSet, EventRecord, FORMAT, OverlapRecord, RateRecord, RetractionRecord, StatusRecord,
    },
    report::{Bucket, build},
};
use proptest::{
    prelude::*,
    strategy::{Strategy, ValueTree},
    test_runner::TestRunner,
};
use rust_decimal::Decimal;
use serde_json::{Value, json};

use crate::helpers::{Backend, TestApp, test_commitment, test_source};

crate::harness::tests! {
    both: [
        random_data_sets_keep_every_totals_rule,
        an_incremental_rebuild_after_random_edits_equals_a_full_rebuild,
        no_group_is_negative_and_low_never_exceeds_high,
        every_matched_commitment_is_counted_or_excluded_exactly_once,
        dropping_parts_by_as_of_still_counts_each_package_once,
        a_cached_total_brought_up_to_date_after_each_write_equals_a_fresh_one,
        totals_from_the_write_time_sums_equal_totals_from_the_counted_rows,
    ]
}

/// Days with rates for every currency of the cases, and one without any.
const DAYS: [&str; 4] = ["2025-02-03", "2025-02-07", "2025-02-10", "2023-06-15"];
const CURRENCIES: [&str; 3] = ["EUR", "USD", "GBP"];
const PLEDGERS: [&str; 3] = ["france", "mgx", "apollo"];

/// Synthetic GBP rates for the rate days (USD comes with the reference data).
fn gbp_rates() -> Vec<RateRecord> {
    ["0.8338", "0.8370", "0.8327"]
        .iter()
        .zip(&DAYS[..3])
        .map(|(rate, day)| RateRecord {
            date: (*day).to_owned(),
            base: "EUR".into(),
            quote: "GBP".into(),
            rate: (*rate).to_owned(),
            sources: vec!["test-source".into()],
        })
        .collect()
}

/// One generated commitment.
#[derive(Debug, Clone)]
struct Node {
    /// Parent index (an earlier node) and relation code (0–1 part, 2 detail, 3 confirms).
    parent: Option<(usize, u8)>,
    /// 0 point, 1 range, 2 "up to", 3 unquantified.
    shape: u8,
    /// In whole units of the currency.
    amount: i64,
    /// Extra units of a range's high end.
    spread: i64,
    currency: usize,
    day: usize,
    pledger: usize,
    sector: u8,
    /// 0 announced, 1 withdrawn (effective on its day), 2 retracted.
    fate: u8,
}

#[derive(Debug, Clone)]
struct Case {
    nodes: Vec<Node>,
    /// (later, earlier, units): the later presents again some of the earlier's money (an
    /// earlier announcement not recorded here when `None`).
    overlaps: Vec<(usize, Option<usize>, i64)>,
}

fn cases() -> impl Strategy<Value = Case> {
    let node = (
        proptest::option::of((any::<usize>(), 0_u8..4)),
        0_u8..4,
        1_i64..2_000,
        0_i64..500,
        0_usize..3,
        0_usize..4,
        0_usize..3,
        0_u8..3,
        prop_oneof![8 => Just(0_u8), 1 => Just(1), 1 => Just(2)],
    )
        .prop_map(|(parent, shape, amount, spread, currency, day, pledger, sector, fate)| Node {
            parent,
            shape,
            amount,
            spread,
            currency,
            day,
            pledger,
            sector,
            fate,
        });
    (
        proptest::collection::vec(node, 1..12),
        proptest::collection::vec((any::<usize>(), any::<usize>(), 1_i64..800), 0..3),
    )
        .prop_map(|(mut nodes, overlaps)| {
            for (i, n) in nodes.iter_mut().enumerate() {
                n.parent = n.parent.filter(|_| i > 0).map(|(p, r)| (p % i, r));
            }
            let len = nodes.len();
            let mut overlaps: Vec<(usize, Option<usize>, i64)> = overlaps
                .into_iter()
                .filter(|(a, b, _)| a % len != b % len)
                // One overlap in five has no recorded earlier side ("of which X announced
                // before"), drawn from the units so that the cases stay those of before.
                .map(|(a, b, units)| (a % len, (units % 5 != 0).then_some(b % len), units))
                .collect();
            // One overlap per pair of commitments (a second would replace the first).
            let mut seen = std::collections::HashSet::new();
            overlaps.retain(|(a, b, _)| seen.insert((*a, *b)));
            Case { nodes, overlaps }
        })
}

/// `count` cases, the same on every run.
fn generated(count: usize) -> Vec<Case> {
    let mut runner = TestRunner::deterministic();
    let strategy = cases();
    (0..count).map(|_| strategy.new_tree(&mut runner).expect("a case").current()).collect()
}

/// `count` packages whose parts come and go: headlines announced on the first day and
/// never withdrawn; leaves announced on any day, some withdrawn (no retractions), so that
/// withdrawing or dropping by `asOf` any subset of parts can be checked.
fn packages(count: usize) -> Vec<Case> {
    let mut runner = TestRunner::deterministic();
    let strategy = cases();
    (0..count)
        .map(|_| {
            let mut case = strategy.new_tree(&mut runner).expect("a case").current();
            let parents: Vec<bool> =
                (0..case.nodes.len()).map(|i| case.nodes.iter().any(|n| n.parent.map(|(p, _)| p) == Some(i))).collect();
            for (node, has_parts) in case.nodes.iter_mut().zip(parents) {
                if node.parent.is_none() || has_parts {
                    node.day = 0;
                    node.fate = 0;
                } else if node.fate == 2 {
                    node.fate = 1;
                }
                if node.parent.is_none() && node.shape == 3 {
                    node.shape = 0;
                }
            }
            case
        })
        .collect()
}

/// Whole units as the minor units of a two-decimal currency.
fn minor(units: i64) -> i64 {
    units * 100
}

fn decimal(units: i64) -> String {
    units.to_string()
}

fn relation(code: u8) -> &'static str {
    match code {
        0 | 1 => "PART_OF",
        2 => "DETAIL_OF",
        _ => "CONFIRMS",
    }
}

impl Node {
    fn low_high(&self) -> (Option<i64>, Option<i64>) {
        match self.shape {
            0 => (Some(self.amount), Some(self.amount)),
            1 => (Some(self.amount), Some(self.amount + self.spread)),
            2 => (None, Some(self.amount)),
            _ => (None, None),
        }
    }
}

/// The case as records: its own event, its commitments and overlaps.
fn records(case: &Case, prefix: &str, with_overlaps: bool) -> DataSet {
    let slug = |i: usize| format!("{prefix}-{i}");
    let commitments = case
        .nodes
        .iter()
        .enumerate()
        .map(|(i, n)| {
            let (low, high) = n.low_high();
            let mut c = test_commitment(&slug(i), "1", "1", CURRENCIES[n.currency]);
            c.amount_low = low.map(decimal);
            c.amount_high = high.map(decimal);
            c.event = Some(prefix.to_owned());
            c.pledger = PLEDGERS[n.pledger].to_owned();
            c.sector = Some(format!("sector-{}", n.sector));
            c.announced_on = Some(DAYS[n.day].to_owned());
            if let Some((p, r)) = n.parent {
                c.parent = Some(slug(p));
                c.relation = Some(relation(r).to_owned());
            }
            match n.fate {
                1 => {
                    c.status = "WITHDRAWN".into();
                    c.status_history.push(StatusRecord {
                        status: "WITHDRAWN".into(),
                        effective_on: Some(DAYS[n.day].to_owned()),
                        note: None,
                        sources: vec!["test-source".into()],
                    });
                }
                2 => {
                    c.retraction = Some(RetractionRecord {
                        reason: "Misread".into(),
                        retracted_on: Some("2025-03-01".into()),
                        sources: vec!["test-source".into()],
                    })
                }
                _ => {}
            }
            c
        })
        .collect::<Vec<CommitmentRecord>>();
    let overlaps = if with_overlaps {
        case.overlaps
            .iter()
            .map(|(later, earlier, units)| OverlapRecord {
                later: slug(*later),
                earlier: earlier.map(slug),
                amount_low: Some(decimal(*units)),
                amount_high: Some(decimal(*units)),
                currency: CURRENCIES[case.nodes[*later].currency].to_owned(),
                note: None,
                sources: vec!["test-source".into()],
            })
            .collect()
    } else {
        Vec::new()
    };
    DataSet {
        format: FORMAT.to_owned(),
        sources: vec![test_source()],
        events: vec![EventRecord {
            slug: prefix.to_owned(),
            name: format!("Property case {prefix}"),
            kind: "OTHER".into(),
            city: None,
            country: None,
            start_date: Some("2025-02-03".into()),
            end_date: Some("2025-02-10".into()),
            series: None,
            name_fr: None,
            sources: vec!["test-source".into()],
        }],
        commitments,
        overlaps,
        ..Default::default()
    }
}

/// The app with the reference data, the test source and the GBP rates.
async fn app_for(backend: Backend) -> Option<TestApp> {
    let app = TestApp::spawn(backend).await?;
    let data = DataSet {
        format: FORMAT.to_owned(),
        sources: vec![test_source()],
        exchange_rates: gbp_rates(),
        ..Default::default()
    };
    app.db.import(&data).await.expect("rates import");
    Some(app)
}

/// A decimal string of the API in minor units of a two-decimal currency.
fn cents(value: &Value) -> i128 {
    use rust_decimal::prelude::ToPrimitive;
    let d: Decimal = value.as_str().unwrap_or_else(|| panic!("a decimal, not {value}")).parse().expect("a decimal");
    let scaled = d * Decimal::from(100);
    assert!(scaled.fract().is_zero(), "{value} has more than two decimals");
    scaled.to_i128().expect("cents fit")
}

/// The scenario sums of a total (they add up; `low`/`high` are their interval).
fn pair(range: &Value) -> (i128, i128) {
    (cents(&range["lowScenario"]), cents(&range["highScenario"]))
}

async fn report(app: &TestApp, prefix: &str, extra: Value) -> Value {
    let mut variables = json!({ "filter": { "events": [prefix] } });
    if let (Some(v), Some(e)) = (variables.as_object_mut(), extra.as_object()) {
        v.extend(e.clone());
    }
    let (status, body) = app.operation("Totals", variables.clone()).await;
    assert_eq!(status, 200, "{variables}: {body}");
    assert!(body.get("errors").is_none(), "{variables}: {body}");
    body["data"]["totals"].clone()
}

const GROUPINGS: [&[&str]; 6] =
    [&[], &["PLEDGER"], &["CURRENCY"], &["SECTOR"], &["PLEDGER", "CURRENCY"], &["STATUS", "SECTOR"]];

/// Whether node `i` has no children (so dropping it leaves every other family whole).
fn is_leaf(case: &Case, i: usize) -> bool {
    case.nodes.iter().all(|n| n.parent.map(|(p, _)| p) != Some(i))
}

/// (measure, currency, rate date) of a bucket.
type BucketKey = (String, String, Option<NaiveDate>);

/// The domain's computation over the case's rows: the grand total of new money in EUR
/// (cents) and the count, for cases whose commitments are all announced.
fn domain_total(case: &Case, rates: &RateTable, keep: impl Fn(usize, &Node) -> bool) -> ((i128, i128), i64) {
    let eur = CurrencyCode::parse("currency", "EUR").unwrap();
    let facts: Vec<Facts> = case
        .nodes
        .iter()
        .enumerate()
        .filter(|(i, n)| keep(*i, n))
        .map(|(i, n)| {
            let (low, high) = n.low_high();
            Facts {
                id: i as i64,
                parent: n.parent.map(|(p, _)| p as i64),
                relation: n.parent.map(|(_, r)| match relation(r) {
                    "PART_OF" => CommitmentRelation::PartOf,
                    "DETAIL_OF" => CommitmentRelation::DetailOf,
                    _ => CommitmentRelation::Confirms,
                }),
                low: low.map(minor),
                high: high.map(minor),
                currency: CurrencyCode::parse("currency", CURRENCIES[n.currency]).unwrap(),
                date: Some(NaiveDate::parse_from_str(DAYS[n.day], "%Y-%m-%d").unwrap()),
                disputed: false,
            }
        })
        .collect();
    let kept = |i: usize| facts.iter().any(|f| f.id == i as i64);
    let overlaps: Vec<OverlapFacts> = case
        .overlaps
        .iter()
        .filter(|(later, earlier, _)| kept(*later) && earlier.is_none_or(kept))
        .map(|(later, earlier, units)| OverlapFacts {
            later: *later as i64,
            earlier: earlier.map(|e| e as i64),
            low: Some(minor(*units)),
            high: minor(*units),
            currency: CurrencyCode::parse("currency", CURRENCIES[case.nodes[*later].currency]).unwrap(),
        })
        .collect();
    let rows = counted_rows(&facts, &overlaps, rates);
    let mut sums: BTreeMap<BucketKey, (i128, i128, i64)> = BTreeMap::new();
    // An unquantified commitment is excluded, not counted.
    for r in rows.iter().filter(|r| r.rule != Rule::Unquantified) {
        let e = sums.entry((format!("{:?}", r.rule.measure()), r.currency.as_str().to_owned(), r.date)).or_default();
        e.0 += i128::from(r.low);
        e.1 += i128::from(r.high);
        e.2 += i64::from(r.primary);
    }
    let measure_of = |name: &str| rows.iter().map(|r| r.rule.measure()).find(|m| format!("{m:?}") == name).unwrap();
    let buckets: Vec<Bucket> = sums
        .into_iter()
        .map(|((measure, currency, date), (low, high, count))| Bucket {
            key: vec![],
            measure: measure_of(&measure),
            currency: CurrencyCode::parse("currency", &currency).unwrap(),
            rate_key: if currency == "EUR" { RateKey::Identity } else { date.map_or(RateKey::Undated, RateKey::Day) },
            low,
            high,
            count,
        })
        .collect();
    let report = build(&buckets, eur, rates);
    // New money as the API shows it: what is new, less what was presented again.
    let counted = report.grand.counted();
    ((counted.low, counted.high), report.grand.count)
}

/// The rates the totals use: the reference data's USD and the cases' GBP.
fn rate_table() -> RateTable {
    let mut table = RateTable::default();
    let reference = pledgewatch::reference::reference_data().expect("reference data");
    for r in reference.exchange_rates.iter().chain(gbp_rates().iter()) {
        table.insert(&r.quote, NaiveDate::parse_from_str(&r.date, "%Y-%m-%d").unwrap(), r.rate.parse().unwrap());
    }
    table
}

async fn random_data_sets_keep_every_totals_rule(backend: Backend) {
    let Some(app) = app_for(backend).await else { return };
    let rates = rate_table();
    let (mut against_domain, mut with_fates) = (0, 0);
    for (n, case) in generated(24).into_iter().chain(packages(12)).enumerate() {
        let case = &case;
        let prefix = format!("case-{n}");
        let bare = format!("bare-{n}");
        app.db.import(&records(case, &prefix, true)).await.unwrap_or_else(|e| panic!("case {n}: {e}\n{case:?}"));
        app.db.import(&records(case, &bare, false)).await.expect("the same case without overlaps");
        let whole = report(&app, &prefix, json!({})).await;
        let grand = &whole["grandTotal"];

        // No commitment is excluded twice.
        let excluded: Vec<&str> =
            whole["excluded"].as_array().unwrap().iter().map(|e| e["commitment"]["slug"].as_str().unwrap()).collect();
        let mut distinct = excluded.clone();
        distinct.sort_unstable();
        distinct.dedup();
        assert_eq!(distinct.len(), excluded.len(), "case {n}: a commitment excluded twice: {excluded:?}");

        // Every grouping, in both bases, adds up to the grand total.
        for basis in ["NEW_MONEY", "AS_ANNOUNCED"] {
            let reference = report(&app, &prefix, json!({ "basis": basis })).await["grandTotal"].clone();
            for dims in GROUPINGS {
                let grouped = report(&app, &prefix, json!({ "groupBy": dims, "basis": basis })).await;
                let (mut low, mut high, mut count) = (0_i128, 0_i128, 0_i64);
                for g in grouped["groups"].as_array().unwrap() {
                    low += cents(&g["lowScenario"]);
                    high += cents(&g["highScenario"]);
                    count += g["count"].as_i64().unwrap();
                }
                assert_eq!(
                    (low, high, count),
                    (pair(&reference).0, pair(&reference).1, reference["count"].as_i64().unwrap()),
                    "case {n}, {basis}, {dims:?}: the groups do not add up\n{case:?}"
                );
                assert_eq!(grouped["grandTotal"], reference, "case {n}, {basis}, {dims:?}: the grand total moved");
            }
            // Having and orderBy filter and sort groups, never the grand total.
            for extra in [
                json!({ "groupBy": ["PLEDGER"], "having": { "minLow": "1" }, "orderBy": "LOW_DESC" }),
                json!({ "groupBy": ["SECTOR"], "having": { "minCount": 2 }, "orderBy": "COUNT_DESC" }),
                json!({ "groupBy": ["CURRENCY"], "having": { "maxHigh": "100" }, "orderBy": "HIGH_ASC" }),
            ] {
                let mut extra = extra;
                extra["basis"] = json!(basis);
                let shaped = report(&app, &prefix, extra.clone()).await;
                assert_eq!(shaped["grandTotal"], reference, "case {n}: {extra} changed the grand total");
            }
        }

        // As announced = new money + represented; overlaps move new money only.
        let as_announced = pair(&grand["asAnnounced"]);
        let new_money = pair(&grand["newMoney"]);
        let represented = pair(&grand["represented"]);
        assert_eq!(as_announced, (new_money.0 + represented.0, new_money.1 + represented.1), "case {n}");
        let without = report(&app, &bare, json!({})).await["grandTotal"].clone();
        assert_eq!(pair(&without["asAnnounced"]), as_announced, "case {n}: overlaps changed what was announced");
        assert_eq!(
            pair(&without["newMoney"]),
            pair(&without["asAnnounced"]),
            "case {n}: no overlap, nothing represented"
        );

        // The database agrees with the domain over the same rows. Withdrawn or retracted
        // parts (leaves, so every family stays whole) count as if they were not there: the
        // package is still counted once.
        let dropped_are_leaves = |gone: &dyn Fn(&Node) -> bool| {
            case.nodes.iter().enumerate().all(|(i, node)| !gone(node) || (node.parent.is_some() && is_leaf(case, i)))
        };
        if dropped_are_leaves(&|node| node.fate != 0) {
            against_domain += 1;
            with_fates += usize::from(case.nodes.iter().any(|node| node.fate != 0));
            let (money, count) = domain_total(case, &rates, |_, node| node.fate == 0);
            assert_eq!(
                (new_money, grand["count"].as_i64().unwrap()),
                (money, count),
                "case {n}: database ≠ domain\n{case:?}\n{whole}"
            );
        }
    }
    // The conditional checks ran often enough to mean something.
    eprintln!("{backend:?}: {against_domain} cases against the domain ({with_fates} with withdrawals or retractions)");
    assert!(against_domain >= 20 && with_fates >= 6, "{against_domain} {with_fates}");
}

/// Issue 15 (items 1, 2): every group of every grouping, on either basis, is money a reader
/// can quote: never negative, its low end never above its high end.
async fn no_group_is_negative_and_low_never_exceeds_high(backend: Backend) {
    let Some(app) = app_for(backend).await else { return };
    let mut found = Vec::new();
    for (n, case) in generated(24).iter().enumerate() {
        let prefix = format!("case-{n}");
        app.db.import(&records(case, &prefix, true)).await.expect("case imports");
        for dims in GROUPINGS {
            for basis in ["NEW_MONEY", "AS_ANNOUNCED"] {
                let grouped = report(&app, &prefix, json!({ "groupBy": dims, "basis": basis })).await;
                for g in grouped["groups"].as_array().unwrap() {
                    let (low, high) = (cents(&g["low"]), cents(&g["high"]));
                    if low < 0 || high < 0 || low > high {
                        found.push(format!("case {n} {dims:?} {basis} {}: low {low} high {high}", g["key"]));
                    }
                }
            }
        }
    }
    assert!(found.is_empty(), "{} groups a reader cannot quote:\n{}", found.len(), found.join("\n"));
}

/// Issue 15 (item 3): counted, or excluded with a reason, and never both. (Before: an
/// unquantified commitment was counted, for nothing, and also listed as `UNQUANTIFIED`, and
/// a detail in a currency without a rate that day was neither counted nor listed.)
async fn every_matched_commitment_is_counted_or_excluded_exactly_once(backend: Backend) {
    let Some(app) = app_for(backend).await else { return };
    let mut found = Vec::new();
    for (n, case) in generated(24).iter().enumerate() {
        let prefix = format!("case-{n}");
        app.db.import(&records(case, &prefix, true)).await.expect("case imports");
        let whole = report(&app, &prefix, json!({})).await;
        let counted = whole["grandTotal"]["count"].as_i64().unwrap();
        let excluded = whole["excluded"].as_array().unwrap().len() as i64;
        if counted + excluded != case.nodes.len() as i64 {
            found.push(format!("case {n}: {counted} counted + {excluded} excluded of {} matched", case.nodes.len()));
        }
    }
    assert!(found.is_empty(), "{}", found.join("\n"));
}

/// Pending issue 15: as of 7 Feb 2025, the parts announced on the 10th are not there yet,
/// and each package still counts once (its own figure, or what its remaining parts count).
/// Today a headline whose parts exceed it is clamped to 0 when its rows are written, and an
/// `asOf` that drops those parts leaves it at 0: the package counts nothing.
async fn dropping_parts_by_as_of_still_counts_each_package_once(backend: Backend) {
    let Some(app) = app_for(backend).await else { return };
    let rates = rate_table();
    let later = |node: &Node| node.day == 2;
    let mut found = Vec::new();
    for (n, case) in packages(12).iter().enumerate() {
        let prefix = format!("asof-{n}");
        app.db.import(&records(case, &prefix, true)).await.expect("case imports");
        let then = report(&app, &prefix, json!({ "asOf": "2025-02-07" })).await["grandTotal"].clone();
        let got = (pair(&then["newMoney"]), then["count"].as_i64().unwrap());
        let expected = domain_total(case, &rates, |_, node| !later(node) && node.fate == 0);
        if got != expected {
            found.push(format!("package {n}: {got:?}, expected {expected:?}: {case:?}"));
        }
    }
    assert!(found.is_empty(), "{}", found.join("\n"));
}

/// One random edit of a commitment: 0 a new amount (`units` to `units + 10`), 1 a
/// withdrawal, 2 a return to ANNOUNCED, 3 a retraction, 4 a move to the top level, 5 a new
/// sector (and the top level).
fn apply_edit(c: &mut CommitmentRecord, kind: u8, units: i64) {
    match kind {
        0 => {
            c.amount_low = Some(units.to_string());
            c.amount_high = Some((units + 10).to_string());
        }
        1 => {
            c.status = "WITHDRAWN".into();
            c.status_history.push(StatusRecord {
                status: "WITHDRAWN".into(),
                effective_on: Some("2025-02-11".into()),
                note: None,
                sources: vec!["test-source".into()],
            });
        }
        2 => {
            c.status = "ANNOUNCED".into();
            c.status_history.clear();
        }
        3 => {
            c.retraction = Some(RetractionRecord {
                reason: "Misread".into(),
                retracted_on: Some("2025-03-02".into()),
                sources: vec!["test-source".into()],
            })
        }
        4 => {
            c.parent = None;
            c.relation = None;
        }
        _ => {
            c.sector = Some("1".into());
            c.parent = None;
            c.relation = None;
        }
    }
}

/// The counted rows of a database, without ids, in a stable order.
async fn counted_snapshot(app: &TestApp) -> Vec<String> {
    use sea_orm::{EntityTrait, QueryOrder};
    entity::counted_amount::Entity::find()
        .order_by_asc(entity::counted_amount::Column::CommitmentId)
        .order_by_asc(entity::counted_amount::Column::Rule)
        .order_by_asc(entity::counted_amount::Column::RelatedId)
        .all(app.db.conn())
        .await
        .expect("counted rows")
        .into_iter()
        .map(|r| format!("{:?}", entity::counted_amount::Model { id: 0, ..r }))
        .collect()
}

async fn an_incremental_rebuild_after_random_edits_equals_a_full_rebuild(backend: Backend) {
    let Some(app) = app_for(backend).await else { return };
    let mut runner = TestRunner::deterministic();
    let edits = proptest::collection::vec((any::<usize>(), 0_u8..5, 1_i64..3_000), 1..6);
    for (n, case) in generated(12).iter().enumerate() {
        let prefix = format!("edit-{n}");
        let mut data = records(case, &prefix, true);
        app.db.import(&data).await.expect("case imports");
        // A random sequence of edits, each imported on its own (see `apply_edit`).
        for (which, kind, units) in edits.new_tree(&mut runner).expect("edits").current() {
            let i = which % data.commitments.len();
            apply_edit(&mut data.commitments[i], kind, units);
            let one = DataSet { commitments: vec![data.commitments[i].clone()], ..data.clone() };
            app.db.import(&one).await.unwrap_or_else(|e| panic!("case {n}: edit {kind} of {i}: {e}"));
        }
    }
    let incremental = counted_snapshot(&app).await;
    let incremental_sums = sums_snapshot(&app).await;
    app.db.rebuild_totals().await.expect("full rebuild");
    let full = counted_snapshot(&app).await;
    let differing: Vec<(&String, &String)> = incremental.iter().zip(&full).filter(|(a, b)| a != b).collect();
    assert_eq!(incremental.len(), full.len(), "the rebuilds have different row counts");
    assert!(differing.is_empty(), "incremental ≠ full: {differing:#?}");
    // The write-time sums followed every write: they are those of the full rebuild.
    let full_sums = sums_snapshot(&app).await;
    assert!(full_sums.len() > 10, "too few sums to compare: {full_sums:?}");
    assert_eq!(incremental_sums, full_sums, "write-time sums after the edits ≠ after a full rebuild");
}

/// The rows of the write-time sums that hold counted rows, in key order.
pub(crate) async fn sums_snapshot(app: &TestApp) -> Vec<String> {
    use sea_orm::{ConnectionTrait, Statement};
    let conn = app.db.conn();
    let sql = "SELECT event_id, pledger_country, owner_currency, measure, currency, CAST(rate_date AS TEXT) AS rate_date, \
               rate_year, n_primary, n_rows, low_h, low_l, high_h, high_l FROM counted_sums WHERE n_rows <> 0 \
               ORDER BY event_id, pledger_country, owner_currency, measure, currency, rate_date";
    let rows = conn.query_all_raw(Statement::from_string(conn.get_database_backend(), sql)).await.expect("sums");
    rows.iter()
        .map(|r| {
            let text = |c: &str| r.try_get::<String>("", c).expect(c);
            let int = |c: &str| r.try_get::<i64>("", c).expect(c);
            format!(
                "{} {} {} {} {} {} {} n={} rows={} low={}:{} high={}:{}",
                int("event_id"),
                text("pledger_country"),
                text("owner_currency"),
                text("measure"),
                text("currency"),
                text("rate_date"),
                r.try_get::<i32>("", "rate_year").expect("rate_year"),
                int("n_primary"),
                int("n_rows"),
                int("low_h"),
                int("low_l"),
                int("high_h"),
                int("high_l"),
            )
        })
        .collect()
}

/// The questions a dashboard keeps asking (the change log can serve them: no `asOf`, no
/// filter on other tables).
fn followed_queries() -> Vec<pledgewatch::storage::totals::TotalsQuery> {
    use pledgewatch::{
        domain::fx::FxPolicy,
        storage::totals::{Dimension, TotalsQuery},
    };
    let eur = CurrencyCode::parse("currency", "EUR").unwrap();
    let usd = CurrencyCode::parse("currency", "USD").unwrap();
    let query = |group_by: Vec<Dimension>, currency: CurrencyCode| TotalsQuery {
        filter: Default::default(),
        group_by,
        currency,
        fx: FxPolicy::AnnouncementDate,
        as_of: None,
        known_at: None,
    };
    let mut by_sector = query(vec![Dimension::Event], eur);
    by_sector.filter.sectors = vec!["1".into()];
    vec![
        query(vec![], eur),
        query(vec![Dimension::Event], eur),
        query(vec![Dimension::PledgerCountry, Dimension::Currency], eur),
        query(vec![Dimension::Pledger, Dimension::Status], usd),
        by_sector,
    ]
}

async fn a_cached_total_brought_up_to_date_after_each_write_equals_a_fresh_one(backend: Backend) {
    let Some(app) = app_for(backend).await else { return };
    let queries = followed_queries();
    let check = |label: String| {
        let (db, url, queries) = (app.db.clone(), app.url.clone(), queries.clone());
        async move {
            // A server that never cached anything.
            let fresh = pledgewatch::storage::Db::connect(&url, &Default::default()).await.expect("opens");
            for q in &queries {
                let kept = db.totals(q).await.expect("total").report;
                let afresh = fresh.totals(q).await.expect("total").report;
                assert_eq!(*kept, *afresh, "{label}: {q:?}");
            }
        }
    };
    check("before any write".into()).await;
    let mut runner = TestRunner::deterministic();
    let edits = proptest::collection::vec((any::<usize>(), 0_u8..6, 1_i64..3_000), 1..5);
    for (n, case) in generated(6).iter().enumerate() {
        let prefix = format!("follow-{n}");
        let mut data = records(case, &prefix, true);
        app.db.import(&data).await.expect("case imports");
        check(format!("case {n} imported")).await;
        for (which, kind, units) in edits.new_tree(&mut runner).expect("edits").current() {
            let i = which % data.commitments.len();
            apply_edit(&mut data.commitments[i], kind, units);
            let one = DataSet { commitments: vec![data.commitments[i].clone()], ..data.clone() };
            app.db.import(&one).await.unwrap_or_else(|e| panic!("case {n}: edit {kind} of {i}: {e}"));
            check(format!("case {n}, edit {kind} of {i}")).await;
        }
    }
    let updates = app.db.totals_cache_updates();
    assert!(updates > 0, "no cached total was brought up to date");
    // A full rebuild is not logged: what was cached before it is recomputed.
    app.db.rebuild_totals().await.expect("full rebuild");
    check("after a full rebuild".into()).await;
    assert_eq!(app.db.totals_cache_updates(), updates);
}

/// Questions the write-time sums answer (the default statuses; event, pledger's country
/// and currency), in several reporting currencies and rate policies.
fn summed_queries(events: &[String]) -> Vec<pledgewatch::storage::totals::TotalsQuery> {
    use pledgewatch::{
        domain::fx::FxPolicy,
        storage::totals::{Dimension, TotalsQuery},
    };
    let eur = CurrencyCode::parse("currency", "EUR").unwrap();
    let usd = CurrencyCode::parse("currency", "USD").unwrap();
    let query = |group_by: Vec<Dimension>, currency: CurrencyCode, fx: FxPolicy| TotalsQuery {
        filter: Default::default(),
        group_by,
        currency,
        fx,
        as_of: None,
        known_at: None,
    };
    let day = NaiveDate::from_ymd_opt(2025, 2, 10).unwrap();
    let mut of_events = query(vec![Dimension::Event, Dimension::Currency], eur, FxPolicy::AnnouncementDate);
    of_events.filter.events = events.to_vec();
    let mut in_usd = query(vec![Dimension::PledgerCountry], eur, FxPolicy::AnnouncementDate);
    in_usd.filter.currencies = vec!["USD".into()];
    in_usd.filter.pledger_countries = vec!["FR".into(), "US".into()];
    vec![
        query(vec![], eur, FxPolicy::AnnouncementDate),
        query(vec![Dimension::Event], eur, FxPolicy::AnnouncementDate),
        query(vec![Dimension::PledgerCountry, Dimension::Currency], eur, FxPolicy::AnnouncementDate),
        query(vec![Dimension::Event], usd, FxPolicy::YearlyAverage),
        query(vec![Dimension::Currency, Dimension::Event], usd, FxPolicy::FixedDate(day)),
        of_events,
        in_usd,
    ]
}

/// The same question asked of the counted rows: the default statuses named one by one.
fn of_the_counted_rows(query: &pledgewatch::storage::totals::TotalsQuery) -> pledgewatch::storage::totals::TotalsQuery {
    use pledgewatch::domain::kinds::CommitmentStatus;
    let mut twin = query.clone();
    twin.filter.statuses =
        CommitmentStatus::ALL.iter().copied().filter(|s| *s != CommitmentStatus::Withdrawn).collect();
    twin
}

async fn totals_from_the_write_time_sums_equal_totals_from_the_counted_rows(backend: Backend) {
    let Some(app) = app_for(backend).await else { return };
    let mut events = Vec::new();
    let check = |label: String, events: Vec<String>| {
        let url = app.url.clone();
        async move {
            // A server that never cached anything: every answer is computed.
            let fresh = pledgewatch::storage::Db::connect(&url, &Default::default()).await.expect("opens");
            for q in summed_queries(&events) {
                let before = fresh.totals_from_sums();
                let summed = fresh.totals(&q).await.expect("total").report;
                assert_eq!(fresh.totals_from_sums(), before + 1, "{label}: not from the sums: {q:?}");
                let counted = fresh.totals(&of_the_counted_rows(&q)).await.expect("total").report;
                assert_eq!(fresh.totals_from_sums(), before + 1, "{label}: the twin came from the sums: {q:?}");
                assert_eq!(*summed, *counted, "{label}: {q:?}");
            }
        }
    };
    check("before any write".into(), events.clone()).await;
    let mut runner = TestRunner::deterministic();
    let edits = proptest::collection::vec((any::<usize>(), 0_u8..8, 1_i64..3_000), 1..6);
    for (n, case) in generated(8).iter().enumerate() {
        let prefix = format!("sums-{n}");
        events.push(prefix.clone());
        let mut data = records(case, &prefix, true);
        app.db.import(&data).await.expect("case imports");
        check(format!("case {n} imported"), events.clone()).await;
        for (which, kind, units) in edits.new_tree(&mut runner).expect("edits").current() {
            let i = which % data.commitments.len();
            let c = &mut data.commitments[i];
            match kind {
                // Another day (another rate bucket) and another currency.
                6 => c.announced_on = Some(DAYS[(units as usize) % DAYS.len()].into()),
                7 => c.currency = CURRENCIES[(units as usize) % CURRENCIES.len()].into(),
                _ => apply_edit(c, kind, units),
            }
            let one = DataSet { commitments: vec![data.commitments[i].clone()], ..data.clone() };
            app.db.import(&one).await.unwrap_or_else(|e| panic!("case {n}: edit {kind} of {i}: {e}"));
            check(format!("case {n}, edit {kind} of {i}"), events.clone()).await;
        }
        // A deletion (of a commitment without parts or overlaps; others are refused).
        let last = data.commitments.last().expect("a commitment").slug.clone();
        if app.db.delete_commitment("test", &last, "a test deletion").await.is_ok() {
            data.commitments.pop();
            check(format!("case {n}, {last} deleted"), events.clone()).await;
        }
    }
}
