//! Issue 17: what a newsroom asks after the headline. "What changed this week?": one feed
//! across all records, newest first, each change with who, when and what, in GraphQL
//! (`changes`) and as Atom (`/changes.atom`).

use std::str::FromStr;

use pledgewatch::auth::Role;
use serde_json::{Value, json};

use crate::helpers::{Backend, TestApp};

crate::harness::tests! {
    both: [
        the_changes_feed_lists_each_write_once_newest_first_with_what_changed,
        the_atom_feed_parses_and_has_one_entry_per_change,
        compare_events_takes_the_totals_filter_and_says_its_basis,
        french_names_are_found_and_shown_on_request,
        competing_claims_are_kept_and_a_total_can_be_asked_under_each,
        a_claim_must_be_sourced_and_one_per_commitment_preferred,
        known_at_gives_each_past_state_exactly,
        known_at_gives_each_record_as_it_was_with_its_sources_and_statuses,
        known_at_gives_a_coalitions_counts_as_recorded_then,
    ]
}

const CHANGES: &str = r#"query($since: DateTime, $until: DateTime, $entities: [AuditedEntity!], $event: String,
    $coalition: String, $first: Int, $after: String) {
  changes(since: $since, until: $until, entities: $entities, event: $event, coalition: $coalition, first: $first, after: $after) {
    nodes { actor action entity slug summary fields { field before after added removed } }
    pageInfo { hasNextPage endCursor } } }"#;

/// A mix of writes made after `since`: a source and a commitment created, the commitment's
/// amount revised, its status set, then retracted; a signature set; a typo created and
/// deleted. Returns the moment before them.
async fn a_day_of_writes(app: &TestApp) -> String {
    let since = chrono::Utc::now().to_rfc3339();
    let editor = app.token("desk", Role::Editor).await;
    let admin = app.token("chief", Role::Admin).await;
    let write = |token: String, query: &'static str, variables: Value| async move {
        let (status, body) = app.as_token(Some(&token), query, variables).await;
        assert!(status == 200 && body.get("errors").is_none(), "{query}: {body}");
        body
    };
    let create = r#"mutation($slug: String!, $source: String!) { createCommitment(input: { slug: $slug,
        title: "A data centre in Lyon", pledger: "france", event: "ai-action-summit-2025", announcedOn: "2025-02-10",
        amountLow: "1000000.00", amountHigh: "2000000.00", currency: "EUR", kind: INVESTMENT, newSources: [{ slug: $source,
        url: "https://example.org/lyon", publisher: "Example", title: "Lyon" }] }) { version } }"#;
    write(editor.clone(), create, json!({ "slug": "lyon-dc", "source": "lyon-report" })).await;
    let update = r#"mutation { updateCommitment(slug: "lyon-dc", expectedVersion: 1, patch: { amountHigh: "3000000.00" }) { version } }"#;
    write(editor.clone(), update, json!({})).await;
    let status = r#"mutation { setCommitmentStatus(slug: "lyon-dc", expectedVersion: 2, status: IN_PROGRESS,
        effectiveOn: "2025-06-01", source: "lyon-report") { version } }"#;
    write(editor.clone(), status, json!({})).await;
    let retract = r#"mutation { retractCommitment(slug: "lyon-dc", expectedVersion: 3, reason: "The figure was misread",
        source: "lyon-report", retractedOn: "2025-07-01") { version } }"#;
    write(editor.clone(), retract, json!({})).await;
    let sign = r#"mutation { setSignature(input: { coalition: "coalition-sustainable-ai", actor: "spain",
        stance: SIGNED, signedOn: "2025-02-11", sources: ["lyon-report"] }) { version } }"#;
    write(editor.clone(), sign, json!({})).await;
    write(editor, create, json!({ "slug": "typo", "source": "typo-source" })).await;
    write(admin, r#"mutation { deleteCommitment(slug: "typo", reason: "entered twice") }"#, json!({})).await;
    since
}

