//! Root query fields. Names are fixed: clients and dashboards depend on them.

use async_graphql::{Context, InputObject, MergedObject, Object};

use super::{
    ContextExt,
    scalars::{Date, Decimal},
    types::*,
};
use crate::{
    domain::codes::{CountryCode, CurrencyCode},
    domain::{FieldError, text},
    error::{ApiError, ApiResultExt},
    storage::{
        Db,
        read::{ActorFilter, CommitmentFilter, CommitmentOrder, SearchHit as Hit},
    },
};

/// The root query.
#[derive(MergedObject, Default)]
pub struct Query(
    CommitmentQuery,
    DirectoryQuery,
    SearchQuery,
    super::totals::TotalsQueryRoot,
    super::mutation::AuditQuery,
);

/// A COUNT that a connection runs only when `totalCount` is asked for.
#[derive(Debug, Clone)]
pub enum CountQuery {
    Commitments(Box<CommitmentFilter>),
    Actors(ActorFilter),
    Events,
    Coalitions,
}

impl CountQuery {
    /// Runs the count.
    pub async fn run(&self, db: &Db) -> Result<u64, ApiError> {
        match self {
            Self::Commitments(filter) => db.commitments_count(filter).await.api(),
            Self::Actors(filter) => db.actors_count(filter).await.api(),
            Self::Events => db.events_count().await.api(),
            Self::Coalitions => db.coalitions_count().await.api(),
        }
    }
}

/// Checks `first` against the page-size limits.
fn page_size(ctx: &Context<'_>, first: Option<i32>) -> Result<u64, ApiError> {
    let limits = ctx.limits();
    let first = first.unwrap_or(limits.default_page_size as i32);
    if first < 0 {
        return Err(FieldError::new("first", "must not be negative").into());
    }
    if first as u32 > limits.max_page_size {
        return Err(FieldError::new(
            "first",
            format!("{first} is above the page-size limit of {}", limits.max_page_size),
        )
        .into());
    }
    Ok(first as u64)
}

/// Checks a list of country codes, naming the field and position of a bad one.
pub(crate) fn countries(field: &str, raw: Option<Vec<String>>) -> Result<Vec<String>, ApiError> {
    raw.unwrap_or_default()
        .into_iter()
        .enumerate()
        .map(|(i, c)| Ok(CountryCode::parse(&format!("{field}[{i}]"), &c)?.as_str().to_owned()))
        .collect()
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
            pledger_countries: countries("filter.pledgerCountries", self.pledger_countries)?,
            beneficiaries: self.beneficiaries.unwrap_or_default(),
            recipient_countries: countries("filter.recipientCountries", self.recipient_countries)?,
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
        })
    }
}

/// A page of commitments for a filter.
pub(crate) async fn commitments_page(
    ctx: &Context<'_>,
    filter: CommitmentFilter,
    order_by: CommitmentOrderBy,
    first: Option<i32>,
    after: Option<String>,
) -> Result<CommitmentConnection, ApiError> {
    let first = page_size(ctx, first)?;
    let order = match order_by {
        CommitmentOrderBy::AnnouncedOnDesc => CommitmentOrder::AnnouncedOnDesc,
        CommitmentOrderBy::AnnouncedOnAsc => CommitmentOrder::AnnouncedOnAsc,
        CommitmentOrderBy::TitleAsc => CommitmentOrder::TitleAsc,
    };
    let page = ctx.db()?.commitments_page(&filter, order, first, after.as_deref()).await.api()?;
    Ok(CommitmentConnection::new(page, after.is_some(), CountQuery::Commitments(Box::new(filter))))
}

/// Commitments.
#[derive(Default)]
pub struct CommitmentQuery;

#[Object]
impl CommitmentQuery {
    /// Commitments matching `filter`, a page at a time (keyset cursors: a deep page costs
    /// what the first costs).
    #[graphql(complexity = "1 + child_complexity * crate::graphql::cost::pages(first)")]
    async fn commitments(
        &self,
        ctx: &Context<'_>,
        filter: Option<CommitmentFilterInput>,
        #[graphql(desc = "Ordering (default ANNOUNCED_ON_DESC).")] order_by: Option<CommitmentOrderBy>,
        #[graphql(desc = "Rows per page (default 50, at most the configured limit, 500 by default).")] first: Option<
            i32,
        >,
        #[graphql(desc = "Cursor after which the page starts (`pageInfo.endCursor` of the previous page).")]
        after: Option<String>,
    ) -> Result<CommitmentConnection, ApiError> {
        let filter = filter.unwrap_or_default().into_filter()?;
        commitments_page(ctx, filter, order_by.unwrap_or_default(), first, after).await
    }

