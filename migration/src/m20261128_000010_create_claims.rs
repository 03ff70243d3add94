//! Competing claims about one figure: sources disagree (Apollo's $5bn or €5bn; Choose France
//! 2025's €37bn or €40.8bn). Each claim has its amount, day, claimant and sources; one per
//! commitment is preferred, with a written reason, and it is the commitment's recorded amount
//! (what totals count); the others stay queryable, and a total can be asked under them.

use sea_orm_migration::{prelude::*, schema::*};

use crate::iden::{Claims, Commitments};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Claims::Table)
                    .col(big_pk_auto(Claims::Id))
                    .col(text(Claims::Slug).unique_key())
                    .col(big_integer(Claims::CommitmentId))
                    .col(text(Claims::Claimant))
                    .col(date_null(Claims::ClaimedOn))
                    .col(big_integer_null(Claims::AmountLow))
                    .col(big_integer_null(Claims::AmountHigh))
                    .col(text(Claims::Currency))
                    .col(small_integer(Claims::CurrencyExponent))
                    .col(boolean(Claims::Preferred))
                    .col(text_null(Claims::Reason))
                    .col(text_null(Claims::Notes))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_claims_commitment")
                            .from(Claims::Table, Claims::CommitmentId)
                            .to(Commitments::Table, Commitments::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .take(),
            )
            .await?;
        manager
            .create_index(
                Index::create().name("ix_claims_commitment").table(Claims::Table).col(Claims::CommitmentId).take(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(Claims::Table).to_owned()).await
    }
}
