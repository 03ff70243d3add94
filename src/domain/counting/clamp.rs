//! Whether a headline gives way to its parts (they exceed it in a scenario), and which money
//! of its parts it carves out.

use std::collections::HashMap;

use super::{Compare, Facts, Scenario, flags};
use crate::domain::kinds::CommitmentRelation;

/// Money of one part carved out of a headline, per scenario.
pub(super) struct Component<'a> {
    pub(super) part: &'a Facts,
    pub(super) low: i64,
    pub(super) high: i64,
}

impl Component<'_> {
    pub(super) fn add(&mut self, scenario: Scenario, amount: i64) {
        match scenario {
            Scenario::Low => self.low += amount,
            Scenario::High => self.high += amount,
        }
    }
}

#[derive(Debug, Clone, Copy, Default)]
pub(super) struct Clamp {
    /// The parts exceed the headline in this scenario: they count, the headline gives way.
    pub(super) clamped: bool,
    pub(super) flags: i32,
}

/// Decides, per headline and scenario, whether its parts exceed it, and which money of its
/// parts it carves out: a part that itself gives way to its own parts is carved out through
/// them, so that a headline always carves out exactly what its parts count.
pub(super) struct Resolver<'a, 'c> {
    pub(super) children: &'c HashMap<i64, Vec<&'a Facts>>,
    pub(super) compare: &'c dyn Compare,
    pub(super) clamps: HashMap<(i64, bool), Option<Clamp>>,
}

impl<'a> Resolver<'a, '_> {
    /// The (part, amount) pairs a quantified headline carves out in `scenario`, before
    /// its own clamp is applied.
    pub(super) fn carved_parts(&mut self, f: &Facts, scenario: Scenario) -> Vec<(&'a Facts, i64)> {
        let mut parts = Vec::new();
        frontier(f.id, self.children, &mut parts);
        let mut out = Vec::new();
        for p in parts {
            if self.clamp(p, scenario).clamped {
                out.extend(self.carved_parts(p, scenario));
            } else {
                out.push((p, p.scenario(scenario)));
            }
        }
        out
    }

    pub(super) fn clamp(&mut self, f: &Facts, scenario: Scenario) -> Clamp {
        let key = (f.id, scenario == Scenario::High);
        match self.clamps.get(&key) {
            Some(Some(c)) => return *c,
            Some(None) => return Clamp::default(), // a cycle (refused on import)
            None => {}
        }
        self.clamps.insert(key, None);
        let parts = self.carved_parts(f, scenario);
        let mut sum: Option<i128> = Some(0);
        for (p, amount) in &parts {
            let converted = self.compare.convert(*amount, p.currency, f.currency, p.date);
            sum = sum.zip(converted).map(|(a, b)| a + b);
        }
        let clamp = match sum {
            None => Clamp { clamped: false, flags: flags::UNCHECKED },
            Some(sum) if sum > i128::from(f.scenario(scenario)) => {
                // A headline known in this scenario that its parts exceed is worth saying;
                // the unknown low end of "up to X" simply gives way to the parts.
                let known = scenario == Scenario::High || f.low.is_some();
                let flag = match scenario {
                    Scenario::Low => flags::PARTS_EXCEED_LOW,
                    Scenario::High => flags::PARTS_EXCEED_HIGH,
                };
                Clamp { clamped: true, flags: if known { flag } else { 0 } }
            }
            Some(_) => Clamp::default(),
        };
        self.clamps.insert(key, Some(clamp));
        clamp
    }
}

/// The quantified parts a headline carves out: its quantified `PART_OF` children, and
/// through an unquantified part, that part's own quantified parts (whose money is inside
/// the headline's figure too).
fn frontier<'a>(id: i64, children: &HashMap<i64, Vec<&'a Facts>>, out: &mut Vec<&'a Facts>) {
    let mut stack = vec![id];
    let mut seen = std::collections::HashSet::from([id]);
    while let Some(node) = stack.pop() {
        for c in children.get(&node).into_iter().flatten() {
            if c.relation != Some(CommitmentRelation::PartOf) || !seen.insert(c.id) {
                continue;
            }
            if c.quantified() {
                out.push(c);
            } else {
                stack.push(c.id);
            }
        }
    }
}
