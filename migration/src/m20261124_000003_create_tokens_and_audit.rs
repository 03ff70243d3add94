//! API tokens (stored as SHA-256 hashes only), the audit log of every write, and the
//! retraction of a commitment (a figure withdrawn by the tracker, never deleted), and a
//! version on sources (optimistic concurrency, like every other edited table).

use sea_orm_migration::{prelude::*, schema::*};

use crate::iden::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(ApiTokens::Table)
                    .col(big_pk_auto(ApiTokens::Id))
                    .col(text_uniq(ApiTokens::Name))
                    .col(text(ApiTokens::Role))
                    .col(text_uniq(ApiTokens::TokenHash))
                    .col(timestamp_with_time_zone(ApiTokens::CreatedAt))
                    .col(timestamp_with_time_zone_null(ApiTokens::RevokedAt))
                    .take(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(AuditLog::Table)
                    .col(big_pk_auto(AuditLog::Id))
                    .col(timestamp_with_time_zone(AuditLog::At))
                    .col(text(AuditLog::Actor))
                    .col(text(AuditLog::Action))
                    .col(text(AuditLog::EntityKind))
                    .col(big_integer_null(AuditLog::EntityId))
                    .col(text(AuditLog::Slug))
                    .col(text_null(AuditLog::Before))
                    .col(text_null(AuditLog::After))
                    .take(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_audit_log_entity")
                    .table(AuditLog::Table)
                    .col(AuditLog::EntityKind)
                    .col(AuditLog::Slug)
                    .col(AuditLog::Id)
                    .take(),
            )
            .await?;
        for col in [date_null(CommitmentRetraction::RetractedOn), text_null(CommitmentRetraction::RetractionReason)] {
            let mut col = col;
            manager.alter_table(Table::alter().table(Commitments::Table).add_column(&mut col).take()).await?;
        }
        manager
            .alter_table(
                Table::alter().table(Sources::Table).add_column(integer(SourceVersion::Version).default(1)).take(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.alter_table(Table::alter().table(Sources::Table).drop_column(SourceVersion::Version).take()).await?;
        for col in [CommitmentRetraction::RetractedOn, CommitmentRetraction::RetractionReason] {
            manager.alter_table(Table::alter().table(Commitments::Table).drop_column(col).take()).await?;
        }
        manager.drop_table(Table::drop().table(AuditLog::Table).take()).await?;
        manager.drop_table(Table::drop().table(ApiTokens::Table).take()).await
    }
}
