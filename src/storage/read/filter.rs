//! Filters on lists and their translation into SQL conditions (one translation, shared by
//! pages, counts, exports and totals).

use entity::{actor, commitment, event};
use rust_decimal::{Decimal, prelude::ToPrimitive};
use sea_orm::{
    ColumnTrait, Condition, DatabaseBackend, EntityTrait,
    sea_query::{Alias, Expr, ExprTrait, LikeExpr, Query, UnionType},
};

pub use crate::domain::filters::{ActorFilter, CommitmentFilter, CommitmentOrder, SignatureFilter};
use crate::domain::{
    kinds::{ActorKind, CommitmentKind, CommitmentRelation, CommitmentStatus},
    text::{contains_pattern, fold},
};

/// How a substring of a folded title is found: through the FTS5 table of trigrams on
/// SQLite (`commitments_fts`); on PostgreSQL by the `LIKE` itself, which `pg_trgm`'s GIN
/// index serves. Fewer than 3 characters make no trigram: those scan.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TextIndex {
    Fts5,
    Like,
}

impl TextIndex {
    pub(crate) fn of(backend: DatabaseBackend) -> Self {
        if backend == DatabaseBackend::Sqlite { Self::Fts5 } else { Self::Like }
    }
}

/// Commitments whose folded title contains `text` (folded too).
pub(crate) fn title_contains(text: &str, index: TextIndex) -> Condition {
    let like = commitment::Column::TitleFolded.like(LikeExpr::new(contains_pattern(text)).escape('\\'));
    let folded = fold(text);
    if index == TextIndex::Fts5 && folded.chars().count() >= 3 {
        // A quoted phrase of trigrams: the rows holding that exact substring.
        let phrase = format!("\"{}\"", folded.replace('"', "\"\""));
        let ids = Query::select()
            .expr(Expr::col(Alias::new("rowid")))
            .from(Alias::new("commitments_fts"))
            .and_where(Expr::cust_with_values("commitments_fts MATCH ?", [phrase]))
            .take();
        Condition::all().add(commitment::Column::Id.in_subquery(ids)).add(like)
    } else {
        Condition::all().add(like)
    }
}

/// The cursor tag of a commitments order (a cursor of one order is refused by another).
pub(super) fn order_tag(order: CommitmentOrder) -> &'static str {
    match order {
        CommitmentOrder::AnnouncedOnDesc => "commitments:announced_desc",
        CommitmentOrder::AnnouncedOnAsc => "commitments:announced_asc",
        CommitmentOrder::TitleAsc => "commitments:title_asc",
        CommitmentOrder::UpdatedAtDesc => "commitments:updated_desc",
    }
}

