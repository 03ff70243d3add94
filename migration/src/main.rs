//! Runs the pledgewatch migrations on their own, without the server:
//! `DATABASE_URL=sqlite://pledgewatch.db?mode=rwc cargo run -p migration -- up`
//! (`up`, `down` to undo the last one, `status`). `pledgewatch migrate` does the same `up`.

use sea_orm_migration::{MigratorTrait, sea_orm::Database};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let url = std::env::var("DATABASE_URL").map_err(|_| "set DATABASE_URL to the database to migrate")?;
    let db = Database::connect(&url).await?;
    match std::env::args().nth(1).as_deref().unwrap_or("up") {
        "up" => migration::Migrator::up(&db, None).await?,
        "down" => migration::Migrator::down(&db, Some(1)).await?,
        "status" => migration::Migrator::status(&db).await?,
        other => return Err(format!("unknown command {other:?}: use up, down or status").into()),
    }
    Ok(())
}
