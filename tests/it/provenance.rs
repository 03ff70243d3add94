//! Where a totals answer's figures come from: computed for the request, brought up to date
//! from the change log, or taken from the engine's cache, and of which data version.

use serde_json::{Value, json};

use crate::{
    helpers::{Backend, TestApp},
    totals::{cf2024_commitment, import},
};

/// Every totalling answer says whether the engine computed its figures for the request,
/// brought an earlier report up to date with the rows written since, or took them from its
/// cache, and which data version they are exactly the data of.
async fn a_totals_answer_says_how_it_was_made_and_of_which_version(backend: Backend) {
    let Some(app) = TestApp::spawn_current(backend).await else { return };
    let version = || crate::helpers::scalar(&app.db, "SELECT version AS n FROM data_versions WHERE id = 1");
    let query = r#"query($f: CommitmentFilter, $asOf: Date, $claims: [String!]) {
      totals(filter: $f, groupBy: [EVENT], asOf: $asOf, claims: $claims) {
        provenance { servedBy dataVersion } grandTotal { low } } }"#;
    // A variable of its own for each request keeps the response cache out of it.
    let mut n = 0;
    let mut ask = |variables: Value| {
        n += 1;
        let mut variables = variables;
        variables["unused"] = json!(n);
        let app = &app;
        async move { app.data_of(query, variables).await["totals"]["provenance"].clone() }
    };
    let v1 = version().await;
    assert_eq!(ask(json!({})).await, json!({ "servedBy": "COMPUTED", "dataVersion": v1 }));
    assert_eq!(ask(json!({})).await, json!({ "servedBy": "CACHED", "dataVersion": v1 }));
    // Under claims: a what-if, computed for the request, of no version.
    let claimed = ask(json!({ "claims": ["apollo-eur-5bn"] })).await;
    assert_eq!(claimed, json!({ "servedBy": "COMPUTED", "dataVersion": null }));

    import(&app, vec![cf2024_commitment("provenance-probe", "1.00")], vec![]).await;
    let v2 = version().await;
    assert!(v2 > v1, "{v1} then {v2}");
    // The cached report, brought up to date with the write; an as-of total cannot be
    // (its statuses come from the history), so it is computed.
    assert_eq!(ask(json!({})).await, json!({ "servedBy": "UPDATED", "dataVersion": v2 }));
    assert_eq!(ask(json!({})).await, json!({ "servedBy": "CACHED", "dataVersion": v2 }));
    let as_of = json!({ "asOf": "2025-12-31" });
    assert_eq!(ask(as_of.clone()).await, json!({ "servedBy": "COMPUTED", "dataVersion": v2 }));
    assert_eq!(ask(as_of).await, json!({ "servedBy": "CACHED", "dataVersion": v2 }));

    // compareEvents (its total and its pledgers) and foundation say the same.
    let compare = r#"{ compareEvents(slugs: ["choose-france-2024"]) { provenance { servedBy dataVersion } } }"#;
    let provenance = |data: Value| data["compareEvents"][0]["provenance"].clone();
    assert_eq!(provenance(app.data_of(compare, json!({ "n": 1 })).await)["servedBy"], "COMPUTED");
    assert_eq!(
        provenance(app.data_of(compare, json!({ "n": 2 })).await),
        json!({ "servedBy": "CACHED", "dataVersion": v2 })
    );
    let foundation = r#"{ foundation(slug: "current-ai") { provenance { servedBy dataVersion } } }"#;
    let provenance = |data: Value| data["foundation"]["provenance"].clone();
    assert_eq!(
        provenance(app.data_of(foundation, json!({ "n": 1 })).await),
        json!({ "servedBy": "COMPUTED", "dataVersion": v2 })
    );
    assert_eq!(provenance(app.data_of(foundation, json!({ "n": 2 })).await)["servedBy"], "CACHED");
}

crate::harness::tests! {
    both: [a_totals_answer_says_how_it_was_made_and_of_which_version]
}
