//! Promotion gates (`policy:` in registry.yaml, docs/FORMAT.md §3.2): `promote` refuses a version
//! whose latest test runs miss its target's gate and lists every unmet condition; `--force`
//! overrides and records it (§8); `rollback` is not gated; `audit --base` judges every pointer
//! move by the policy at the base; the HTTP API goes through the same gate.

use std::path::Path;

use serde_json::{json, Value};

use crate::serve::{send, Server};
use crate::support::{released_prompt, Output, TestRepo, AUTHOR_EMAIL};

/// The header of every registry.yaml written here; `prompts:` is line 3.
const PIPELINE: &str = "format: 1\nenvironments: [dev, staging, production]\n";

/// registry.yaml with `prompts` (the lines under `prompts:`) and, unless empty, `policy` (the
/// lines under `policy:`).
fn registry(prompts: &str, policy: &str) -> String {
    let mut text = format!("{PIPELINE}prompts:\n{prompts}");
    if !policy.is_empty() {
        text.push_str("policy:\n");
        text.push_str(policy);
    }
    text
}

/// Commits registry.yaml by hand.
fn commit_registry(repo: &TestRepo, prompts: &str, policy: &str) {
    repo.commit_by_hand(
        "registry.yaml",
        &registry(prompts, policy),
        "registry by hand",
    );
}

/// x 1.0.0 in dev and staging: only the gate stands between it and production.
const X_STAGED: &str = "  x:\n    dev: 1.0.0\n    staging: 1.0.0\n";

/// x 1.0.0 released and held by dev and staging, with `policy` committed.
fn gated(policy: &str) -> TestRepo {
    let repo = released_prompt("x", "1.0.0", "one");
    commit_registry(&repo, X_STAGED, policy);
    repo
}

/// `results record SELECTOR --test TEST --passed P --failed F EXTRA...`, asserting success.
#[track_caller]
fn record(repo: &TestRepo, selector: &str, test: &str, passed: u64, failed: u64, extra: &[&str]) {
    let (passed, failed) = (passed.to_string(), failed.to_string());
    let mut args = vec![
        "results", "record", selector, "--test", test, "--passed", &passed, "--failed", &failed,
    ];
    args.extend_from_slice(extra);
    repo.run(&args).ok();
}

fn promote(repo: &TestRepo, version: &str, env: &str) -> Output {
    repo.run(&["promote", "x", version, "--to", env, "--reason", "ship it"])
}

fn promote_forced(repo: &TestRepo, version: &str, env: &str) -> Output {
    repo.run(&[
        "promote", "x", version, "--to", env, "--reason", "hotfix", "--force",
    ])
}

/// Asserts `out` is a gate refusal of `name` `version` into `env` — exit 1, nothing on stdout,
/// the error line, one `  - ` line per condition, a hint — and returns the conditions.
#[track_caller]
fn gate_refusal(out: &Output, name: &str, version: &str, env: &str) -> Vec<String> {
    out.refused();
    let lines: Vec<&str> = out.stderr.lines().collect();
    assert_eq!(
        lines.first().copied(),
        Some(
            format!("error: cannot promote `{name}` {version} to {env}: its gate is not met")
                .as_str()
        ),
        "{}",
        out.stderr
    );
    let unmet: Vec<String> = lines
        .iter()
        .filter_map(|l| l.strip_prefix("  - "))
        .map(str::to_owned)
        .collect();
    assert!(!unmet.is_empty(), "{}", out.stderr);
    let hint = lines.last().copied().unwrap_or_default();
    assert!(
        hint.starts_with("hint: ") && hint.contains("--force"),
        "{}",
        out.stderr
    );
    assert_eq!(lines.len(), unmet.len() + 2, "stray lines:\n{}", out.stderr);
    unmet
}

/// Promotes x `version` to `env`, asserting the gate refuses it and nothing changes (HEAD, refs,
/// index, working tree); returns the unmet conditions.
#[track_caller]
fn refused(repo: &TestRepo, version: &str, env: &str) -> Vec<String> {
    let out = repo.unchanged_by(|| promote(repo, version, env));
    gate_refusal(&out, "x", version, env)
}

/// Promotes, asserting success and a commit that records no override.
#[track_caller]
fn passes(repo: &TestRepo, version: &str, env: &str) {
    let commits = repo.commit_count();
    promote(repo, version, env).ok();
    assert_eq!(repo.commit_count(), commits + 1);
    assert_eq!(held(repo, env), version);
    let message = repo.git(&["log", "-1", "--format=%B"]);
    assert!(
        !message.contains("Forced:") && !message.contains("Gate-Unmet:"),
        "{message}"
    );
}

