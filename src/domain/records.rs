//! The records pledgewatch reads and writes (its import format), and the one validation
//! entry point per record type that imports and mutations share.
//!
//! Records hold raw text as given, so that every bad value is reported against its field
//! instead of failing the whole file; `validate` turns a record into its typed, checked form.
//! Checks that need the database (references exist, slugs are free, no cycles) are made by
//! the storage layer on top of these.

use std::str::FromStr;

use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::{
    FieldError,
    codes::{CountryCode, CurrencyCode, check_language},
    kinds::{ActorKind, CoalitionKind, CommitmentKind, CommitmentRelation, CommitmentStatus, EventKind, Stance},
    money::{AmountRange, Money},
    text::{check_free_text, check_line, check_slug, check_url},
};

/// The format tag of a data set file.
pub const FORMAT: &str = "pledgewatch/1";
/// Longest name or title.
pub const MAX_NAME_LEN: usize = 300;
/// Longest free text (notes, quotes).
pub const MAX_TEXT_LEN: usize = 10_000;
/// Earliest date accepted anywhere.
pub const MIN_YEAR: i32 = 1990;
/// Latest year accepted anywhere (horizons reach far, but not further).
pub const MAX_YEAR: i32 = 2100;

/// A whole data set: what `import` reads and `export` writes.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DataSet {
    /// Always [`FORMAT`].
    pub format: String,
    /// Where the data set comes from and how it was mapped.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default)]
    pub sources: Vec<SourceRecord>,
    #[serde(default)]
    pub actors: Vec<ActorRecord>,
    #[serde(default)]
    pub events: Vec<EventRecord>,
    #[serde(default)]
    pub commitments: Vec<CommitmentRecord>,
    #[serde(default)]
    pub fundraising_targets: Vec<TargetRecord>,
    #[serde(default)]
    pub overlaps: Vec<OverlapRecord>,
    #[serde(default)]
    pub coalitions: Vec<CoalitionRecord>,
    #[serde(default)]
    pub signatures: Vec<SignatureRecord>,
    #[serde(default)]
    pub exchange_rates: Vec<RateRecord>,
}

/// A public source.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SourceRecord {
    pub slug: String,
    pub url: String,
    pub publisher: String,
    pub title: String,
    /// `YYYY`, `YYYY-MM` or `YYYY-MM-DD`.
    #[serde(default)]
    pub published_on: Option<String>,
    #[serde(default)]
    pub language: Option<String>,
    #[serde(default)]
    pub quote: Option<String>,
}

/// An actor.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ActorRecord {
    pub slug: String,
    pub name: String,
    pub kind: String,
    #[serde(default)]
    pub country: Option<String>,
    #[serde(default)]
    pub aliases: Vec<String>,
    pub sources: Vec<String>,
}

/// An event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EventRecord {
    pub slug: String,
    pub name: String,
    pub kind: String,
    #[serde(default)]
    pub city: Option<String>,
    #[serde(default)]
    pub country: Option<String>,
    #[serde(default)]
    pub start_date: Option<String>,
    #[serde(default)]
    pub end_date: Option<String>,
    pub sources: Vec<String>,
}

/// A commitment, with its status history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CommitmentRecord {
    pub slug: String,
    pub title: String,
    pub pledger: String,
    #[serde(default)]
    pub event: Option<String>,
    #[serde(default)]
    pub beneficiary: Option<String>,
    #[serde(default)]
    pub announced_on: Option<String>,
    /// Decimal text in currency units; absent for "up to X" and unquantified pledges.
    #[serde(default)]
    pub amount_low: Option<String>,
    /// Decimal text in currency units; absent for unquantified pledges.
    #[serde(default)]
    pub amount_high: Option<String>,
    pub currency: String,
    #[serde(default)]
    pub recipient_country: Option<String>,
    #[serde(default)]
    pub sector: Option<String>,
    #[serde(default)]
    pub horizon_year: Option<i32>,
    pub kind: String,
    pub status: String,
    #[serde(default)]
    pub amount_disputed: bool,
    #[serde(default)]
    pub parent: Option<String>,
    #[serde(default)]
    pub relation: Option<String>,
    #[serde(default)]
    pub notes: Option<String>,
    pub sources: Vec<String>,
    #[serde(default)]
    pub status_history: Vec<StatusRecord>,
    /// Set when the tracker retracted the figure (published in error, or unsupported by its
    /// sources): the record stays, totals leave it out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retraction: Option<RetractionRecord>,
}

