//! Families whose money is not linear: a headline that gives way to parts exceeding it
//! counts again, in full or in part, once some of those parts are not counted (withdrawn,
//! retracted, announced after an as-of date, left out by a status filter). Their stored rows
//! carry [`flags::VARIES`]; a total leaves those rows out and resolves each such family
//! again from the members it counts, with the same rules as a write.

use std::collections::{HashMap, HashSet};

use entity::counted_amount::Column as Ca;
use sea_orm::{
    ConnectionTrait,
    sea_query::{Alias, Condition, Expr, ExprTrait, Query},
};

use super::sql::{AsOf, col, exists_condition, from_counted, owner_condition, read_key, select_key, statement};
use crate::{
    domain::{
        counting::{CountedRow, Rule, flags},
        report::GroupKey,
        totals::TotalsQuery,
    },
    storage::{Db, StorageResult, counting::counted_rows_of},
};

/// The VARIES bit of a counted row (alias `ca`), as the migrations name it: the bit is
/// written into the SQL, not bound, so that both databases match it with the partial index
/// on varying rows (migration 000002) and PostgreSQL with its statistics on the expression
/// (migration 000013), however the statement is planned.
fn varies() -> Expr {
    Expr::cust(format!("(\"ca\".\"flags\" & {})", flags::VARIES))
}

/// Rows of varying families are not added up as stored.
pub(super) fn stored_rows_are_linear() -> Condition {
    Condition::all().add(varies().eq(0))
}

/// A counted row of a varying family, resolved for one total, with its owner's group key.
#[derive(Debug, Clone)]
pub(super) struct Resolved {
    pub row: CountedRow,
    pub key: GroupKey,
}

impl Db {
    /// The own and carve-out rows of the varying families, resolved over the members the
    /// total counts, for the owners its filter selects; with `scope` (whole families, see
    /// [`families_of`](crate::storage::counting::families_of)), of those families only.
    pub(super) async fn resolved_varying<C: ConnectionTrait>(
        &self,
        conn: &C,
        query: &TotalsQuery,
        as_of: Option<AsOf>,
        scope: Option<&[i64]>,
    ) -> StorageResult<Vec<Resolved>> {
        if scope.is_some_and(<[i64]>::is_empty) {
            return Ok(Vec::new());
        }
        // Every counted member of a varying family (whatever the filter selects: a part left
        // out of a group still makes its headline give way), with its group key and whether
        // the filter selects it.
        let mut select = from_counted(as_of, query.known_at);
        select.expr_as(col(Ca::CommitmentId), Alias::new("id"));
        select_key(&mut select, query, as_of, conn.get_database_backend());
        let mut members = exists_condition(&query.filter, as_of).add(col(Ca::IsPrimary).eq(1)).add(varies().ne(0));
        if let Some(scope) = scope {
            members = members.add(col(Ca::CommitmentId).is_in(scope.iter().copied()));
        }
        select
            .expr_as(
                Expr::case(owner_condition(query, self.text_index()), Expr::val(1)).finally(Expr::val(0)),
                Alias::new("selected"),
            )
            .cond_where(members);
        let rows = conn.query_all_raw(statement(conn, &select)).await?;
        if rows.is_empty() {
            return Ok(Vec::new());
        }
        let mut members: HashMap<i64, Option<GroupKey>> = HashMap::with_capacity(rows.len());
        for row in &rows {
            let id: i64 = row.try_get("", "id")?;
            let selected: i32 = row.try_get("", "selected")?;
            let key = if selected == 1 { Some(read_key(row, query, conn.get_database_backend())?) } else { None };
            members.insert(id, key);
        }
        let mut ids: Vec<i64> = members.keys().copied().collect();
        ids.sort_unstable();
        let mut out = Vec::new();
        for row in counted_rows_of(conn, &ids).await? {
            if !matches!(row.rule, Rule::Own | Rule::CarveOut) {
                continue;
            }
            if let Some(Some(key)) = members.get(&row.owner) {
                out.push(Resolved { key: key.clone(), row });
            }
        }
        Ok(out)
    }

    /// The commitments of varying families that the writes after version `after`, up to
    /// `upto`, rebuilt (rows the change log holds with [`flags::VARIES`], removed or
    /// added): the families whose resolution a cached answer must make again.
    pub(super) async fn varying_rewritten<C: ConnectionTrait>(
        &self,
        conn: &C,
        after: i64,
        upto: i64,
    ) -> StorageResult<HashSet<i64>> {
        let version = Expr::col((Alias::new("ca"), Alias::new("version")));
        let select = Query::select()
            .distinct()
            .expr_as(col(Ca::CommitmentId), Alias::new("id"))
            .from_as(Alias::new("counted_changes"), Alias::new("ca"))
            .and_where(version.clone().gt(after))
            .and_where(version.lte(upto))
            .and_where(varies().ne(0))
            .take();
        let rows = conn.query_all_raw(statement(conn, &select)).await?;
        rows.iter().map(|row| row.try_get::<i64>("", "id").map_err(Into::into)).collect()
    }
}
