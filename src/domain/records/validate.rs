//! The one validation of each record, shared by imports and mutations: every field
//! checked and named in its error.

use std::str::FromStr;

use chrono::NaiveDate;
use rust_decimal::Decimal;

use super::*;
use crate::domain::{
    FieldError,
    codes::{CountryCode, CurrencyCode, check_language},
    kinds::{
        ActorKind, CoalitionKind, CommitmentKind, CommitmentRelation, CommitmentStatus, EventKind, ReportedCountKind,
        Stance,
    },
    money::{AmountRange, Money},
    reported::CountRange,
    status::{Change, current},
    text::{check_free_text, check_line, check_slug, check_url},
};

/// Parses an ISO date (`YYYY-MM-DD`) between [`MIN_YEAR`] and [`MAX_YEAR`].
pub fn parse_date(field: &str, raw: &str) -> Result<NaiveDate, FieldError> {
    let date = NaiveDate::parse_from_str(raw, "%Y-%m-%d")
        .map_err(|_| FieldError::new(field, format!("{raw:?} is not a date in the form YYYY-MM-DD")))?;
    check_year(field, chrono::Datelike::year(&date))?;
    Ok(date)
}

fn check_year(field: &str, year: i32) -> Result<i32, FieldError> {
    if (MIN_YEAR..=MAX_YEAR).contains(&year) {
        Ok(year)
    } else {
        Err(FieldError::new(field, format!("{year} is outside {MIN_YEAR}–{MAX_YEAR}")))
    }
}

/// Parses an exact decimal given as text (never through a float).
pub fn parse_decimal(field: &str, raw: &str) -> Result<Decimal, FieldError> {
    let well_formed = !raw.is_empty()
        && raw.bytes().all(|b| b.is_ascii_digit() || b == b'.' || b == b'-')
        && raw.bytes().filter(|&b| b == b'.').count() <= 1;
    well_formed
        .then(|| Decimal::from_str(raw).ok())
        .flatten()
        .ok_or_else(|| FieldError::new(field, format!("{raw:?} is not a decimal number such as 1500000.50")))
}

fn opt_date(field: &str, raw: &Option<String>) -> Result<Option<NaiveDate>, FieldError> {
    raw.as_deref().map(|r| parse_date(field, r)).transpose()
}

fn opt_country(field: &str, raw: &Option<String>) -> Result<Option<CountryCode>, FieldError> {
    raw.as_deref().map(|r| CountryCode::parse(field, r)).transpose()
}

fn opt_line(field: &str, raw: &Option<String>) -> Result<Option<String>, FieldError> {
    raw.as_deref().map(|r| check_line(field, r, MAX_NAME_LEN).map(|()| r.to_owned())).transpose()
}

fn opt_text(field: &str, raw: &Option<String>) -> Result<Option<String>, FieldError> {
    raw.as_deref().map(|r| check_free_text(field, r, MAX_TEXT_LEN).map(|()| r.to_owned())).transpose()
}

fn opt_slug(field: &str, raw: &Option<String>) -> Result<Option<String>, FieldError> {
    raw.as_deref().map(|r| check_slug(field, r).map(|()| r.to_owned())).transpose()
}

fn opt_year(field: &str, raw: Option<i32>) -> Result<Option<i32>, FieldError> {
    raw.map(|y| check_year(field, y)).transpose()
}

/// Sources must be given (at least one) and be slugs.
fn sources(raw: &[String], required: bool) -> Result<Vec<String>, FieldError> {
    if required && raw.is_empty() {
        return Err(FieldError::new(
            "sources",
            "at least one source is required: a figure without a source is not recorded",
        ));
    }
    for (i, slug) in raw.iter().enumerate() {
        check_slug(&format!("sources[{i}]"), slug)?;
    }
    Ok(raw.to_vec())
}

fn money(low: &Option<String>, high: &Option<String>, currency: &str) -> Result<Money, FieldError> {
    let currency = CurrencyCode::parse("currency", currency)?;
    let low = low.as_deref().map(|r| parse_decimal("amountLow", r)).transpose()?;
    let high = high.as_deref().map(|r| parse_decimal("amountHigh", r)).transpose()?;
    let money = Money { range: AmountRange::new("amount", low, high)?, currency };
    money.to_minor("amount")?;
    Ok(money)
}

