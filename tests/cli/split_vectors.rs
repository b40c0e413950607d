//! The split test vectors (`fixtures/split-vectors.json`, made with Python's hashlib) read
//! through the real binary: every `reads` entry is fetched with `--key` from a registry whose
//! production and staging split the way the vector says, and must give that version and
//! bucket. Also what a split does without a key, and the key the CLI refuses.

use serde::Deserialize;
use serde_json::Value;

use crate::support::TestRepo;

const NAME: &str = "support/refund-agent";

#[derive(Debug, Deserialize)]
struct Vectors {
    reads: Vec<Read>,
}

#[derive(Debug, Deserialize)]
struct Read {
    name: String,
    environment: String,
    key: String,
    split: Vec<Value>,
    bucket: u32,
    version: String,
}

fn vectors() -> Vectors {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/split-vectors.json");
    let text = std::fs::read_to_string(path).expect("read fixtures/split-vectors.json");
    serde_json::from_str(&text).expect("parse fixtures/split-vectors.json")
}

/// A registry with 1.1.0 and 1.2.0 of `support/refund-agent` released, and production and
/// staging splitting `1.1.0=90 1.2.0=10`, written by hand and committed with git.
fn split_registry() -> TestRepo {
    let repo = TestRepo::init();
    repo.release(NAME, "1.1.0", "Version one point one.");
    repo.release(NAME, "1.2.0", "Version one point two.");
    let split = "\n      split:\n        - {version: 1.1.0, percent: 90}\n        - {version: 1.2.0, percent: 10}";
    repo.commit_by_hand(
        "registry.yaml",
        &format!(
            "format: 1\nenvironments: [dev, staging, production]\nprompts:\n  {NAME}:\n    dev: 1.2.0\n    staging:{split}\n    production:{split}\n"
        ),
        "canary 1.2.0 at 10% in staging and production",
    );
    repo
}

#[test]
fn every_read_vector_is_served_by_fetch_key() {
    let vectors = vectors();
    // The registry below is the one the vectors describe; a regenerated file with other reads
    // needs another registry, not a silently passing test.
    assert!(vectors.reads.len() >= 12, "{} reads", vectors.reads.len());
    let repo = split_registry();
    let mut seen_canary = false;
    for read in &vectors.reads {
        assert_eq!(read.name, NAME);
        assert!(
            ["production", "staging"].contains(&read.environment.as_str()),
            "{}",
            read.environment
        );
        assert_eq!(
            serde_json::to_value(&read.split).unwrap(),
            serde_json::json!([{"version": "1.1.0", "percent": 90}, {"version": "1.2.0", "percent": 10}])
        );
        let selector = format!("{}@{}", read.name, read.environment);
        let out = repo.run(&["fetch", &selector, "--key", &read.key, "--format", "json"]);
        out.ok();
        let record = out.json();
        assert_eq!(
            record["version"], read.version,
            "{selector} --key {:?}",
            read.key
        );
        assert_eq!(
            record["bucket"], read.bucket,
            "{selector} --key {:?}",
            read.key
        );
        assert_eq!(record["split"], serde_json::to_value(&read.split).unwrap());
        // With a key, fetch says nothing about the split: the answer is the key's.
        assert!(!out.stderr.contains("splits traffic"), "{}", out.stderr);
        seen_canary |= read.version == "1.2.0";
    }
    // The vectors reach both entries, so a reader that always served the first would fail.
    assert!(seen_canary, "no read vector lands in the canary");
}

#[test]
fn without_a_key_a_split_serves_its_first_entry_and_says_so() {
    let repo = split_registry();
    for env in ["production", "staging"] {
        let selector = format!("{NAME}@{env}");
        let out = repo.run(&["fetch", &selector, "--format", "json"]);
        out.ok().stderr_has(&[
            &format!("{env} of `{NAME}` splits traffic (1.1.0 90% / 1.2.0 10%)"),
            "without --key this is its first entry, 1.1.0",
        ]);
        let record = out.json();
        assert_eq!(record["version"], "1.1.0");
        assert_eq!(record["bucket"], Value::Null);
        assert_eq!(
            record["split"],
            serde_json::json!([{"version": "1.1.0", "percent": 90}, {"version": "1.2.0", "percent": 10}])
        );
    }
    // A bare name is the last environment, production: the same first entry and note.
    repo.run(&["fetch", NAME, "--format", "text"])
        .ok()
        .stderr_has(&["production of `support/refund-agent` splits traffic"]);
    // An environment that does not split has no note and no split.
    let out = repo.run(&["fetch", &format!("{NAME}@dev"), "--format", "json"]);
    out.ok();
    assert!(!out.stderr.contains("splits"), "{}", out.stderr);
    assert_eq!(out.json()["split"], Value::Null);
}

#[test]
fn an_empty_key_or_one_with_a_line_break_is_refused() {
    let repo = split_registry();
    let selector = format!("{NAME}@production");
    for key in ["", "user\n1", "user\r1"] {
        repo.refuses_unchanged(&["fetch", &selector, "--key", key, "--format", "json"])
            .stderr_has(&[
                "error: invalid split key",
                "hint: pass the id the split should stick to",
            ]);
    }
}
