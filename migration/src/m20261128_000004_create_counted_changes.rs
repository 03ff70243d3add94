//! The change log of the counted amounts: every write that rebuilds a family copies the
//! family's old rows (sign −1) and new rows (sign +1) here, under the data version it
//! commits. A server holding a total computed at an earlier version brings it up to date
//! by adding the logged rows since, instead of summing the whole table again; the rows it
//! cannot see (before `delta_from`: a full rebuild, or pruned) make it recompute.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

fn name(s: &str) -> Alias {
    Alias::new(s)
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let mut table = Table::create();
        table
            .table(name("counted_changes"))
            .col(big_pk_auto(name("id")))
            .col(big_integer(name("version")))
            .col(integer(name("sign")))
            // The columns of counted_amounts, as they are there.
            .col(big_integer(name("commitment_id")))
            .col(big_integer_null(name("related_id")))
            .col(text(name("rule")))
            .col(text(name("measure")))
            .col(integer(name("is_primary")))
            .col(integer(name("flags")))
            .col(big_integer(name("amount_low")))
            .col(big_integer(name("amount_high")))
            .col(text(name("currency")))
            .col(small_integer(name("currency_exponent")))
            .col(date_null(name("rate_date")))
            .col(integer_null(name("rate_year")))
            .col(date_null(name("owner_on")))
            .col(date_null(name("related_on")))
            .col(date_null(name("announced_on")))
            .col(text(name("status")))
            .col(text_null(name("related_status")))
            .col(big_integer_null(name("event_id")))
            .col(big_integer(name("pledger_id")))
            .col(text(name("pledger_kind")))
            .col(text_null(name("pledger_country")))
            .col(big_integer_null(name("beneficiary_id")))
            .col(text_null(name("recipient_country")))
            .col(text_null(name("sector")))
            .col(text(name("kind")))
            .col(text(name("owner_currency")))
            .col(integer_null(name("year")))
            .col(text_null(name("month")));
        manager.create_table(table.take()).await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_counted_changes_version")
                    .table(name("counted_changes"))
                    .col(name("version"))
                    .take(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(name("data_versions"))
                    .add_column(ColumnDef::new(name("delta_from")).big_integer().not_null().default(0))
                    .take(),
            )
            .await?;
        // Nothing is logged yet: totals computed before now cannot be brought up to date.
        manager.get_connection().execute_unprepared("UPDATE data_versions SET delta_from = version").await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.alter_table(Table::alter().table(name("data_versions")).drop_column(name("delta_from")).take()).await?;
        manager.drop_table(Table::drop().table(name("counted_changes")).take()).await
    }
}
