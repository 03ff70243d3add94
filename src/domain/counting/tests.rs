use proptest::prelude::*;

use super::*;

fn eur() -> CurrencyCode {
    CurrencyCode::parse("currency", "EUR").unwrap()
}

pub(crate) fn fact(id: i64, parent: Option<(i64, CommitmentRelation)>, low: Option<i64>, high: Option<i64>) -> Facts {
    Facts {
        id,
        parent: parent.map(|p| p.0),
        relation: parent.map(|p| p.1),
        low,
        high,
        currency: eur(),
        date: None,
        disputed: false,
    }
}

/// Sum of the rows of a measure, per scenario.
fn sum(rows: &[CountedRow], measure: Measure) -> (i64, i64) {
    rows.iter().filter(|r| r.rule.measure() == measure).fold((0, 0), |(l, h), r| (l + r.low, h + r.high))
}

fn owned_by(rows: &[CountedRow], owner: i64) -> (i64, i64) {
    rows.iter()
        .filter(|r| r.owner == owner && r.rule.measure() == Measure::New)
        .fold((0, 0), |(l, h), r| (l + r.low, h + r.high))
}

use CommitmentRelation::{Confirms, DetailOf, PartOf};

#[test]
fn a_headline_counts_through_its_parts_and_remainder() {
    // 109 headline; parts 30–50, up to 4, unquantified; a detail and a confirmation.
    let facts = vec![
        fact(1, None, Some(109), Some(109)),
        fact(2, Some((1, PartOf)), Some(30), Some(50)),
        fact(3, Some((1, PartOf)), None, Some(4)),
        fact(4, Some((1, PartOf)), None, None),
        fact(5, Some((1, DetailOf)), Some(20), Some(20)),
        fact(6, Some((2, Confirms)), Some(8), Some(8)),
    ];
    let rows = counted_rows(&facts, &[], &SameCurrencyOnly);
    assert_eq!(sum(&rows, Measure::New), (109, 109));
    assert_eq!(owned_by(&rows, 1), (79, 55)); // the remainder beside the parts
    assert_eq!(owned_by(&rows, 2), (30, 50));
    assert_eq!(owned_by(&rows, 3), (0, 4));
    assert_eq!(sum(&rows, Measure::Confirmed), (8, 8));
    assert_eq!(rows.iter().filter(|r| r.primary).count(), 6);
    let rule_of = |id| rows.iter().find(|r| r.owner == id && r.primary).unwrap().rule;
    assert_eq!(rule_of(4), Rule::Unquantified);
    assert_eq!(rule_of(5), Rule::Detail);
    assert_eq!(rule_of(6), Rule::Confirmed);
}

#[test]
fn a_family_whose_headline_gives_way_is_marked_as_varying_and_only_it() {
    // 10 with parts 6 and 7 (a family that varies: without the 7 the headline counts
    // again), a detail below it, and 20 with a part of 5 (linear).
    let facts = vec![
        fact(1, None, Some(10), Some(10)),
        fact(2, Some((1, PartOf)), Some(6), Some(6)),
        fact(3, Some((1, PartOf)), Some(7), Some(7)),
        fact(4, Some((3, DetailOf)), Some(1), Some(1)),
        fact(5, None, Some(20), Some(20)),
        fact(6, Some((5, PartOf)), Some(5), Some(5)),
    ];
    let rows = counted_rows(&facts, &[], &SameCurrencyOnly);
    let varying: Vec<(i64, Rule)> =
        rows.iter().filter(|r| r.flags & flags::VARIES != 0).map(|r| (r.owner, r.rule)).collect();
    assert_eq!(varying, [(1, Rule::Own), (2, Rule::Own), (3, Rule::Own)]);
    // Without the 7, the same rules over the members left count the headline again.
    let rest: Vec<Facts> = facts.iter().filter(|f| f.id != 3 && f.id != 4).cloned().collect();
    let again = counted_rows(&rest, &[], &SameCurrencyOnly);
    assert_eq!(owned_by(&again, 1), (4, 4));
    assert!(again.iter().all(|r| r.flags & flags::VARIES == 0));
}

