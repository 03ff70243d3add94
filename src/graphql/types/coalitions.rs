//! Coalitions and declarations, their signatures and counts.

use async_graphql::{Context, Enum, Object, SimpleObject};
use entity::{coalition, reported_count, signature};

use super::*;

/// Signature counts of a coalition by stance.
#[derive(SimpleObject)]
pub struct SignatureCounts {
    /// Actors that signed or joined.
    pub signed: u64,
    /// Actors recorded as publicly not signing.
    pub declined: u64,
    /// Actors that withdrew.
    pub withdrawn: u64,
    /// All recorded stances.
    pub total: u64,
}

impl From<StanceCounts> for SignatureCounts {
    fn from(c: StanceCounts) -> Self {
        Self {
            signed: c.signed,
            declined: c.declined,
            withdrawn: c.withdrawn,
            total: c.signed + c.declined + c.withdrawn,
        }
    }
}

/// What a coalition's signatures can be grouped by.
#[derive(Enum, Clone, Copy, PartialEq, Eq)]
#[graphql(remote = "crate::storage::signatures::SignatureDimension")]
pub enum SignatureDimension {
    /// The signatory's kind.
    ActorKind,
    /// The signatory's country (null for international bodies).
    Country,
}

/// Stance counts for one value of a dimension.
#[derive(SimpleObject)]
pub struct SignatureGroup {
    /// The kind or country (null: none recorded).
    pub value: Option<String>,
    /// The counts.
    pub counts: SignatureCounts,
}

/// One day of a signature timeline.
#[derive(SimpleObject)]
pub struct TimelinePoint {
    /// The day.
    pub date: Date,
    /// SIGNED stances dated that day.
    pub signed: u64,
    /// SIGNED stances dated up to that day.
    pub cumulative: u64,
}

/// Signatories over time.
#[derive(SimpleObject)]
pub struct SignatureTimeline {
    /// One point per signing day, in date order.
    pub points: Vec<TimelinePoint>,
    /// SIGNED stances with no recorded date (not in `points`).
    pub undated: u64,
}

/// Filters on a coalition's signatures; an omitted or empty list does not filter.
#[derive(async_graphql::InputObject, Default)]
pub struct SignatureFilterInput {
    /// Only these stances.
    pub stances: Option<Vec<Stance>>,
    /// Only actors of these kinds.
    pub actor_kinds: Option<Vec<ActorKind>>,
    /// Only actors of these countries (ISO 3166-1 alpha-2).
    pub countries: Option<Vec<String>>,
}

/// A coalition, partnership or declaration.
#[derive(Clone)]
pub struct Coalition(pub coalition::Model);

impl From<coalition::Model> for Coalition {
    fn from(row: coalition::Model) -> Self {
        Self(row)
    }
}

#[Object]
impl Coalition {
    /// Global id (Relay `Node`): `node(id:)` finds the record again.
    pub(crate) async fn id(&self) -> async_graphql::ID {
        super::global_id("Coalition", &self.0.slug)
    }