/// The version `env` serves for x.
fn held(repo: &TestRepo, env: &str) -> String {
    let out = repo.run(&["fetch", &format!("x@{env}"), "--format", "json"]);
    out.ok();
    out.json()["version"]
        .as_str()
        .expect("a version")
        .to_owned()
}

/// `history x --format json`, newest first.
fn history(repo: &TestRepo) -> Vec<Value> {
    let out = repo.run(&["history", "x", "--format", "json"]);
    out.ok();
    out.json().as_array().expect("a list").clone()
}

/// The values of trailer `key` in HEAD's message.
fn trailer(repo: &TestRepo, key: &str) -> Vec<String> {
    repo.git(&[
        "log",
        "-1",
        &format!("--format=%(trailers:key={key},valueonly,unfold)"),
    ])
    .lines()
    .filter(|l| !l.is_empty())
    .map(str::to_owned)
    .collect()
}

// --- each condition alone ---------------------------------------------------------------------

#[test]
fn a_required_test_without_a_result_blocks_until_one_is_recorded() {
    let repo = gated("  production:\n    required_tests: [safety]\n");
    assert_eq!(
        refused(&repo, "1.0.0", "production"),
        ["required test `safety` has no result"]
    );
    // Another test, or the required test on another version, does not count.
    record(&repo, "x@1.0.0", "golden", 10, 0, &[]);
    repo.release("x", "1.1.0", "two");
    record(&repo, "x@1.1.0", "safety", 10, 0, &[]);
    assert_eq!(
        refused(&repo, "1.0.0", "production"),
        ["required test `safety` has no result"]
    );
    // Any result will do when the gate sets no other condition.
    record(&repo, "x@1.0.0", "safety", 0, 3, &[]);
    passes(&repo, "1.0.0", "production");
}

#[test]
fn a_pass_rate_below_the_minimum_blocks_with_its_numbers() {
    let repo = gated("  production:\n    required_tests: [golden]\n    min_pass_rate: 0.95\n");
    // Errored cases count in the total.
    record(&repo, "x@1.0.0", "golden", 18, 1, &["--errored", "1"]);
    assert_eq!(
        refused(&repo, "1.0.0", "production"),
        ["`golden` pass rate 90.0% (18/20) is below 95.0%"]
    );
    // Exactly the minimum passes.
    record(&repo, "x@1.0.0", "golden", 19, 1, &[]);
    passes(&repo, "1.0.0", "production");
}

#[test]
fn an_average_score_below_the_minimum_or_missing_blocks() {
    let repo = gated("  production:\n    required_tests: [golden]\n    min_avg_score: 0.8\n");
    record(&repo, "x@1.0.0", "golden", 10, 0, &[]);
    assert_eq!(
        refused(&repo, "1.0.0", "production"),
        ["`golden` has no score (needs an average score of at least 0.8)"]
    );
    record(&repo, "x@1.0.0", "golden", 10, 0, &["--score", "0.7"]);
    assert_eq!(
        refused(&repo, "1.0.0", "production"),
        ["`golden` average score 0.7 is below 0.8"]
    );
    record(&repo, "x@1.0.0", "golden", 10, 0, &["--score", "0.8"]);
    passes(&repo, "1.0.0", "production");
}

#[test]
fn a_gate_without_required_tests_needs_some_result_and_checks_every_test() {
    let repo = gated("  production:\n    min_pass_rate: 0.5\n");
    assert_eq!(
        refused(&repo, "1.0.0", "production"),
        ["no test results are recorded for 1.0.0"]
    );
    record(&repo, "x@1.0.0", "golden", 1, 3, &[]);
    assert_eq!(
        refused(&repo, "1.0.0", "production"),
        ["`golden` pass rate 25.0% (1/4) is below 50.0%"]
    );
    // Every test recorded for the version is checked.
    record(&repo, "x@1.0.0", "golden", 2, 2, &[]);
    record(&repo, "x@1.0.0", "smoke", 1, 9, &[]);
    assert_eq!(
        refused(&repo, "1.0.0", "production"),
        ["`smoke` pass rate 10.0% (1/10) is below 50.0%"]
    );
    record(&repo, "x@1.0.0", "smoke", 9, 1, &[]);
    passes(&repo, "1.0.0", "production");
}