pub(crate) fn strs<T: Copy>(values: &[T], as_str: fn(T) -> &'static str) -> Vec<&'static str> {
    values.iter().map(|v| as_str(*v)).collect()
}

pub(crate) fn ids_of_slugs<E: EntityTrait>(
    id: E::Column,
    slug: E::Column,
    slugs: &[String],
) -> sea_orm::sea_query::SelectStatement {
    Query::select().column(id).from(E::default()).and_where(slug.is_in(slugs.iter().cloned())).take()
}

pub(super) fn actor_ids_where(cond: Condition) -> sea_orm::sea_query::SelectStatement {
    Query::select().column(actor::Column::Id).from(actor::Entity).cond_where(cond).take()
}

/// `minor` bound for an amount in a currency of `exponent`, rounded towards inclusion.
fn minor_bound(amount: Decimal, exponent: u32, round_up: bool) -> Option<i64> {
    let scaled = crate::domain::money::scaled(amount, exponent)?;
    let rounded = if round_up { scaled.ceil() } else { scaled.floor() };
    rounded.to_i64()
}

/// Exponents that ISO 4217 currencies use.
const EXPONENTS: [u32; 4] = [0, 2, 3, 4];

fn amount_condition(min: Option<Decimal>, max: Option<Decimal>) -> Condition {
    let mut any = Condition::any();
    for exponent in EXPONENTS {
        let mut this = Condition::all().add(commitment::Column::CurrencyExponent.eq(exponent as i16));
        if let Some(min) = min {
            match minor_bound(min, exponent, true) {
                Some(bound) => this = this.add(commitment::Column::AmountHigh.gte(bound)),
                None => continue,
            }
        } else {
            this = this.add(commitment::Column::AmountHigh.is_not_null());
        }
        if let Some(bound) = max.and_then(|max| minor_bound(max, exponent, false)) {
            this = this.add(
                Condition::any()
                    .add(commitment::Column::AmountLow.is_null())
                    .add(commitment::Column::AmountLow.lte(bound)),
            );
        }
        any = any.add(this);
    }
    // With no branch left, nothing matches.
    if any.is_empty() { Condition::all().add(Expr::val(1).eq(0)) } else { any }
}

pub(crate) fn commitment_condition(filter: &CommitmentFilter, index: TextIndex) -> Condition {
    use commitment::Column as C;
    let mut cond = Condition::all();
    if !filter.events.is_empty() {
        cond = cond.add(C::EventId.in_subquery(ids_of_slugs::<event::Entity>(
            event::Column::Id,
            event::Column::Slug,
            &filter.events,
        )));
    }
    if !filter.pledgers.is_empty() {
        cond = cond.add(C::PledgerId.in_subquery(ids_of_slugs::<actor::Entity>(
            actor::Column::Id,
            actor::Column::Slug,
            &filter.pledgers,
        )));
    }
    if !filter.beneficiaries.is_empty() {
        cond = cond.add(C::BeneficiaryId.in_subquery(ids_of_slugs::<actor::Entity>(
            actor::Column::Id,
            actor::Column::Slug,
            &filter.beneficiaries,
        )));
    }
    if !filter.pledger_kinds.is_empty() {
        let kinds = strs(&filter.pledger_kinds, ActorKind::as_str);
        cond =
            cond.add(C::PledgerId.in_subquery(actor_ids_where(Condition::all().add(actor::Column::Kind.is_in(kinds)))));
    }
    if !filter.pledger_countries.is_empty() {
        let countries = filter.pledger_countries.iter().cloned();
        cond = cond.add(
            C::PledgerId.in_subquery(actor_ids_where(Condition::all().add(actor::Column::Country.is_in(countries)))),
        );
    }
    if !filter.recipient_countries.is_empty() {
        cond = cond.add(C::RecipientCountry.is_in(filter.recipient_countries.iter().cloned()));
    }
    if !filter.sectors.is_empty() {
        cond = cond.add(C::Sector.is_in(filter.sectors.iter().cloned()));
    }
    if !filter.kinds.is_empty() {
        cond = cond.add(C::Kind.is_in(strs(&filter.kinds, CommitmentKind::as_str)));
    }
    if !filter.statuses.is_empty() {
        cond = cond.add(C::Status.is_in(strs(&filter.statuses, CommitmentStatus::as_str)));
    }
    if !filter.currencies.is_empty() {
        cond = cond.add(C::Currency.is_in(filter.currencies.iter().cloned()));
    }
    if let Some(from) = filter.announced_from {
        cond = cond.add(C::AnnouncedOn.gte(from));
    }
    if let Some(to) = filter.announced_to {
        cond = cond.add(C::AnnouncedOn.lte(to));
    }
    if let Some(since) = filter.updated_since {
        cond = cond.add(C::UpdatedAt.gte(since));
    }
    if let Some(before) = filter.updated_before {
        cond = cond.add(C::UpdatedAt.lt(before));
    }
    if filter.amount_min.is_some() || filter.amount_max.is_some() {
        cond = cond.add(amount_condition(filter.amount_min, filter.amount_max));
    }
    if let Some(parent) = &filter.part_of {
        let parents = std::slice::from_ref(parent);
        cond = cond.add(C::ParentId.in_subquery(ids_of_slugs::<commitment::Entity>(C::Id, C::Slug, parents)));
    }
    if !filter.relations.is_empty() {
        cond = cond.add(C::Relation.is_in(strs(&filter.relations, CommitmentRelation::as_str)));
    }
    match filter.top_level {
        Some(true) => cond = cond.add(C::ParentId.is_null()),
        Some(false) => cond = cond.add(C::ParentId.is_not_null()),
        None => {}
    }
    if let Some(text) = filter.text.as_deref().filter(|t| !t.trim().is_empty()) {
        let pattern = contains_pattern(text);
        let like = || LikeExpr::new(pattern.clone()).escape('\\');
        let pledgers = actor_ids_where(
            Condition::any().add(actor::Column::NameFolded.like(like())).add(actor::Column::AliasesFolded.like(like())),
        );
        if filter.known.is_some() {
            // The titles of then are in the history, which no text index covers: asked
            // of each row read.
            return cond.add(Condition::any().add(C::TitleFolded.like(like())).add(C::PledgerId.in_subquery(pledgers)));
        }
        // Two index lookups joined by UNION: written as one OR, PostgreSQL walked a
        // whole ordering index, filtering each row (62 ms at 100 000 commitments).
        let mut by_title =
            Query::select().column(C::Id).from(commitment::Entity).cond_where(title_contains(text, index)).take();
        let by_pledger =
            Query::select().column(C::Id).from(commitment::Entity).and_where(C::PledgerId.in_subquery(pledgers)).take();
        cond = cond.add(C::Id.in_subquery(by_title.union(UnionType::Distinct, by_pledger).take()));
    }
    cond
}

pub(super) fn actor_condition(filter: &ActorFilter) -> Condition {
    let mut cond = Condition::all();
    if !filter.kinds.is_empty() {
        cond = cond.add(actor::Column::Kind.is_in(strs(&filter.kinds, ActorKind::as_str)));
    }
    if !filter.countries.is_empty() {
        cond = cond.add(actor::Column::Country.is_in(filter.countries.iter().cloned()));
    }
    if let Some(text) = filter.text.as_deref().filter(|t| !t.trim().is_empty()) {
        let pattern = contains_pattern(text);
        cond = cond.add(
            Condition::any()
                .add(actor::Column::NameFolded.like(LikeExpr::new(pattern.clone()).escape('\\')))
                .add(actor::Column::AliasesFolded.like(LikeExpr::new(pattern).escape('\\'))),
        );
    }
    cond
}
