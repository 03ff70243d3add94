//! Coalition statistics: signatories by stance, actor kind and country, on a date, and the
//! cumulative count over time. All GROUP BY queries.

use chrono::NaiveDate;
use entity::{actor, signature};
use sea_orm::{
    ColumnTrait, EntityTrait, FromQueryResult, JoinType, QueryFilter, QueryOrder, QuerySelect, RelationDef,
    sea_query::{Expr, ExprTrait},
};

use super::{Db, StorageResult, read::StanceCounts};
use crate::domain::kinds::Stance;

/// What signatures can be grouped by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignatureDimension {
    /// The signatory's kind (GOVERNMENT, COMPANY, …).
    ActorKind,
    /// The signatory's country (none for international bodies).
    Country,
}

/// Stance counts for one value of a dimension.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignatureGroup {
    pub value: Option<String>,
    pub counts: StanceCounts,
}

/// Signatures (SIGNED) on one day, and the running total.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimelinePoint {
    pub on: NaiveDate,
    pub signed: u64,
    pub cumulative: u64,
}

fn add(counts: &mut StanceCounts, stance: &str, n: i64) {
    let n = u64::try_from(n).unwrap_or_default();
    match Stance::parse("stance", stance) {
        Ok(Stance::Signed) => counts.signed += n,
        Ok(Stance::Declined) => counts.declined += n,
        Ok(Stance::Withdrawn) => counts.withdrawn += n,
        Err(_) => {}
    }
}

fn actor_join() -> RelationDef {
    signature::Entity::belongs_to(actor::Entity).from(signature::Column::ActorId).to(actor::Column::Id).into()
}

impl Db {
    /// Stance counts of a coalition as of `on`: stances dated on or before it (undated
    /// stances are counted only without a date).
    /// (as known at data version `known`, `None`: today).
    pub async fn stance_counts_on(
        &self,
        coalition_id: i64,
        on: NaiveDate,
        known: Option<i64>,
    ) -> StorageResult<StanceCounts> {
        #[derive(FromQueryResult)]
        struct Row {
            stance: String,
            n: i64,
        }
        let mut select = signature::Entity::find();
        if let Some(v) = known {
            super::history::read_at(&mut select, v);
        }
        let rows = select
            .select_only()
            .column(signature::Column::Stance)
            .column_as(Expr::col(signature::Column::Id).count(), "n")
            .filter(signature::Column::CoalitionId.eq(coalition_id))
            .filter(signature::Column::SignedOn.lte(on))
            .group_by(signature::Column::Stance)
            .into_model::<Row>()
            .all(self.conn())
            .await?;
        let mut counts = StanceCounts::default();
        for r in rows {
            add(&mut counts, &r.stance, r.n);
        }
        Ok(counts)
    }

    /// Stance counts of a coalition by the signatory's kind or country, optionally as of a
    /// date; ordered by value (unknown last).
    pub async fn signature_breakdown(
        &self,
        coalition_id: i64,
        by: SignatureDimension,
        on: Option<NaiveDate>,
    ) -> StorageResult<Vec<SignatureGroup>> {
        #[derive(FromQueryResult)]
        struct Row {
            value: Option<String>,
            stance: String,
            n: i64,
        }
        let column = match by {
            SignatureDimension::ActorKind => actor::Column::Kind,
            SignatureDimension::Country => actor::Column::Country,
        };
        let mut select = signature::Entity::find()
            .select_only()
            .column_as(Expr::col((actor::Entity, column)), "value")
            .column(signature::Column::Stance)
            .column_as(Expr::col((signature::Entity, signature::Column::Id)).count(), "n")
            .join(JoinType::InnerJoin, actor_join())
            .filter(signature::Column::CoalitionId.eq(coalition_id));
        if let Some(on) = on {
            select = select.filter(signature::Column::SignedOn.lte(on));
        }
        let rows = select
            .group_by(Expr::col((actor::Entity, column)))
            .group_by(signature::Column::Stance)
            .into_model::<Row>()
            .all(self.conn())
            .await?;
        let mut groups: Vec<SignatureGroup> = Vec::new();
        for r in rows {
            match groups.iter_mut().find(|g| g.value == r.value) {
                Some(g) => add(&mut g.counts, &r.stance, r.n),
                None => {
                    let mut counts = StanceCounts::default();
                    add(&mut counts, &r.stance, r.n);
                    groups.push(SignatureGroup { value: r.value, counts });
                }
            }
        }
        groups.sort_by(|a, b| match (&a.value, &b.value) {
            (Some(x), Some(y)) => x.cmp(y),
            (Some(_), None) => std::cmp::Ordering::Less,
            (None, Some(_)) => std::cmp::Ordering::Greater,
            (None, None) => std::cmp::Ordering::Equal,
        });
        Ok(groups)
    }

    /// SIGNED stances per day with the running total, and how many SIGNED stances have no
    /// date.
    pub async fn signature_timeline(&self, coalition_id: i64) -> StorageResult<(Vec<TimelinePoint>, u64)> {
        #[derive(FromQueryResult)]
        struct Row {
            signed_on: Option<NaiveDate>,
            n: i64,
        }
        let rows = signature::Entity::find()
            .select_only()
            .column(signature::Column::SignedOn)
            .column_as(Expr::col(signature::Column::Id).count(), "n")
            .filter(signature::Column::CoalitionId.eq(coalition_id))
            .filter(signature::Column::Stance.eq(Stance::Signed.as_str()))
            .group_by(signature::Column::SignedOn)
            .order_by_asc(signature::Column::SignedOn)
            .into_model::<Row>()
            .all(self.conn())
            .await?;
        let mut points = Vec::new();
        let mut undated = 0;
        let mut cumulative = 0;
        for r in rows {
            let n = u64::try_from(r.n).unwrap_or_default();
            match r.signed_on {
                Some(on) => {
                    cumulative += n;
                    points.push(TimelinePoint { on, signed: n, cumulative });
                }
                None => undated += n,
            }
        }
        Ok((points, undated))
    }
}