#[test]
fn runs_before_the_release_do_not_count_when_tested_after_release_is_set() {
    const RELEASED: &str = "2026-03-01T12:00:00+01:00";
    let repo = TestRepo::init();
    repo.write_prompt("x", "one");
    repo.run_with(
        &["create", "x", "--version", "1.0.0", "-m", "release"],
        &[
            ("GIT_AUTHOR_DATE", RELEASED),
            ("GIT_COMMITTER_DATE", RELEASED),
        ],
        &[],
    )
    .ok();
    commit_registry(
        &repo,
        X_STAGED,
        "  production:\n    required_tests: [golden]\n    tested_after_release: true\n",
    );
    // One second before the tag, in another offset.
    record(
        &repo,
        "x@1.0.0",
        "golden",
        10,
        0,
        &["--at", "2026-03-01T10:59:59Z"],
    );
    assert_eq!(
        refused(&repo, "1.0.0", "production"),
        [format!(
            "`golden` ran at 2026-03-01T10:59:59+00:00, before 1.0.0 was released ({RELEASED})"
        )]
    );
    // Without --at the run's time is GIT_AUTHOR_DATE: the hermetic environment's 2026-01-01 is earlier still.
    record(&repo, "x@1.0.0", "golden", 10, 0, &[]);
    assert_eq!(
        refused(&repo, "1.0.0", "production"),
        [format!(
            "`golden` ran at 2026-01-01T00:00:00+00:00, before 1.0.0 was released ({RELEASED})"
        )]
    );
    // At the very instant of the tag is not before it.
    let at = "2026-03-01T11:00:00+00:00";
    repo.run_with(
        &[
            "results", "record", "x@1.0.0", "--test", "golden", "--passed", "10", "--failed", "0",
        ],
        &[("GIT_AUTHOR_DATE", at), ("GIT_COMMITTER_DATE", at)],
        &[],
    )
    .ok();
    passes(&repo, "1.0.0", "production");
}

// --- several at once, latest run -------------------------------------------------------------

#[test]
fn every_unmet_condition_is_listed() {
    let repo = gated(
        "  production:\n    required_tests: [golden, safety]\n    min_pass_rate: 0.95\n    min_avg_score: 0.8\n    tested_after_release: true\n",
    );
    record(
        &repo,
        "x@1.0.0",
        "golden",
        18,
        2,
        &["--score", "0.7", "--at", "2025-12-31T23:00:00Z"],
    );
    let mut unmet = refused(&repo, "1.0.0", "production");
    unmet.sort();
    let mut expected = vec![
        "required test `safety` has no result",
        "`golden` ran at 2025-12-31T23:00:00+00:00, before 1.0.0 was released (2026-01-01T00:00:00+00:00)",
        "`golden` pass rate 90.0% (18/20) is below 95.0%",
        "`golden` average score 0.7 is below 0.8",
    ];
    expected.sort();
    assert_eq!(unmet, expected);

    // Fixing some leaves the rest.
    record(&repo, "x@1.0.0", "golden", 20, 0, &["--score", "0.9"]);
    record(&repo, "x@1.0.0", "safety", 5, 5, &[]);
    let mut unmet = refused(&repo, "1.0.0", "production");
    unmet.sort();
    assert_eq!(
        unmet,
        [
            "`safety` has no score (needs an average score of at least 0.8)",
            "`safety` pass rate 50.0% (5/10) is below 95.0%",
        ]
    );
    record(&repo, "x@1.0.0", "safety", 10, 0, &["--score", "1"]);
    passes(&repo, "1.0.0", "production");
}

#[test]
fn only_the_latest_recorded_run_of_each_test_counts() {
    let repo = gated("  production:\n    required_tests: [golden]\n    min_pass_rate: 0.95\n");
    record(
        &repo,
        "x@1.0.0",
        "golden",
        20,
        0,
        &["--at", "2026-01-05T00:00:00Z"],
    );
    // A failing run recorded later blocks again, even though it claims to have run earlier.
    record(
        &repo,
        "x@1.0.0",
        "golden",
        8,
        2,
        &["--at", "2026-01-03T00:00:00Z"],
    );
    assert_eq!(
        refused(&repo, "1.0.0", "production"),
        ["`golden` pass rate 80.0% (8/10) is below 95.0%"]
    );
    // A test the gate does not name changes nothing either way.
    record(&repo, "x@1.0.0", "smoke", 20, 0, &[]);
    assert_eq!(
        refused(&repo, "1.0.0", "production"),
        ["`golden` pass rate 80.0% (8/10) is below 95.0%"]
    );
    record(&repo, "x@1.0.0", "golden", 20, 0, &[]);
    record(&repo, "x@1.0.0", "smoke", 0, 20, &[]);
    passes(&repo, "1.0.0", "production");
}

#[test]
fn only_committed_results_count() {
    let repo = gated("  production:\n    required_tests: [golden]\n");
    record(&repo, "x@1.0.0", "other", 1, 0, &[]);
    // A passing run written into the file but not committed.
    let text = repo
        .read("results/x.yaml")
        .replace("\"other\"", "\"golden\"");
    assert!(text.contains("\"golden\""), "{text}");
    repo.write("results/x.yaml", &text);
    assert_eq!(
        refused(&repo, "1.0.0", "production"),
        ["required test `golden` has no result"]
    );
}

