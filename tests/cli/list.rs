//! `promptreg list`: rows, filters, JSON shape, unknown environment.

use serde_json::json;

use crate::support::{promoted_through_pipeline, redactions, TestRepo};

/// Three prompts: summarize (production), support/refund-agent (dev, two versions),
/// support/triage (no promotion).
fn registry() -> TestRepo {
    let repo = promoted_through_pipeline("summarize", "1.0.0", "s");
    repo.release("support/refund-agent", "1.0.0", "r1");
    repo.release("support/refund-agent", "1.1.0", "r2");
    repo.promote("support/refund-agent", "1.1.0", "dev");
    repo.release("support/triage", "0.1.0", "t");
    repo
}

fn names(repo: &TestRepo, args: &[&str]) -> Vec<String> {
    let mut full = vec!["list", "--format", "json"];
    full.extend_from_slice(args);
    let out = repo.run(&full);
    out.ok();
    out.json()
        .as_array()
        .expect("array")
        .iter()
        .map(|r| r["name"].as_str().expect("name").to_owned())
        .collect()
}

#[test]
fn list_shows_one_row_per_prompt() {
    let repo = registry();
    let out = repo.run(&["list"]);
    out.ok();
    // The whole table: header, one row per prompt in name order, `-` for no version.
    redactions(&repo).bind(|| insta::assert_snapshot!("list", out.stdout));
}

#[test]
fn list_json_shape() {
    let repo = registry();
    let out = repo.run(&["list", "--format", "json"]);
    out.ok();
    let rows = out.json();
    for row in rows.as_array().expect("array") {
        let keys: Vec<&str> = row
            .as_object()
            .expect("object")
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(
            keys,
            [
                "name",
                "domain",
                "latest",
                "versions",
                "environments",
                "summary",
                "status",
                "splits"
            ]
        );
        assert_eq!(row["splits"], json!({}), "no environment splits");
    }
    assert_eq!(
        rows,
        json!([
            {
                "name": "summarize",
                "domain": null,
                "latest": "1.0.0",
                "versions": 1,
                "environments": {"dev": "1.0.0", "staging": "1.0.0", "production": "1.0.0"},
                "summary": "The summarize prompt",
                "status": "released",
                "splits": {}
            },
            {
                "name": "support/refund-agent",
                "domain": "support",
                "latest": "1.1.0",
                "versions": 2,
                "environments": {"dev": "1.1.0", "staging": null, "production": null},
                "summary": "The support/refund-agent prompt",
                "status": "released",
                "splits": {}
            },
            {
                "name": "support/triage",
                "domain": "support",
                "latest": "0.1.0",
                "versions": 1,
                "environments": {"dev": null, "staging": null, "production": null},
                "summary": "The support/triage prompt",
                "status": "released",
                "splits": {}
            }
        ])
    );
    // Every environment of the pipeline, in pipeline order (not alphabetical), even empty ones.
    let envs: Vec<&str> = rows[2]["environments"]
        .as_object()
        .expect("object")
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(envs, ["dev", "staging", "production"]);
}

#[test]
fn list_shows_a_split_by_its_first_entry_and_in_splits() {
    let repo = registry();
    repo.run(&[
        "split",
        "support/refund-agent",
        "--env",
        "dev",
        "1.0.0=90",
        "1.1.0=10",
        "--reason",
        "ab",
    ])
    .ok();
    let out = repo.run(&["list", "--format", "json"]);
    out.ok();
    let row = &out.json()[1];
    assert_eq!(
        row["environments"],
        json!({"dev": "1.0.0", "staging": null, "production": null}),
        "a reader without a key is served the first entry"
    );
    assert_eq!(
        row["splits"],
        json!({"dev": [{"version": "1.0.0", "percent": 90}, {"version": "1.1.0", "percent": 10}]})
    );
    let table = repo.run(&["list", "--env", "dev"]);
    let line = table
        .stdout
        .lines()
        .find(|l| l.contains("support/refund-agent"))
        .expect("row");
    let cells: Vec<&str> = line.split_whitespace().collect();
    assert_eq!(
        cells[..7],
        [
            "support/refund-agent",
            "1.1.0",
            "1.0.0",
            "90%",
            "/",
            "1.1.0",
            "10%"
        ]
    );
    // A prompt whose split is in the environment filtered on is listed.
    assert_eq!(
        names(&repo, &["--env", "dev"]),
        ["summarize", "support/refund-agent"]
    );
}

