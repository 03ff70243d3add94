//! The double-counting rules: which money of each commitment is counted, resolved once per
//! write into *counted rows* that any total simply adds up.
//!
//! - A headline package counts through its `PART_OF` parts plus its unattributed remainder:
//!   the headline's own row holds its full amount and one negative *carve-out* row per
//!   quantified part (in the part's currency and date). Grouped by anything the headline and
//!   its parts share, the headline figure comes back exactly; grouped by pledger, the parts
//!   appear with the remainder beside them. The rows are linear, so a filter on statuses or
//!   dates drops a part together with its carve-out and the package never counts twice.
//! - Where the parts exceed their headline in a scenario, the parts count and the headline's
//!   remainder is zero in that scenario (flagged).
//! - `DETAIL_OF` children (and everything below them) add nothing: the parent counts.
//! - `CONFIRMS` children add no money: their amount is a separate *confirmed* measure.
//! - Money that a later commitment presents again (an overlap) is a negative *overlap* row
//!   under the later commitment: counted once, at its first announcement.
//! - An unquantified part carves out nothing itself; its quantified parts are carved out of
//!   the nearest quantified headline above it instead.
//! - "Up to X" counts 0 in the low scenario and X in the high one; an unquantified amount
//!   has no money row at all, only a marker row that totals list as excluded.
//! - A headline that gives way to its parts is not linear: without some of its parts (a
//!   withdrawn one, one announced after an as-of date) it counts again. Such a family's rows
//!   carry [`flags::VARIES`], and a total resolves the family again from the members it
//!   counts (`counted_rows` over them) instead of adding its stored rows.

use std::collections::HashMap;

use chrono::NaiveDate;

mod clamp;

use self::clamp::{Component, Resolver};
use super::{
    codes::CurrencyCode,
    fx::{FxPolicy, RateTable, allocate},
    kinds::CommitmentRelation,
};

/// A commitment as the counting rules see it.
#[derive(Debug, Clone)]
pub struct Facts {
    pub id: i64,
    pub parent: Option<i64>,
    pub relation: Option<CommitmentRelation>,
    /// Low end in minor units; `None` for "up to X" and unquantified.
    pub low: Option<i64>,
    /// High end in minor units; `None` for unquantified.
    pub high: Option<i64>,
    pub currency: CurrencyCode,
    /// The date its money is dated by: the announcement, else its event's start.
    pub date: Option<NaiveDate>,
    pub disputed: bool,
}

impl Facts {
    fn quantified(&self) -> bool {
        self.high.is_some()
    }

    fn scenario(&self, s: Scenario) -> i64 {
        match s {
            Scenario::Low => self.low.unwrap_or(0),
            Scenario::High => self.high.unwrap_or(0),
        }
    }
}

/// Money a later commitment presents again, in minor units of `currency`.
#[derive(Debug, Clone)]
pub struct OverlapFacts {
    pub later: i64,
    /// `None`: announced earlier, but not recorded as a commitment here; the overlap then
    /// always applies while the later commitment counts.
    pub earlier: Option<i64>,
    pub low: Option<i64>,
    pub high: i64,
    pub currency: CurrencyCode,
}

/// Why a counted row exists.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Rule {
    /// The commitment's own amount.
    Own,
    /// Minus a part's amount, under its headline (the headline's remainder).
    CarveOut,
    /// Minus money first announced by an earlier commitment.
    Overlap,
    /// A `CONFIRMS` child: its amount, in the confirmed measure only.
    Confirmed,
    /// Inside a `DETAIL_OF` breakdown (or below a confirmation): nothing counted.
    Detail,
    /// No amount: nothing to count, listed as excluded.
    Unquantified,
}

/// Which measure of a total a row adds to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Measure {
    /// Money counted as new at its first announcement.
    New,
    /// (Negative) money presented again: new + represented = "as announced".
    Represented,
    /// Money confirmed by a later announcement.
    Confirmed,
    /// Nothing: the row only says the commitment is there.
    Uncounted,
}

impl Measure {
    pub const ALL: [Measure; 4] = [Self::New, Self::Represented, Self::Confirmed, Self::Uncounted];

    /// The stored text.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::New => "NEW",
            Self::Represented => "REPRESENTED",
            Self::Confirmed => "CONFIRMED",
            Self::Uncounted => "UNCOUNTED",
        }
    }

    /// Parses the stored text.
    pub fn parse(raw: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|m| m.as_str() == raw)
    }
}

impl Rule {
    pub const ALL: [Rule; 6] =
        [Self::Own, Self::CarveOut, Self::Overlap, Self::Confirmed, Self::Detail, Self::Unquantified];

    /// The stored text.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Own => "OWN",
            Self::CarveOut => "CARVE_OUT",
            Self::Overlap => "OVERLAP",
            Self::Confirmed => "CONFIRMED",
            Self::Detail => "DETAIL",
            Self::Unquantified => "UNQUANTIFIED",
        }
    }

    /// Parses the stored text.
    pub fn parse(raw: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.as_str() == raw)
    }

    /// The measure the row adds to.
    pub fn measure(self) -> Measure {
        match self {
            Self::Own | Self::CarveOut => Measure::New,
            Self::Overlap => Measure::Represented,
            Self::Confirmed => Measure::Confirmed,
            Self::Detail | Self::Unquantified => Measure::Uncounted,
        }
    }
}

