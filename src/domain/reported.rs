//! Counts of a declaration's signatories (or a coalition's members) as sources reported
//! them, and the range a reader can quote: "44 named of 58–64 reported".
//!
//! Reports disagree and grow (New Delhi: 88 on 21 Feb, 91 on 24 Feb, 92 on 2 Mar), and some
//! count something else: an early "53 so far", or "over 70 governments, international bodies
//! and research institutes". The reported range spans the reports of kind
//! [`ReportedCountKind::Count`] only; the others stay listed with their kind.

use chrono::NaiveDate;

use super::{FieldError, kinds::ReportedCountKind};

/// The largest count accepted (a declaration of every state and body there is stays far
/// below it).
pub const MAX_COUNT: i32 = 100_000;

/// A count as reported: one figure (`high == Some(low)`), a range, or an open count
/// ("over 100": `high == None`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CountRange {
    low: i32,
    high: Option<i32>,
}

impl CountRange {
    /// Checks `0 ≤ low ≤ high ≤ MAX_COUNT`, naming the field at fault.
    pub fn new(low: i32, high: Option<i32>) -> Result<Self, FieldError> {
        if !(0..=MAX_COUNT).contains(&low) {
            return Err(FieldError::new("countLow", format!("{low} is outside 0–{MAX_COUNT}")));
        }
        match high {
            Some(h) if h < low => Err(FieldError::new("countHigh", format!("{h} is below countLow {low}"))),
            Some(h) if h > MAX_COUNT => Err(FieldError::new("countHigh", format!("{h} is above {MAX_COUNT}"))),
            _ => Ok(Self { low, high }),
        }
    }

    /// The low end.
    pub fn low(self) -> i32 {
        self.low
    }

    /// The high end; `None` for an open count.
    pub fn high(self) -> Option<i32> {
        self.high
    }
}

/// One report as the summary sees it.
#[derive(Debug, Clone, Copy)]
pub struct Report {
    pub count: CountRange,
    pub kind: ReportedCountKind,
    pub on: Option<NaiveDate>,
}

/// What the reports of one coalition add up to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Summary {
    /// The lowest and highest counts reported (`high` `None`: an open count is the highest).
    pub range: CountRange,
    /// The position (in the input) of the latest dated count, if any is dated.
    pub latest: Option<usize>,
}

/// The reported range over the reports of kind `COUNT`; `None` when there is none.
pub fn summarize(reports: &[Report]) -> Option<Summary> {
    let counts: Vec<(usize, &Report)> =
        reports.iter().enumerate().filter(|(_, r)| r.kind == ReportedCountKind::Count).collect();
    let low = counts.iter().map(|(_, r)| r.count.low).min()?;
    let closed_high = counts.iter().filter_map(|(_, r)| r.count.high).max();
    let open_low = counts.iter().filter(|(_, r)| r.count.high.is_none()).map(|(_, r)| r.count.low).max();
    let high = match (closed_high, open_low) {
        (Some(h), Some(o)) if o >= h => None,
        (Some(h), _) => Some(h),
        (None, _) => None,
    };
    // The latest dated count; among counts of the same day, the one listed last.
    let latest = counts.iter().filter(|(_, r)| r.on.is_some()).max_by_key(|(i, r)| (r.on, *i)).map(|(i, _)| *i);
    Some(Summary { range: CountRange { low, high }, latest })
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn report(low: i32, high: Option<i32>, kind: ReportedCountKind, on: Option<&str>) -> Report {
        Report {
            count: CountRange::new(low, high).unwrap(),
            kind,
            on: on.map(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").unwrap()),
        }
    }

    #[test]
    fn the_range_spans_the_counts_and_leaves_early_and_wider_ones_out() {
        use ReportedCountKind::*;
        // Paris: 53 so far (early), 58, 60, 61, 64, over 70 (wider).
        let paris = [
            report(53, Some(53), Early, Some("2025-02-12")),
            report(58, Some(58), Count, None),
            report(60, Some(60), Count, Some("2025-02-12")),
            report(61, Some(61), Count, None),
            report(64, Some(64), Count, None),
            report(70, None, Wider, None),
        ];
        let s = summarize(&paris).unwrap();
        assert_eq!((s.range.low(), s.range.high()), (58, Some(64)));
        assert_eq!(s.latest, Some(2));
        // The coalition: 91, over 100, 200: the open count sits inside the range.
        let coalition = [
            report(91, Some(91), Count, Some("2025-02-11")),
            report(100, None, Count, Some("2025-02-11")),
            report(200, Some(200), Count, None),
        ];
        let s = summarize(&coalition).unwrap();
        assert_eq!((s.range.low(), s.range.high()), (91, Some(200)));
        assert_eq!(s.latest, Some(1));
        // An open count above every closed one leaves the range open.
        let s = summarize(&[report(91, Some(91), Count, None), report(100, None, Count, None)]).unwrap();
        assert_eq!((s.range.low(), s.range.high()), (91, None));
        assert_eq!(s.latest, None);
        assert!(summarize(&[report(53, Some(53), Early, None)]).is_none());
    }

    #[test]
    fn a_bad_count_names_its_field() {
        assert_eq!(CountRange::new(-1, None).unwrap_err().field, "countLow");
        assert_eq!(CountRange::new(60, Some(58)).unwrap_err().field, "countHigh");
        assert_eq!(CountRange::new(1, Some(MAX_COUNT + 1)).unwrap_err().field, "countHigh");
    }

    fn any_report() -> impl Strategy<Value = Report> {
        (0..500i32, proptest::option::of(0..500i32), 0..3usize, proptest::option::of(0..60u32)).prop_map(
            |(a, b, k, day)| {
                let (low, high) = match b {
                    Some(b) => (a.min(b), Some(a.max(b))),
                    None => (a, None),
                };
                Report {
                    count: CountRange::new(low, high).unwrap(),
                    kind: ReportedCountKind::ALL[k],
                    on: day.map(|d| NaiveDate::from_ymd_opt(2025, 1, 1).unwrap() + chrono::Days::new(u64::from(d))),
                }
            },
        )
    }

    proptest! {
        #[test]
        fn the_reported_range_holds_every_count_and_low_never_exceeds_high(
            reports in proptest::collection::vec(any_report(), 0..12)
        ) {
            let counts: Vec<&Report> = reports.iter().filter(|r| r.kind == ReportedCountKind::Count).collect();
            match summarize(&reports) {
                None => prop_assert!(counts.is_empty()),
                Some(s) => {
                    if let Some(h) = s.range.high() {
                        prop_assert!(s.range.low() <= h);
                    }
                    for r in &counts {
                        prop_assert!(s.range.low() <= r.count.low());
                        match (s.range.high(), r.count.high()) {
                            (Some(h), Some(rh)) => prop_assert!(rh <= h),
                            (Some(h), None) => prop_assert!(r.count.low() <= h),
                            (None, _) => {}
                        }
                    }
                    if let Some(i) = s.latest {
                        prop_assert_eq!(reports[i].kind, ReportedCountKind::Count);
                        prop_assert!(counts.iter().all(|r| r.on <= reports[i].on));
                    }
                }
            }
        }
    }
}
