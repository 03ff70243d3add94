//! "What changed lately": commitments filtered and ordered by when they were last written
//! (`updatedSince`, `orderBy: UPDATED_AT_DESC`) follow an index instead of sorting them all.

use sea_orm_migration::prelude::*;

use crate::iden::Commitments;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_index(
                Index::create()
                    .name("ix_commitments_updated")
                    .table(Commitments::Table)
                    .col(Commitments::UpdatedAt)
                    .col(Commitments::Id)
                    .take(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_index(Index::drop().name("ix_commitments_updated").table(Commitments::Table).to_owned()).await
    }
}
