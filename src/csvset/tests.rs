use super::*;

#[test]
fn retraction_problems_name_their_columns() {
    let origins = Origins { lines: HashMap::from([("commitments", vec![7])]), statuses: HashMap::new() };
    let at = |field: &str| {
        let problem = Problem {
            collection: "commitments",
            index: 0,
            key: "x".into(),
            error: crate::domain::FieldError::new(field, "is wrong"),
        };
        origins.locate(&problem).to_string()
    };
    assert_eq!(at("retraction.reason"), "commitments.csv:7: retraction_reason: is wrong");
    assert_eq!(at("retraction.retractedOn"), "commitments.csv:7: retracted_on: is wrong");
    assert_eq!(at("retraction.sources[1]"), "commitments.csv:7: retraction_sources: is wrong");
    assert_eq!(at("amountLow"), "commitments.csv:7: amount_low: is wrong");
}

#[test]
fn fields_become_columns() {
    assert_eq!(column_of("amountLow"), "amount_low");
    assert_eq!(column_of("sources[2]"), "sources");
    assert_eq!(column_of("recipientCountry"), "recipient_country");
    assert_eq!(column_of("slug"), "slug");
}

#[test]
fn the_reference_data_survives_a_round_trip_through_csv() {
    let data = crate::reference::reference_data().expect("the reference data parses");
    let dir = tempfile::tempdir().expect("temp dir");
    write_dir(&data, dir.path()).expect("written");
    let (back, _) = read_dir(dir.path()).expect("read back");
    assert_eq!(back.sources, data.sources);
    assert_eq!(back.actors, data.actors);
    assert_eq!(back.commitments, data.commitments);
    assert_eq!(back.fundraising_targets, data.fundraising_targets);
    assert_eq!(back.overlaps, data.overlaps);
    assert_eq!(back.coalitions, data.coalitions);
    assert_eq!(back.signatures, data.signatures);
    assert_eq!(back.reported_counts, data.reported_counts);
    assert!(!data.reported_counts.is_empty());
    assert_eq!(back.claims, data.claims);
    assert!(!data.claims.is_empty());
    assert_eq!(back.exchange_rates, data.exchange_rates);
    assert_eq!(back.events, data.events);
}
