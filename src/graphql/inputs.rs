//! Inputs shared by several areas of the schema: the commitments filter (queries, totals,
//! subscriptions, and the exports' URL parameters), the actors filter, page sizes and lists
//! of country codes. Each converts once into what storage takes, naming the field of any
//! bad value.

use async_graphql::{Context, InputObject};

use super::{
    ContextExt,
    scalars::{Date, Decimal},
    types::{ActorKind, CommitmentKind, CommitmentRelation, CommitmentStatus},
};
use crate::{
    domain::{
        FieldError,
        codes::{CurrencyCode, country_codes},
        text,
    },
    error::ApiError,
    storage::read::{CommitmentFilter, Window},
};

/// Checks `first` against the page-size limits.
pub(crate) fn page_size(ctx: &Context<'_>, first: Option<i32>) -> Result<u64, ApiError> {
    let limits = ctx.limits();
    checked_size("first", first, limits.default_page_size, limits.max_page_size)
}

/// A page size under `field`: `default` when not given, refused above `max`.
fn checked_size(field: &str, size: Option<i32>, default: u32, max: u32) -> Result<u64, ApiError> {
    let size = size.unwrap_or(default as i32);
    if size < 0 {
        return Err(FieldError::new(field, "must not be negative").into());
    }
    if size as u32 > max {
        return Err(FieldError::new(field, format!("{size} is above the page-size limit of {max}")).into());
    }
    Ok(size as u64)
}

/// Relay's page arguments as a window: `first` rows after `after`, or `last` rows before
/// `before` (the two directions do not mix). Sizes default to `default` and stop at `max`.
pub(crate) fn window<'a>(
    first: Option<i32>,
    after: Option<&'a str>,
    last: Option<i32>,
    before: Option<&'a str>,
    (default, max): (u32, u32),
) -> Result<Window<'a>, ApiError> {
    if last.is_some() || before.is_some() {
        if first.is_some() {
            return Err(FieldError::new("last", "cannot be used with first: ask one direction at a time").into());
        }
        if after.is_some() {
            return Err(FieldError::new("after", "goes with first; with last, page with before").into());
        }
        return Ok(Window::Last { size: checked_size("last", last, default, max)?, before });
    }
    Ok(Window::First { size: checked_size("first", first, default, max)?, after })
}

/// The configured default and largest page sizes.
pub(crate) fn page_limits(ctx: &Context<'_>) -> (u32, u32) {
    let limits = ctx.limits();
    (limits.default_page_size, limits.max_page_size)
}

/// Ordering of the commitments list.
#[derive(async_graphql::Enum, Clone, Copy, PartialEq, Eq, Default)]
pub enum CommitmentOrderBy {
    /// Newest announcement first; unknown dates last.
    #[default]
    AnnouncedOnDesc,
    /// Oldest announcement first; unknown dates last.
    AnnouncedOnAsc,
    /// Alphabetical by title.
    TitleAsc,
    /// Last written first (`updatedAt`), for "what changed lately".
    UpdatedAtDesc,
}

/// Filters on commitments. All given filters must hold; an omitted or empty list does not
/// filter.
#[derive(InputObject, Default)]
#[graphql(name = "CommitmentFilter")]
pub struct CommitmentFilterInput {
    /// Announced at one of these events (slugs).
    pub events: Option<Vec<String>>,
    /// Pledged by one of these actors (slugs).
    pub pledgers: Option<Vec<String>>,
    /// Pledged by an actor of one of these kinds.
    pub pledger_kinds: Option<Vec<ActorKind>>,
    /// Pledged by an actor of one of these countries (ISO 3166-1 alpha-2).
    pub pledger_countries: Option<Vec<String>>,
    /// For one of these beneficiaries (slugs).
    pub beneficiaries: Option<Vec<String>>,
    /// To be spent in one of these countries (ISO 3166-1 alpha-2).
    pub recipient_countries: Option<Vec<String>>,
    /// In one of these sectors (exact text).
    pub sectors: Option<Vec<String>>,
    /// Of one of these kinds.
    pub kinds: Option<Vec<CommitmentKind>>,
    /// With one of these current statuses.
    pub statuses: Option<Vec<CommitmentStatus>>,
    /// In one of these original currencies (ISO 4217).
    pub currencies: Option<Vec<String>>,
    /// Announced on or after this day.
    pub announced_from: Option<Date>,
    /// Announced on or before this day.
    pub announced_to: Option<Date>,
    /// Amount range reaching at least this much, in the original currency (no conversion).
    /// Unquantified pledges never match an amount filter.
    pub amount_min: Option<Decimal>,
    /// Amount range starting at most at this much, in the original currency.
    pub amount_max: Option<Decimal>,
    /// Children of this commitment (its parts, details or confirmations).
    pub part_of: Option<String>,
    /// With one of these relations to their parent.
    pub relations: Option<Vec<CommitmentRelation>>,
    /// true: only top-level commitments (no parent); false: only children.
    pub top_level: Option<bool>,
    /// Accent- and case-insensitive text in the title or the pledger's name or aliases.
    pub text: Option<String>,
    /// Last written (created, edited, status set, retracted) at or after this moment.
    pub updated_since: Option<chrono::DateTime<chrono::Utc>>,
    /// Last written before this moment.
    pub updated_before: Option<chrono::DateTime<chrono::Utc>>,
}

