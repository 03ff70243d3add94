//! Root query fields. Names are fixed: clients and dashboards depend on them.

use async_graphql::{Context, Object};

use super::{
    ContextExt,
    inputs::{ActorFilterInput, CommitmentFilterInput, CommitmentOrderBy, page_limits, page_size, window},
    types::*,
};
use crate::{
    domain::{codes::country_codes, text},
    error::{ApiError, ApiResultExt},
    storage::read::{ActorFilter, CommitmentFilter, CommitmentOrder, Linked, SearchHit as Hit},
};

/// A page of commitments for a filter.
pub(crate) async fn commitments_page(
    ctx: &Context<'_>,
    filter: CommitmentFilter,
    order_by: CommitmentOrderBy,
    page: PageArgs,
) -> Result<CommitmentConnection, ApiError> {
    let window = page.window(ctx)?;
    let order = match order_by {
        CommitmentOrderBy::AnnouncedOnDesc => CommitmentOrder::AnnouncedOnDesc,
        CommitmentOrderBy::AnnouncedOnAsc => CommitmentOrder::AnnouncedOnAsc,
        CommitmentOrderBy::TitleAsc => CommitmentOrder::TitleAsc,
        CommitmentOrderBy::UpdatedAtDesc => CommitmentOrder::UpdatedAtDesc,
    };
    let db = ctx.db()?;
    let page = db.commitments_page(&filter, order, window).await.api()?;
    read_ahead(ctx, db, &page, filter.known).await?;
    let mut connection = CommitmentConnection::new(page, CountQuery::Commitments(Box::new(filter.clone())));
    for edge in &mut connection.edges {
        edge.node.1 = filter.known;
    }
    Ok(connection)
}

/// Reads the pledgers (and beneficiaries), events and sources that the page's selection
/// asks for, all at once and side by side (three statements on three connections), before
/// the rows' fields run: without it each kind waits for its DataLoader's batching window,
/// one after the other.
/// Only in a query: a mutation's later fields could see rows read before its writes.
async fn read_ahead(
    ctx: &Context<'_>,
    db: &crate::storage::Db,
    page: &crate::storage::read::Page<entity::commitment::Model>,
    known: Option<i64>,
) -> Result<(), ApiError> {
    use async_graphql::parser::types::OperationType;
    if ctx.query_env.operation.node.ty != OperationType::Query || page.rows.is_empty() {
        return Ok(());
    }
    let look = ctx.look_ahead();
    let nodes = [look.field("nodes"), look.field("edges").field("node")];
    let wants = |name: &str| nodes.iter().any(|n| n.field(name).exists());
    let rows = || page.rows.iter().map(|(row, _)| row);
    let distinct = |ids: &mut Vec<i64>| {
        ids.sort_unstable();
        ids.dedup();
    };
    let mut actor_ids: Vec<i64> = if wants("pledger") { rows().map(|r| r.pledger_id).collect() } else { vec![] };
    if wants("beneficiary") {
        actor_ids.extend(rows().filter_map(|r| r.beneficiary_id));
    }
    distinct(&mut actor_ids);
    let mut event_ids: Vec<i64> = if wants("event") { rows().filter_map(|r| r.event_id).collect() } else { vec![] };
    distinct(&mut event_ids);
    // Sources as known then are read by their own loader.
    let ids: Vec<i64> = if wants("sources") && known.is_none() { rows().map(|r| r.id).collect() } else { vec![] };
    let (actors, events, sources) = tokio::join!(
        async { if actor_ids.is_empty() { Ok(vec![]) } else { db.actors_by_ids(&actor_ids).await } },
        async { if event_ids.is_empty() { Ok(vec![]) } else { db.events_by_ids(&event_ids).await } },
        async {
            if ids.is_empty() { Ok(Default::default()) } else { db.sources_of(Linked::Commitment, &ids, None).await }
        },
    );
    let prefetched = &ctx.loaders()?.prefetched;
    prefetched.add_actors(actors.api()?);
    prefetched.add_events(events.api()?);
    prefetched.add_commitment_sources(&ids, sources.api()?);
    Ok(())
}

/// Relay's page arguments of a connection field.
pub(crate) struct PageArgs {
    pub first: Option<i32>,
    pub after: Option<String>,
    pub last: Option<i32>,
    pub before: Option<String>,
}