impl SourceRecord {
    /// Checks a source.
    pub fn validate(&self) -> Result<ValidSource, FieldError> {
        check_slug("slug", &self.slug)?;
        check_url("url", &self.url)?;
        check_line("publisher", &self.publisher, MAX_NAME_LEN)?;
        check_line("title", &self.title, MAX_NAME_LEN)?;
        if let Some(published) = &self.published_on {
            let ok = [
                ("%Y-%m-%d", published.clone()),
                ("%Y-%m-%d", format!("{published}-01")),
                ("%Y-%m-%d", format!("{published}-01-01")),
            ]
            .iter()
            .zip([10, 7, 4])
            .any(|((fmt, padded), len)| published.len() == len && NaiveDate::parse_from_str(padded, fmt).is_ok());
            if !ok {
                return Err(FieldError::new(
                    "publishedOn",
                    format!("{published:?} is not YYYY, YYYY-MM or YYYY-MM-DD"),
                ));
            }
        }
        if let Some(language) = &self.language {
            check_language("language", language)?;
        }
        opt_text("quote", &self.quote)?;
        Ok(ValidSource(self.clone()))
    }
}

impl ActorRecord {
    /// Checks an actor.
    pub fn validate(&self) -> Result<ValidActor, FieldError> {
        check_slug("slug", &self.slug)?;
        check_line("name", &self.name, MAX_NAME_LEN)?;
        for (i, alias) in self.aliases.iter().enumerate() {
            check_line(&format!("aliases[{i}]"), alias, MAX_NAME_LEN)?;
        }
        Ok(ValidActor {
            slug: self.slug.clone(),
            name: self.name.clone(),
            kind: ActorKind::parse("kind", &self.kind)?,
            country: opt_country("country", &self.country)?,
            aliases: self.aliases.clone(),
            sources: sources(&self.sources, false)?,
        })
    }
}

impl EventRecord {
    /// Checks an event.
    pub fn validate(&self) -> Result<ValidEvent, FieldError> {
        check_slug("slug", &self.slug)?;
        check_line("name", &self.name, MAX_NAME_LEN)?;
        let start_date = opt_date("startDate", &self.start_date)?;
        let end_date = opt_date("endDate", &self.end_date)?;
        if let (Some(start), Some(end)) = (start_date, end_date)
            && end < start
        {
            return Err(FieldError::new("endDate", format!("{end} is before the start date {start}")));
        }
        Ok(ValidEvent {
            slug: self.slug.clone(),
            name: self.name.clone(),
            kind: EventKind::parse("kind", &self.kind)?,
            city: opt_line("city", &self.city)?,
            country: opt_country("country", &self.country)?,
            start_date,
            end_date,
            series: match &self.series {
                Some(series) => {
                    check_slug("series", series)?;
                    Some(series.clone())
                }
                None => None,
            },
            name_fr: opt_line("nameFr", &self.name_fr)?,
            sources: sources(&self.sources, false)?,
        })
    }
}

