//! Totals asked another way: under competing claims (`claims`), or as the tracker knew
//! them at a moment (`knownAt`).

use std::sync::Arc;

use super::{TotalsProvenance, TotalsReport, TotalsRequest};
use crate::{
    domain::FieldError,
    error::{ApiError, ApiResultExt},
};

impl TotalsRequest {
    /// Runs the request, under these claims when there are any.
    pub(crate) async fn run_claimed(
        &self,
        db: &crate::storage::Db,
        claims: &[String],
    ) -> Result<TotalsReport, ApiError> {
        if claims.is_empty() { self.run(db).await } else { self.run_under_claims(db, claims).await }
    }

    /// Runs the request with these claims in place of their commitments' recorded ones
    /// (`claims[i]` names a bad one): computed for this request, never cached.
    pub(crate) async fn run_under_claims(
        &self,
        db: &crate::storage::Db,
        slugs: &[String],
    ) -> Result<TotalsReport, ApiError> {
        crate::domain::text::check_list_len("claims", slugs.len())?;
        if self.query.known_at.is_some() {
            return Err(
                FieldError::new("claims", "cannot be combined with knownAt: claims apply to today's data").into()
            );
        }
        let found = db.claims_by_slugs(slugs).await.api()?;
        let mut claims: Vec<entity::claim::Model> = Vec::with_capacity(slugs.len());
        for (i, slug) in slugs.iter().enumerate() {
            let field = format!("claims[{i}]");
            let Some(claim) = found.iter().find(|c| &c.slug == slug) else {
                return Err(FieldError::new(field, format!("no claim {slug:?}")).into());
            };
            if claims.iter().any(|c| c.commitment_id == claim.commitment_id) {
                return Err(FieldError::new(field, "another claim about the same commitment is already asked").into());
            }
            claims.push(claim.clone());
        }
        let report = Arc::new(db.totals_under_claims(&self.query, &claims).await.api()?);
        let groups = self.shape.apply(&report.groups);
        let provenance = TotalsProvenance::what_if();
        Ok(TotalsReport { report, query: Arc::clone(&self.query), basis: self.basis, groups, claims, provenance })
    }
}