#[test]
fn parts_that_exceed_their_headline_count_instead_and_are_flagged() {
    let facts = vec![
        fact(1, None, Some(10), Some(10)),
        fact(2, Some((1, PartOf)), Some(6), Some(6)),
        fact(3, Some((1, PartOf)), Some(3), Some(7)),
    ];
    let rows = counted_rows(&facts, &[], &SameCurrencyOnly);
    // Low: 9 ≤ 10, the headline stands. High: 13 > 10, the parts count.
    assert_eq!(sum(&rows, Measure::New), (10, 13));
    let head = rows.iter().find(|r| r.owner == 1 && r.primary).unwrap();
    assert_eq!(head.flags & flags::PARTS_EXCEED_HIGH, flags::PARTS_EXCEED_HIGH);
    assert_eq!(head.flags & flags::PARTS_EXCEED_LOW, 0);
}

#[test]
fn the_parts_of_an_unquantified_part_are_carved_from_the_headline_above() {
    let facts = vec![
        fact(1, None, Some(100), Some(100)),
        fact(2, Some((1, PartOf)), None, None),
        fact(3, Some((2, PartOf)), Some(15), Some(15)),
    ];
    let rows = counted_rows(&facts, &[], &SameCurrencyOnly);
    assert_eq!(sum(&rows, Measure::New), (100, 100));
    assert_eq!(owned_by(&rows, 1), (85, 85));
}

#[test]
fn an_overlap_is_counted_once_at_its_first_announcement() {
    let facts = vec![fact(1, None, Some(12), Some(12)), fact(2, None, Some(60), Some(60))];
    let overlap = OverlapFacts { later: 2, earlier: Some(1), low: Some(12), high: 12, currency: eur() };
    let rows = counted_rows(&facts, &[overlap], &SameCurrencyOnly);
    let (new, represented) = (sum(&rows, Measure::New), sum(&rows, Measure::Represented));
    assert_eq!((new.0 + represented.0, new.1 + represented.1), (60, 60));
    assert_eq!(new, (72, 72)); // as announced
    // An overlap above the later amount is capped and flagged.
    let too_big = OverlapFacts { later: 1, earlier: Some(2), low: Some(20), high: 20, currency: eur() };
    let rows = counted_rows(&facts, &[too_big], &SameCurrencyOnly);
    assert_eq!(sum(&rows, Measure::Represented), (-12, -12));
    assert_ne!(rows.iter().find(|r| r.owner == 1 && r.primary).unwrap().flags & flags::OVERLAP_EXCEEDS, 0);
}

/// A generated node: its parent (index, relation code), its shape code, an amount.
pub(crate) type Node = (Option<(usize, u8)>, u8, i64);

/// A random forest: node `i` hangs below an earlier node, or is a root.
pub(crate) fn forest() -> impl Strategy<Value = Vec<Node>> {
    proptest::collection::vec((proptest::option::of((any::<usize>(), 0_u8..4)), 0_u8..6, 1_i64..1_000_000_000), 1..40)
        .prop_map(|nodes| {
            nodes
                .into_iter()
                .enumerate()
                .map(|(i, (parent, shape, amount))| {
                    (parent.filter(|_| i > 0).map(|(p, rel)| (p % i, rel)), shape, amount)
                })
                .collect()
        })
}

/// Builds facts whose parts always fit in their headline: each node shares its budget
/// among its `PART_OF` children. Shape 0 is "up to", 1 unquantified, else a point.
pub(crate) fn fitting_facts(nodes: &[Node]) -> Vec<Facts> {
    let relation = |r: u8| match r {
        0 | 1 => PartOf,
        2 => DetailOf,
        _ => Confirms,
    };
    let mut budget: Vec<i64> = nodes.iter().map(|n| n.2 * 1000).collect();
    let mut facts = Vec::new();
    for (i, (parent, shape, _)) in nodes.iter().enumerate() {
        if let Some((p, r)) = parent
            && relation(*r) == PartOf
        {
            let siblings = nodes.iter().filter(|n| n.0.is_some_and(|(q, r)| q == *p && relation(r) == PartOf)).count();
            budget[i] = budget[*p] / (siblings as i64 + 1);
        }
        let root = parent.is_none();
        let (low, high) = match shape {
            _ if root => (Some(budget[i]), Some(budget[i])),
            0 => (None, Some(budget[i])),
            1 => (None, None),
            _ => (Some(budget[i]), Some(budget[i])),
        };
        facts.push(fact(i as i64, parent.map(|(p, r)| (p as i64, relation(r))), low, high));
    }
    facts
}