#[test]
fn list_filters_by_environment_and_domain() {
    let repo = registry();
    assert_eq!(names(&repo, &["--env", "production"]), ["summarize"]);
    assert_eq!(
        names(&repo, &["--env", "dev"]),
        ["summarize", "support/refund-agent"]
    );
    assert_eq!(
        names(&repo, &["--domain", "support"]),
        ["support/refund-agent", "support/triage"]
    );
    assert_eq!(
        names(&repo, &["--domain", "support", "--env", "dev"]),
        ["support/refund-agent"]
    );
    // A domain no prompt has is refused (tests/cli/clones_and_filters.rs).

    let out = repo.run(&["list", "--env", "staging"]);
    out.ok();
    let header: Vec<&str> = out
        .stdout
        .lines()
        .next()
        .expect("header")
        .split_whitespace()
        .collect();
    assert_eq!(header, ["NAME", "LATEST", "STAGING", "SUMMARY"]);
    assert_eq!(out.stdout.lines().count(), 2, "{}", out.stdout);
}

#[test]
fn list_unknown_environment_is_refused() {
    let repo = registry();
    repo.run(&["list", "--env", "qa"])
        .refused()
        .stderr_has(&["unknown environment `qa`", "dev, staging, production"]);
}

#[test]
fn list_of_an_empty_registry() {
    let repo = TestRepo::init();
    let out = repo.run(&["list"]);
    out.ok();
    assert_eq!(out.stdout, "");
    assert!(out.stderr.contains("no prompts yet"), "{}", out.stderr);
    let out = repo.run(&["list", "--format", "json"]);
    out.ok();
    assert_eq!(out.json(), json!([]));
}

#[test]
fn list_before_init_is_refused() {
    let repo = TestRepo::new();
    repo.run(&["list"]).refused();
}

#[test]
fn list_survives_an_unrelated_lightweight_tag() {
    let repo = registry();
    repo.git(&["tag", "release/v1.0.0"]);
    let out = repo.run(&["list", "--format", "json"]);
    out.ok();
    let listed: Vec<String> = out
        .json()
        .as_array()
        .expect("array")
        .iter()
        .map(|r| r["name"].as_str().expect("name").to_owned())
        .collect();
    for name in ["summarize", "support/refund-agent", "support/triage"] {
        assert!(
            listed.iter().any(|n| n == name),
            "{name} missing: {listed:?}"
        );
    }
}

/// The summaries of a list are cached by the id of each version's tag object: a new release,
/// and a version tag replaced by hand with one naming other contents, show their own summary
/// on the next list, exactly as with no cache at all.
#[test]
fn cached_summaries_follow_new_and_replaced_tags() {
    let repo = registry();
    let summaries = |repo: &TestRepo| -> Vec<(String, String)> {
        let out = repo.run(&["list", "--format", "json"]);
        out.ok();
        out.json()
            .as_array()
            .expect("array")
            .iter()
            .map(|r| {
                let summary = r["summary"].as_str().unwrap_or("-").to_owned();
                (r["name"].as_str().expect("name").to_owned(), summary)
            })
            .collect()
    };
    let cold = summaries(&repo);
    assert!(cold.contains(&("summarize".into(), "The summarize prompt".into())));
    assert_eq!(summaries(&repo), cold, "the cached summaries are the same");

    // A new release of summarize whose summary differs.
    let file = "prompts/summarize/prompt.yaml";
    let text = std::fs::read_to_string(repo.path(file)).unwrap();
    repo.write(
        file,
        &text.replace("The summarize prompt", "Shorter summaries"),
    );
    repo.run(&["create", "summarize", "--version", "1.1.0", "-m", "shorter"])
        .ok();
    let after_release = summaries(&repo);
    assert!(after_release.contains(&("summarize".into(), "Shorter summaries".into())));

    // support/triage's only tag replaced by hand by one on a commit with another summary.
    let file = "prompts/support/triage/prompt.yaml";
    let text = std::fs::read_to_string(repo.path(file)).unwrap();
    repo.commit_by_hand(
        file,
        &text.replace("The support/triage prompt", "Replaced by hand"),
        "retag",
    );
    repo.git(&["tag", "-f", "-a", "-m", "again", "support/triage/v0.1.0"]);
    let after_retag = summaries(&repo);
    assert!(after_retag.contains(&("support/triage".into(), "Replaced by hand".into())));

    // And all of it is what a list with no cache gives.
    std::fs::remove_dir_all(repo.path(".git/promptreg")).unwrap();
    assert_eq!(summaries(&repo), after_retag);
}
