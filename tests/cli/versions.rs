//! `promptreg versions`: semver order, status, JSON shape, not-found.

use serde_json::Value;

use crate::support::{TestRepo, COMMITTER_EMAIL, DATE};

fn repo_with_versions() -> TestRepo {
    let repo = TestRepo::init();
    // Released out of order on purpose: text order would put 1.10.0 before 1.2.0.
    repo.release("x", "1.10.0", "ten");
    repo.release("x", "1.2.0", "two");
    repo.release("x", "1.2.0-rc.1", "candidate");
    repo.release("x", "0.9.0", "early");
    repo.promote("x", "1.2.0", "dev");
    repo.promote("x", "1.2.0", "staging");
    repo.promote("x", "1.10.0", "dev");
    repo
}

#[test]
fn versions_are_in_semver_order_with_status() {
    let repo = repo_with_versions();
    let out = repo.run(&["versions", "x"]);
    out.ok();
    let mut lines = out.stdout.lines();
    let header: Vec<&str> = lines.next().expect("header").split_whitespace().collect();
    assert_eq!(
        header,
        [
            "VERSION",
            "STATUS",
            "PASS",
            "RATE",
            "CREATED",
            "BY",
            "CREATED",
            "DESCRIPTION"
        ]
    );
    let rows: Vec<(String, String)> = lines
        .map(|l| {
            let cols: Vec<&str> = l.split_whitespace().collect();
            (cols[0].to_owned(), cols[1].to_owned())
        })
        .collect();
    let expected = [
        ("0.9.0", "draft"),
        ("1.2.0-rc.1", "draft"),
        ("1.2.0", "staging"),
        ("1.10.0", "dev"),
    ];
    let expected: Vec<(String, String)> = expected
        .iter()
        .map(|(v, s)| (v.to_string(), s.to_string()))
        .collect();
    assert_eq!(rows, expected);
    assert!(out.stdout.contains(COMMITTER_EMAIL), "{}", out.stdout);
    assert!(out.stdout.contains("2026-01-01 00:00"), "{}", out.stdout);
}

#[test]
fn versions_json_shape() {
    let repo = repo_with_versions();
    let out = repo.run(&["versions", "x", "--format", "json"]);
    out.ok();
    let rows = out.json();
    let rows = rows.as_array().expect("array");
    let order: Vec<&str> = rows
        .iter()
        .map(|r| r["version"].as_str().expect("version"))
        .collect();
    assert_eq!(order, ["0.9.0", "1.2.0-rc.1", "1.2.0", "1.10.0"]);
    for row in rows {
        let keys: Vec<&str> = row
            .as_object()
            .expect("object")
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(
            keys,
            [
                "version",
                "status",
                "environments",
                "created_by",
                "created_at",
                "description",
                "commit",
                "tag",
                "pass_rate",
                "tests",
                "worst_pass_rate",
                "worst_test",
                "percent"
            ]
        );
        assert_eq!(row["percent"], Value::Null, "no environment splits");
        assert_eq!(row["created_by"], COMMITTER_EMAIL);
        assert_eq!(row["created_at"], DATE);
        let version = row["version"].as_str().expect("version");
        assert_eq!(row["tag"], format!("x/v{version}"));
        assert_eq!(row["commit"], repo.rev(&format!("x/v{version}^{{commit}}")));
    }
    assert_eq!(rows[2]["status"], "staging");
    assert_eq!(rows[2]["environments"], serde_json::json!(["staging"]));
    assert_eq!(rows[2]["description"], "release");
    assert_eq!(rows[3]["status"], "dev");
    assert_eq!(rows[0]["status"], "draft");
    assert_eq!(rows[0]["environments"], Value::Array(Vec::new()));
}