async fn the_changes_feed_lists_each_write_once_newest_first_with_what_changed(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else { return };
    let since = a_day_of_writes(&app).await;
    let (_, body) = app.as_token(None, CHANGES, json!({ "since": since })).await;
    let nodes = body["data"]["changes"]["nodes"].as_array().unwrap_or_else(|| panic!("{body}"));
    let listed: Vec<(&str, &str, &str)> = nodes
        .iter()
        .map(|n| (n["action"].as_str().unwrap(), n["entity"].as_str().unwrap(), n["slug"].as_str().unwrap()))
        .collect();
    assert_eq!(
        listed,
        [
            ("DELETE", "commitment", "typo"),
            ("CREATE", "commitment", "typo"),
            ("CREATE", "source", "typo-source"),
            ("CREATE", "signature", "coalition-sustainable-ai/spain"),
            ("RETRACT", "commitment", "lyon-dc"),
            ("SET_STATUS", "commitment", "lyon-dc"),
            ("UPDATE", "commitment", "lyon-dc"),
            ("CREATE", "commitment", "lyon-dc"),
            ("CREATE", "source", "lyon-report"),
        ],
        "{body}"
    );
    assert!(nodes.iter().all(|n| n["actor"] == if n["action"] == "DELETE" { "chief" } else { "desk" }), "{body}");
    // Each with what changed, before → after.
    let summary = |i: usize| nodes[i]["summary"].as_str().unwrap();
    assert_eq!(summary(6), "commitment lyon-dc updated: amount_high 2000000.00 → 3000000.00");
    assert_eq!(
        nodes[6]["fields"],
        json!([{ "field": "amount_high", "before": "2000000.00", "after": "3000000.00",
        "added": [], "removed": [] }])
    );
    assert_eq!(
        summary(5),
        "commitment lyon-dc status set: status ANNOUNCED → IN_PROGRESS; \
         status_history +IN_PROGRESS · 2025-06-01 · lyon-report"
    );
    assert_eq!(
        summary(4),
        "commitment lyon-dc retracted: retraction (none) → The figure was misread · 2025-07-01 · lyon-report"
    );
    assert_eq!(summary(7), "commitment lyon-dc created: “A data centre in Lyon”");
    assert_eq!(summary(0), "commitment typo deleted: “A data centre in Lyon”");
    assert_eq!(summary(3), "signature coalition-sustainable-ai/spain created");

    // Paged two by two, the walk lists the same changes, each once.
    let mut walked = Vec::new();
    let mut after = Value::Null;
    loop {
        let (_, page) = app.as_token(None, CHANGES, json!({ "since": since, "first": 2, "after": after })).await;
        let page = &page["data"]["changes"];
        walked.extend(page["nodes"].as_array().unwrap().iter().map(|n| n["summary"].clone()));
        if page["pageInfo"]["hasNextPage"] != true {
            break;
        }
        after = page["pageInfo"]["endCursor"].clone();
    }
    assert_eq!(walked, nodes.iter().map(|n| n["summary"].clone()).collect::<Vec<_>>());

    // Filters: by kind of record, by event, by coalition, and before the writes.
    let only = |vars: Value| {
        let app = &app;
        let since = since.clone();
        async move {
            let mut vars = vars;
            vars["since"] = json!(since);
            let (_, body) = app.as_token(None, CHANGES, vars).await;
            body["data"]["changes"]["nodes"]
                .as_array()
                .unwrap_or_else(|| panic!("{body}"))
                .iter()
                .map(|n| format!("{} {}", n["action"].as_str().unwrap(), n["slug"].as_str().unwrap()))
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(only(json!({ "entities": ["SOURCE"] })).await, ["CREATE typo-source", "CREATE lyon-report"]);
    assert_eq!(
        only(json!({ "event": "ai-action-summit-2025" })).await,
        ["DELETE typo", "CREATE typo", "RETRACT lyon-dc", "SET_STATUS lyon-dc", "UPDATE lyon-dc", "CREATE lyon-dc"]
    );
    assert_eq!(only(json!({ "event": "choose-france-2024" })).await, Vec::<String>::new());
    assert_eq!(
        only(json!({ "coalition": "coalition-sustainable-ai" })).await,
        ["CREATE coalition-sustainable-ai/spain"]
    );
    assert_eq!(only(json!({ "until": since })).await, Vec::<String>::new());
    // Without `since`, the shipped data's import is there too, oldest.
    let (_, body) = app.as_token(None, CHANGES, json!({ "first": 500 })).await;
    let all = body["data"]["changes"]["nodes"].as_array().unwrap();
    assert_eq!(all.last().unwrap()["action"], "IMPORT", "{body}");
    assert!(all.last().unwrap()["summary"].as_str().unwrap().contains(" inserted, "), "{body}");

    // Commitments filter and sort by when they were last written; totals take the filter.
    let lately = r#"query($since: DateTime) {
        changed: commitments(filter: { updatedSince: $since }, orderBy: UPDATED_AT_DESC) { nodes { slug } }
        latest: commitments(orderBy: UPDATED_AT_DESC, first: 2) { nodes { slug updatedAt } pageInfo { endCursor } }
        totals(filter: { updatedSince: $since }) { grandTotal { count } excluded { commitment { slug } reason } } }"#;
    let (_, body) = app.as_token(None, lately, json!({ "since": since })).await;
    assert_eq!(body["data"]["changed"]["nodes"], json!([{ "slug": "lyon-dc" }]), "{body}");
    let latest = body["data"]["latest"]["nodes"].as_array().unwrap();
    assert_eq!(latest[0]["slug"], "lyon-dc", "{body}");
    assert!(latest[0]["updatedAt"].as_str() >= latest[1]["updatedAt"].as_str(), "{body}");
    assert_eq!(body["data"]["totals"]["grandTotal"]["count"], 0, "{body}");
    assert_eq!(
        body["data"]["totals"]["excluded"],
        json!([{ "commitment": { "slug": "lyon-dc" }, "reason": "RETRACTED" }])
    );
    // The order pages without gaps or repeats.
    let page = r#"query($after: String) { commitments(orderBy: UPDATED_AT_DESC, first: 7, after: $after) {
        nodes { slug } pageInfo { hasNextPage endCursor } totalCount } }"#;
    let (mut seen, mut after) = (Vec::new(), Value::Null);
    let total = loop {
        let (_, body) = app.as_token(None, page, json!({ "after": after })).await;
        let c = &body["data"]["commitments"];
        seen.extend(c["nodes"].as_array().unwrap().iter().map(|n| n["slug"].as_str().unwrap().to_owned()));
        if c["pageInfo"]["hasNextPage"] != true {
            break c["totalCount"].as_i64().unwrap_or_else(|| panic!("{body}"));
        }
        after = c["pageInfo"]["endCursor"].clone();
    };
    let unique: std::collections::HashSet<&String> = seen.iter().collect();
    assert_eq!((seen.len(), unique.len()), (total as usize, total as usize));

    // Tokens are not in the feed, and asking for them takes an ADMIN token.
    let (_, body) = app.as_token(None, CHANGES, json!({ "entities": ["TOKEN"] })).await;
    assert_eq!(body["errors"][0]["extensions"]["code"], "UNAUTHENTICATED", "{body}");
    let (_, body) = app.as_token(None, CHANGES, json!({ "first": 501 })).await;
    assert_eq!(body["errors"][0]["extensions"]["field"], "first", "{body}");
    let (_, body) = app.as_token(None, CHANGES, json!({ "after": "not-a-cursor" })).await;
    assert_eq!(body["errors"][0]["extensions"]["field"], "after", "{body}");
}

