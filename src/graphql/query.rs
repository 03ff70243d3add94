//! Root query fields. Names are fixed: clients and dashboards depend on them.

use async_graphql::{Context, Object};

use super::{
    ContextExt,
    inputs::{ActorFilterInput, CommitmentFilterInput, CommitmentOrderBy, page_size},
    types::*,
};
use crate::{
    domain::{codes::country_codes, text},
    error::{ApiError, ApiResultExt},
    storage::read::{ActorFilter, CommitmentFilter, CommitmentOrder, SearchHit as Hit},
};

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
        CommitmentOrderBy::UpdatedAtDesc => CommitmentOrder::UpdatedAtDesc,
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
            countries: country_codes("filter.countries", input.countries)?,
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