    /// The commitment with this slug.
    async fn commitment(&self, ctx: &Context<'_>, slug: String) -> Result<Option<Commitment>, ApiError> {
        Ok(ctx.db()?.commitment_by_slug(&slug).await.api()?.map(Commitment))
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

/// Actors, events and coalitions.
#[derive(Default)]
pub struct DirectoryQuery;

#[Object]
impl DirectoryQuery {
    /// Actors by slug, a page at a time.
    #[graphql(complexity = "1 + child_complexity * crate::graphql::cost::pages(first)")]
    async fn actors(
        &self,
        ctx: &Context<'_>,
        filter: Option<ActorFilterInput>,
        first: Option<i32>,
        after: Option<String>,
    ) -> Result<ActorConnection, ApiError> {
        let first = page_size(ctx, first)?;
        let input = filter.unwrap_or_default();
        if let Some(query) = &input.text {
            text::check_search("filter.text", query)?;
        }
        for (name, len) in
            [("kinds", input.kinds.as_ref().map(Vec::len)), ("countries", input.countries.as_ref().map(Vec::len))]
        {
            text::check_list_len(&format!("filter.{name}"), len.unwrap_or(0))?;
        }
        let filter = ActorFilter {
            kinds: input.kinds.unwrap_or_default().into_iter().map(Into::into).collect(),
            countries: countries("filter.countries", input.countries)?,
            text: input.text,
        };
        let page = ctx.db()?.actors_page(&filter, first, after.as_deref()).await.api()?;
        Ok(ActorConnection::new(page, after.is_some(), CountQuery::Actors(filter)))
    }

    /// The actor with this slug.
    async fn actor(&self, ctx: &Context<'_>, slug: String) -> Result<Option<Actor>, ApiError> {
        Ok(ctx.db()?.actor_by_slug(&slug).await.api()?.map(Actor))
    }

    /// Events by slug, a page at a time.
    #[graphql(complexity = "1 + child_complexity * crate::graphql::cost::pages(first)")]
    async fn events(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> Result<EventConnection, ApiError> {
        let first = page_size(ctx, first)?;
        let page = ctx.db()?.events_page(first, after.as_deref()).await.api()?;
        Ok(EventConnection::new(page, after.is_some(), CountQuery::Events))
    }

    /// The event with this slug.
    async fn event(&self, ctx: &Context<'_>, slug: String) -> Result<Option<Event>, ApiError> {
        Ok(ctx.db()?.event_by_slug(&slug).await.api()?.map(Event))
    }

    /// Coalitions and declarations by slug, a page at a time.
    #[graphql(complexity = "1 + child_complexity * crate::graphql::cost::pages(first)")]
    async fn coalitions(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> Result<CoalitionConnection, ApiError> {
        let first = page_size(ctx, first)?;
        let page = ctx.db()?.coalitions_page(first, after.as_deref()).await.api()?;
        Ok(CoalitionConnection::new(page, after.is_some(), CountQuery::Coalitions))
    }

    /// The coalition or declaration with this slug.
    async fn coalition(&self, ctx: &Context<'_>, slug: String) -> Result<Option<Coalition>, ApiError> {
        Ok(ctx.db()?.coalition_by_slug(&slug).await.api()?.map(Coalition))
    }
}

/// Hits `search` returns when no `first` is given.
const DEFAULT_SEARCH_HITS: i32 = 20;

/// Search.
#[derive(Default)]
pub struct SearchQuery;

#[Object]
impl SearchQuery {
    /// Accent- and case-insensitive search ("elysee" finds "Élysée") over actor names and
    /// aliases, event and coalition names, and commitment titles: actors first, then
    /// events, coalitions and commitments, each alphabetically.
    #[graphql(complexity = "crate::graphql::cost::SEARCH + child_complexity")]
    async fn search(
        &self,
        ctx: &Context<'_>,
        query: String,
        #[graphql(desc = "Most hits (default 20, at most the page-size limit).")] first: Option<i32>,
    ) -> Result<Vec<SearchHit>, ApiError> {
        text::check_search("query", &query)?;
        let limit = page_size(ctx, Some(first.unwrap_or(DEFAULT_SEARCH_HITS)))?;
        let hits = ctx.db()?.search(&query, limit).await.api()?;
        Ok(hits
            .into_iter()
            .map(|hit| match hit {
                Hit::Actor(a) => SearchHit::Actor(Actor(a)),
                Hit::Event(e) => SearchHit::Event(Event(e)),
                Hit::Coalition(c) => SearchHit::Coalition(Coalition(c)),
                Hit::Commitment(c) => SearchHit::Commitment(Commitment(c)),
            })
            .collect())
    }
}

/// The `commitments` filter from URL query parameters, for the export endpoints: the same
/// names and checks as the GraphQL filter (`events=a,b`, `pledgerKinds=COMPANY`,
/// `announcedFrom=2025-01-01`, `topLevel=true`, `text=elysee`). List parameters take commas
/// or repeats; `sectors` only repeats, as sector names hold commas.
pub fn commitment_filter_from_params(params: &[(String, String)]) -> Result<CommitmentFilter, ApiError> {
    const LISTS: [&str; 10] = [
        "events",
        "pledgers",
        "pledgerKinds",
        "pledgerCountries",
        "beneficiaries",
        "recipientCountries",
        "sectors",
        "kinds",
        "statuses",
        "currencies",
    ];
    const LIST_RELATIONS: &str = "relations";
    let mut object = serde_json::Map::new();
    for (name, value) in params {
        let name = name.as_str();
        if LISTS.contains(&name) || name == LIST_RELATIONS {
            let entry = object.entry(name.to_owned()).or_insert_with(|| serde_json::Value::Array(Vec::new()));
            let parts: Vec<&str> = if name == "sectors" { vec![value.as_str()] } else { value.split(',').collect() };
            if let serde_json::Value::Array(list) = entry {
                list.extend(parts.into_iter().map(str::trim).filter(|p| !p.is_empty()).map(|p| p.to_owned().into()));
            }
        } else if name == "topLevel" {
            let flag = match value.as_str() {
                "true" | "1" => true,
                "false" | "0" => false,
                _ => return Err(FieldError::new("topLevel", "is true or false").into()),
            };
            object.insert(name.to_owned(), flag.into());
        } else if ["announcedFrom", "announcedTo", "amountMin", "amountMax", "partOf", "text"].contains(&name) {
            object.insert(name.to_owned(), value.clone().into());
        } else if !["excel"].contains(&name) {
            return Err(FieldError::new(name, "is not a filter of commitments").into());
        }
    }
    let value = async_graphql::Value::from_json(serde_json::Value::Object(object))
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    let input = <CommitmentFilterInput as async_graphql::InputType>::parse(Some(value))
        .map_err(|e| FieldError::new("filter", e.into_server_error(Default::default()).message))?;
    input.into_filter()
}
