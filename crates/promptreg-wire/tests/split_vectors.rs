//! The split rule against `fixtures/split-vectors.json`, which Python's hashlib computed (see
//! `fixtures/split-vectors.py`): the bucket of every (name, environment, key) and the entry of
//! every split each bucket falls into. A change to the hash or the ranges fails here first.

use promptreg_wire::split::{assign, bucket, SplitEntry};
use serde_json::Value;

fn vectors() -> Value {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../fixtures/split-vectors.json"
    );
    serde_json::from_str(&std::fs::read_to_string(path).expect("fixtures/split-vectors.json"))
        .expect("valid JSON")
}

fn split(value: &Value) -> Vec<SplitEntry> {
    serde_json::from_value(value.clone()).expect("a split")
}

#[test]
fn buckets_match_the_vectors() {
    let vectors = vectors();
    let cases = vectors["buckets"].as_array().unwrap();
    assert!(cases.len() >= 40);
    for case in cases {
        let (name, env, key) = (
            case["name"].as_str().unwrap(),
            case["environment"].as_str().unwrap(),
            case["key"].as_str().unwrap(),
        );
        assert_eq!(
            u64::from(bucket(name, env, key)),
            case["bucket"].as_u64().unwrap(),
            "{name} {env} {key:?}"
        );
    }
}

#[test]
fn assignments_match_the_vectors() {
    let vectors = vectors();
    for case in vectors["assignments"].as_array().unwrap() {
        let entries = split(&case["split"]);
        promptreg_wire::split::check(&entries).unwrap();
        let b = case["bucket"].as_u64().unwrap() as u32;
        assert_eq!(
            assign(&entries, b).unwrap().version,
            case["version"].as_str().unwrap(),
            "{case}"
        );
    }
    for case in vectors["reads"].as_array().unwrap() {
        let entries = split(&case["split"]);
        let b = bucket(
            case["name"].as_str().unwrap(),
            case["environment"].as_str().unwrap(),
            case["key"].as_str().unwrap(),
        );
        assert_eq!(u64::from(b), case["bucket"].as_u64().unwrap());
        assert_eq!(
            assign(&entries, b).unwrap().version,
            case["version"].as_str().unwrap()
        );
    }
}