// --- --force ----------------------------------------------------------------------------------

#[test]
fn force_overrides_the_gate_and_records_what_it_overrode() {
    let repo =
        gated("  production:\n    required_tests: [golden, safety]\n    min_pass_rate: 0.95\n");
    record(&repo, "x@1.0.0", "golden", 8, 2, &[]);
    let commits = repo.commit_count();
    promote_forced(&repo, "1.0.0", "production").ok();
    assert_eq!(repo.commit_count(), commits + 1);
    assert_eq!(repo.changed_paths("HEAD"), ["registry.yaml"]);
    assert_eq!(held(&repo, "production"), "1.0.0");
    let unmet = [
        "required test `safety` has no result",
        "`golden` pass rate 80.0% (8/10) is below 95.0%",
    ];
    let message = repo.git(&["log", "-1", "--format=%B"]);
    assert!(message.lines().any(|l| l == "Forced: true"), "{message}");
    for condition in unmet {
        assert!(
            message
                .lines()
                .any(|l| l == format!("Gate-Unmet: {condition}")),
            "{message}"
        );
    }
    assert_eq!(message.matches("Gate-Unmet:").count(), 2, "{message}");
    let mut trailers = trailer(&repo, "Gate-Unmet");
    trailers.sort();
    let mut expected = unmet.to_vec();
    expected.sort();
    assert_eq!(trailers, expected);

    let event = &history(&repo)[0];
    assert_eq!(event["event"], "promoted");
    assert_eq!(event["environment"], "production");
    assert_eq!(event["reason"], "hotfix");
    assert_eq!(event["forced"], true);
    let mut listed: Vec<&str> = event["gate_unmet"]
        .as_array()
        .expect("gate_unmet is a list")
        .iter()
        .map(|v| v.as_str().expect("a string"))
        .collect();
    listed.sort();
    assert_eq!(listed, expected);
    repo.fsck();
}

#[test]
fn force_overrides_the_pipeline_and_the_gate_together() {
    let repo = gated("  production:\n    required_tests: [golden]\n");
    repo.release("x", "1.1.0", "two");
    // Without --force the pipeline refuses first; nothing changes.
    repo.unchanged_by(|| promote(&repo, "1.1.0", "production"))
        .refused()
        .stderr_has(&["staging holds 1.0.0, not 1.1.0"]);
    promote_forced(&repo, "1.1.0", "production").ok();
    assert_eq!(trailer(&repo, "Forced"), ["true"]);
    assert_eq!(
        trailer(&repo, "Gate-Unmet"),
        ["required test `golden` has no result"]
    );
    let event = &history(&repo)[0];
    assert_eq!(
        (&event["to"], &event["forced"]),
        (&json!("1.1.0"), &json!(true))
    );
    assert_eq!(
        event["gate_unmet"],
        json!(["required test `golden` has no result"])
    );
}

#[test]
fn force_with_nothing_to_override_records_nothing() {
    let repo = gated("  production:\n    required_tests: [golden]\n");
    record(&repo, "x@1.0.0", "golden", 1, 0, &[]);
    promote_forced(&repo, "1.0.0", "production").ok();
    let message = repo.git(&["log", "-1", "--format=%B"]);
    assert!(
        !message.contains("Forced:") && !message.contains("Gate-Unmet:"),
        "{message}"
    );
    let event = &history(&repo)[0];
    assert_eq!(event["forced"], false);
    assert_eq!(event["gate_unmet"], json!([]));
}

// --- what the gate does not touch, and invalid policies ---------------------------------------

#[test]
fn rollback_is_not_gated() {
    let repo = TestRepo::init();
    repo.release("x", "1.0.0", "one");
    repo.release("x", "1.1.0", "two");
    commit_registry(&repo, "  x: {}\n", "  dev:\n    min_pass_rate: 0.9\n");
    record(&repo, "x@1.0.0", "golden", 10, 0, &[]);
    passes(&repo, "1.0.0", "dev");
    record(&repo, "x@1.1.0", "golden", 10, 0, &[]);
    passes(&repo, "1.1.0", "dev");
    // 1.0.0 no longer meets the gate: promoting it is refused...
    record(&repo, "x@1.0.0", "golden", 1, 9, &[]);
    assert_eq!(
        refused(&repo, "1.0.0", "dev"),
        ["`golden` pass rate 10.0% (1/10) is below 90.0%"]
    );
    // ...rolling back to it is not, and the commit records no override.
    let before_rollback = repo.rev("HEAD");
    repo.run(&[
        "rollback",
        "x",
        "--env",
        "dev",
        "--reason",
        "1.1.0 is broken",
    ])
    .ok();
    assert_eq!(held(&repo, "dev"), "1.0.0");
    assert_eq!(trailer(&repo, "Change"), ["reverted"]);
    assert_eq!(trailer(&repo, "Forced"), Vec::<String>::new());
    assert_eq!(trailer(&repo, "Gate-Unmet"), Vec::<String>::new());
    let event = &history(&repo)[0];
    assert_eq!(event["event"], "reverted");
    assert_eq!(event["forced"], false);
    assert_eq!(event["gate_unmet"], json!([]));
    // audit does not gate-check the rollback either.
    let out = repo.run(&["audit", "--base", &before_rollback, "--format", "json"]);
    out.ok();
    assert_eq!(out.json()["violations"], json!([]));
}