/// Why and when a figure was retracted, with the source that shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RetractionRecord {
    pub reason: String,
    #[serde(default)]
    pub retracted_on: Option<String>,
    pub sources: Vec<String>,
}

/// One status a commitment had from a date on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StatusRecord {
    pub status: String,
    #[serde(default)]
    pub effective_on: Option<String>,
    #[serde(default)]
    pub note: Option<String>,
    pub sources: Vec<String>,
}

/// A beneficiary's fundraising target.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TargetRecord {
    pub actor: String,
    #[serde(default)]
    pub amount_low: Option<String>,
    #[serde(default)]
    pub amount_high: Option<String>,
    pub currency: String,
    #[serde(default)]
    pub horizon_year: Option<i32>,
    #[serde(default)]
    pub notes: Option<String>,
    pub sources: Vec<String>,
}

/// Money that a later commitment presents again from an earlier one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OverlapRecord {
    pub later: String,
    pub earlier: String,
    #[serde(default)]
    pub amount_low: Option<String>,
    #[serde(default)]
    pub amount_high: Option<String>,
    pub currency: String,
    #[serde(default)]
    pub note: Option<String>,
    pub sources: Vec<String>,
}

/// A coalition or declaration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CoalitionRecord {
    pub slug: String,
    pub name: String,
    pub kind: String,
    #[serde(default)]
    pub launched_on: Option<String>,
    #[serde(default)]
    pub event: Option<String>,
    pub sources: Vec<String>,
}

/// An actor's stance on a coalition.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignatureRecord {
    pub coalition: String,
    pub actor: String,
    pub stance: String,
    /// Signed as an initiator or co-lead.
    #[serde(default)]
    pub initiator: bool,
    #[serde(default)]
    pub signed_on: Option<String>,
    pub sources: Vec<String>,
}

/// An exchange rate: `rate` units of `quote` per 1 `base`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RateRecord {
    pub date: String,
    pub base: String,
    pub quote: String,
    pub rate: String,
    #[serde(default)]
    pub sources: Vec<String>,
}

/// A checked source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidSource(pub SourceRecord);

/// A checked actor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidActor {
    pub slug: String,
    pub name: String,
    pub kind: ActorKind,
    pub country: Option<CountryCode>,
    pub aliases: Vec<String>,
    pub sources: Vec<String>,
}

/// A checked event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidEvent {
    pub slug: String,
    pub name: String,
    pub kind: EventKind,
    pub city: Option<String>,
    pub country: Option<CountryCode>,
    pub start_date: Option<NaiveDate>,
    pub end_date: Option<NaiveDate>,
    pub sources: Vec<String>,
}

/// A checked commitment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidCommitment {
    pub slug: String,
    pub title: String,
    pub pledger: String,
    pub event: Option<String>,
    pub beneficiary: Option<String>,
    pub announced_on: Option<NaiveDate>,
    pub money: Money,
    pub recipient_country: Option<CountryCode>,
    pub sector: Option<String>,
    pub horizon_year: Option<i32>,
    pub kind: CommitmentKind,
    pub status: CommitmentStatus,
    pub amount_disputed: bool,
    pub parent: Option<String>,
    pub relation: Option<CommitmentRelation>,
    pub notes: Option<String>,
    pub sources: Vec<String>,
    pub status_history: Vec<ValidStatus>,
    pub retraction: Option<ValidRetraction>,
}

/// A checked retraction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidRetraction {
    pub reason: String,
    pub retracted_on: Option<NaiveDate>,
    pub sources: Vec<String>,
}

/// A checked status change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidStatus {
    pub status: CommitmentStatus,
    pub effective_on: Option<NaiveDate>,
    pub note: Option<String>,
    pub sources: Vec<String>,
}

/// A checked fundraising target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidTarget {
    pub actor: String,
    pub money: Money,
    pub horizon_year: Option<i32>,
    pub notes: Option<String>,
    pub sources: Vec<String>,
}

/// A checked overlap.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidOverlap {
    pub later: String,
    pub earlier: String,
    pub money: Money,
    pub note: Option<String>,
    pub sources: Vec<String>,
}

/// A checked coalition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidCoalition {
    pub slug: String,
    pub name: String,
    pub kind: CoalitionKind,
    pub launched_on: Option<NaiveDate>,
    pub event: Option<String>,
    pub sources: Vec<String>,
}