#[test]
fn versions_show_a_split_share() {
    let repo = crate::support::promoted_through_pipeline("x", "1.0.0", "one");
    repo.release("x", "1.1.0", "two");
    repo.promote("x", "1.1.0", "dev");
    repo.promote("x", "1.1.0", "staging");
    repo.release("x", "1.2.0", "three");
    repo.run(&[
        "promote",
        "x",
        "1.1.0",
        "--to",
        "production",
        "--canary",
        "12.5",
        "--reason",
        "c",
    ])
    .ok();
    let out = repo.run(&["versions", "x", "--format", "json"]);
    out.ok();
    let rows: Vec<(Value, Value, Value)> = out
        .json()
        .as_array()
        .expect("array")
        .iter()
        .map(|r| {
            (
                r["status"].clone(),
                r["percent"].clone(),
                r["environments"].clone(),
            )
        })
        .collect();
    assert_eq!(
        rows,
        [
            (
                "production".into(),
                87.5.into(),
                serde_json::json!(["production"])
            ),
            (
                "production".into(),
                12.5.into(),
                serde_json::json!(["dev", "staging", "production"])
            ),
            ("draft".into(), Value::Null, serde_json::json!([])),
        ]
    );
    let table = repo.run(&["versions", "x"]);
    let statuses: Vec<String> = table
        .stdout
        .lines()
        .skip(1)
        .map(|l| {
            l.split_whitespace()
                .skip(1)
                .take(2)
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect();
    assert_eq!(
        statuses,
        ["production 87.5%", "production 12.5%", "draft -"]
    );
    // The share is of the status environment's traffic: dev now splits 1.1.0 50/50 too, but
    // 1.1.0's status is still production, where it gets 12.5%.
    repo.run(&[
        "split", "x", "--env", "dev", "1.1.0=50", "1.2.0=50", "--reason", "ab",
    ])
    .ok();
    let out = repo.run(&["versions", "x", "--format", "json"]);
    let rows = out.json();
    assert_eq!(rows[2]["status"], "dev");
    assert_eq!(rows[2]["percent"], 50);
    assert_eq!(rows[1]["percent"], 12.5, "production is its status");
}

#[test]
fn versions_description_is_the_changelog() {
    let repo = TestRepo::init();
    repo.write_prompt("x", "hi");
    repo.run(&[
        "create",
        "x",
        "--version",
        "1.0.0",
        "-m",
        "First line\n\nMore detail.",
    ])
    .ok();
    let out = repo.run(&["versions", "x", "--format", "json"]);
    out.ok();
    assert_eq!(out.json()[0]["description"], "First line\n\nMore detail.");
    let table = repo.run(&["versions", "x"]);
    assert!(table.stdout.contains("First line"), "{}", table.stdout);
    assert!(!table.stdout.contains("More detail"), "{}", table.stdout);
}

#[test]
fn versions_ref_reads_older_status() {
    let repo = TestRepo::init();
    repo.release("x", "1.0.0", "one");
    let before = repo.rev("HEAD");
    repo.promote("x", "1.0.0", "dev");
    let out = repo.run(&["versions", "x", "--format", "json", "--ref", &before]);
    out.ok();
    assert_eq!(out.json()[0]["status"], "draft");
    let out = repo.run(&["versions", "x", "--format", "json"]);
    assert_eq!(out.json()[0]["status"], "dev");
}

#[test]
fn versions_of_an_unknown_prompt() {
    let repo = TestRepo::init();
    repo.release("summarize", "1.0.0", "s");
    repo.run(&["versions", "summarise"])
        .refused()
        .stderr_has(&["prompt `summarise` not found", "summarize"]);
    repo.run(&["versions", "Nope"])
        .refused()
        .stderr_has(&["invalid prompt name"]);
}

#[test]
fn versions_rejects_unsupported_formats() {
    let repo = TestRepo::init();
    repo.release("x", "1.0.0", "one");
    repo.run(&["versions", "x", "--format", "yaml"])
        .usage()
        .stderr_has(&["table, json"]);
}
