//! Table and column names, as the migrations knew them.

use sea_orm_migration::prelude::*;

#[derive(DeriveIden)]
pub enum Sources {
    Table,
    Id,
    Slug,
    Url,
    Publisher,
    Title,
    PublishedOn,
    Language,
    Quote,
    CreatedAt,
}

#[derive(DeriveIden)]
pub enum SourceLinks {
    Table,
    EntityKind,
    EntityId,
    SourceId,
    Position,
}

#[derive(DeriveIden)]
pub enum Actors {
    Table,
    Id,
    Slug,
    Name,
    NameFolded,
    Kind,
    Country,
    Aliases,
    AliasesFolded,
    Version,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
pub enum Events {
    Table,
    Id,
    Slug,
    Name,
    NameFolded,
    Kind,
    City,
    Country,
    StartDate,
    EndDate,
    Version,
    CreatedAt,
    UpdatedAt,
    Series,
}

#[derive(DeriveIden)]
pub enum Commitments {
    Table,
    Id,
    Slug,
    Title,
    TitleFolded,
    PledgerId,
    EventId,
    BeneficiaryId,
    AnnouncedOn,
    AmountLow,
    AmountHigh,
    Currency,
    CurrencyExponent,
    RecipientCountry,
    Sector,
    Kind,
    HorizonYear,
    Status,
    AmountDisputed,
    ParentId,
    Relation,
    Notes,
    Version,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
pub enum Overlaps {
    Table,
    Id,
    LaterId,
    EarlierId,
    AmountLow,
    AmountHigh,
    Currency,
    CurrencyExponent,
    Note,
}

#[derive(DeriveIden)]
pub enum FundraisingTargets {
    Table,
    Id,
    ActorId,
    AmountLow,
    AmountHigh,
    Currency,
    CurrencyExponent,
    HorizonYear,
    Notes,
}

#[derive(DeriveIden)]
pub enum ReportedCounts {
    Table,
    Id,
    CoalitionId,
    ReportedOn,
    CountLow,
    CountHigh,
    Kind,
    Wording,
    Note,
}

#[derive(DeriveIden)]
pub enum StatusHistory {
    Table,
    Id,
    CommitmentId,
    Status,
    EffectiveOn,
    Note,
    CreatedAt,
}

#[derive(DeriveIden)]
pub enum Coalitions {
    Table,
    Id,
    Slug,
    Name,
    NameFolded,
    Kind,
    LaunchedOn,
    EventId,
    Version,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
pub enum Signatures {
    Table,
    Id,
    CoalitionId,
    ActorId,
    Stance,
    Initiator,
    SignedOn,
    Version,
    CreatedAt,
    UpdatedAt,
    Notes,
}

#[derive(DeriveIden)]
pub enum ExchangeRates {
    Table,
    Id,
    RateDate,
    Base,
    Quote,
    Rate,
}

#[derive(DeriveIden)]
pub enum CountedAmounts {
    Table,
    Id,
    CommitmentId,
    RelatedId,
    Rule,
    Measure,
    IsPrimary,
    Flags,
    AmountLow,
    AmountHigh,
    Currency,
    CurrencyExponent,
    RateDate,
    RateYear,
    OwnerOn,
    RelatedOn,
    AnnouncedOn,
    Status,
    RelatedStatus,
    EventId,
    PledgerId,
    PledgerKind,
    PledgerCountry,
    BeneficiaryId,
    RecipientCountry,
    Sector,
    Kind,
    OwnerCurrency,
    Year,
    Month,
}

#[derive(DeriveIden)]
pub enum DataVersions {
    Table,
    Id,
    Version,
}

#[derive(DeriveIden)]
pub enum ApiTokens {
    Table,
    Id,
    Name,
    Role,
    TokenHash,
    CreatedAt,
    RevokedAt,
}

#[derive(DeriveIden)]
pub enum AuditLog {
    Table,
    Id,
    At,
    Actor,
    Action,
    EntityKind,
    EntityId,
    Slug,
    Before,
    After,
}

#[derive(DeriveIden)]
pub enum CommitmentRetraction {
    RetractedOn,
    RetractionReason,
}

#[derive(DeriveIden)]
pub enum SourceVersion {
    Version,
}

#[derive(DeriveIden)]
pub enum Claims {
    Table,
    Id,
    Slug,
    CommitmentId,
    Claimant,
    ClaimedOn,
    AmountLow,
    AmountHigh,
    Currency,
    CurrencyExponent,
    Preferred,
    Reason,
    Notes,
}