/// A checked signature.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidSignature {
    pub coalition: String,
    pub actor: String,
    pub stance: Stance,
    pub initiator: bool,
    pub signed_on: Option<NaiveDate>,
    pub sources: Vec<String>,
}

/// A checked exchange rate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidRate {
    pub date: NaiveDate,
    pub base: CurrencyCode,
    pub quote: CurrencyCode,
    pub rate: Decimal,
    pub sources: Vec<String>,
}

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
        let status_history = self
            .status_history
            .iter()
            .enumerate()
            .map(|(i, s)| s.validate().map_err(|e| e.within(&format!("statusHistory[{i}]"))))
            .collect::<Result<_, _>>()?;
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
            status: CommitmentStatus::parse("status", &self.status)?,
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
        check_slug("earlier", &self.earlier)?;
        if self.later == self.earlier {
            return Err(FieldError::new("earlier", "a commitment cannot overlap itself"));
        }
        Ok(ValidOverlap {
            later: self.later.clone(),
            earlier: self.earlier.clone(),
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

#[cfg(test)]
mod tests {
    use super::*;

    fn commitment() -> CommitmentRecord {
        CommitmentRecord {
            slug: "uae-campus".into(),
            title: "UAE campus".into(),
            pledger: "united-arab-emirates".into(),
            event: Some("ai-action-summit-2025".into()),
            beneficiary: None,
            announced_on: Some("2025-02-06".into()),
            amount_low: Some("30000000000".into()),
            amount_high: Some("50000000000".into()),
            currency: "EUR".into(),
            recipient_country: Some("FR".into()),
            sector: None,
            horizon_year: None,
            kind: "INVESTMENT".into(),
            status: "ANNOUNCED".into(),
            amount_disputed: false,
            parent: Some("fr-ai-investment-109bn".into()),
            relation: Some("PART_OF".into()),
            notes: None,
            sources: vec!["dcd-uae-1gw".into()],
            status_history: vec![],
            retraction: None,
        }
    }

    #[test]
    fn a_good_commitment_validates() {
        let valid = commitment().validate().unwrap();
        assert_eq!(valid.money.range.low().unwrap().to_string(), "30000000000");
        assert_eq!(valid.relation, Some(CommitmentRelation::PartOf));
    }

    #[test]
    fn each_broken_field_is_named() {
        type Breaker = fn(&mut CommitmentRecord);
        let cases: &[(&str, Breaker)] = &[
            ("sources", |c| c.sources.clear()),
            ("currency", |c| c.currency = "EURO".into()),
            ("recipientCountry", |c| c.recipient_country = Some("XX".into())),
            ("amountLow", |c| c.amount_low = Some("60000000000".into())),
            ("amountLow", |c| c.amount_low = Some("1e9".into())),
            ("amountHigh", |c| {
                c.amount_low = None;
                c.amount_high = Some("0.001".into());
            }),
            ("announcedOn", |c| c.announced_on = Some("1989-12-31".into())),
            ("announcedOn", |c| c.announced_on = Some("2025-02-30".into())),
            ("horizonYear", |c| c.horizon_year = Some(2500)),
            ("relation", |c| c.relation = None),
            ("parent", |c| c.parent = None),
            ("parent", |c| c.parent = Some("uae-campus".into())),
            ("slug", |c| c.slug = "UAE Campus".into()),
            ("title", |c| c.title = "bad\u{0}title".into()),
            ("status", |c| c.status = "LEAD".into()),
            ("beneficiary", |c| {
                c.parent = None;
                c.relation = Some("TOWARDS_TARGET".into());
            }),
        ];
        for (field, breaker) in cases {
            let mut record = commitment();
            breaker(&mut record);
            let err = record.validate().unwrap_err();
            assert_eq!(err.field, *field, "expected an error on {field}, got {err}");
        }
    }

    #[test]
    fn sources_need_http_urls_and_sensible_dates() {
        let source = SourceRecord {
            slug: "afp".into(),
            url: "https://www.afp.com/x".into(),
            publisher: "AFP".into(),
            title: "T".into(),
            published_on: Some("2025-02".into()),
            language: Some("fr".into()),
            quote: None,
        };
        assert!(source.validate().is_ok());
        let bad_month = SourceRecord { published_on: Some("2025-13".into()), ..source.clone() };
        assert_eq!(bad_month.validate().unwrap_err().field, "publishedOn");
        let bad_url = SourceRecord { url: "github:x/y".into(), ..source };
        assert_eq!(bad_url.validate().unwrap_err().field, "url");
    }
}