async fn the_atom_feed_parses_and_has_one_entry_per_change(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else { return };
    let since = a_day_of_writes(&app).await;
    let (_, body) = app.as_token(None, CHANGES, json!({ "since": since })).await;
    let summaries: Vec<String> = body["data"]["changes"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["summary"].as_str().unwrap().to_owned())
        .collect();

    let client = reqwest::Client::new();
    let get = |query: String| {
        let client = client.clone();
        let url = format!("http://{}/changes.atom{query}", app.address);
        async move { client.get(url).send().await.expect("the feed answers") }
    };
    let response = get(format!("?since={}", urlencode(&since))).await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "application/atom+xml; charset=utf-8");
    let feed = atom_syndication::Feed::from_str(&response.text().await.unwrap()).expect("valid Atom");
    // What Atom requires: the feed's id, title, updated and author; each entry's id, title
    // and updated; ids unique.
    assert!(!feed.id.is_empty() && !feed.title.value.is_empty() && !feed.authors.is_empty());
    let titles: Vec<&str> = feed.entries.iter().map(|e| e.title.value.as_str()).collect();
    assert_eq!(titles, summaries, "one entry per change, newest first");
    let ids: std::collections::HashSet<&str> = feed.entries.iter().map(|e| e.id.as_str()).collect();
    assert_eq!(ids.len(), summaries.len());
    assert!(feed.entries.windows(2).all(|w| w[0].updated >= w[1].updated));
    assert_eq!(feed.updated, feed.entries[0].updated);
    let update = feed.entries.iter().find(|e| e.title.value.contains(" updated: ")).unwrap();
    assert_eq!(update.authors[0].name, "desk");
    assert_eq!(update.content.as_ref().and_then(|c| c.value.as_deref()), Some("amount_high: 2000000.00 → 3000000.00"));

    // Followed per coalition; a bad parameter is named.
    let response = get("?coalition=coalition-sustainable-ai&entities=SIGNATURE".into()).await;
    let feed = atom_syndication::Feed::from_str(&response.text().await.unwrap()).expect("valid Atom");
    let titles: Vec<&str> = feed.entries.iter().map(|e| e.title.value.as_str()).collect();
    assert_eq!(titles, ["signature coalition-sustainable-ai/spain created"]);
    assert!(feed.title.value.contains("coalition-sustainable-ai"));
    for (query, field) in [("?first=0", "first"), ("?entities=TOKEN", "entities"), ("?colour=red", "colour")] {
        let response = get(query.into()).await;
        assert_eq!(response.status(), 400, "{query}");
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["errors"][0]["extensions"]["field"], field, "{query}: {body}");
    }
}

/// "The summit vs Choose France 2024", asked the obvious way, states what it compares: its
/// basis (new money by default, or as announced), with the same filter as `totals`.
async fn compare_events_takes_the_totals_filter_and_says_its_basis(backend: Backend) {
    let Some(app) = TestApp::spawn_current(backend).await else { return };
    let compare = r#"query($basis: TotalsBasis, $filter: CommitmentFilter) {
        compareEvents(slugs: ["ai-action-summit-2025", "choose-france-2024"], basis: $basis, filter: $filter) {
            event { slug } basis count totals { low high newMoney { low high } asAnnounced { low high } }
            ratioToFirst { low high } excluded { reason } } }"#;
    let totals = r#"query($filter: CommitmentFilter, $basis: TotalsBasis) {
        totals(filter: $filter, basis: $basis) { grandTotal { count low high } } }"#;
    for (basis, kinds) in [
        ("NEW_MONEY", None),
        ("AS_ANNOUNCED", None),
        ("NEW_MONEY", Some("INVESTMENT")),
        ("AS_ANNOUNCED", Some("ENDOWMENT")),
    ] {
        let filter = kinds.map(|k| json!({ "kinds": [k] }));
        let (_, body) = app.as_token(None, compare, json!({ "basis": basis, "filter": filter })).await;
        let rows = body["data"]["compareEvents"].as_array().unwrap_or_else(|| panic!("{body}"));
        for row in rows {
            assert_eq!(row["basis"], basis, "{body}");
            // Each event's figures are exactly `totals` with the event added to the filter.
            let mut within = filter.clone().unwrap_or_else(|| json!({}));
            within["events"] = json!([row["event"]["slug"]]);
            let (_, t) = app.as_token(None, totals, json!({ "filter": within, "basis": basis })).await;
            let grand = &t["data"]["totals"]["grandTotal"];
            assert_eq!(
                (&row["count"], &row["totals"]["low"], &row["totals"]["high"]),
                (&grand["count"], &grand["low"], &grand["high"]),
                "{basis} {kinds:?}: {row} vs {t}"
            );
        }
        let d = |v: &Value| v.as_str().unwrap().parse::<rust_decimal::Decimal>().unwrap();
        let (summit, france) = (&rows[0]["totals"], &rows[1]["totals"]);
        if d(&summit["low"]).is_zero() {
            assert_eq!(rows[1]["ratioToFirst"], Value::Null, "{body}");
        } else {
            let expected = (d(&france["low"]) / d(&summit["low"])).round_dp(6).normalize();
            assert_eq!(d(&rows[1]["ratioToFirst"]["low"]), expected, "{basis} {kinds:?}: {body}");
        }
    }
    // Unfiltered: the summit's €1.2bn presented again (Amazon's Choose France 2024 money) is
    // the whole difference between the two bases; Choose France 2024 is €15bn either way.
    let (_, body) = app.as_token(None, compare, json!({ "basis": "AS_ANNOUNCED" })).await;
    let rows = &body["data"]["compareEvents"];
    let d = |v: &Value| v.as_str().unwrap().parse::<rust_decimal::Decimal>().unwrap();
    let summit = &rows[0]["totals"];
    assert_eq!(
        d(&summit["asAnnounced"]["low"]) - d(&summit["newMoney"]["low"]),
        rust_decimal::Decimal::from(1_200_000_000)
    );
    assert_eq!(summit["low"], summit["asAnnounced"]["low"]);
    assert_eq!(rows[1]["totals"]["low"], "15000000000.00", "{body}");
    assert_eq!(rows[1]["totals"]["newMoney"]["low"], "15000000000.00");
    // The events are named once: in `slugs` or `series`, not in the filter.
    let (_, body) = app.as_token(None, compare, json!({ "filter": { "events": ["choose-france-2025"] } })).await;
    assert_eq!(body["errors"][0]["extensions"]["field"], "filter.events", "{body}");
}