#[test]
fn environments_without_a_gate_are_unaffected() {
    let repo = released_prompt("x", "1.0.0", "one");
    commit_registry(
        &repo,
        "  x: {}\n",
        "  production:\n    required_tests: [golden]\n",
    );
    passes(&repo, "1.0.0", "dev");
    passes(&repo, "1.0.0", "staging");
    assert_eq!(
        refused(&repo, "1.0.0", "production"),
        ["required test `golden` has no result"]
    );
    // An empty gate sets no condition.
    commit_registry(&repo, X_STAGED, "  production: {}\n");
    passes(&repo, "1.0.0", "production");
}

#[test]
fn invalid_policies_make_registry_yaml_invalid() {
    let repo = TestRepo::init();
    repo.release("x", "1.0.0", "one");
    // policy: is line 5; each gate is at 6:3, its first key at 7:5.
    let cases = [
        (
            "  qa:\n    min_pass_rate: 0.5\n",
            "6:3",
            "registry-invalid",
            "policy for `qa`: not in environments [dev, staging, production]",
        ),
        (
            "  production:\n    min_pass_rate: 1.5\n",
            "6:3",
            "registry-invalid",
            "policy for `production`: min_pass_rate 1.5 is not between 0 and 1",
        ),
        (
            "  production:\n    min_pass_rate: -0.1\n",
            "6:3",
            "registry-invalid",
            "policy for `production`: min_pass_rate -0.1 is not between 0 and 1",
        ),
        (
            "  production:\n    required_tests: [golden, safety, golden]\n",
            "6:3",
            "registry-invalid",
            "policy for `production`: required test `golden` is listed twice",
        ),
        (
            "  production:\n    required_tests: [\" golden\"]\n",
            "6:3",
            "registry-invalid",
            "policy for `production`: test name ` golden`",
        ),
        // Unknown keys have their own code at any level (docs/VALIDATE.md).
        (
            "  production:\n    min_rate: 0.95\n",
            "7:5",
            "unknown-key",
            "min_rate",
        ),
    ];
    for (policy, at, code, message) in cases {
        commit_registry(&repo, "  x: {}\n", policy);
        let before = repo.snapshot();
        let (line, column) = at.split_once(':').expect("line:col");
        // Commands reading registry.yaml fail with file:line:col.
        for args in [
            &["list"][..],
            &["promote", "x", "1.0.0", "--to", "dev", "--reason", "r"],
        ] {
            let out = repo.run(args);
            out.refused();
            assert!(
                out.stderr.contains(&format!("registry.yaml:{at}: ")),
                "{args:?} with {policy:?}:\n{}",
                out.stderr
            );
            if code == "registry-invalid" {
                out.stderr_has(&[message]);
            }
            assert_eq!(before, repo.snapshot(), "{args:?} with {policy:?}");
        }
        let out = repo.run(&["validate"]);
        out.code(1);
        assert!(
            out.stdout
                .lines()
                .any(|l| l.starts_with(&format!("registry.yaml:{at}: error: "))
                    && l.contains(message)
                    && l.ends_with(&format!("[{code}]"))),
            "{policy:?}:\n{}",
            out.stdout
        );
        let out = repo.run(&["validate", "--format", "json"]);
        out.code(1);
        let findings = out.json();
        let finding = findings
            .as_array()
            .expect("a list")
            .iter()
            .find(|f| f["file"] == "registry.yaml")
            .unwrap_or_else(|| panic!("no registry.yaml finding for {policy:?}: {findings}"));
        assert_eq!(finding["code"], code, "{policy:?}");
        assert_eq!(finding["severity"], "error");
        assert_eq!(finding["line"], line.parse::<u64>().expect("a line"));
        assert_eq!(finding["column"], column.parse::<u64>().expect("a column"));
        assert!(
            finding["message"]
                .as_str()
                .is_some_and(|m| m.contains(message)),
            "{finding}"
        );
    }
    // A valid policy validates.
    commit_registry(&repo, "  x: {}\n", "  production:\n    min_pass_rate: 1\n");
    repo.run(&["validate"]).ok();
}

