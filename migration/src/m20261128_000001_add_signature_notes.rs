//! A signature's caveat (`notes`): some signatories rest on a collective line ("the 27 EU
//! states signed") rather than a country-level source, and every place that shows the row
//! must say so.

use sea_orm_migration::prelude::*;

use crate::iden::Signatures;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Signatures::Table)
                    .add_column(ColumnDef::new(Signatures::Notes).text().null())
                    .take(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.alter_table(Table::alter().table(Signatures::Table).drop_column(Signatures::Notes).take()).await
    }
}
