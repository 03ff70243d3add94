//! API tokens: created with a secret shown once (only its hash is stored), revoked by name,
//! listed, and resolved to who holds them. Each change is audited.

use chrono::Utc;
use entity::api_token;
use sea_orm::{ActiveModelTrait, ColumnTrait, DbErr, EntityTrait, QueryFilter, QueryOrder, Set};

use super::{
    Db, StorageError, StorageResult,
    audit::{Action, Subject, audit},
    counting::bump_data_version,
};
use crate::{
    auth::{Principal, Role, check_token_name, generate_token, hash_token},
    domain::FieldError,
};

impl Db {
    /// Creates a token; returns its secret, shown this once (only its hash is stored).
    pub async fn create_token(&self, who: &str, name: &str, role: Role) -> StorageResult<String> {
        check_token_name(name)?;
        let secret = generate_token()
            .map_err(|e| StorageError::Db(DbErr::Custom(format!("no randomness from the operating system: {e}"))))?;
        let txn = self.begin_write().await?;
        if api_token::Entity::find().filter(api_token::Column::Name.eq(name)).one(&txn).await?.is_some() {
            return Err(StorageError::Invalid(FieldError::new("name", format!("a token named {name:?} exists"))));
        }
        let row = api_token::ActiveModel {
            id: sea_orm::ActiveValue::NotSet,
            name: Set(name.to_owned()),
            role: Set(role.as_str().to_owned()),
            token_hash: Set(hash_token(&secret)),
            created_at: Set(Utc::now()),
            revoked_at: Set(None),
        }
        .insert(&txn)
        .await?;
        let after = serde_json::json!({ "name": name, "role": role.as_str() }).to_string();
        audit(&txn, who, Action::Create, (Subject::Token, Some(row.id), name), None, Some(after)).await?;
        // The audit log is readable (`history`): cached answers must not outlive it.
        bump_data_version(&txn).await?;
        txn.commit().await?;
        Ok(secret)
    }

    /// Revokes a token by name; it stops working at once, on every server.
    pub async fn revoke_token(&self, who: &str, name: &str) -> StorageResult<()> {
        let txn = self.begin_write().await?;
        let Some(row) = api_token::Entity::find()
            .filter(api_token::Column::Name.eq(name))
            .filter(api_token::Column::RevokedAt.is_null())
            .one(&txn)
            .await?
        else {
            return Err(StorageError::NotFound(format!("no active token named {name:?}")));
        };
        let id = row.id;
        let mut active: api_token::ActiveModel = row.into();
        active.revoked_at = Set(Some(Utc::now()));
        active.update(&txn).await?;
        audit(&txn, who, Action::Revoke, (Subject::Token, Some(id), name), None, None).await?;
        bump_data_version(&txn).await?;
        txn.commit().await?;
        Ok(())
    }

    /// Every token (revoked ones too), by name.
    pub async fn tokens(&self) -> StorageResult<Vec<api_token::Model>> {
        Ok(api_token::Entity::find().order_by_asc(api_token::Column::Name).all(self.conn()).await?)
    }

    /// Who holds `token`.
    pub async fn principal(&self, token: &str) -> StorageResult<Principal> {
        let row = api_token::Entity::find()
            .filter(api_token::Column::TokenHash.eq(hash_token(token)))
            .filter(api_token::Column::RevokedAt.is_null())
            .one(self.conn())
            .await?;
        Ok(match row.map(|r| (Role::parse("role", &r.role), r.name)) {
            Some((Ok(role), name)) => Principal::Token { name, role },
            _ => Principal::Invalid,
        })
    }
}