impl CommitmentRecord {
    /// Checks a commitment: codes, range, dates, the relation to its parent, its sources
    /// and its status history.
    pub fn validate(&self) -> Result<ValidCommitment, FieldError> {
        check_slug("slug", &self.slug)?;
        check_line("title", &self.title, MAX_NAME_LEN)?;
        check_slug("pledger", &self.pledger)?;
        let money = money(&self.amount_low, &self.amount_high, &self.currency)?;
        if self.amount_disputed && money.range.high().is_none() {
            return Err(FieldError::new(
                "amountDisputed",
                "a disputed amount needs the reported figures in amountLow/amountHigh",
            ));
        }
        let relation = self.relation.as_deref().map(|r| CommitmentRelation::parse("relation", r)).transpose()?;
        let parent = opt_slug("parent", &self.parent)?;
        match (relation, &parent) {
            (Some(r), None) if r.needs_parent() => {
                return Err(FieldError::new("parent", format!("relation {} needs a parent commitment", r.as_str())));
            }
            (Some(CommitmentRelation::TowardsTarget), Some(_)) => {
                return Err(FieldError::new(
                    "parent",
                    "TOWARDS_TARGET counts towards the beneficiary's target and takes no parent",
                ));
            }
            (None, Some(_)) => return Err(FieldError::new("relation", "is required with a parent")),
            _ => {}
        }
        if parent.as_deref() == Some(self.slug.as_str()) {
            return Err(FieldError::new("parent", "a commitment cannot be its own parent"));
        }
        if relation == Some(CommitmentRelation::TowardsTarget) && self.beneficiary.is_none() {
            return Err(FieldError::new(
                "beneficiary",
                "TOWARDS_TARGET needs the beneficiary whose target it counts towards",
            ));
        }
        let status_history: Vec<ValidStatus> = self
            .status_history
            .iter()
            .enumerate()
            .map(|(i, s)| s.validate().map_err(|e| e.within(&format!("statusHistory[{i}]"))))
            .collect::<Result<_, _>>()?;
        let status = CommitmentStatus::parse("status", &self.status)?;
        let changes: Vec<Change> =
            status_history.iter().map(|s| Change { status: s.status, effective_on: s.effective_on }).collect();
        if let Some(latest) = current(&changes)
            && latest != status
        {
            return Err(FieldError::new(
                "status",
                format!(
                    "is {}, but the latest change of its status history (by effective date) is {}",
                    status.as_str(),
                    latest.as_str()
                ),
            ));
        }
        Ok(ValidCommitment {
            slug: self.slug.clone(),
            title: self.title.clone(),
            pledger: self.pledger.clone(),
            event: opt_slug("event", &self.event)?,
            beneficiary: opt_slug("beneficiary", &self.beneficiary)?,
            announced_on: opt_date("announcedOn", &self.announced_on)?,
            money,
            recipient_country: opt_country("recipientCountry", &self.recipient_country)?,
            sector: opt_line("sector", &self.sector)?,
            horizon_year: opt_year("horizonYear", self.horizon_year)?,
            kind: CommitmentKind::parse("kind", &self.kind)?,
            status,
            amount_disputed: self.amount_disputed,
            parent,
            relation,
            notes: opt_text("notes", &self.notes)?,
            sources: sources(&self.sources, true)?,
            status_history,
            retraction: self
                .retraction
                .as_ref()
                .map(|r| {
                    check_free_text("reason", &r.reason, MAX_TEXT_LEN)?;
                    if r.reason.trim().is_empty() {
                        return Err(FieldError::new("reason", "must not be empty"));
                    }
                    Ok(ValidRetraction {
                        reason: r.reason.clone(),
                        retracted_on: opt_date("retractedOn", &r.retracted_on)?,
                        sources: sources(&r.sources, true)?,
                    })
                })
                .transpose()
                .map_err(|e| e.within("retraction"))?,
        })
    }
}

impl StatusRecord {
    /// Checks a status change.
    pub fn validate(&self) -> Result<ValidStatus, FieldError> {
        Ok(ValidStatus {
            status: CommitmentStatus::parse("status", &self.status)?,
            effective_on: opt_date("effectiveOn", &self.effective_on)?,
            note: opt_text("note", &self.note)?,
            sources: sources(&self.sources, true)?,
        })
    }
}

impl TargetRecord {
    /// Checks a fundraising target.
    pub fn validate(&self) -> Result<ValidTarget, FieldError> {
        check_slug("actor", &self.actor)?;
        Ok(ValidTarget {
            actor: self.actor.clone(),
            money: money(&self.amount_low, &self.amount_high, &self.currency)?,
            horizon_year: opt_year("horizonYear", self.horizon_year)?,
            notes: opt_text("notes", &self.notes)?,
            sources: sources(&self.sources, true)?,
        })
    }
}

impl OverlapRecord {
    /// Checks an overlap.
    pub fn validate(&self) -> Result<ValidOverlap, FieldError> {
        check_slug("later", &self.later)?;
        let earlier = opt_slug("earlier", &self.earlier)?;
        if earlier.as_deref() == Some(self.later.as_str()) {
            return Err(FieldError::new("earlier", "a commitment cannot overlap itself"));
        }
        Ok(ValidOverlap {
            later: self.later.clone(),
            earlier,
            money: money(&self.amount_low, &self.amount_high, &self.currency)?,
            note: opt_text("note", &self.note)?,
            sources: sources(&self.sources, true)?,
        })
    }
}