/// New money a counting commitment's family holds, by the rule's statement rather than
/// by the implementation: a quantified headline counts the larger of its own figure and
/// the sum of what its `PART_OF` parts count; an unquantified one, what its parts count;
/// details and confirmations count nothing new.
pub(crate) fn expected_family(facts: &[Facts], id: i64, scenario: Scenario) -> i64 {
    let parts: i64 = facts
        .iter()
        .filter(|f| f.parent == Some(id) && f.relation == Some(PartOf))
        .map(|f| expected_family(facts, f.id, scenario))
        .sum();
    let node = &facts[id as usize];
    if node.quantified() { node.scenario(scenario).max(parts) } else { parts }
}

pub(crate) fn root_of(facts: &[Facts], mut id: i64) -> i64 {
    while let Some(p) = facts[id as usize].parent {
        id = p;
    }
    id
}

proptest! {
    #[test]
    fn every_family_counts_its_headline_once_and_nothing_twice(nodes in forest()) {
        let facts = fitting_facts(&nodes);
        let rows = counted_rows(&facts, &[], &SameCurrencyOnly);
        // One primary row per commitment.
        prop_assert_eq!(rows.iter().filter(|r| r.primary).count(), facts.len());
        // Each family's new money is exactly its root's amount, in both scenarios.
        for root in facts.iter().filter(|f| f.parent.is_none()) {
            let family: (i64, i64) = rows
                .iter()
                .filter(|r| r.rule.measure() == Measure::New && root_of(&facts, r.owner) == root.id)
                .fold((0, 0), |(l, h), r| (l + r.low, h + r.high));
            prop_assert_eq!(family, (root.low.unwrap(), root.high.unwrap()));
        }
        // Nothing inside a breakdown or below a confirmation adds money.
        for r in rows.iter().filter(|r| matches!(r.rule, Rule::Detail | Rule::Confirmed)) {
            prop_assert!(rows.iter().all(|x| x.owner != r.owner || x.rule.measure() != Measure::New));
        }
        // No flag: nothing exceeded.
        prop_assert!(rows.iter().all(|r| r.flags & (flags::PARTS_EXCEED_LOW | flags::PARTS_EXCEED_HIGH) == 0));
    }

    #[test]
    fn whatever_the_amounts_a_family_counts_at_least_its_root_or_its_parts(nodes in forest(), scale in 1_i64..5) {
        // Amounts unrelated to the hierarchy: parts may exceed their headlines.
        let mut facts = fitting_facts(&nodes);
        for (f, n) in facts.iter_mut().zip(&nodes) {
            if f.high.is_some() {
                f.high = Some(n.2 * scale);
                f.low = f.low.map(|_| n.2);
            }
        }
        let rows = counted_rows(&facts, &[], &SameCurrencyOnly);
        for root in facts.iter().filter(|f| f.parent.is_none()) {
            let family = |pick: fn(&CountedRow) -> i64| -> i64 {
                rows.iter()
                    .filter(|r| r.rule.measure() == Measure::New && root_of(&facts, r.owner) == root.id)
                    .map(pick)
                    .sum()
            };
            // Exactly what the rule says, worked out another way: a headline counts the
            // larger of its own figure and what its parts count.
            prop_assert_eq!(family(|r| r.low), expected_family(&facts, root.id, Scenario::Low));
            prop_assert_eq!(family(|r| r.high), expected_family(&facts, root.id, Scenario::High));
        }
        // No counted row is negative in total for its owner, and no money is negative.
        prop_assert!(rows.iter().filter(|r| r.primary).all(|r| r.low >= 0 && r.high >= 0));
        let (low, high) = sum(&rows, Measure::New);
        prop_assert!(low >= 0 && high >= low);
    }
}
