//! `schema.graphql` must be what the code serves.

crate::harness::tests! {
    plain: [schema_graphql_matches_the_code]
}

async fn schema_graphql_matches_the_code() {
    let committed = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/schema.graphql")).unwrap_or_default();
    let current = pledgewatch::graphql::sdl();
    assert!(
        committed == current,
        "schema.graphql is out of date: regenerate it with `cargo run -- export-schema --out schema.graphql`"
    );
}