/// Data-quality findings, kept as bits on a commitment's primary row.
pub mod flags {
    /// The amount is disputed between sources.
    pub const DISPUTED: i32 = 1;
    /// The parts exceed the headline's low end: the parts count.
    pub const PARTS_EXCEED_LOW: i32 = 2;
    /// The parts exceed the headline's high end: the parts count.
    pub const PARTS_EXCEED_HIGH: i32 = 4;
    /// An overlap is larger than the later commitment: capped at it.
    pub const OVERLAP_EXCEEDS: i32 = 8;
    /// Parts or overlaps in another currency could not be compared (no rate).
    pub const UNCHECKED: i32 = 16;
    /// On every money row (own, carve-out, unquantified marker) of a family where some
    /// headline gives way to its parts: what the family counts depends on which of its
    /// members a total counts, so totals resolve it again rather than add these rows.
    pub const VARIES: i32 = 32;
    /// The findings a reader is told about (every bit but [`VARIES`]).
    pub const FINDINGS: i32 = DISPUTED | PARTS_EXCEED_LOW | PARTS_EXCEED_HIGH | OVERLAP_EXCEEDS | UNCHECKED;
}

/// One counted row: an amount (per scenario) counted under `owner`'s attributes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CountedRow {
    /// The commitment whose attributes (event, pledger, …) the row is grouped by.
    pub owner: i64,
    /// For carve-outs, the part; for overlaps, the earlier commitment. The row counts only
    /// while that commitment does (status, as-of date).
    pub related: Option<i64>,
    pub rule: Rule,
    /// Low-scenario amount in minor units of `currency` (negative for carve-outs/overlaps).
    pub low: i64,
    /// High-scenario amount.
    pub high: i64,
    pub currency: CurrencyCode,
    /// The date that picks the exchange rate.
    pub date: Option<NaiveDate>,
    /// One row per commitment is primary: it counts the commitment once.
    pub primary: bool,
    /// [`flags`] bits, on the primary row.
    pub flags: i32,
}

/// The two scenario totals.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scenario {
    Low,
    High,
}

/// Converts minor units of one currency into minor units of another at a date, or `None`
/// when no rate is known. Used only to compare parts with headlines across currencies.
pub trait Compare {
    fn convert(&self, minor: i64, from: CurrencyCode, to: CurrencyCode, on: Option<NaiveDate>) -> Option<i128>;
}

/// Comparison within one currency only.
pub struct SameCurrencyOnly;

impl Compare for SameCurrencyOnly {
    fn convert(&self, minor: i64, from: CurrencyCode, to: CurrencyCode, _on: Option<NaiveDate>) -> Option<i128> {
        (from == to).then_some(i128::from(minor))
    }
}

