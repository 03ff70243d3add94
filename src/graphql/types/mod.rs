//! API object types. They wrap storage rows and resolve nested fields through DataLoaders.
//! Shared here: enums, money, sources, pages; the records by area in the submodules.

mod actors;
mod coalitions;
mod commitments;

pub use self::{actors::*, coalitions::*, commitments::*};

use async_graphql::{ComplexObject, Context, Enum, Object, SimpleObject, Union};
use entity::{actor, coalition, commitment, event, source};

use super::{
    ContextExt,
    scalars::{Date, Decimal},
};
use crate::{
    domain::{
        FieldError,
        codes::CurrencyCode,
        kinds,
        money::{self, MinorRange},
        reported,
    },
    error::{ApiError, ApiResultExt},
    storage::{
        Db,
        read::{ActorFilter, CommitmentFilter, Linked, Page, SignatureFilter, StanceCounts},
    },
};

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

/// A stored value that does not parse is our fault, not the caller's.
pub(crate) fn stored<T>(result: Result<T, FieldError>) -> Result<T, ApiError> {
    result.map_err(|e| ApiError::Internal(format!("stored value does not parse: {e}")))
}

pub(crate) fn loaded<T>(result: Result<T, std::sync::Arc<crate::storage::StorageError>>) -> Result<T, ApiError> {
    use crate::storage::StorageError;
    result.map_err(|e| match e.as_ref() {
        StorageError::Unavailable(cause) => ApiError::Unavailable(cause.clone()),
        StorageError::Conflict(what) => ApiError::Conflict(what.clone()),
        other => ApiError::Internal(other.to_string()),
    })
}

/// What kind of body an actor is.
#[derive(Enum, Clone, Copy, PartialEq, Eq)]
#[graphql(remote = "kinds::ActorKind")]
pub enum ActorKind {
    Government,
    Company,
    InvestmentFund,
    PublicBank,
    Foundation,
    InternationalOrg,
    Philanthropy,
    Other,
}

/// What kind of occasion an event is.
#[derive(Enum, Clone, Copy, PartialEq, Eq)]
#[graphql(remote = "kinds::EventKind")]
pub enum EventKind {
    Summit,
    SummitSegment,
    InvestmentSummit,
    Announcement,
    Other,
}

/// What kind of money a commitment is.
#[derive(Enum, Clone, Copy, PartialEq, Eq)]
#[graphql(remote = "kinds::CommitmentKind")]
pub enum CommitmentKind {
    Investment,
    Endowment,
    PublicProgram,
}

/// Lifecycle status of a commitment.
#[derive(Enum, Clone, Copy, PartialEq, Eq)]
#[graphql(remote = "kinds::CommitmentStatus")]
pub enum CommitmentStatus {
    Announced,
    Confirmed,
    InProgress,
    Delivered,
    Stalled,
    Withdrawn,
}

/// How a commitment relates to its parent: PART_OF (a component of a headline package),
/// DETAIL_OF (an overlapping breakdown, never added up), CONFIRMS (a later concretisation,
/// not new money), TOWARDS_TARGET (money towards the beneficiary's fundraising target).
#[derive(Enum, Clone, Copy, PartialEq, Eq)]
#[graphql(remote = "kinds::CommitmentRelation")]
pub enum CommitmentRelation {
    PartOf,
    DetailOf,
    Confirms,
    TowardsTarget,
}

/// A declaration, or a coalition that members join.
#[derive(Enum, Clone, Copy, PartialEq, Eq)]
#[graphql(remote = "kinds::CoalitionKind")]
pub enum CoalitionKind {
    Declaration,
    Coalition,
}

/// An actor's stance on a coalition or declaration.
#[derive(Enum, Clone, Copy, PartialEq, Eq)]
#[graphql(remote = "kinds::Stance")]
pub enum Stance {
    Signed,
    Declined,
    Withdrawn,
}