impl PageArgs {
    fn window(&self, ctx: &Context<'_>) -> Result<crate::storage::read::Window<'_>, ApiError> {
        window(self.first, self.after.as_deref(), self.last, self.before.as_deref(), page_limits(ctx))
    }
}

/// Commitments.
#[derive(Default)]
pub struct CommitmentQuery;

#[Object]
impl CommitmentQuery {
    /// Commitments matching `filter`, a page at a time (keyset cursors: a deep page costs
    /// what the first costs).
    #[graphql(complexity = "1 + child_complexity * crate::graphql::cost::pages(first.or(last))")]
    #[allow(clippy::too_many_arguments)]
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
        #[graphql(desc = "The rows just before `before` (or the list's last rows): paging backwards.")] last: Option<
            i32,
        >,
        #[graphql(desc = "Cursor before which the page ends (`pageInfo.startCursor` of the next page).")]
        before: Option<String>,
        #[graphql(
            desc = "The list as the tracker had it at this moment: each record as it was then (figures, status, \
                    sources, status history, retraction), without the records created later and with those \
                    deleted since. Combines with every filter; `text` then reads the titles of then, without \
                    an index."
        )]
        known_at: Option<chrono::DateTime<chrono::Utc>>,
    ) -> Result<CommitmentConnection, ApiError> {
        let mut filter = filter.unwrap_or_default().into_filter()?;
        filter.known = crate::graphql::known_version(ctx.db()?, known_at).await?;
        commitments_page(ctx, filter, order_by.unwrap_or_default(), PageArgs { first, after, last, before }).await
    }

    /// The commitment with this slug (with `knownAt`: as the tracker had it at that moment,
    /// or null when it did not exist then).
    async fn commitment(
        &self,
        ctx: &Context<'_>,
        slug: String,
        known_at: Option<chrono::DateTime<chrono::Utc>>,
    ) -> Result<Option<Commitment>, ApiError> {
        let db = ctx.db()?;
        let known = crate::graphql::known_version(db, known_at).await?;
        Ok(db.commitment_known_at(&slug, known).await.api()?.map(|row| Commitment(row, known)))
    }
}

/// Actors, events and coalitions.
#[derive(Default)]
pub struct DirectoryQuery;

#[Object]
impl DirectoryQuery {
    /// Actors by slug, a page at a time.
    #[graphql(complexity = "1 + child_complexity * crate::graphql::cost::pages(first.or(last))")]
    async fn actors(
        &self,
        ctx: &Context<'_>,
        filter: Option<ActorFilterInput>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> Result<ActorConnection, ApiError> {
        let page_args = PageArgs { first, after, last, before };
        let window = page_args.window(ctx)?;
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
        let page = ctx.db()?.actors_page(&filter, window).await.api()?;
        Ok(ActorConnection::new(page, CountQuery::Actors(filter)))
    }

    /// The actor with this slug.
    async fn actor(&self, ctx: &Context<'_>, slug: String) -> Result<Option<Actor>, ApiError> {
        Ok(ctx.db()?.actor_by_slug(&slug).await.api()?.map(Actor))
    }

    /// Events by slug, a page at a time.
    #[graphql(complexity = "1 + child_complexity * crate::graphql::cost::pages(first.or(last))")]
    async fn events(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> Result<EventConnection, ApiError> {
        let page_args = PageArgs { first, after, last, before };
        let page = ctx.db()?.events_page(page_args.window(ctx)?).await.api()?;
        Ok(EventConnection::new(page, CountQuery::Events))
    }

    /// The event with this slug.
    async fn event(&self, ctx: &Context<'_>, slug: String) -> Result<Option<Event>, ApiError> {
        Ok(ctx.db()?.event_by_slug(&slug).await.api()?.map(Event))
    }

    /// Coalitions and declarations by slug, a page at a time.
    #[graphql(complexity = "1 + child_complexity * crate::graphql::cost::pages(first.or(last))")]
    async fn coalitions(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> Result<CoalitionConnection, ApiError> {
        let page_args = PageArgs { first, after, last, before };
        let page = ctx.db()?.coalitions_page(page_args.window(ctx)?).await.api()?;
        Ok(CoalitionConnection::new(page, CountQuery::Coalitions))
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
                Hit::Commitment(c) => SearchHit::Commitment(Commitment::now(c)),
            })
            .collect())
    }
}