/// The summit was French: its event and declarations carry their sourced French names,
/// search finds them in either language, and `name(lang: FR)` shows them.
async fn french_names_are_found_and_shown_on_request(backend: Backend) {
    let Some(app) = TestApp::spawn_current(backend).await else { return };
    let search = r#"query($q: String!) { search(query: $q) {
        __typename ... on Event { slug } ... on Coalition { slug } ... on Actor { slug } ... on Commitment { slug } } }"#;
    let hits = |q: &'static str| {
        let app = &app;
        async move {
            let (_, body) = app.as_token(None, search, json!({ "q": q })).await;
            body["data"]["search"]
                .as_array()
                .unwrap_or_else(|| panic!("{body}"))
                .iter()
                .map(|h| format!("{} {}", h["__typename"].as_str().unwrap(), h["slug"].as_str().unwrap()))
                .collect::<Vec<_>>()
        }
    };
    let declarations = hits("déclaration").await;
    for expected in ["Coalition paris-ai-action-statement-2025", "Coalition seoul-declaration-2024"] {
        assert!(declarations.contains(&expected.to_owned()), "{expected}: {declarations:?}");
    }
    assert_eq!(hits("ia durable").await, ["Coalition coalition-sustainable-ai"]);
    assert_eq!(hits("Sommet pour l'action").await, ["Event ai-action-summit-2025"]);
    // Accents and case are optional in French too.
    assert_eq!(hits("DECLARATION DE SEOUL").await, ["Coalition seoul-declaration-2024"]);

    let names = r#"{
        paris: coalition(slug: "paris-ai-action-statement-2025") { en: name fr: name(lang: FR) nameFr sources { slug } }
        summit: event(slug: "ai-action-summit-2025") { fr: name(lang: FR) }
        bletchley: event(slug: "ai-safety-summit-2023") { en: name fr: name(lang: FR) nameFr } }"#;
    let (_, body) = app.query(names).await;
    let paris = &body["data"]["paris"];
    assert_eq!(paris["en"], "Statement on Inclusive and Sustainable Artificial Intelligence for People and the Planet");
    assert_eq!(
        paris["fr"],
        "Déclaration sur l'intelligence artificielle durable et inclusive pour la population et la planète"
    );
    assert_eq!(paris["fr"], paris["nameFr"]);
    assert!(paris["sources"].as_array().unwrap().iter().any(|s| s["slug"] == "newswire-ca-declaration-fr-2025-02-12"));
    assert_eq!(body["data"]["summit"]["fr"], "Sommet pour l'action sur l'intelligence artificielle");
    // No French name recorded: the English one, and nameFr says there is none.
    let bletchley = &body["data"]["bletchley"];
    assert_eq!(
        (bletchley["fr"].clone(), bletchley["nameFr"].clone()),
        (bletchley["en"].clone(), Value::Null),
        "{body}"
    );

    // An editor adds one, with its source; search finds it at once and the feed says so.
    let editor = app.token("desk", Role::Editor).await;
    let (_, body) = app.as_token(None, r#"{ event(slug: "ai-safety-summit-2023") { version } }"#, json!({})).await;
    let version = body["data"]["event"]["version"].clone();
    let update = r#"mutation($v: Int!) { updateEvent(slug: "ai-safety-summit-2023", expectedVersion: $v,
        patch: { nameFr: "Sommet sur la sécurité de l'IA 2023" }) { nameFr } }"#;
    let (_, body) = app.as_token(Some(&editor), update, json!({ "v": version })).await;
    assert_eq!(body["data"]["updateEvent"]["nameFr"], "Sommet sur la sécurité de l'IA 2023", "{body}");
    assert_eq!(hits("securite de l'ia").await, ["Event ai-safety-summit-2023"]);
    let (_, body) = app.as_token(None, CHANGES, json!({ "first": 1 })).await;
    assert_eq!(
        body["data"]["changes"]["nodes"][0]["summary"],
        "event ai-safety-summit-2023 updated: name_fr (none) → Sommet sur la sécurité de l'IA 2023"
    );
}

/// `+` and `:` of an RFC 3339 time, escaped for a query string.
fn urlencode(text: &str) -> String {
    text.replace('+', "%2B").replace(':', "%3A")
}

const CLAIMS_TOTALS: &str = r#"query($f: CommitmentFilter, $claims: [String!], $g: [TotalsDimension!]) {
  totals(filter: $f, claims: $claims, groupBy: $g) {
    grandTotal { count low high asAnnounced { low high } }
    groups { key { value } low high }
    claimsUsed { slug commitment { slug } }
  } }"#;