/// What a reported count of signatories or members counts.
#[derive(Enum, Clone, Copy, PartialEq, Eq)]
#[graphql(remote = "kinds::ReportedCountKind")]
pub enum ReportedCountKind {
    /// All who had signed or joined by then, as the source counts them.
    Count,
    /// An early count, before everyone had signed ("53 so far"): not in the reported range.
    Early,
    /// A count of something wider than the signatories (e.g. also research institutes):
    /// not in the reported range.
    Wider,
}

/// The language of a label. Names are English unless a French one is recorded (then
/// `name(lang: FR)` gives it, and `nameFr` says whether there is one).
#[derive(Enum, Clone, Copy, PartialEq, Eq, Default)]
pub enum Language {
    #[default]
    En,
    Fr,
}

/// A name in `lang`: the French one when asked for and recorded, else the English one.
pub(crate) fn name_in<'a>(lang: Option<Language>, name: &'a str, name_fr: Option<&'a str>) -> &'a str {
    match (lang.unwrap_or_default(), name_fr) {
        (Language::Fr, Some(fr)) => fr,
        _ => name,
    }
}

/// How much of an amount is known.
#[derive(Enum, Clone, Copy, PartialEq, Eq)]
#[graphql(remote = "money::AmountKind")]
pub enum AmountKind {
    /// One figure: low = high.
    Point,
    /// A range, or two disputed figures.
    Range,
    /// "Up to X": only `high` is known.
    UpTo,
    /// No figure ("several billion"): neither end is known, and it is never summed as zero.
    Unquantified,
}

/// An amount as a range in its original currency. `low`/`high` are exact decimals (strings).
#[derive(SimpleObject)]
pub struct MoneyRange {
    /// Low end; null when unknown ("up to X") or unquantified.
    pub low: Option<Decimal>,
    /// High end; null when unquantified.
    pub high: Option<Decimal>,
    /// ISO 4217 currency code.
    pub currency: String,
    /// What is known of the amount.
    pub kind: AmountKind,
}

impl MoneyRange {
    pub(crate) fn from_stored(low: Option<i64>, high: Option<i64>, currency: &str) -> Result<Self, ApiError> {
        let currency = stored(CurrencyCode::parse("currency", currency))?;
        let money = MinorRange { low, high, currency }.to_money();
        Ok(Self {
            low: money.range.low().map(Decimal),
            high: money.range.high().map(Decimal),
            currency: currency.as_str().to_owned(),
            kind: money.range.kind().into(),
        })
    }
}

/// A public source backing a fact.
#[derive(Clone)]
pub struct Source(pub source::Model);

#[Object]
impl Source {
    /// Global id (Relay `Node`): `node(id:)` finds the record again.
    pub(crate) async fn id(&self) -> async_graphql::ID {
        global_id("Source", &self.0.slug)
    }

    /// Stable identifier of the source.
    async fn slug(&self) -> &str {
        &self.0.slug
    }
    /// Address of the page.
    async fn url(&self) -> &str {
        &self.0.url
    }
    /// Who published it.
    async fn publisher(&self) -> &str {
        &self.0.publisher
    }
    /// Title of the page.
    async fn title(&self) -> &str {
        &self.0.title
    }
    /// Publication date as precise as known: `YYYY`, `YYYY-MM` or `YYYY-MM-DD`.
    async fn published_on(&self) -> Option<&str> {
        self.0.published_on.as_deref()
    }
    /// ISO 639-1 language of the page.
    async fn language(&self) -> Option<&str> {
        self.0.language.as_deref()
    }
    /// Short quote or paraphrase of the supporting passage.
    async fn quote(&self) -> Option<&str> {
        self.0.quote.as_deref()
    }
    /// Version, for `expectedVersion` in `updateSource`.
    async fn version(&self) -> i32 {
        self.0.version
    }
}

async fn sources(ctx: &Context<'_>, kind: Linked, id: i64, known: Option<i64>) -> Result<Vec<Source>, ApiError> {
    let loaders = ctx.loaders()?;
    if kind == Linked::Commitment
        && known.is_none()
        && let Some(found) = loaders.prefetched.commitment_sources(id)
    {
        return Ok(found.into_iter().map(Source).collect());
    }
    let found = loaded(loaders.sources.load_one((kind, id, known)).await)?;
    Ok(found.unwrap_or_default().into_iter().map(Source).collect())
}

