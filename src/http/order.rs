//! Response fields in the order the query asked for them, as the GraphQL specification
//! requires ("ordered by the order in which they appear in the query"). async-graphql 7
//! gathers an object's fields in the order their resolvers finish (upstream issue
//! async-graphql#612), so a field that waits on the database (`totalCount`) came after one
//! that did not (`nodes`), and the order of an answer changed from one request to the next.
//! Both transports put each answer back in the query's order before they send it.

use async_graphql::{
    Name, Value,
    parser::types::{ExecutableDocument, FragmentDefinition, Selection, SelectionSet},
};

/// Most selections an answer is put in order for, fragments spread (legitimate queries
/// stay far below; above it the answer keeps the order it has).
pub const MAX_SELECTIONS: usize = 10_000;

/// The response keys (alias or field name) under one selection, in the query's order, each
/// with the order of its own sub-selection.
#[derive(Debug, Default, PartialEq)]
pub struct KeyOrder {
    keys: Vec<(Name, KeyOrder)>,
}

impl KeyOrder {
    /// The order of the operation a request runs (`operation` by name, or its only one);
    /// `None` when there is no such operation (the request fails before it runs).
    pub fn of(document: &ExecutableDocument, operation: Option<&str>) -> Option<Self> {
        let set = document.operations.iter().find_map(|(name, op)| {
            let selected = match (operation, name) {
                (Some(wanted), Some(name)) => wanted == name.as_str(),
                (Some(_), None) => false,
                (None, _) => true,
            };
            selected.then_some(&op.node.selection_set.node)
        })?;
        let mut order = Self::default();
        let mut path = Vec::new();
        let mut budget = MAX_SELECTIONS;
        order.collect(set, document, &mut path, &mut budget).then_some(order)
    }

    /// Whether every operation of `document`, fragments spread, stays within
    /// [`MAX_SELECTIONS`] selections. The gate refuses the others before validation, which
    /// spreads fragments too (a document of 26 fragments, each spreading the next twice,
    /// kept a server busy for 200 s).
    pub fn within_budget(document: &ExecutableDocument) -> bool {
        document.operations.iter().all(|(_, op)| {
            let mut budget = MAX_SELECTIONS;
            Self::default().collect(&op.node.selection_set.node, document, &mut Vec::new(), &mut budget)
        })
    }

    /// The order of the operation `request` runs (its document is parsed once, and kept
    /// for the execution).
    pub fn of_request(request: &mut async_graphql::Request) -> Option<Self> {
        let operation = request.operation_name.clone();
        Self::of(request.parsed_query().ok()?, operation.as_deref())
    }

    /// Adds the keys of `set` (fragments spread in place; a fragment already being spread
    /// on this path is skipped, so a cyclic document, which validation refuses, ends).
    /// False when the selections, fragments spread, exceed `budget`: this runs before
    /// validation, and fragments that each spread the next twice expand exponentially.
    fn collect<'a>(
        &mut self,
        set: &'a SelectionSet,
        document: &'a ExecutableDocument,
        path: &mut Vec<&'a Name>,
        budget: &mut usize,
    ) -> bool {
        for item in &set.items {
            let Some(left) = budget.checked_sub(1) else { return false };
            *budget = left;
            let whole = match &item.node {
                Selection::Field(field) => {
                    let field = &field.node;
                    let key = field.alias.as_ref().map_or(&field.name.node, |alias| &alias.node);
                    let at = match self.keys.iter().position(|(k, _)| k == key) {
                        Some(at) => at,
                        None => {
                            self.keys.push((key.clone(), Self::default()));
                            self.keys.len() - 1
                        }
                    };
                    self.keys[at].1.collect(&field.selection_set.node, document, path, budget)
                }
                Selection::InlineFragment(fragment) => {
                    self.collect(&fragment.node.selection_set.node, document, path, budget)
                }
                Selection::FragmentSpread(spread) => {
                    let name = &spread.node.fragment_name.node;
                    match document.fragments.get(name) {
                        Some(fragment) if !path.contains(&name) => {
                            let FragmentDefinition { selection_set, .. } = &fragment.node;
                            path.push(name);
                            let whole = self.collect(&selection_set.node, document, path, budget);
                            path.pop();
                            whole
                        }
                        _ => true,
                    }
                }
            };
            if !whole {
                return false;
            }
        }
        true
    }

    /// Puts every object of `value` (and of its lists) in this order. Keys this order does
    /// not know stay, after the known ones.
    pub fn apply(&self, value: &mut Value) {
        match value {
            Value::Object(map) => {
                if self.keys.is_empty() {
                    return;
                }
                let mut ordered = async_graphql::indexmap::IndexMap::with_capacity(map.len());
                for (key, below) in &self.keys {
                    if let Some(mut field) = map.shift_remove(key) {
                        below.apply(&mut field);
                        ordered.insert(key.clone(), field);
                    }
                }
                ordered.extend(map.drain(..));
                *map = ordered;
            }
            Value::List(items) => items.iter_mut().for_each(|item| self.apply(item)),
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use async_graphql::{Value, parser::parse_query};
    use serde_json::json;

    use super::KeyOrder;

    fn ordered(query: &str, operation: Option<&str>, answer: serde_json::Value) -> String {
        let document = parse_query(query).expect("parses");
        let mut value = Value::from_json(answer).expect("a value");
        KeyOrder::of(&document, operation).expect("an operation").apply(&mut value);
        serde_json::to_string(&value).expect("JSON")
    }

    #[test]
    fn objects_follow_the_query_through_lists_aliases_and_fragments() {
        let query = "query A { page: commitments { totalCount nodes { slug ...F } } } \
                     query B { x } fragment F on Commitment { title ... on Commitment { slug amount { low high } } }";
        let answer = json!({ "page": { "nodes": [
            { "amount": { "high": "2", "low": "1" }, "title": "t", "slug": "s" },
            { "title": "u", "slug": "v", "amount": null }
        ], "totalCount": 2 } });
        assert_eq!(
            ordered(query, Some("A"), answer),
            r#"{"page":{"totalCount":2,"nodes":[{"slug":"s","title":"t","amount":{"low":"1","high":"2"}},{"slug":"v","title":"u","amount":null}]}}"#
        );
    }

    #[test]
    fn a_cyclic_fragment_ends_and_unknown_keys_stay_last() {
        let query = "{ a { ...F } } fragment F on T { b ...F }";
        assert_eq!(ordered(query, None, json!({ "a": { "__extra": 1, "b": 2 } })), r#"{"a":{"b":2,"__extra":1}}"#);
        assert!(KeyOrder::of(&parse_query("query A { a }").unwrap(), Some("B")).is_none());
    }

    /// Forty fragments that each spread the next twice would expand to 2^40 selections:
    /// the walk stops at its budget instead of running for hours.
    #[test]
    fn fragments_that_double_at_each_step_stop_at_the_budget() {
        let mut query = String::from("{ ...F0 }");
        for i in 0..40 {
            query.push_str(&format!(" fragment F{i} on Query {{ a: __typename ...F{} ...F{} }}", i + 1, i + 1));
        }
        query.push_str(" fragment F40 on Query { __typename }");
        assert!(KeyOrder::of(&parse_query(&query).unwrap(), None).is_none());
        // A query within the budget is still put in order.
        assert!(KeyOrder::of(&parse_query("{ ...F0 } fragment F0 on Query { a b }").unwrap(), None).is_some());
    }
}
