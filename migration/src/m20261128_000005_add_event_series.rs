//! An event's series (`choose-france`, `uk-investment-summit`, `ai-summits`): the editions
//! an analyst compares year by year, asked for in one query.

use sea_orm_migration::prelude::*;

use crate::iden::Events;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter().table(Events::Table).add_column(ColumnDef::new(Events::Series).text().null()).take(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_events_series")
                    .table(Events::Table)
                    .col(Events::Series)
                    .col(Events::StartDate)
                    .take(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_index(Index::drop().name("ix_events_series").table(Events::Table).to_owned()).await?;
        manager.alter_table(Table::alter().table(Events::Table).drop_column(Events::Series).take()).await
    }
}
