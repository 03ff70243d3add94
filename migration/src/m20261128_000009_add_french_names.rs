//! French names of events and coalitions ("Sommet pour l'action sur l'intelligence
//! artificielle", "Déclaration sur l'intelligence artificielle durable et inclusive…"), and
//! their folded form for accent-insensitive search.

use sea_orm_migration::prelude::*;

use crate::iden::{Coalitions, Events};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [Events::Table.into_iden(), Coalitions::Table.into_iden()] {
            for column in ["name_fr", "name_fr_folded"] {
                manager
                    .alter_table(
                        Table::alter()
                            .table(table.clone())
                            .add_column(ColumnDef::new(Alias::new(column)).text().null())
                            .take(),
                    )
                    .await?;
            }
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [Events::Table.into_iden(), Coalitions::Table.into_iden()] {
            for column in ["name_fr_folded", "name_fr"] {
                manager.alter_table(Table::alter().table(table.clone()).drop_column(Alias::new(column)).take()).await?;
            }
        }
        Ok(())
    }
}
