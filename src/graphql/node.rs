//! Relay's `Node`: every record has a global `id`, and `node(id:)` finds it again, so that
//! client caches (Apollo, urql's graphcache, Relay) know two results are the same record.
//!
//! An id is the record's type and key, base64url-encoded: `Commitment:stargate-500bn`.
//! Keys are slugs, so an id outlives an export and import into another database; a
//! signature, which has no slug, is keyed by its coalition's and its actor's slugs.

use std::collections::HashMap;

use async_graphql::{Context, ID, Interface, Object};
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use entity::{actor, coalition, commitment, event, source};

use super::{ContextExt, types::*};
use crate::{
    domain::FieldError,
    error::{ApiError, ApiResultExt},
    storage::Db,
};

/// A record with a global id.
#[derive(Interface, Clone)]
#[graphql(field(name = "id", ty = "ID", desc = "Global id (Relay `Node`): `node(id:)` finds the record again."))]
pub enum Node {
    Actor(Actor),
    Event(Event),
    Commitment(Commitment),
    Coalition(Coalition),
    Source(Source),
    Signature(Signature),
}

/// The kind and key of a global id (made by `types::global_id`), if it is one.
fn parse(id: &str) -> Option<(String, String)> {
    let raw = String::from_utf8(URL_SAFE_NO_PAD.decode(id).ok()?).ok()?;
    let (kind, key) = raw.split_once(':')?;
    Some((kind.to_owned(), key.to_owned()))
}

/// The record `id` names, or `None` when there is none (any more).
async fn find(db: &Db, id: &str) -> Result<Option<Node>, ApiError> {
    let malformed = || FieldError::new("id", format!("{id:?} is not an id of this API"));
    let (kind, key) = parse(id).ok_or_else(malformed)?;
    Ok(match kind.as_str() {
        "Actor" => db.actor_by_slug(&key).await.api()?.map(|m| Node::Actor(Actor(m))),
        "Event" => db.event_by_slug(&key).await.api()?.map(|m| Node::Event(Event(m))),
        "Commitment" => db.commitment_by_slug(&key).await.api()?.map(|m| Node::Commitment(Commitment::now(m))),
        "Coalition" => db.coalition_by_slug(&key).await.api()?.map(|m| Node::Coalition(Coalition(m))),
        "Source" => db.source_by_slug(&key).await.api()?.map(|m| Node::Source(Source(m))),
        "Signature" => {
            let (coalition, actor) = key.split_once('/').ok_or_else(malformed)?;
            db.signature_by_slugs(coalition, actor).await.api()?.map(|m| Node::Signature(Signature(m)))
        }
        _ => return Err(malformed().into()),
    })
}

/// `node` and `nodes`.
#[derive(Default)]
pub struct NodeQuery;

#[Object]
impl NodeQuery {
    /// The record with this global id (`null` if it no longer exists).
    async fn node(&self, ctx: &Context<'_>, id: ID) -> Result<Option<Node>, ApiError> {
        find(ctx.db()?, &id).await
    }

    /// The records with these global ids, in order (at most 100).
    #[graphql(complexity = "1 + child_complexity * ids.len()")]
    async fn nodes(&self, ctx: &Context<'_>, ids: Vec<ID>) -> Result<Vec<Option<Node>>, ApiError> {
        if ids.len() > 100 {
            return Err(FieldError::new("ids", "at most 100 ids").into());
        }
        let db = ctx.db()?;
        let mut keys = Vec::with_capacity(ids.len());
        for (i, id) in ids.iter().enumerate() {
            keys.push(parse(id).ok_or_else(|| {
                FieldError::new(format!("ids[{i}]"), format!("{:?} is not an id of this API", id.as_str()))
            })?);
        }
        // One query per kind of record, whatever the number of ids.
        let slugs = |kind: &str| -> Vec<String> {
            keys.iter().filter(|(k, _)| k == kind).map(|(_, slug)| slug.clone()).collect()
        };
        fn index<M>(rows: Vec<M>, slug: fn(&M) -> &str, node: fn(M) -> Node) -> HashMap<String, Node> {
            rows.into_iter().map(|m| (slug(&m).to_owned(), node(m))).collect()
        }
        let mut found: HashMap<&str, HashMap<String, Node>> = HashMap::new();
        let rows = db.by_slugs::<actor::Entity>(actor::Column::Slug, &slugs("Actor")).await.api()?;
        found.insert("Actor", index(rows, |m| &m.slug, |m| Node::Actor(Actor(m))));
        let rows = db.by_slugs::<event::Entity>(event::Column::Slug, &slugs("Event")).await.api()?;
        found.insert("Event", index(rows, |m| &m.slug, |m| Node::Event(Event(m))));
        let rows = db.by_slugs::<commitment::Entity>(commitment::Column::Slug, &slugs("Commitment")).await.api()?;
        found.insert("Commitment", index(rows, |m| &m.slug, |m| Node::Commitment(Commitment::now(m))));
        let rows = db.by_slugs::<coalition::Entity>(coalition::Column::Slug, &slugs("Coalition")).await.api()?;
        found.insert("Coalition", index(rows, |m| &m.slug, |m| Node::Coalition(Coalition(m))));
        let rows = db.by_slugs::<source::Entity>(source::Column::Slug, &slugs("Source")).await.api()?;
        found.insert("Source", index(rows, |m| &m.slug, |m| Node::Source(Source(m))));
        let mut out = Vec::with_capacity(ids.len());
        for (id, (kind, key)) in ids.iter().zip(&keys) {
            out.push(match found.get(kind.as_str()) {
                Some(rows) => rows.get(key).cloned(),
                // Signatures (keyed by two slugs) and anything unknown, one by one.
                None => find(db, id).await?,
            });
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_id_is_its_kind_and_key_and_nothing_else_is_one() {
        let id = global_id("Commitment", "stargate-500bn");
        assert_eq!(parse(&id), Some(("Commitment".into(), "stargate-500bn".into())));
        assert_eq!(parse("not an id"), None);
        assert_eq!(parse(&URL_SAFE_NO_PAD.encode("no colon")), None);
    }
}