/// Sources disagree about Apollo's $5bn or €5bn: both claims are kept with their sources,
/// the preferred one (what totals count) says why, and a total can be asked under the other.
async fn competing_claims_are_kept_and_a_total_can_be_asked_under_each(backend: Backend) {
    let Some(app) = TestApp::spawn_current(backend).await else { return };
    let query = r#"{ commitment(slug: "apollo-ai-energy-france") { amount { low high currency }
        claims { slug claimant claimedOn preferred reason amount { low high currency } sources { url } } } }"#;
    let (_, body) = app.query(query).await;
    let commitment = &body["data"]["commitment"];
    let claims = commitment["claims"].as_array().unwrap_or_else(|| panic!("{body}"));
    let slugs: Vec<&str> = claims.iter().map(|c| c["slug"].as_str().unwrap()).collect();
    assert_eq!(slugs, ["apollo-usd-5bn", "apollo-eur-5bn"], "the preferred claim first");
    assert_eq!(claims[0]["preferred"], true);
    assert_eq!(claims[0]["amount"], commitment["amount"], "the preferred claim is the recorded amount");
    assert!(claims[0]["reason"].as_str().unwrap().starts_with("Two outlets quote Apollo's tranche in dollars"));
    assert_eq!(claims[0]["sources"].as_array().unwrap().len(), 2);
    assert_eq!(claims[1]["amount"], json!({ "low": "5000000000.00", "high": "5000000000.00", "currency": "EUR" }));
    assert_eq!((claims[1]["preferred"].as_bool(), claims[1]["reason"].as_str()), (Some(false), None));
    assert_eq!(claims[1]["claimant"], "LeMagIT");

    // The summit under each claim: Apollo's group moves by the difference, its package's
    // remainder the other way, and the summit's total not at all (a part of the €109bn).
    let summit = json!({ "events": ["ai-action-summit-2025"] });
    let ask = |claims: Value| {
        let variables = json!({ "f": summit, "claims": claims, "g": ["PLEDGER"] });
        let app = &app;
        async move { app.data_of(CLAIMS_TOTALS, variables).await["totals"].clone() }
    };
    let recorded = ask(json!(null)).await;
    let under_euro = ask(json!(["apollo-eur-5bn"])).await;
    let group = |report: &Value, pledger: &str| {
        report["groups"].as_array().unwrap().iter().find(|g| g["key"][0]["value"] == pledger).unwrap()["low"].clone()
    };
    assert_eq!(recorded["grandTotal"]["low"], "318185467861.62");
    assert_eq!(under_euro["grandTotal"], recorded["grandTotal"], "{under_euro}");
    assert_eq!(group(&recorded, "apollo"), "4844961240.31");
    assert_eq!(group(&under_euro, "apollo"), "5000000000.00");
    assert_eq!(recorded["claimsUsed"], json!([]));
    assert_eq!(
        under_euro["claimsUsed"],
        json!([{ "slug": "apollo-eur-5bn", "commitment": { "slug": "apollo-ai-energy-france" } }])
    );

    // A headline's disagreement moves its event's total: Choose France 2025 under €37bn or €40.8bn.
    let edition = json!({ "events": ["choose-france-2025"] });
    let ask = |claims: Value| {
        let variables = json!({ "f": edition, "claims": claims, "g": null });
        let app = &app;
        async move { app.data_of(CLAIMS_TOTALS, variables).await["totals"]["grandTotal"]["asAnnounced"].clone() }
    };
    let recorded = ask(json!(null)).await;
    let low = ask(json!(["choose-france-2025-37bn"])).await;
    let high = ask(json!(["choose-france-2025-40-8bn"])).await;
    let dec = |v: &Value| rust_decimal::Decimal::from_str_exact(v.as_str().unwrap()).unwrap();
    assert_eq!(
        dec(&recorded["high"]) - dec(&low["high"]),
        rust_decimal::Decimal::new(3_800_000_000, 0),
        "{recorded} {low}"
    );
    assert_eq!(
        dec(&high["low"]) - dec(&recorded["low"]),
        rust_decimal::Decimal::new(3_800_000_000, 0),
        "{recorded} {high}"
    );
    assert_eq!((low["low"].clone(), high["high"].clone()), (recorded["low"].clone(), recorded["high"].clone()));

    // Nothing was written: the recorded answer is the same, and the audit log did not grow.
    let audit = |app: &TestApp| {
        let db = app.db.clone();
        async move {
            use sea_orm::{EntityTrait, PaginatorTrait};
            entity::audit_entry::Entity::find().count(db.conn()).await.unwrap()
        }
    };
    let before = audit(&app).await;
    ask(json!(["choose-france-2025-37bn"])).await;
    assert_eq!(ask(json!(null)).await, recorded);
    assert_eq!(audit(&app).await, before);

    // The recorded figure is the preferred claim: an edit of the amount alone is refused,
    // naming the claim to supersede; the title can still be edited.
    let editor = app.token("desk", Role::Editor).await;
    let update = r#"mutation U($slug: String!, $v: Int!, $patch: CommitmentPatch!) {
        updateCommitment(slug: $slug, expectedVersion: $v, patch: $patch) { version } }"#;
    let version = app.data_of(r#"{ commitment(slug: "apollo-ai-energy-france") { version } }"#, json!({})).await;
    let version = version["commitment"]["version"].clone();
    let patch = json!({ "amountLow": "6000000000", "amountHigh": "6000000000", "sources": ["verdict-109bn"] });
    let (_, body) = app
        .as_token(Some(&editor), update, json!({ "slug": "apollo-ai-energy-france", "v": version, "patch": patch }))
        .await;
    assert_eq!(body["errors"][0]["extensions"]["field"], "amountLow", "{body}");
    assert!(body["errors"][0]["message"].as_str().unwrap().contains("\"apollo-usd-5bn\""), "{body}");
    let patch = json!({ "title": "Apollo: an initial $5bn tranche", "sources": ["verdict-109bn"] });
    let (_, body) = app
        .as_token(Some(&editor), update, json!({ "slug": "apollo-ai-energy-france", "v": version, "patch": patch }))
        .await;
    assert!(body["errors"].is_null(), "{body}");

    claims_with_known_at_are_refused(&app).await;
    // Bad requests name the claim.
    for (claims, field) in
        [(json!(["no-such-claim"]), "claims[0]"), (json!(["apollo-usd-5bn", "apollo-eur-5bn"]), "claims[1]")]
    {
        let (_, body) = app.as_token(None, CLAIMS_TOTALS, json!({ "f": summit, "claims": claims })).await;
        assert_eq!(body["errors"][0]["extensions"]["code"], "BAD_USER_INPUT", "{body}");
        assert_eq!(body["errors"][0]["extensions"]["field"], field, "{body}");
    }
}

/// Claims apply to today's data: with `knownAt` they are refused on `claims`.
async fn claims_with_known_at_are_refused(app: &TestApp) {
    let query = r#"{ totals(claims: ["apollo-eur-5bn"], knownAt: "2030-01-01T00:00:00Z") { grandTotal { count } } }"#;
    let (_, body) = app.query(query).await;
    assert_eq!(body["errors"][0]["extensions"]["field"], "claims", "{body}");
}