impl CoalitionRecord {
    /// Checks a coalition.
    pub fn validate(&self) -> Result<ValidCoalition, FieldError> {
        check_slug("slug", &self.slug)?;
        check_line("name", &self.name, MAX_NAME_LEN)?;
        Ok(ValidCoalition {
            slug: self.slug.clone(),
            name: self.name.clone(),
            kind: CoalitionKind::parse("kind", &self.kind)?,
            launched_on: opt_date("launchedOn", &self.launched_on)?,
            event: opt_slug("event", &self.event)?,
            name_fr: opt_line("nameFr", &self.name_fr)?,
            sources: sources(&self.sources, false)?,
        })
    }
}

impl SignatureRecord {
    /// Checks a signature.
    pub fn validate(&self) -> Result<ValidSignature, FieldError> {
        check_slug("coalition", &self.coalition)?;
        check_slug("actor", &self.actor)?;
        let stance = Stance::parse("stance", &self.stance)?;
        if self.initiator && stance != Stance::Signed {
            return Err(FieldError::new("initiator", "only a signatory can be an initiator"));
        }
        Ok(ValidSignature {
            coalition: self.coalition.clone(),
            actor: self.actor.clone(),
            stance,
            initiator: self.initiator,
            signed_on: opt_date("signedOn", &self.signed_on)?,
            sources: sources(&self.sources, true)?,
            notes: opt_text("notes", &self.notes)?,
        })
    }
}

impl ReportedCountRecord {
    /// Checks a reported count: a count needs its words and a source.
    pub fn validate(&self) -> Result<ValidReportedCount, FieldError> {
        check_slug("coalition", &self.coalition)?;
        check_line("wording", &self.wording, MAX_NAME_LEN)?;
        Ok(ValidReportedCount {
            coalition: self.coalition.clone(),
            reported_on: opt_date("reportedOn", &self.reported_on)?,
            count: CountRange::new(self.count_low, self.count_high)?,
            kind: ReportedCountKind::parse("kind", &self.kind)?,
            wording: self.wording.clone(),
            note: opt_text("note", &self.note)?,
            sources: sources(&self.sources, true)?,
        })
    }
}

impl ClaimRecord {
    /// Checks a claim: it names who claims what, with a source; a preferred claim says why.
    pub fn validate(&self) -> Result<ValidClaim, FieldError> {
        check_slug("slug", &self.slug)?;
        check_slug("commitment", &self.commitment)?;
        check_line("claimant", &self.claimant, MAX_NAME_LEN)?;
        let reason = opt_text("reason", &self.reason)?;
        if self.preferred && reason.is_none() {
            return Err(FieldError::new("reason", "a preferred claim says why it is preferred"));
        }
        Ok(ValidClaim {
            slug: self.slug.clone(),
            commitment: self.commitment.clone(),
            claimant: self.claimant.clone(),
            claimed_on: opt_date("claimedOn", &self.claimed_on)?,
            money: money(&self.amount_low, &self.amount_high, &self.currency)?,
            preferred: self.preferred,
            reason,
            notes: opt_text("notes", &self.notes)?,
            sources: sources(&self.sources, true)?,
        })
    }
}

impl RateRecord {
    /// Checks an exchange rate.
    pub fn validate(&self) -> Result<ValidRate, FieldError> {
        let rate = parse_decimal("rate", &self.rate)?;
        if rate <= Decimal::ZERO {
            return Err(FieldError::new("rate", "must be positive"));
        }
        let base = CurrencyCode::parse("base", &self.base)?;
        if base.as_str() != crate::domain::fx::EURO {
            return Err(FieldError::new("base", "must be EUR: totals convert with the ECB euro reference rates"));
        }
        let quote = CurrencyCode::parse("quote", &self.quote)?;
        if base == quote {
            return Err(FieldError::new("quote", "must differ from the base currency"));
        }
        Ok(ValidRate {
            date: parse_date("date", &self.date)?,
            base,
            quote,
            rate,
            sources: sources(&self.sources, false)?,
        })
    }
}