    /// Stable identifier.
    async fn slug(&self) -> &str {
        &self.0.slug
    }
    /// Name, in `lang` (EN by default; FR gives the French name where one is recorded,
    /// else the English one).
    async fn name(&self, lang: Option<Language>) -> &str {
        name_in(lang, &self.0.name, self.0.name_fr.as_deref())
    }
    /// The French name, where a source gives one ("Déclaration sur l'intelligence
    /// artificielle durable et inclusive pour la population et la planète").
    async fn name_fr(&self) -> Option<&str> {
        self.0.name_fr.as_deref()
    }
    /// Declaration or coalition.
    async fn kind(&self) -> Result<CoalitionKind, ApiError> {
        Ok(stored(kinds::CoalitionKind::parse("kind", &self.0.kind))?.into())
    }
    /// Launch or signing day.
    async fn launched_on(&self) -> Option<Date> {
        self.0.launched_on.map(Date)
    }
    /// Version, for `expectedVersion` in `updateCoalition`.
    async fn version(&self) -> i32 {
        self.0.version
    }
    /// Event where it was launched.
    async fn event(&self, ctx: &Context<'_>) -> Result<Option<Event>, ApiError> {
        match self.0.event_id {
            Some(id) => Ok(loaded(ctx.loaders()?.events.load_one(id).await)?.map(Event)),
            None => Ok(None),
        }
    }
    /// Sources for the coalition.
    async fn sources(&self, ctx: &Context<'_>) -> Result<Vec<Source>, ApiError> {
        sources(ctx, Linked::Coalition, self.0.id, None).await
    }
    /// Recorded stances (signed, declined, withdrawn), by actor name.
    async fn signatures(
        &self,
        ctx: &Context<'_>,
        filter: Option<SignatureFilterInput>,
    ) -> Result<Vec<Signature>, ApiError> {
        let filter = filter.unwrap_or_default();
        let countries = crate::domain::codes::country_codes("filter.countries", filter.countries)?;
        let filter = SignatureFilter {
            stances: filter.stances.unwrap_or_default().into_iter().map(Into::into).collect(),
            actor_kinds: filter.actor_kinds.unwrap_or_default().into_iter().map(Into::into).collect(),
            countries,
        };
        let rows = ctx.db()?.signatures_of(self.0.id, &filter).await.api()?;
        Ok(rows.into_iter().map(|(s, _)| Signature(s)).collect())
    }
    /// Counts of reported signatories or members as sources gave them ("58 countries plus
    /// the EU and the AUC", "91" on 24 Feb 2026), by day (undated last), each with its sources.
    async fn reported_counts(&self, ctx: &Context<'_>) -> Result<Vec<ReportedCount>, ApiError> {
        let rows = loaded(ctx.loaders()?.reported_counts.load_one(self.0.id).await)?.unwrap_or_default();
        Ok(rows.into_iter().map(ReportedCount).collect())
    }
    /// What the reported counts add up to: "44 named (`counts.signed`) of 58–64 reported".
    /// Null when no count is recorded.
    async fn reported(&self, ctx: &Context<'_>) -> Result<Option<ReportedRange>, ApiError> {
        let rows = loaded(ctx.loaders()?.reported_counts.load_one(self.0.id).await)?.unwrap_or_default();
        let reports = rows
            .iter()
            .map(|r| {
                Ok(reported::Report {
                    count: stored(reported::CountRange::new(r.count_low, r.count_high))?,
                    kind: stored(kinds::ReportedCountKind::parse("kind", &r.kind))?,
                    on: r.reported_on,
                })
            })
            .collect::<Result<Vec<_>, ApiError>>()?;
        Ok(reported::summarize(&reports).map(|s| ReportedRange {
            low: s.range.low(),
            high: s.range.high(),
            latest: s.latest.map(|i| ReportedCount(rows[i].clone())),
        }))
    }
    /// Counts of recorded stances. Only named signatories are recorded: `reported` gives
    /// the counts the sources report. With `asOf`, only stances dated on or before that day (undated
    /// stances are counted only without `asOf`). With `knownAt`, the stances as the tracker
    /// recorded them at that moment (before later signatures and changes of stance).
    async fn counts(
        &self,
        ctx: &Context<'_>,
        as_of: Option<Date>,
        known_at: Option<chrono::DateTime<chrono::Utc>>,
    ) -> Result<SignatureCounts, ApiError> {
        let db = ctx.db()?;
        let known = crate::graphql::known_version(db, known_at).await?;
        if let Some(day) = as_of {
            return Ok(db.stance_counts_on(self.0.id, day.0, known).await.api()?.into());
        }
        let counts = loaded(ctx.loaders()?.stance_counts.load_one((self.0.id, known)).await)?;
        Ok(counts.unwrap_or_default().into())
    }
    /// Stance counts by the signatory's kind or country (optionally as of a day).
    async fn breakdown(
        &self,
        ctx: &Context<'_>,
        by: SignatureDimension,
        as_of: Option<Date>,
    ) -> Result<Vec<SignatureGroup>, ApiError> {
        let groups = ctx.db()?.signature_breakdown(self.0.id, by.into(), as_of.map(|d| d.0)).await.api()?;
        Ok(groups.into_iter().map(|g| SignatureGroup { value: g.value, counts: g.counts.into() }).collect())
    }
    /// Signatories (SIGNED) over time: per signing day and cumulative, for a line chart.
    async fn timeline(&self, ctx: &Context<'_>) -> Result<SignatureTimeline, ApiError> {
        let (points, undated) = ctx.db()?.signature_timeline(self.0.id).await.api()?;
        Ok(SignatureTimeline {
            points: points
                .into_iter()
                .map(|p| TimelinePoint { date: Date(p.on), signed: p.signed, cumulative: p.cumulative })
                .collect(),
            undated,
        })
    }
}