/// An import refuses a claim without a source, a preferred claim that is not the recorded
/// amount, and a commitment with two preferred claims; and writes nothing.
async fn a_claim_must_be_sourced_and_one_per_commitment_preferred(backend: Backend) {
    use pledgewatch::domain::records::{ClaimRecord, DataSet, FORMAT};
    let Some(app) = TestApp::spawn(backend).await else { return };
    let claim = |slug: &str, low: &str, preferred: bool, sources: Vec<String>| ClaimRecord {
        slug: slug.into(),
        commitment: "apollo-ai-energy-france".into(),
        claimant: "A test outlet".into(),
        claimed_on: None,
        amount_low: Some(low.into()),
        amount_high: Some(low.into()),
        currency: "USD".into(),
        preferred,
        reason: preferred.then(|| "Tested".to_owned()),
        notes: None,
        sources,
    };
    let source = vec!["verdict-109bn".to_owned()];
    let cases = [
        (vec![claim("unsourced", "5000000000", true, vec![])], "sources"),
        (vec![claim("not-recorded", "6000000000", true, source.clone())], "preferred"),
        (
            vec![
                claim("first", "5000000000", true, source.clone()),
                claim("second", "5000000000", true, source.clone()),
            ],
            "preferred",
        ),
        (vec![claim("none-preferred", "6000000000", false, source.clone())], "preferred"),
    ];
    for (claims, field) in cases {
        let data = DataSet { format: FORMAT.into(), claims, ..Default::default() };
        let Err(pledgewatch::storage::import::ImportError::Invalid(problems)) = app.db.import(&data).await else {
            panic!("the import must fail")
        };
        assert_eq!(problems[0].collection, "claims");
        assert_eq!(problems[0].error.field, field, "{problems:?}");
    }
    let (_, body) = app.query(r#"{ commitment(slug: "apollo-ai-energy-france") { claims { slug } } }"#).await;
    assert_eq!(body["data"]["commitment"]["claims"], json!([]), "{body}");
    // A good pair is written, and exported back.
    let claims =
        vec![claim("usd", "5000000000.00", true, source.clone()), claim("later", "6000000000.00", false, source)];
    app.db
        .import(&DataSet { format: FORMAT.into(), claims: claims.clone(), ..Default::default() })
        .await
        .expect("imports");
    let exported = app.db.export().await.expect("exports");
    assert_eq!(exported.claims, claims);
    // A re-import that changes the disputed amount is refused on it, like an edit.
    let mut apollo = exported.commitments.into_iter().find(|c| c.slug == "apollo-ai-energy-france").unwrap();
    apollo.amount_high = Some("6000000000.00".into());
    let data = DataSet { format: FORMAT.into(), commitments: vec![apollo], ..Default::default() };
    let Err(pledgewatch::storage::import::ImportError::Invalid(problems)) = app.db.import(&data).await else {
        panic!("the import must fail")
    };
    assert_eq!(
        (problems[0].collection, problems[0].error.field.as_str()),
        ("commitments", "amountLow"),
        "{problems:?}"
    );
}

const KNOWN: &str = r#"query($at: DateTime, $on: Date) {
  totals(filter: { pledgers: ["france"], events: ["ai-action-summit-2025"] }, knownAt: $at, asOf: $on) {
    grandTotal { count low high } excluded { reason commitment { slug } } } }"#;

/// Transaction time: a figure created, revised, then retracted at known moments; asked
/// `knownAt` each moment between, the totals are exactly what they were then (figures and
/// exclusions), and combine with `asOf`.
async fn known_at_gives_each_past_state_exactly(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else { return };
    let editor = app.token("desk", Role::Editor).await;
    let write = |query: &'static str| write_as(&app, &editor, query);
    let total = |at: Option<String>, on: Option<&'static str>| {
        let app = &app;
        async move { app.data_of(KNOWN, json!({ "at": at, "on": on })).await["totals"].clone() }
    };
    let now = total(None, None).await;
    let before = moment().await;
    write(CREATE_KNOWN_DC).await;
    let created = moment().await;
    write(r#"mutation { updateCommitment(slug: "known-dc", expectedVersion: 1, patch: { amountHigh: "3000000.00" }) { version } }"#)
        .await;
    let revised = moment().await;
    write(
        r#"mutation { retractCommitment(slug: "known-dc", expectedVersion: 2, reason: "The figure was misread",
        source: "nantes-report", retractedOn: "2025-07-01") { version } }"#,
    )
    .await;

    let dec = |v: &Value| rust_decimal::Decimal::from_str(v.as_str().unwrap()).unwrap();
    let plus = |report: &Value, low: i64, high: i64| {
        let grand = &now["grandTotal"];
        assert_eq!(report["grandTotal"]["count"], grand["count"].as_i64().unwrap() + 1, "{report}");
        assert_eq!(
            dec(&report["grandTotal"]["low"]) - dec(&grand["low"]),
            rust_decimal::Decimal::from(low),
            "{report}"
        );
        assert_eq!(
            dec(&report["grandTotal"]["high"]) - dec(&grand["high"]),
            rust_decimal::Decimal::from(high),
            "{report}"
        );
    };
    // Before the figure was written: the answer of that moment, which is today's without it.
    assert_eq!(total(Some(before.clone()), None).await, now);
    // Created: 1–2 million more; revised: 1–3 million; retracted: excluded, as today.
    plus(&total(Some(created.clone()), None).await, 1_000_000, 2_000_000);
    plus(&total(Some(revised.clone()), None).await, 1_000_000, 3_000_000);
    let retracted = total(None, None).await;
    assert_eq!(retracted["grandTotal"], now["grandTotal"]);
    let excluded = |report: &Value| {
        report["excluded"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["commitment"]["slug"] == "known-dc" && e["reason"] == "RETRACTED")
    };
    assert!(excluded(&retracted) && !excluded(&total(Some(revised.clone()), None).await));
    assert_eq!(total(Some(chrono::Utc::now().to_rfc3339()), None).await, retracted);
    // With asOf: as of the day after the announcement, as we knew it once revised.
    plus(&total(Some(revised.clone()), Some("2025-02-11")).await, 1_000_000, 3_000_000);
    // As of the day before its announcement it did not count, whenever asked.
    assert_eq!(
        total(Some(revised), Some("2025-02-09")).await["grandTotal"],
        total(None, Some("2025-02-09")).await["grandTotal"]
    );
    // Before the history starts: refused on the argument.
    let (_, body) = app.as_token(None, KNOWN, json!({ "at": "2001-01-01T00:00:00Z" })).await;
    assert_eq!(body["errors"][0]["extensions"]["field"], "knownAt", "{body}");
}