#[test]
fn a_rate_just_below_the_minimum_is_shown_below_it() {
    let repo = gated("  production:\n    min_pass_rate: 1\n");
    record(&repo, "x@1.0.0", "golden", 19999, 1, &[]);
    let unmet = refused(&repo, "1.0.0", "production");
    assert_eq!(unmet.len(), 1);
    // `... pass rate R (19999/20000) is below M`: R and M must not read the same.
    let (rate, minimum) = unmet[0]
        .strip_prefix("`golden` pass rate ")
        .and_then(|rest| rest.split_once(" (19999/20000) is below "))
        .unwrap_or_else(|| panic!("{}", unmet[0]));
    assert_ne!(rate, minimum, "{}", unmet[0]);
}

// --- audit ------------------------------------------------------------------------------------

/// The base (`main`): x 1.0.0 in dev and staging, production gated; then on branch `pr`.
fn audit_base(policy: &str) -> TestRepo {
    let repo = gated(policy);
    repo.git(&["checkout", "-q", "-b", "pr"]);
    repo
}

const GOLDEN_95: &str = "  production:\n    required_tests: [golden]\n    min_pass_rate: 0.95\n";

/// `audit --base main --format json`: the exit code and the violations.
fn audit(repo: &TestRepo) -> (i32, Vec<Value>) {
    let out = repo.run(&["audit", "--base", "main", "--format", "json"]);
    let value: Value = serde_json::from_str(&out.stdout)
        .unwrap_or_else(|e| panic!("audit JSON ({e}):\n{}\n{}", out.stdout, out.stderr));
    let violations = value["violations"].as_array().expect("a list").clone();
    (out.code, violations)
}

/// Asserts the audit fails with exactly one `gate-not-met` for x production none → 1.0.0 in
/// `commit`, and returns its message.
#[track_caller]
fn one_gate_violation(repo: &TestRepo, commit: &str) -> String {
    let (code, violations) = audit(repo);
    assert_eq!(code, 1, "{violations:#?}");
    assert_eq!(violations.len(), 1, "{violations:#?}");
    let v = &violations[0];
    assert_eq!(v["problem"], "gate-not-met", "{v}");
    assert_eq!(v["commit"], commit);
    assert_eq!(v["prompt"], "x");
    assert_eq!(v["environment"], "production");
    assert_eq!(v["from"], Value::Null);
    assert_eq!(v["to"], "1.0.0");
    v["message"].as_str().expect("a message").to_owned()
}

#[test]
fn audit_reports_a_hand_made_promotion_that_misses_the_gate() {
    let repo = audit_base(GOLDEN_95);
    commit_registry(
        &repo,
        &format!("{X_STAGED}    production: 1.0.0\n"),
        GOLDEN_95,
    );
    let commit = repo.rev("HEAD");
    let message = one_gate_violation(&repo, &commit);
    assert_eq!(
        message,
        "1.0.0 did not meet the production gate: required test `golden` has no result"
    );
    assert_eq!(
        audit(&repo).1[0]["author"],
        AUTHOR_EMAIL,
        "the author is the commit's"
    );
    // The text report says the same, and fails.
    let out = repo.run(&["audit", "--base", "main"]);
    out.code(1);
    assert_eq!(
        out.stdout,
        format!(
            "{} {AUTHOR_EMAIL}: x production none → 1.0.0: {message}\n",
            &commit[..10]
        )
    );
    // Results recorded after the move do not make it right: the moving commit is judged.
    record(&repo, "x@1.0.0", "golden", 10, 0, &[]);
    assert_eq!(one_gate_violation(&repo, &commit), message);
}

#[test]
fn audit_passes_a_move_committed_with_its_results() {
    let repo = audit_base(GOLDEN_95);
    record(&repo, "x@1.0.0", "golden", 10, 0, &[]);
    // Results and the move by hand in one commit.
    repo.git(&["reset", "-q", "--soft", "HEAD~1"]);
    commit_registry(
        &repo,
        &format!("{X_STAGED}    production: 1.0.0\n"),
        GOLDEN_95,
    );
    assert_eq!(
        repo.changed_paths("HEAD"),
        ["registry.yaml", "results/x.yaml"]
    );
    let (code, violations) = audit(&repo);
    assert_eq!((code, violations), (0, vec![]));
}

