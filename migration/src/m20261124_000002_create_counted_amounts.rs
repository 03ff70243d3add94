//! The totals engine's derived table and the data version.
//!
//! `counted_amounts` holds, per commitment, the money the double-counting rules count
//! (its own amount, carve-outs of its parts, overlaps with earlier announcements), in minor
//! units, with the attributes totals group by copied beside it: a total is one GROUP BY over
//! integers, with no join. It is rebuilt inside every write transaction.
//!
//! `data_versions` holds one counter that every write transaction increments: caches of
//! totals compare it, so a cached answer is never served after a write, on any replica.

use sea_orm_migration::{prelude::*, schema::*};

use crate::iden::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        use CountedAmounts as C;
        manager
            .create_table(
                Table::create()
                    .table(C::Table)
                    .col(big_pk_auto(C::Id))
                    .col(big_integer(C::CommitmentId))
                    .col(big_integer_null(C::RelatedId))
                    .col(text(C::Rule))
                    .col(text(C::Measure))
                    .col(integer(C::IsPrimary))
                    .col(integer(C::Flags))
                    .col(big_integer(C::AmountLow))
                    .col(big_integer(C::AmountHigh))
                    .col(text(C::Currency))
                    .col(small_integer(C::CurrencyExponent))
                    .col(date_null(C::RateDate))
                    .col(integer_null(C::RateYear))
                    .col(date_null(C::OwnerOn))
                    .col(date_null(C::RelatedOn))
                    .col(date_null(C::AnnouncedOn))
                    .col(text(C::Status))
                    .col(text_null(C::RelatedStatus))
                    .col(big_integer_null(C::EventId))
                    .col(big_integer(C::PledgerId))
                    .col(text(C::PledgerKind))
                    .col(text_null(C::PledgerCountry))
                    .col(big_integer_null(C::BeneficiaryId))
                    .col(text_null(C::RecipientCountry))
                    .col(text_null(C::Sector))
                    .col(text(C::Kind))
                    .col(text(C::OwnerCurrency))
                    .col(integer_null(C::Year))
                    .col(text_null(C::Month))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_counted_amounts_commitment")
                            .from(C::Table, C::CommitmentId)
                            .to(Commitments::Table, Commitments::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .take(),
            )
            .await?;
        for (name, cols) in [
            ("ix_counted_commitment", &["commitment_id"][..]),
            ("ix_counted_related", &["related_id"]),
            ("ix_counted_event", &["event_id"]),
            ("ix_counted_pledger", &["pledger_id"]),
            ("ix_counted_beneficiary", &["beneficiary_id"]),
            ("ix_counted_sector_year", &["sector", "year"]),
            ("ix_counted_year", &["year"]),
        ] {
            let mut stmt = Index::create().name(name).table(C::Table).take();
            for col in cols {
                stmt.col(Alias::new(*col));
            }
            manager.create_index(stmt).await?;
        }
        manager
            .create_table(
                Table::create()
                    .table(DataVersions::Table)
                    .col(integer(DataVersions::Id).primary_key())
                    .col(big_integer(DataVersions::Version))
                    .take(),
            )
            .await?;
        let seed = Query::insert()
            .into_table(DataVersions::Table)
            .columns([DataVersions::Id, DataVersions::Version])
            .values_panic([1.into(), 0.into()])
            .take();
        manager.exec_stmt(seed).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(DataVersions::Table).take()).await?;
        manager.drop_table(Table::drop().table(CountedAmounts::Table).take()).await
    }
}