impl CommitmentFilterInput {
    /// Checks the filter and converts it for storage.
    pub fn into_filter(self) -> Result<CommitmentFilter, ApiError> {
        let lists = [
            ("events", self.events.as_ref().map(Vec::len)),
            ("pledgers", self.pledgers.as_ref().map(Vec::len)),
            ("pledgerKinds", self.pledger_kinds.as_ref().map(Vec::len)),
            ("pledgerCountries", self.pledger_countries.as_ref().map(Vec::len)),
            ("beneficiaries", self.beneficiaries.as_ref().map(Vec::len)),
            ("recipientCountries", self.recipient_countries.as_ref().map(Vec::len)),
            ("sectors", self.sectors.as_ref().map(Vec::len)),
            ("kinds", self.kinds.as_ref().map(Vec::len)),
            ("statuses", self.statuses.as_ref().map(Vec::len)),
            ("currencies", self.currencies.as_ref().map(Vec::len)),
            ("relations", self.relations.as_ref().map(Vec::len)),
        ];
        for (name, len) in lists {
            text::check_list_len(&format!("filter.{name}"), len.unwrap_or(0))?;
        }
        if let Some(query) = &self.text {
            text::check_search("filter.text", query)?;
        }
        let currencies = self
            .currencies
            .unwrap_or_default()
            .into_iter()
            .enumerate()
            .map(|(i, c)| Ok(CurrencyCode::parse(&format!("filter.currencies[{i}]"), &c)?.as_str().to_owned()))
            .collect::<Result<_, ApiError>>()?;
        if let (Some(from), Some(to)) = (self.announced_from, self.announced_to)
            && from.0 > to.0
        {
            return Err(FieldError::new("filter.announcedTo", "is before announcedFrom").into());
        }
        if let (Some(since), Some(before)) = (self.updated_since, self.updated_before)
            && before < since
        {
            return Err(FieldError::new("filter.updatedBefore", "is before updatedSince").into());
        }
        if let (Some(min), Some(max)) = (self.amount_min, self.amount_max)
            && min.0 > max.0
        {
            return Err(FieldError::new("filter.amountMax", "is below amountMin").into());
        }
        for (field, amount) in [("filter.amountMin", self.amount_min), ("filter.amountMax", self.amount_max)] {
            if amount.is_some_and(|a| a.0.is_sign_negative()) {
                return Err(FieldError::new(field, "must not be negative").into());
            }
        }
        Ok(CommitmentFilter {
            events: self.events.unwrap_or_default(),
            pledgers: self.pledgers.unwrap_or_default(),
            pledger_kinds: self.pledger_kinds.unwrap_or_default().into_iter().map(Into::into).collect(),
            pledger_countries: country_codes("filter.pledgerCountries", self.pledger_countries)?,
            beneficiaries: self.beneficiaries.unwrap_or_default(),
            recipient_countries: country_codes("filter.recipientCountries", self.recipient_countries)?,
            sectors: self.sectors.unwrap_or_default(),
            kinds: self.kinds.unwrap_or_default().into_iter().map(Into::into).collect(),
            statuses: self.statuses.unwrap_or_default().into_iter().map(Into::into).collect(),
            currencies,
            announced_from: self.announced_from.map(|d| d.0),
            announced_to: self.announced_to.map(|d| d.0),
            amount_min: self.amount_min.map(|d| d.0),
            amount_max: self.amount_max.map(|d| d.0),
            part_of: self.part_of,
            relations: self.relations.unwrap_or_default().into_iter().map(Into::into).collect(),
            top_level: self.top_level,
            text: self.text,
            updated_since: self.updated_since,
            updated_before: self.updated_before,
            known: None,
        })
    }
}

/// Filters on actors.
#[derive(InputObject, Default)]
#[graphql(name = "ActorFilter")]
pub struct ActorFilterInput {
    /// Only these kinds.
    pub kinds: Option<Vec<ActorKind>>,
    /// Only these countries (ISO 3166-1 alpha-2).
    pub countries: Option<Vec<String>>,
    /// Accent- and case-insensitive text in the name or aliases.
    pub text: Option<String>,
}