/// The range of a coalition's reported counts (kind `COUNT` only).
#[derive(SimpleObject)]
pub struct ReportedRange {
    /// The lowest count reported.
    pub low: i32,
    /// The highest count reported; null when the highest is open ("over 100").
    pub high: Option<i32>,
    /// The latest dated count (null when none is dated).
    pub latest: Option<ReportedCount>,
}

/// A count of a coalition's signatories or members as a source reported it.
pub struct ReportedCount(pub reported_count::Model);

#[Object]
impl ReportedCount {
    /// Day of the report, when known.
    async fn reported_on(&self) -> Option<Date> {
        self.0.reported_on.map(Date)
    }
    /// The count (the low end of a range).
    async fn count_low(&self) -> i32 {
        self.0.count_low
    }
    /// The high end: the same as `countLow` for one figure, null for an open count
    /// ("over 100").
    async fn count_high(&self) -> Option<i32> {
        self.0.count_high
    }
    /// What the count counts.
    async fn kind(&self) -> Result<ReportedCountKind, ApiError> {
        Ok(stored(kinds::ReportedCountKind::parse("kind", &self.0.kind))?.into())
    }
    /// The count in the source's words.
    async fn wording(&self) -> &str {
        &self.0.wording
    }
    /// How the count relates to the others.
    async fn note(&self) -> Option<&str> {
        self.0.note.as_deref()
    }
    /// Sources reporting the count (at least one).
    async fn sources(&self, ctx: &Context<'_>) -> Result<Vec<Source>, ApiError> {
        sources(ctx, Linked::ReportedCount, self.0.id, None).await
    }
}

/// An actor's stance on a coalition or declaration.
#[derive(Clone)]
pub struct Signature(pub signature::Model);

#[Object]
impl Signature {
    /// Global id (Relay `Node`), from the coalition's and the actor's slugs: `node(id:)`
    /// finds the row again.
    pub(crate) async fn id(&self, ctx: &Context<'_>) -> Result<async_graphql::ID, ApiError> {
        let actor = load_actor(ctx, self.0.actor_id).await?;
        let coalition = loaded(ctx.loaders()?.coalitions.load_one(self.0.coalition_id).await)?.ok_or_else(|| {
            ApiError::Internal(format!("coalition {} is referenced but missing", self.0.coalition_id))
        })?;
        Ok(super::global_id("Signature", &format!("{}/{}", coalition.slug, actor.0.slug)))
    }

    /// The actor.
    async fn actor(&self, ctx: &Context<'_>) -> Result<Actor, ApiError> {
        load_actor(ctx, self.0.actor_id).await
    }
    /// The coalition or declaration.
    async fn coalition(&self, ctx: &Context<'_>) -> Result<Option<Coalition>, ApiError> {
        Ok(loaded(ctx.loaders()?.coalitions.load_one(self.0.coalition_id).await)?.map(Coalition))
    }
    /// Signed, declined or withdrawn.
    async fn stance(&self) -> Result<Stance, ApiError> {
        Ok(stored(kinds::Stance::parse("stance", &self.0.stance))?.into())
    }
    /// Whether the actor signed as an initiator or co-lead.
    async fn initiator(&self) -> bool {
        self.0.initiator
    }
    /// Day of signing (or of the public refusal).
    async fn signed_on(&self) -> Option<Date> {
        self.0.signed_on.map(Date)
    }
    /// A caveat on what the row rests on, to show wherever it is shown (e.g. "rests on one
    /// wire line saying the 27 EU states signed; no country-level source").
    async fn notes(&self) -> Option<&str> {
        self.0.notes.as_deref()
    }
    /// Version, for `expectedVersion` in `setSignature`.
    async fn version(&self) -> i32 {
        self.0.version
    }
    /// Sources of the stance (at least one).
    async fn sources(&self, ctx: &Context<'_>) -> Result<Vec<Source>, ApiError> {
        sources(ctx, Linked::Signature, self.0.id, None).await
    }
}