/// A figure the known-at tests write, revise and retract (1–2 million EUR, one source).
const CREATE_KNOWN_DC: &str = r#"mutation { createCommitment(input: { slug: "known-dc",
    title: "A data centre in Nantes", pledger: "france", event: "ai-action-summit-2025", announcedOn: "2025-02-10",
    amountLow: "1000000.00", amountHigh: "2000000.00", currency: "EUR", kind: INVESTMENT,
    newSources: [{ slug: "nantes-report", url: "https://example.org/nantes", publisher: "Example", title: "Nantes" }] })
    { version } }"#;

/// Runs a mutation with `token`, failing the test on any error.
async fn write_as(app: &TestApp, token: &str, query: &str) {
    let (_, body) = app.as_token(Some(token), query, json!({})).await;
    assert!(body.get("errors").is_none(), "{query}: {body}");
}

const RECORD_THEN: &str = r#"query($at: DateTime, $min: Decimal) {
  commitment(slug: "known-dc", knownAt: $at) {
    amount { low high } status version sources { slug } statusHistory { status effectiveOn correction sources { slug } }
    retraction { reason sources { slug } } }
  commitments(filter: { events: ["ai-action-summit-2025"], text: "nantes", amountMin: $min }, knownAt: $at) {
    totalCount nodes { slug amount { high } sources { slug } } } }"#;

const AS_OF_THEN: &str = r#"query($at: DateTime) {
  totals(filter: { events: ["ai-action-summit-2025"] }, asOf: "2025-07-01", knownAt: $at) {
    grandTotal { count low high } excluded { reason commitment { slug } } } }"#;

/// Moments taken between writes: each write lands strictly between two of them.
async fn moment() -> String {
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    let at = chrono::Utc::now().to_rfc3339();
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    at
}

/// A figure created, revised with a second source, withdrawn, reopened by a correction
/// and retracted, each at a known moment; asked at each moment, the record, its sources,
/// its status history and the list it is in are exactly those of then, and an `asOf` total
/// uses the statuses recorded then.
async fn known_at_gives_each_record_as_it_was_with_its_sources_and_statuses(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else { return };
    let editor = app.token("desk", Role::Editor).await;
    let write = |query: &'static str| write_as(&app, &editor, query);
    let then = |at: &str, min: Option<&str>| {
        let (app, at, min) = (&app, at.to_owned(), min.map(str::to_owned));
        async move { app.data_of(RECORD_THEN, json!({ "at": at, "min": min })).await }
    };
    let as_of = |at: &str| {
        let (app, at) = (&app, at.to_owned());
        async move { app.data_of(AS_OF_THEN, json!({ "at": at })).await["totals"].clone() }
    };
    let before = moment().await;
    write(CREATE_KNOWN_DC).await;
    let created = moment().await;
    write(
        r#"mutation { updateCommitment(slug: "known-dc", expectedVersion: 1, patch: { amountHigh: "3000000.00",
        sources: ["nantes-report", "nantes-follow-up"], newSources: [{ slug: "nantes-follow-up",
        url: "https://example.org/nantes-2", publisher: "Example", title: "Nantes, again" }] }) { version } }"#,
    )
    .await;
    let revised = moment().await;
    write(
        r#"mutation { setCommitmentStatus(slug: "known-dc", expectedVersion: 2, status: WITHDRAWN,
        effectiveOn: "2025-06-01", source: "nantes-report") { version } }"#,
    )
    .await;
    let withdrawn = moment().await;
    write(
        r#"mutation { setCommitmentStatus(slug: "known-dc", expectedVersion: 3, status: ANNOUNCED,
        effectiveOn: "2025-06-02", source: "nantes-follow-up", note: "The withdrawal was misreported") { version } }"#,
    )
    .await;
    let corrected = moment().await;
    write(
        r#"mutation { retractCommitment(slug: "known-dc", expectedVersion: 4, reason: "The figure was misread",
        source: "nantes-report", retractedOn: "2025-07-01") { version } }"#,
    )
    .await;
    let retracted = moment().await;

    // Before it was written: no record, and not in the list.
    let data = then(&before, None).await;
    assert_eq!(data["commitment"], Value::Null, "{data}");
    assert_eq!(data["commitments"], json!({ "totalCount": 0, "nodes": [] }), "{data}");
    // Created: one source, announced.
    let data = then(&created, None).await;
    assert_eq!(
        data["commitment"],
        json!({ "amount": { "low": "1000000.00", "high": "2000000.00" }, "status": "ANNOUNCED", "version": 1,
            "sources": [{ "slug": "nantes-report" }],
            "statusHistory": [{ "status": "ANNOUNCED", "effectiveOn": "2025-02-10", "correction": false,
                "sources": [{ "slug": "nantes-report" }] }],
            "retraction": null }),
        "{data}"
    );
    assert_eq!(
        data["commitments"],
        json!({ "totalCount": 1, "nodes": [{ "slug": "known-dc", "amount": { "high": "2000000.00" },
            "sources": [{ "slug": "nantes-report" }] }] })
    );
    // Not yet above 2.5 million then; it is once revised (the amount filter reads the
    // figure of then).
    assert_eq!(then(&created, Some("2500000")).await["commitments"]["totalCount"], 0);
    assert_eq!(then(&revised, Some("2500000")).await["commitments"]["totalCount"], 1);
    // So does a total's (it read today's amounts before).
    let above = |at: &str| {
        let (app, at) = (&app, at.to_owned());
        async move {
            let query = r#"query($at: DateTime) { totals(filter: { events: ["ai-action-summit-2025"], text: "nantes",
                amountMin: "2500000" }, knownAt: $at) { grandTotal { count } } }"#;
            app.data_of(query, json!({ "at": at })).await["totals"]["grandTotal"]["count"].clone()
        }
    };
    assert_eq!(above(&created).await, 0);
    assert_eq!(above(&revised).await, 1);
    // Revised: the new figure and both sources.
    let data = then(&revised, None).await;
    assert_eq!(data["commitment"]["amount"], json!({ "low": "1000000.00", "high": "3000000.00" }));
    assert_eq!(data["commitment"]["sources"], json!([{ "slug": "nantes-report" }, { "slug": "nantes-follow-up" }]));
    assert_eq!(data["commitments"]["nodes"][0]["sources"], data["commitment"]["sources"]);
    assert_eq!(data["commitment"]["statusHistory"].as_array().map(Vec::len), Some(1), "{data}");
    // Withdrawn, then reopened by a correction.
    let data = then(&withdrawn, None).await;
    assert_eq!(data["commitment"]["status"], "WITHDRAWN", "{data}");
    assert_eq!(
        data["commitment"]["statusHistory"][1],
        json!({ "status": "WITHDRAWN", "effectiveOn": "2025-06-01", "correction": false,
            "sources": [{ "slug": "nantes-report" }] })
    );
    let data = then(&corrected, None).await;
    assert_eq!(data["commitment"]["status"], "ANNOUNCED", "{data}");
    assert_eq!(
        data["commitment"]["statusHistory"][2],
        json!({ "status": "ANNOUNCED", "effectiveOn": "2025-06-02", "correction": true,
            "sources": [{ "slug": "nantes-follow-up" }] })
    );
    assert_eq!(data["commitment"]["retraction"], Value::Null);
    // Retracted: as today.
    let data = then(&retracted, None).await;
    assert_eq!(
        data["commitment"]["retraction"],
        json!({ "reason": "The figure was misread", "sources": [{ "slug": "nantes-report" }] })
    );
    let today = app.data_of(RECORD_THEN, json!({})).await;
    assert_eq!(data, today);

    // As of 1 July 2025: withdrawn as we knew it after the withdrawal, counted again once
    // the correction was written, excluded as retracted at the end.
    let excluded = |report: &Value, reason: &str| {
        report["excluded"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["commitment"]["slug"] == "known-dc" && e["reason"] == reason)
    };
    let base = as_of(&before).await;
    let at_withdrawal = as_of(&withdrawn).await;
    assert_eq!(at_withdrawal["grandTotal"], base["grandTotal"], "{at_withdrawal}");
    assert!(excluded(&at_withdrawal, "WITHDRAWN"), "{at_withdrawal}");
    let at_correction = as_of(&corrected).await;
    assert_eq!(
        at_correction["grandTotal"]["count"],
        base["grandTotal"]["count"].as_i64().unwrap() + 1,
        "{at_correction}"
    );
    assert!(!excluded(&at_correction, "WITHDRAWN"), "{at_correction}");
    // Once retracted it counts on no day, today as then (it was counted and listed as
    // excluded at once before the fix).
    let at_retraction = as_of(&retracted).await;
    assert_eq!(at_retraction["grandTotal"], base["grandTotal"], "{at_retraction}");
    assert!(excluded(&at_retraction, "RETRACTED"), "{at_retraction}");
    let today = app.data_of(AS_OF_THEN, json!({ "at": null })).await["totals"].clone();
    assert_eq!(today, at_retraction);

    // Before the history starts: refused on the argument, for records too.
    let (_, body) = app.as_token(None, RECORD_THEN, json!({ "at": "2001-01-01T00:00:00Z" })).await;
    assert_eq!(body["errors"][0]["extensions"]["field"], "knownAt", "{body}");
}

