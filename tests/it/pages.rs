//! What a page costs and how its answer is laid out: statements and round trips of a
//! computed page, and the order of the fields on the wire.

use serde_json::json;

use crate::helpers::{Backend, TestApp};

/// A page of commitments with their pledgers, events and sources, computed for each
/// request (a variable of its own keeps it out of the response cache): the page, then its
/// pledgers, events and sources read side by side, so 4 statements; on PostgreSQL, through
/// a relay that counts them, 8 round trips (each statement, and the ping with which the
/// pool takes each connection back), where 12 were counted before the pool stopped pinging
/// a connection at every checkout.
async fn a_computed_page_costs_four_statements_read_side_by_side(backend: Backend) {
    let (app, relay) = match backend {
        Backend::Sqlite => (TestApp::spawn(backend).await.expect("SQLite always runs"), None),
        Backend::Postgres => {
            use pledgewatch::{http::HttpLimits, storage::PoolOptions};
            let Some(cluster) = crate::postgres::cluster() else { return };
            let relay = crate::postgres::TripCounter::start(&cluster.fresh_database().await).await;
            let http = HttpLimits { rate_limit: None, ..HttpLimits::default() };
            let app =
                TestApp::spawn_on(relay.url.clone(), None, Default::default(), http, PoolOptions::default()).await;
            crate::helpers::load_fixture(&app.db).await;
            (app, Some(relay))
        }
    };
    let page = "{ commitments(first: 50) { nodes { slug title announcedOn amount { low high currency } \
                pledger { name } event { name } sources { url } } } }";
    let mut costs = Vec::new();
    for n in 0..12 {
        let (statements, trips) = (app.db.statement_count(), relay.as_ref().map(|r| r.trips()));
        let data = app.data_of(page, json!({ "unused": n })).await;
        let nodes = data["commitments"]["nodes"].as_array().unwrap();
        assert_eq!(nodes.len(), 32, "{data}");
        assert!(nodes.iter().all(|n| n["pledger"]["name"].is_string() && n["sources"][0]["url"].is_string()));
        costs.push((app.db.statement_count() - statements, relay.as_ref().map(|r| r.trips() - trips.unwrap())));
    }
    assert!(costs.iter().all(|(statements, _)| *statements == 4), "{costs:?}");
    if backend == Backend::Postgres {
        // The first requests open connections; later, a statement that a connection has
        // not run yet is prepared first (a trip more for each of the 4, at most); once
        // prepared, 8. With a ping at each checkout it was never below 12.
        let settled: Vec<u64> = costs[4..].iter().filter_map(|(_, trips)| *trips).collect();
        assert_eq!(settled.iter().min(), Some(&8), "{costs:?}");
        assert!(settled.iter().all(|t| *t <= 12), "{costs:?}");
    }
}

/// Every object of an answer has its fields in the order the query asked for them (the
/// GraphQL specification), whichever resolver finishes first: `totalCount` waits on a COUNT
/// while `nodes` was read ahead, and came last, in GraphiQL below 50 rows of nodes.
async fn answers_keep_the_fields_in_the_order_of_the_query(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else { return };
    let query = "query Page { commitments(first: 3) { totalCount pageInfo { hasNextPage endCursor } \
                 nodes { title slug sources { url } pledger { name slug } amount { currency low } } } \
                 a: actors(first: 1) { nodes { slug } } }";
    for n in 0..10 {
        let response = app
            .client
            .post(app.graphql_url())
            .json(&json!({ "query": query, "variables": { "n": n } }))
            .send()
            .await
            .expect("answered");
        let text = response.text().await.expect("a body");
        let at = |key: &str| text.find(&format!("\"{key}\"")).unwrap_or_else(|| panic!("{key} in {text}"));
        let keys = ["commitments", "totalCount", "pageInfo", "hasNextPage", "endCursor", "nodes", "title", "slug"];
        let places: Vec<usize> = keys.iter().map(|k| at(k)).collect();
        assert!(places.windows(2).all(|w| w[0] < w[1]), "{keys:?} at {places:?}: {text}");
        // Inside a node: its sources, then its pledger (name before slug), then its amount.
        let node = &text[at("nodes")..];
        let inner = ["\"sources\"", "\"pledger\"", "\"name\"", "\"amount\"", "\"currency\"", "\"low\""];
        let places: Vec<usize> = inner.iter().map(|k| node.find(k).expect("in the node")).collect();
        assert!(places.windows(2).all(|w| w[0] < w[1]), "{inner:?} at {places:?}: {node}");
        assert!(text.find("\"a\":").expect("the alias") > at("nodes"), "{text}");
    }
}

crate::harness::tests! {
    both: [
    a_computed_page_costs_four_statements_read_side_by_side,
    answers_keep_the_fields_in_the_order_of_the_query,
    ]
}
