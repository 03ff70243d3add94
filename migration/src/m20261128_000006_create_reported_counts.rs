//! Counts of a coalition's signatories or members as the press reported them, each with its
//! sources ("58 countries plus the EU and the AUC", "91 on 24 February"): what a declaration
//! is said to count, beside the signatories it names.

use sea_orm_migration::{prelude::*, schema::*};

use crate::iden::{Coalitions, ReportedCounts};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(ReportedCounts::Table)
                    .col(big_pk_auto(ReportedCounts::Id))
                    .col(big_integer(ReportedCounts::CoalitionId))
                    .col(date_null(ReportedCounts::ReportedOn))
                    .col(integer(ReportedCounts::CountLow))
                    .col(integer_null(ReportedCounts::CountHigh))
                    .col(text(ReportedCounts::Kind))
                    .col(text(ReportedCounts::Wording))
                    .col(text_null(ReportedCounts::Note))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_reported_counts_coalition")
                            .from(ReportedCounts::Table, ReportedCounts::CoalitionId)
                            .to(Coalitions::Table, Coalitions::Id)
                            .on_delete(ForeignKeyAction::Restrict),
                    )
                    .take(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ux_reported_counts_coalition_wording")
                    .table(ReportedCounts::Table)
                    .col(ReportedCounts::CoalitionId)
                    .col(ReportedCounts::Wording)
                    .unique()
                    .take(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(ReportedCounts::Table).to_owned()).await
    }
}
