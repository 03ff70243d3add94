//! A commitment's status over time: which status is current, and which changes are
//! corrections of the record rather than news.
//!
//! - The current status is the latest by effective date; among changes of one day (or
//!   undated ones, which come before every dated one) the one written last. So a status
//!   written later but dated earlier never hides a later one, and `totals()` agrees with
//!   `totals(asOf: today)`.
//! - A change is a *correction* when it is dated before a change already recorded
//!   (back-dated), or when it takes a commitment out of WITHDRAWN or DELIVERED, which end a
//!   commitment's life. A correction is accepted only with a note saying why, and the
//!   history shows it as one.

use chrono::NaiveDate;

use super::{FieldError, kinds::CommitmentStatus, records::StatusRecord};

/// One change of a history, in write order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Change {
    pub status: CommitmentStatus,
    pub effective_on: Option<NaiveDate>,
}

/// The position of a change in time: undated first, then by date, then by write order.
fn when(history: &[Change], i: usize) -> (Option<NaiveDate>, usize) {
    (history[i].effective_on, i)
}

/// The current status: the latest change by effective date (ties: the last written).
pub fn current(history: &[Change]) -> Option<CommitmentStatus> {
    (0..history.len()).max_by_key(|&i| when(history, i)).map(|i| history[i].status)
}

/// Whether a status ends a commitment's life.
fn is_final(status: CommitmentStatus) -> bool {
    matches!(status, CommitmentStatus::Withdrawn | CommitmentStatus::Delivered)
}

/// Whether the change at `index` corrects the record: dated before a change written
/// earlier, or leaving a final status that was in force on its date.
pub fn is_correction(history: &[Change], index: usize) -> bool {
    let change = history[index];
    let earlier = &history[..index];
    let back_dated = earlier.iter().any(|c| c.effective_on > change.effective_on);
    // The status in force just before it, among the changes written before it.
    let before = (0..earlier.len())
        .filter(|&i| earlier[i].effective_on <= change.effective_on)
        .max_by_key(|&i| when(earlier, i));
    let reopens = before.is_some_and(|i| is_final(earlier[i].status) && !is_final(change.status));
    back_dated || reopens
}

/// The changes of recorded status rows, in their order.
pub fn changes_of(records: &[StatusRecord]) -> Result<Vec<Change>, FieldError> {
    records
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let valid = r.validate().map_err(|e| e.within(&format!("statusHistory[{i}]")))?;
            Ok(Change { status: valid.status, effective_on: valid.effective_on })
        })
        .collect()
}

/// Checks a change about to be appended to `history`: a correction needs a note.
pub fn check_append(history: &[Change], next: Change, note: Option<&str>) -> Result<(), FieldError> {
    let mut all = history.to_vec();
    all.push(next);
    if is_correction(&all, history.len()) && note.is_none_or(|n| n.trim().is_empty()) {
        return Err(FieldError::new(
            "note",
            "this change corrects the record (it is dated before a recorded change, or reopens a \
             withdrawn or delivered commitment): say why in a note",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn day(d: u32) -> Option<NaiveDate> {
        NaiveDate::from_ymd_opt(2025, 1, 1).map(|s| s + chrono::Days::new(u64::from(d)))
    }

    fn change(status: CommitmentStatus, d: Option<u32>) -> Change {
        Change { status, effective_on: d.and_then(day) }
    }

    #[test]
    fn the_latest_by_effective_date_is_current_whatever_the_write_order() {
        use CommitmentStatus::*;
        // Prologis: IN_PROGRESS (June), WITHDRAWN (September), then ANNOUNCED back-dated to March.
        let history = [change(InProgress, Some(151)), change(Withdrawn, Some(243)), change(Announced, Some(59))];
        assert_eq!(current(&history), Some(Withdrawn));
        assert!(!is_correction(&history, 0));
        assert!(!is_correction(&history, 1));
        assert!(is_correction(&history, 2));
        assert!(check_append(&history[..2], history[2], None).is_err());
        assert!(check_append(&history[..2], history[2], Some("the March filing was missed")).is_ok());
    }

    #[test]
    fn reopening_a_withdrawn_commitment_is_a_correction_and_ties_go_to_the_last_written() {
        use CommitmentStatus::*;
        let history = [change(Announced, Some(10)), change(Withdrawn, Some(20)), change(Announced, Some(30))];
        assert!(is_correction(&history, 2));
        assert_eq!(current(&history), Some(Announced));
        let same_day = [change(Announced, Some(10)), change(InProgress, Some(10))];
        assert_eq!(current(&same_day), Some(InProgress));
        assert!(!is_correction(&same_day, 1));
        let undated = [change(Announced, None), change(Confirmed, Some(1))];
        assert_eq!(current(&undated), Some(Confirmed));
    }

    fn statuses() -> impl Strategy<Value = Vec<Change>> {
        let status = prop::sample::select(CommitmentStatus::ALL.to_vec());
        prop::collection::vec((status, prop::option::of(0u32..40)), 1..8)
            .prop_map(|v| v.into_iter().map(|(s, d)| change(s, d)).collect())
    }

    proptest! {
        /// The current status never depends on the order in which changes of distinct
        /// dates were written, and writing in date order makes no back-dated correction.
        #[test]
        fn current_is_the_latest_by_date(history in statuses()) {
            let mut sorted: Vec<(usize, Change)> = history.iter().copied().enumerate().collect();
            sorted.sort_by_key(|(i, c)| (c.effective_on, *i));
            let in_date_order: Vec<Change> = sorted.iter().map(|(_, c)| *c).collect();
            prop_assert_eq!(current(&history), current(&in_date_order));
            for i in 0..in_date_order.len() {
                let back_dated = in_date_order[..i].iter().any(|c| c.effective_on > in_date_order[i].effective_on);
                prop_assert!(!back_dated);
            }
        }
    }
}
