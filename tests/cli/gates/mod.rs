//! Promotion gates (`policy:` in registry.yaml, docs/FORMAT.md §3.2): `promote` refuses a version
//! whose latest test runs miss its target's gate and lists every unmet condition; `--force`
//! overrides and records it (§8); `rollback` is not gated; `audit --base` judges every pointer
//! move by the policy at the base; the HTTP API goes through the same gate.

use std::path::Path;

use serde_json::{json, Value};

use crate::serve::{send, Server};
use crate::support::{released_prompt, Output, TestRepo, AUTHOR_EMAIL};

mod api;
mod audit;
mod conditions;
mod force;
mod policy;
mod readme;

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

/// A production gate: `golden` must pass at 95% or more.
const GOLDEN_95: &str = "  production:\n    required_tests: [golden]\n    min_pass_rate: 0.95\n";