/// A signature set and its stance changed: a coalition's counts as recorded before, between
/// and after, alone and with `asOf`.
async fn known_at_gives_a_coalitions_counts_as_recorded_then(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else { return };
    let editor = app.token("desk", Role::Editor).await;
    let counts = |at: Option<String>| {
        let app = &app;
        async move {
            let query = r#"query($at: DateTime) { coalition(slug: "coalition-sustainable-ai") {
                counts(knownAt: $at) { signed declined withdrawn }
                onDay: counts(asOf: "2025-03-01", knownAt: $at) { signed declined withdrawn } } }"#;
            app.data_of(query, json!({ "at": at })).await["coalition"].clone()
        }
    };
    let today_before = counts(None).await;
    let before = moment().await;
    let sign = r#"mutation S($stance: Stance!, $v: Int) { setSignature(expectedVersion: $v, input: {
        coalition: "coalition-sustainable-ai", actor: "spain", stance: $stance, signedOn: "2025-02-11",
        newSources: [{ slug: "spain-joins", url: "https://example.org/spain", publisher: "Example", title: "Spain" }] }) { version } }"#;
    let (_, body) = app.as_token(Some(&editor), sign, json!({ "stance": "SIGNED" })).await;
    assert!(body.get("errors").is_none(), "{body}");
    let signed = moment().await;
    let change = r#"mutation { setSignature(expectedVersion: 1, input: { coalition: "coalition-sustainable-ai",
        actor: "spain", stance: WITHDRAWN, signedOn: "2025-02-11", sources: ["spain-joins"] }) { version } }"#;
    let (_, body) = app.as_token(Some(&editor), change, json!({})).await;
    assert!(body.get("errors").is_none(), "{body}");
    let withdrew = moment().await;

    let plus = |base: &Value, field: &str, stance: &str| {
        let mut expected = base[field].clone();
        expected[stance] = json!(base[field][stance].as_i64().unwrap() + 1);
        expected
    };
    assert_eq!(counts(Some(before)).await, today_before);
    let between = counts(Some(signed)).await;
    assert_eq!(between["counts"], plus(&today_before, "counts", "signed"), "{between}");
    assert_eq!(between["onDay"], plus(&today_before, "onDay", "signed"), "{between}");
    let after = counts(Some(withdrew)).await;
    assert_eq!(after["counts"], plus(&today_before, "counts", "withdrawn"), "{after}");
    assert_eq!(after["onDay"], plus(&today_before, "onDay", "withdrawn"), "{after}");
    assert_eq!(after, counts(None).await);
}