#[test]
fn audit_judges_by_the_base_policy_not_one_the_change_relaxes() {
    // Removing the gate in the very commit that moves the pointer.
    let repo = audit_base(GOLDEN_95);
    commit_registry(&repo, &format!("{X_STAGED}    production: 1.0.0\n"), "");
    let commit = repo.rev("HEAD");
    assert_eq!(
        one_gate_violation(&repo, &commit),
        "1.0.0 did not meet the production gate: required test `golden` has no result"
    );

    // Relaxing it in one commit, then promoting with promptreg (which applies the lax gate at
    // HEAD and so lets it through).
    let repo = audit_base(GOLDEN_95);
    commit_registry(
        &repo,
        X_STAGED,
        "  production:\n    required_tests: [golden]\n    min_pass_rate: 0.5\n",
    );
    record(&repo, "x@1.0.0", "golden", 6, 4, &[]);
    passes(&repo, "1.0.0", "production");
    let commit = repo.rev("HEAD");
    assert_eq!(
        one_gate_violation(&repo, &commit),
        "1.0.0 did not meet the production gate: `golden` pass rate 60.0% (6/10) is below 95.0%"
    );
}

#[test]
fn audit_ignores_a_gate_the_change_adds() {
    let repo = released_prompt("x", "1.0.0", "one");
    commit_registry(&repo, X_STAGED, "");
    repo.git(&["checkout", "-q", "-b", "pr"]);
    commit_registry(&repo, X_STAGED, GOLDEN_95);
    commit_registry(
        &repo,
        &format!("{X_STAGED}    production: 1.0.0\n"),
        GOLDEN_95,
    );
    let (code, violations) = audit(&repo);
    assert_eq!((code, violations), (0, vec![]));
}

#[test]
fn audit_reports_a_forced_promotion_as_recorded() {
    let repo = audit_base(GOLDEN_95);
    record(&repo, "x@1.0.0", "golden", 8, 2, &[]);
    promote_forced(&repo, "1.0.0", "production").ok();
    let commit = repo.rev("HEAD");
    assert_eq!(
        one_gate_violation(&repo, &commit),
        "1.0.0 did not meet the production gate (forced, recorded in the commit): `golden` pass rate 80.0% (8/10) is below 95.0%"
    );
}

#[test]
fn audit_does_not_report_a_promotion_that_met_the_gate() {
    let repo = audit_base(GOLDEN_95);
    record(&repo, "x@1.0.0", "golden", 8, 2, &[]);
    record(&repo, "x@1.0.0", "golden", 20, 0, &[]);
    passes(&repo, "1.0.0", "production");
    let (code, violations) = audit(&repo);
    assert_eq!((code, violations), (0, vec![]));
    let out = repo.run(&["audit", "--base", "main"]);
    out.ok();
    assert_eq!(out.stdout, "");
}

#[test]
fn audit_gate_checks_a_commit_that_only_claims_to_be_a_rollback() {
    let repo = audit_base(GOLDEN_95);
    repo.write(
        "registry.yaml",
        &registry(&format!("{X_STAGED}    production: 1.0.0\n"), GOLDEN_95),
    );
    // Trailers of a rollback, but production never held 1.0.0.
    repo.git(&[
        "commit",
        "-q",
        "-a",
        "-m",
        "rollback x production to 1.0.0",
        "-m",
        "it was fine",
        "-m",
        "Prompt: x\nEnvironment: production\nVersion: 1.0.0\nPrevious: none\nChange: reverted",
    ]);
    let commit = repo.rev("HEAD");
    assert_eq!(
        one_gate_violation(&repo, &commit),
        "1.0.0 did not meet the production gate: required test `golden` has no result"
    );
}

// --- the README's worked example --------------------------------------------------------------