/// The global id (Relay `Node`) of a record of `kind` with `key`: the two, base64url-encoded
/// (`Commitment:stargate-500bn`). `graphql/node.rs` reads it back.
pub(crate) fn global_id(kind: &str, key: &str) -> async_graphql::ID {
    use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
    async_graphql::ID(URL_SAFE_NO_PAD.encode(format!("{kind}:{key}")))
}

pub(crate) async fn load_actor(ctx: &Context<'_>, id: i64) -> Result<Actor, ApiError> {
    let loaders = ctx.loaders()?;
    if let Some(actor) = loaders.prefetched.actor(id) {
        return Ok(Actor(actor));
    }
    loaded(loaders.actors.load_one(id).await)?
        .map(Actor)
        .ok_or_else(|| ApiError::Internal(format!("actor {id} is referenced but missing")))
}

/// A search hit.
#[derive(Union)]
pub enum SearchHit {
    Actor(Actor),
    Event(Event),
    Coalition(Coalition),
    Commitment(Commitment),
}

/// Where a page stands in its list.
#[derive(SimpleObject)]
pub struct PageInfo {
    /// Whether rows follow this page.
    pub has_next_page: bool,
    /// Whether rows precede this page (true when `after` was given).
    pub has_previous_page: bool,
    /// Cursor of the first row: pass it as `before` (with `last`) for the page before.
    pub start_cursor: Option<String>,
    /// Cursor of the last row: pass it as `after` for the next page.
    pub end_cursor: Option<String>,
}

impl PageInfo {
    /// The page info of a storage page.
    pub fn of<T>(page: &Page<T>) -> Self {
        Self {
            has_next_page: page.has_next,
            has_previous_page: page.has_previous,
            start_cursor: page.rows.first().map(|(_, c)| c.clone()),
            end_cursor: page.rows.last().map(|(_, c)| c.clone()),
        }
    }
}

macro_rules! connection {
    ($(#[$meta:meta])* $connection:ident, $edge:ident, $node:ident, $model:ty) => {
        /// An edge: a node and its cursor.
        #[derive(SimpleObject)]
        pub struct $edge {
            /// The row.
            pub node: $node,
            /// Pass as `after` to continue after this row, or as `before` to read the rows before it.
            pub cursor: String,
        }

        $(#[$meta])*
        #[derive(SimpleObject)]
        #[graphql(complex)]
        pub struct $connection {
            /// The rows with their cursors.
            pub edges: Vec<$edge>,
            /// Where this page stands.
            pub page_info: PageInfo,
            #[graphql(skip)]
            pub count: CountQuery,
        }

        impl $connection {
            /// Wraps a storage page.
            pub fn new(page: Page<$model>, count: CountQuery) -> Self {
                let page_info = PageInfo::of(&page);
                let edges =
                    page.rows.into_iter().map(|(row, cursor)| $edge { node: $node::from(row), cursor }).collect();
                Self { edges, page_info, count }
            }
        }

        #[ComplexObject]
        impl $connection {
            /// The rows alone.
            async fn nodes(&self) -> Vec<&$node> {
                self.edges.iter().map(|e| &e.node).collect()
            }
            /// How many rows match, across all pages (one COUNT query, run only when asked).
            #[graphql(complexity = "crate::graphql::cost::COUNT")]
            async fn total_count(&self, ctx: &Context<'_>) -> Result<u64, ApiError> {
                self.count.run(ctx.db()?).await
            }
        }
    };
}

connection!(
    /// A page of commitments.
    CommitmentConnection, CommitmentEdge, Commitment, commitment::Model
);
connection!(
    /// A page of actors.
    ActorConnection, ActorEdge, Actor, actor::Model
);
connection!(
    /// A page of events.
    EventConnection, EventEdge, Event, event::Model
);
connection!(
    /// A page of coalitions.
    CoalitionConnection, CoalitionEdge, Coalition, coalition::Model
);