/// Comparison at the rate of the amount's date (the default policy of totals).
impl Compare for RateTable {
    fn convert(&self, minor: i64, from: CurrencyCode, to: CurrencyCode, on: Option<NaiveDate>) -> Option<i128> {
        let conversion = self.conversion(from.as_str(), to.as_str(), FxPolicy::AnnouncementDate.key(on)).ok()?;
        Some(allocate(&[i128::from(minor)], from.exponent(), to.exponent(), &conversion).0)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Counting,
    Confirmed,
    Detail,
}

/// Resolves the rules for whole families (every commitment of a tree must be in `facts`;
/// a parent outside it is treated as absent) and the overlaps whose later side is in it.
pub fn counted_rows(facts: &[Facts], overlaps: &[OverlapFacts], compare: &dyn Compare) -> Vec<CountedRow> {
    let by_id: HashMap<i64, &Facts> = facts.iter().map(|f| (f.id, f)).collect();
    let mut children: HashMap<i64, Vec<&Facts>> = HashMap::new();
    for f in facts {
        if let Some(parent) = f.parent.filter(|p| by_id.contains_key(p)) {
            children.entry(parent).or_default().push(f);
        }
    }
    let mut states: HashMap<i64, State> = HashMap::new();
    for f in facts {
        state_of(f.id, &by_id, &mut states);
    }
    let counting = |id: i64| states.get(&id) == Some(&State::Counting);

    let mut resolver = Resolver { children: &children, compare, clamps: HashMap::new() };
    let mut rows = Vec::new();
    let mut gives_way: Vec<i64> = Vec::new();
    let mut primary_index: HashMap<i64, usize> = HashMap::new();
    for f in facts {
        let primary = |rule: Rule, low: i64, high: i64, flags: i32| CountedRow {
            owner: f.id,
            related: None,
            rule,
            low,
            high,
            currency: f.currency,
            date: f.date,
            primary: true,
            flags,
        };
        let disputed = if f.disputed { flags::DISPUTED } else { 0 };
        primary_index.insert(f.id, rows.len());
        match states[&f.id] {
            State::Detail => rows.push(primary(Rule::Detail, 0, 0, disputed)),
            State::Confirmed => {
                rows.push(primary(Rule::Confirmed, f.scenario(Scenario::Low), f.scenario(Scenario::High), disputed))
            }
            State::Counting if !f.quantified() => rows.push(primary(Rule::Unquantified, 0, 0, disputed)),
            State::Counting => {
                let mut own = primary(Rule::Own, f.scenario(Scenario::Low), f.scenario(Scenario::High), disputed);
                let mut carved: Vec<Component> = Vec::new();
                for scenario in [Scenario::Low, Scenario::High] {
                    let clamp = resolver.clamp(f, scenario);
                    own.flags |= clamp.flags;
                    if clamp.clamped {
                        gives_way.push(f.id);
                        match scenario {
                            Scenario::Low => own.low = 0,
                            Scenario::High => own.high = 0,
                        }
                    } else {
                        for (part, amount) in resolver.carved_parts(f, scenario) {
                            match carved.iter_mut().find(|c| c.part.id == part.id) {
                                Some(c) => c.add(scenario, amount),
                                None => {
                                    let mut c = Component { part, low: 0, high: 0 };
                                    c.add(scenario, amount);
                                    carved.push(c);
                                }
                            }
                        }
                    }
                }
                rows.push(own);
                carved.sort_by_key(|c| c.part.id);
                for c in carved {
                    rows.push(CountedRow {
                        owner: f.id,
                        related: Some(c.part.id),
                        rule: Rule::CarveOut,
                        low: -c.low,
                        high: -c.high,
                        currency: c.part.currency,
                        date: c.part.date,
                        primary: false,
                        flags: 0,
                    });
                }
            }
        }
    }

    for o in overlaps {
        let Some(later) = by_id.get(&o.later).filter(|l| counting(l.id) && l.quantified()) else { continue };
        let mut amounts = [o.low.unwrap_or(0), o.high];
        let mut flag = 0;
        for (i, scenario) in [Scenario::Low, Scenario::High].into_iter().enumerate() {
            let cap = later.scenario(scenario);
            match compare.convert(amounts[i], o.currency, later.currency, later.date) {
                Some(v) if v > i128::from(cap) && o.currency == later.currency => {
                    amounts[i] = cap;
                    flag |= flags::OVERLAP_EXCEEDS;
                }
                Some(v) if v > i128::from(cap) => flag |= flags::OVERLAP_EXCEEDS,
                Some(_) => {}
                None => flag |= flags::UNCHECKED,
            }
        }
        if let Some(&i) = primary_index.get(&o.later) {
            rows[i].flags |= flag;
        }
        rows.push(CountedRow {
            owner: o.later,
            related: o.earlier,
            rule: Rule::Overlap,
            low: -amounts[0],
            high: -amounts[1],
            currency: o.currency,
            date: later.date,
            primary: false,
            flags: 0,
        });
    }
    mark_varying(&mut rows, &gives_way, &by_id);
    rows
}

/// Sets [`flags::VARIES`] on the money rows of every tree holding a headline that gives way.
fn mark_varying(rows: &mut [CountedRow], gives_way: &[i64], by_id: &HashMap<i64, &Facts>) {
    if gives_way.is_empty() {
        return;
    }
    let root = |id: i64| {
        let mut node = id;
        let mut seen = std::collections::HashSet::from([id]);
        while let Some(parent) = by_id[&node].parent.filter(|p| by_id.contains_key(p)) {
            if !seen.insert(parent) {
                break; // a cycle (refused on import)
            }
            node = parent;
        }
        node
    };
    let roots: std::collections::HashSet<i64> = gives_way.iter().map(|&id| root(id)).collect();
    for row in rows {
        if matches!(row.rule, Rule::Own | Rule::CarveOut | Rule::Unquantified) && roots.contains(&root(row.owner)) {
            row.flags |= flags::VARIES;
        }
    }
}

fn state_of(id: i64, by_id: &HashMap<i64, &Facts>, states: &mut HashMap<i64, State>) -> State {
    if let Some(s) = states.get(&id) {
        return *s;
    }
    // The chain from `id` up to a root (or to the first ancestor already settled).
    let mut chain = vec![id];
    let mut above: Option<State> = None;
    loop {
        let current = by_id[chain.last().expect("never empty")];
        match current.parent.filter(|p| by_id.contains_key(p)) {
            None => break,
            // A cycle (refused on import): its top is treated as a root.
            Some(parent) if chain.contains(&parent) => break,
            Some(parent) => match states.get(&parent) {
                Some(s) => {
                    above = Some(*s);
                    break;
                }
                None => chain.push(parent),
            },
        }
    }
    for &node in chain.iter().rev() {
        let state = match above {
            None => State::Counting,
            Some(State::Counting) => match by_id[&node].relation {
                Some(CommitmentRelation::DetailOf) => State::Detail,
                Some(CommitmentRelation::Confirms) => State::Confirmed,
                _ => State::Counting,
            },
            Some(_) => State::Detail,
        };
        states.insert(node, state);
        above = Some(state);
    }
    states[&id]
}

#[cfg(test)]
pub(crate) mod tests;