#[test]
fn readme_worked_example() {
    let tmp = TestRepo::bare_dir();
    let dir = tmp.tmp().join("registry");
    let d = dir.to_str().expect("a UTF-8 path");
    let fixture = |name: &str| {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("fixtures/results")
            .join(name)
            .to_string_lossy()
            .into_owned()
    };
    let (failing, passing) = (
        fixture("promptfoo-failing.json"),
        fixture("promptfoo-passing.json"),
    );
    let cwd = tmp.tmp();
    tmp.run_in(cwd, &["init", "--example", d]).ok();
    let run = |args: &[&str]| {
        let mut all = vec!["--repo", d];
        all.extend_from_slice(args);
        tmp.run_in(cwd, &all)
    };
    let commits = || {
        tmp.git_in(&dir, &["rev-list", "--count", "HEAD"])
            .stdout
            .trim()
            .to_owned()
    };
    let promote = [
        "promote",
        "support/refund-agent",
        "1.1.0",
        "--to",
        "production",
        "--reason",
        "CAB-230",
    ];
    // 1.1.0 is in staging, without results.
    let fetch = run(&["fetch", "support/refund-agent@staging", "--format", "json"]);
    fetch.ok();
    assert_eq!(fetch.json()["version"], "1.1.0");
    let start = commits();
    assert_eq!(
        gate_refusal(
            &run(&promote),
            "support/refund-agent",
            "1.1.0",
            "production"
        ),
        ["required test `golden-set` has no result"]
    );
    assert_eq!(commits(), start);

    run(&[
        "results",
        "import",
        "support/refund-agent@1.1.0",
        "--from",
        "promptfoo",
        &failing,
        "--test",
        "golden-set",
    ])
    .ok();
    let registry_before = tmp.git_in(&dir, &["show", "HEAD:registry.yaml"]).stdout;
    let before = commits();
    assert_eq!(
        gate_refusal(
            &run(&promote),
            "support/refund-agent",
            "1.1.0",
            "production"
        ),
        ["`golden-set` pass rate 80.0% (8/10) is below 95.0%"]
    );
    assert_eq!(commits(), before);
    assert_eq!(
        tmp.git_in(&dir, &["show", "HEAD:registry.yaml"]).stdout,
        registry_before
    );

    run(&[
        "results",
        "import",
        "support/refund-agent@1.1.0",
        "--from",
        "promptfoo",
        &passing,
        "--test",
        "golden-set",
    ])
    .ok();
    run(&promote).ok();
    let fetch = run(&["fetch", "support/refund-agent", "--format", "json"]);
    fetch.ok();
    assert_eq!(fetch.json()["version"], "1.1.0");

    // created, tested (twice), promoted — newest first.
    let out = run(&["history", "support/refund-agent", "--format", "json"]);
    out.ok();
    let events = out.json();
    let events = events.as_array().expect("a list");
    let summary: Vec<(String, String, Option<u64>)> = events[..3]
        .iter()
        .map(|e| {
            (
                e["event"].as_str().unwrap_or_default().to_owned(),
                e["to"].as_str().unwrap_or_default().to_owned(),
                e["test"]["passed"].as_u64(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            ("promoted".to_owned(), "1.1.0".to_owned(), None),
            ("tested".to_owned(), "1.1.0".to_owned(), Some(20)),
            ("tested".to_owned(), "1.1.0".to_owned(), Some(8)),
        ]
    );
    assert_eq!(events[0]["environment"], "production");
    assert_eq!(events[0]["reason"], "CAB-230");
    assert_eq!(events[0]["forced"], false);
    assert_eq!(events[1]["test"]["test"], "golden-set");
    assert_eq!(events[2]["test"]["test"], "golden-set");
    assert!(
        events
            .iter()
            .any(|e| e["event"] == "created" && e["to"] == "1.1.0"),
        "{events:#?}"
    );
    // The text history shows the same story.
    let text = run(&["history", "support/refund-agent"]);
    text.ok();
    let rows: Vec<&str> = text.stdout.lines().skip(1).take(3).collect();
    assert!(
        rows[0].contains("promoted") && rows[0].contains("CAB-230"),
        "{}",
        text.stdout
    );
    assert!(
        rows[1].contains("tested") && rows[1].contains("golden-set: 20/20"),
        "{}",
        text.stdout
    );
    assert!(
        rows[2].contains("tested") && rows[2].contains("golden-set: 8/10"),
        "{}",
        text.stdout
    );
}

// --- the HTTP API -----------------------------------------------------------------------------

#[test]
fn the_api_promotes_through_the_same_gate() {
    let repo = gated(GOLDEN_95);
    record(&repo, "x@1.0.0", "golden", 8, 2, &[]);
    let server = Server::start(&repo, &["--allow-local-writes"]);
    let url = server.url("/api/prompts/x@1.0.0/promote");
    let patch = |body: &Value| {
        let reply = send("PATCH", &url, None, body);
        (reply.status, reply.json())
    };
    let before = repo.snapshot();
    let (status, body) = patch(&json!({"environment": "production", "reason": "ship"}));
    assert_eq!(status, 409, "{body}");
    assert_eq!(body["error"], "gate-not-met");
    let message = body["message"].as_str().unwrap_or_default();
    assert!(
        message.contains("cannot promote `x` 1.0.0 to production: its gate is not met")
            && message.contains("`golden` pass rate 80.0% (8/10) is below 95.0%"),
        "{body}"
    );
    assert_eq!(before, repo.snapshot());
    // `force: false` is no override.
    let (status, _) =
        patch(&json!({"environment": "production", "reason": "ship", "force": false}));
    assert_eq!(status, 409);
    assert_eq!(before, repo.snapshot());

    let (status, body) =
        patch(&json!({"environment": "production", "reason": "hotfix", "force": true}));
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["environment"], "production");
    assert_eq!(held(&repo, "production"), "1.0.0");
    assert_eq!(trailer(&repo, "Forced"), ["true"]);
    assert_eq!(
        trailer(&repo, "Gate-Unmet"),
        ["`golden` pass rate 80.0% (8/10) is below 95.0%"]
    );
    repo.fsck();
}
