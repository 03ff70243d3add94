//! The core schema: sources, actors, events, commitments and their relations, coalitions,
//! signatures, exchange rates.
//!
//! Money is stored as BIGINT minor units plus the currency's ISO 4217 exponent: exact on
//! SQLite (whose decimal columns are doubles) and on PostgreSQL alike. Exchange rates are
//! stored as their decimal text, exactly as published.

use sea_orm_migration::{prelude::*, schema::*};

use crate::iden::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

fn fk(
    name: &str,
    from: (impl IntoIden, impl IntoIden),
    to: (impl IntoIden, impl IntoIden),
) -> ForeignKeyCreateStatement {
    ForeignKey::create().name(name).from(from.0, from.1).to(to.0, to.1).on_delete(ForeignKeyAction::Restrict).take()
}

fn index(name: &str, table: impl IntoIden, cols: &[&'static str]) -> IndexCreateStatement {
    let mut stmt = Index::create().name(name).table(table).take();
    for col in cols {
        stmt.col(Alias::new(*col));
    }
    stmt
}

async fn create_indexes(manager: &SchemaManager<'_>, list: Vec<IndexCreateStatement>) -> Result<(), DbErr> {
    for stmt in list {
        manager.create_index(stmt).await?;
    }
    Ok(())
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Sources::Table)
                    .col(big_pk_auto(Sources::Id))
                    .col(text_uniq(Sources::Slug))
                    .col(text(Sources::Url))
                    .col(text(Sources::Publisher))
                    .col(text(Sources::Title))
                    .col(text_null(Sources::PublishedOn))
                    .col(text_null(Sources::Language))
                    .col(text_null(Sources::Quote))
                    .col(timestamp_with_time_zone(Sources::CreatedAt))
                    .take(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(SourceLinks::Table)
                    .col(text(SourceLinks::EntityKind))
                    .col(big_integer(SourceLinks::EntityId))
                    .col(big_integer(SourceLinks::SourceId))
                    .col(integer(SourceLinks::Position))
                    .primary_key(
                        Index::create()
                            .col(SourceLinks::EntityKind)
                            .col(SourceLinks::EntityId)
                            .col(SourceLinks::SourceId),
                    )
                    .foreign_key(&mut fk(
                        "fk_source_links_source",
                        (SourceLinks::Table, SourceLinks::SourceId),
                        (Sources::Table, Sources::Id),
                    ))
                    .take(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Actors::Table)
                    .col(big_pk_auto(Actors::Id))
                    .col(text_uniq(Actors::Slug))
                    .col(text(Actors::Name))
                    .col(text(Actors::NameFolded))
                    .col(text(Actors::Kind))
                    .col(text_null(Actors::Country))
                    .col(text(Actors::Aliases))
                    .col(text(Actors::AliasesFolded))
                    .col(integer(Actors::Version))
                    .col(timestamp_with_time_zone(Actors::CreatedAt))
                    .col(timestamp_with_time_zone(Actors::UpdatedAt))
                    .take(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Events::Table)
                    .col(big_pk_auto(Events::Id))
                    .col(text_uniq(Events::Slug))
                    .col(text(Events::Name))
                    .col(text(Events::NameFolded))
                    .col(text(Events::Kind))
                    .col(text_null(Events::City))
                    .col(text_null(Events::Country))
                    .col(date_null(Events::StartDate))
                    .col(date_null(Events::EndDate))
                    .col(integer(Events::Version))
                    .col(timestamp_with_time_zone(Events::CreatedAt))
                    .col(timestamp_with_time_zone(Events::UpdatedAt))
                    .take(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Commitments::Table)
                    .col(big_pk_auto(Commitments::Id))
                    .col(text_uniq(Commitments::Slug))
                    .col(text(Commitments::Title))
                    .col(text(Commitments::TitleFolded))
                    .col(big_integer(Commitments::PledgerId))
                    .col(big_integer_null(Commitments::EventId))
                    .col(big_integer_null(Commitments::BeneficiaryId))
                    .col(date_null(Commitments::AnnouncedOn))
                    .col(big_integer_null(Commitments::AmountLow))
                    .col(big_integer_null(Commitments::AmountHigh))
                    .col(text(Commitments::Currency))
                    .col(small_integer(Commitments::CurrencyExponent))
                    .col(text_null(Commitments::RecipientCountry))
                    .col(text_null(Commitments::Sector))
                    .col(text(Commitments::Kind))
                    .col(integer_null(Commitments::HorizonYear))
                    .col(text(Commitments::Status))
                    .col(boolean(Commitments::AmountDisputed))
                    .col(big_integer_null(Commitments::ParentId))
                    .col(text_null(Commitments::Relation))
                    .col(text_null(Commitments::Notes))
                    .col(integer(Commitments::Version))
                    .col(timestamp_with_time_zone(Commitments::CreatedAt))
                    .col(timestamp_with_time_zone(Commitments::UpdatedAt))
                    .foreign_key(&mut fk(
                        "fk_commitments_pledger",
                        (Commitments::Table, Commitments::PledgerId),
                        (Actors::Table, Actors::Id),
                    ))
                    .foreign_key(&mut fk(
                        "fk_commitments_event",
                        (Commitments::Table, Commitments::EventId),
                        (Events::Table, Events::Id),
                    ))
                    .foreign_key(&mut fk(
                        "fk_commitments_beneficiary",
                        (Commitments::Table, Commitments::BeneficiaryId),
                        (Actors::Table, Actors::Id),
                    ))
                    .foreign_key(&mut fk(
                        "fk_commitments_parent",
                        (Commitments::Table, Commitments::ParentId),
                        (Commitments::Table, Commitments::Id),
                    ))
                    .take(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Overlaps::Table)
                    .col(big_pk_auto(Overlaps::Id))
                    .col(big_integer(Overlaps::LaterId))
                    .col(big_integer(Overlaps::EarlierId))
                    .col(big_integer_null(Overlaps::AmountLow))
                    .col(big_integer_null(Overlaps::AmountHigh))
                    .col(text(Overlaps::Currency))
                    .col(small_integer(Overlaps::CurrencyExponent))
                    .col(text_null(Overlaps::Note))
                    .foreign_key(&mut fk(
                        "fk_overlaps_later",
                        (Overlaps::Table, Overlaps::LaterId),
                        (Commitments::Table, Commitments::Id),
                    ))
                    .foreign_key(&mut fk(
                        "fk_overlaps_earlier",
                        (Overlaps::Table, Overlaps::EarlierId),
                        (Commitments::Table, Commitments::Id),
                    ))
                    .take(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(FundraisingTargets::Table)
                    .col(big_pk_auto(FundraisingTargets::Id))
                    .col(big_integer_uniq(FundraisingTargets::ActorId))
                    .col(big_integer_null(FundraisingTargets::AmountLow))
                    .col(big_integer_null(FundraisingTargets::AmountHigh))
                    .col(text(FundraisingTargets::Currency))
                    .col(small_integer(FundraisingTargets::CurrencyExponent))
                    .col(integer_null(FundraisingTargets::HorizonYear))
                    .col(text_null(FundraisingTargets::Notes))
                    .foreign_key(&mut fk(
                        "fk_fundraising_targets_actor",
                        (FundraisingTargets::Table, FundraisingTargets::ActorId),
                        (Actors::Table, Actors::Id),
                    ))
                    .take(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(StatusHistory::Table)
                    .col(big_pk_auto(StatusHistory::Id))
                    .col(big_integer(StatusHistory::CommitmentId))
                    .col(text(StatusHistory::Status))
                    .col(date_null(StatusHistory::EffectiveOn))
                    .col(text_null(StatusHistory::Note))
                    .col(timestamp_with_time_zone(StatusHistory::CreatedAt))
                    .foreign_key(&mut fk(
                        "fk_status_history_commitment",
                        (StatusHistory::Table, StatusHistory::CommitmentId),
                        (Commitments::Table, Commitments::Id),
                    ))
                    .take(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Coalitions::Table)
                    .col(big_pk_auto(Coalitions::Id))
                    .col(text_uniq(Coalitions::Slug))
                    .col(text(Coalitions::Name))
                    .col(text(Coalitions::NameFolded))
                    .col(text(Coalitions::Kind))
                    .col(date_null(Coalitions::LaunchedOn))
                    .col(big_integer_null(Coalitions::EventId))
                    .col(integer(Coalitions::Version))
                    .col(timestamp_with_time_zone(Coalitions::CreatedAt))
                    .col(timestamp_with_time_zone(Coalitions::UpdatedAt))
                    .foreign_key(&mut fk(
                        "fk_coalitions_event",
                        (Coalitions::Table, Coalitions::EventId),
                        (Events::Table, Events::Id),
                    ))
                    .take(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Signatures::Table)
                    .col(big_pk_auto(Signatures::Id))
                    .col(big_integer(Signatures::CoalitionId))
                    .col(big_integer(Signatures::ActorId))
                    .col(text(Signatures::Stance))
                    .col(boolean(Signatures::Initiator))
                    .col(date_null(Signatures::SignedOn))
                    .col(integer(Signatures::Version))
                    .col(timestamp_with_time_zone(Signatures::CreatedAt))
                    .col(timestamp_with_time_zone(Signatures::UpdatedAt))
                    .foreign_key(&mut fk(
                        "fk_signatures_coalition",
                        (Signatures::Table, Signatures::CoalitionId),
                        (Coalitions::Table, Coalitions::Id),
                    ))
                    .foreign_key(&mut fk(
                        "fk_signatures_actor",
                        (Signatures::Table, Signatures::ActorId),
                        (Actors::Table, Actors::Id),
                    ))
                    .take(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(ExchangeRates::Table)
                    .col(big_pk_auto(ExchangeRates::Id))
                    .col(date(ExchangeRates::RateDate))
                    .col(text(ExchangeRates::Base))
                    .col(text(ExchangeRates::Quote))
                    .col(text(ExchangeRates::Rate))
                    .take(),
            )
            .await?;

        let mut unique_rate =
            index("ux_exchange_rates_pair_date", ExchangeRates::Table, &["base", "quote", "rate_date"]);
        unique_rate.unique();
        let mut unique_signature =
            index("ux_signatures_coalition_actor", Signatures::Table, &["coalition_id", "actor_id"]);
        unique_signature.unique();
        let mut unique_overlap = index("ux_overlaps_later_earlier", Overlaps::Table, &["later_id", "earlier_id"]);
        unique_overlap.unique();
        create_indexes(
            manager,
            vec![
                unique_rate,
                unique_signature,
                unique_overlap,
                index("ix_source_links_source", SourceLinks::Table, &["source_id"]),
                index("ix_actors_kind", Actors::Table, &["kind"]),
                index("ix_actors_country", Actors::Table, &["country"]),
                index("ix_commitments_announced", Commitments::Table, &["announced_on", "id"]),
                index("ix_commitments_title", Commitments::Table, &["title", "id"]),
                index("ix_commitments_event", Commitments::Table, &["event_id", "announced_on"]),
                index("ix_commitments_pledger", Commitments::Table, &["pledger_id"]),
                index("ix_commitments_beneficiary", Commitments::Table, &["beneficiary_id"]),
                index("ix_commitments_parent", Commitments::Table, &["parent_id"]),
                index("ix_commitments_recipient", Commitments::Table, &["recipient_country"]),
                index("ix_commitments_sector", Commitments::Table, &["sector"]),
                index("ix_commitments_kind", Commitments::Table, &["kind"]),
                index("ix_commitments_status", Commitments::Table, &["status"]),
                index("ix_commitments_currency", Commitments::Table, &["currency"]),
                index("ix_overlaps_earlier", Overlaps::Table, &["earlier_id"]),
                index("ix_status_history_commitment", StatusHistory::Table, &["commitment_id", "effective_on"]),
                index("ix_coalitions_event", Coalitions::Table, &["event_id"]),
                index("ix_signatures_actor", Signatures::Table, &["actor_id"]),
                index("ix_signatures_stance", Signatures::Table, &["coalition_id", "stance"]),
            ],
        )
        .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            ExchangeRates::Table.into_iden(),
            Signatures::Table.into_iden(),
            Coalitions::Table.into_iden(),
            StatusHistory::Table.into_iden(),
            FundraisingTargets::Table.into_iden(),
            Overlaps::Table.into_iden(),
            Commitments::Table.into_iden(),
            Events::Table.into_iden(),
            Actors::Table.into_iden(),
            SourceLinks::Table.into_iden(),
            Sources::Table.into_iden(),
        ] {
            manager.drop_table(Table::drop().table(table).take()).await?;
        }
        Ok(())
    }
}
