//! Traffic splits from the command line: `promote --canary` (start, re-weight, complete),
//! `split` (A/B/n), `rollback` of a split, what a write prints with `--format json`, and every
//! refusal (exit 1, nothing changed).

use serde_json::{json, Value};

use crate::support::TestRepo;

/// x 1.0.0 in every environment, 1.1.0 in dev and staging (a canary candidate for production),
/// 1.2.0 released but nowhere.
fn canary_ready() -> TestRepo {
    let repo = crate::support::promoted_through_pipeline("x", "1.0.0", "one");
    repo.release("x", "1.1.0", "two");
    repo.promote("x", "1.1.0", "dev");
    repo.promote("x", "1.1.0", "staging");
    repo.release("x", "1.2.0", "three");
    repo
}

/// The registry.yaml `promptreg init` writes, with `prompts` (the lines under `prompts:`).
fn registry_with(prompts: &str) -> String {
    let init =
        "# promptreg registry index: which version of each prompt every environment serves.\n\
                # Change it with `promptreg promote` or through a reviewed pull request.\n\
                format: 1\n\
                environments: [dev, staging, production]   # ordered promotion pipeline\n\
                prompts:\n";
    format!("{init}{prompts}")
}

/// x's entry with production split between 1.0.0 and 1.1.0.
fn x_canary(stable: u32, canary: u32) -> String {
    registry_with(&format!(
        "  x:\n    dev: 1.1.0\n    staging: 1.1.0\n    production:\n      split:\n        - {{version: 1.0.0, percent: {stable}}}\n        - {{version: 1.1.0, percent: {canary}}}\n"
    ))
}

/// `promote x VERSION --to production --canary PERCENT`, with any extra arguments.
fn canary_args<'a>(version: &'a str, percent: &'a str, extra: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec![
        "promote",
        "x",
        version,
        "--to",
        "production",
        "--canary",
        percent,
        "--reason",
        "canary",
    ];
    args.extend_from_slice(extra);
    args
}

/// The newest event of `history x --env production` as JSON.
#[track_caller]
fn last_production_event(repo: &TestRepo) -> Value {
    let out = repo.run(&["history", "x", "--env", "production", "--format", "json"]);
    out.ok();
    out.json()[0].clone()
}

/// The parts of an event a split changes.
fn moved(event: &Value) -> Value {
    json!({
        "event": event["event"],
        "from": event["from"],
        "to": event["to"],
        "from_split": event["from_split"],
        "to_split": event["to_split"],
        "forced": event["forced"],
    })
}

fn entries(pairs: &[(&str, u32)]) -> Value {
    pairs
        .iter()
        .map(|(v, p)| json!({"version": v, "percent": p}))
        .collect()
}

#[test]
fn a_canary_starts_ramps_and_completes() {
    let repo = canary_ready();
    let out = repo.run(&canary_args("1.1.0", "10", &[]));
    out.ok();
    assert_eq!(out.stdout, "");
    out.stderr_has(&["production of x now splits 1.0.0 90% / 1.1.0 10% (was 1.0.0)"]);
    assert_eq!(repo.read("registry.yaml"), x_canary(90, 10));
    assert_eq!(repo.changed_paths("HEAD"), ["registry.yaml"]);
    assert_eq!(
        moved(&last_production_event(&repo)),
        json!({
            "event": "split", "from": "1.0.0", "to": "1.0.0",
            "from_split": null, "to_split": entries(&[("1.0.0", 90), ("1.1.0", 10)]),
            "forced": false,
        })
    );

    // Re-weighting keeps the stable version first and the canary last.
    let mut before = entries(&[("1.0.0", 90), ("1.1.0", 10)]);
    for (percent, stable) in [(25, 75), (50, 50)] {
        let text = percent.to_string();
        let out = repo.run(&canary_args("1.1.0", &text, &[]));
        out.ok();
        out.stderr_has(&[&format!(
            "now splits 1.0.0 {stable}% / 1.1.0 {percent}% (was 1.0.0 "
        )]);
        assert_eq!(repo.read("registry.yaml"), x_canary(stable, percent));
        let after = entries(&[("1.0.0", stable), ("1.1.0", percent)]);
        assert_eq!(
            moved(&last_production_event(&repo)),
            json!({
                "event": "split", "from": "1.0.0", "to": "1.0.0",
                "from_split": before, "to_split": after, "forced": false,
            })
        );
        before = after;
    }

    // The same weights again: nothing to do, no commit.
    let commits = repo.commit_count();
    let out = repo.run(&canary_args("1.1.0", "50", &[]));
    out.ok();
    out.stderr_has(&["nothing to do"]);
    assert_eq!(repo.commit_count(), commits);

    // Promoting the canary without --canary completes the split.
    let out = repo.run(&[
        "promote",
        "x",
        "1.1.0",
        "--to",
        "production",
        "--reason",
        "done",
    ]);
    out.ok();
    out.stderr_has(&[
        "completed the split: x production serves 1.1.0 to everyone (was 1.0.0 50% / 1.1.0 50%)",
    ]);
    assert_eq!(
        repo.read("registry.yaml"),
        registry_with("  x:\n    dev: 1.1.0\n    staging: 1.1.0\n    production: 1.1.0\n")
    );
    assert_eq!(
        moved(&last_production_event(&repo)),
        json!({
            "event": "promoted", "from": "1.0.0", "to": "1.1.0",
            "from_split": before, "to_split": null, "forced": false,
        })
    );
    // Every step is in the audit trail, newest first.
    let out = repo.run(&["history", "x", "--env", "production", "--format", "json"]);
    let kinds: Vec<String> = out
        .json()
        .as_array()
        .expect("array")
        .iter()
        .map(|e| e["event"].as_str().expect("event").to_owned())
        .collect();
    assert_eq!(kinds, ["promoted", "split", "split", "split", "promoted"]);
    repo.fsck();
}

#[test]
fn rollback_ends_a_split_with_its_first_entry() {
    let repo = canary_ready();
    repo.run(&canary_args("1.1.0", "10", &[])).ok();
    let out = repo.run(&[
        "rollback",
        "x",
        "--env",
        "production",
        "--reason",
        "errors up",
    ]);
    out.ok();
    assert_eq!(
        repo.read("registry.yaml"),
        registry_with("  x:\n    dev: 1.1.0\n    staging: 1.1.0\n    production: 1.0.0\n")
    );
    assert_eq!(
        moved(&last_production_event(&repo)),
        json!({
            "event": "reverted", "from": "1.0.0", "to": "1.0.0",
            "from_split": entries(&[("1.0.0", 90), ("1.1.0", 10)]), "to_split": null,
            "forced": false,
        })
    );
    // A canary can start again after a rollback.
    repo.run(&canary_args("1.1.0", "5", &[])).ok();
    assert_eq!(repo.read("registry.yaml"), x_canary(95, 5));
}

#[test]
fn split_sets_an_a_b_n_test() {
    let repo = canary_ready();
    // dev, the first environment, takes any released version.
    let out = repo.run(&[
        "split",
        "x",
        "--env",
        "dev",
        "1.0.0=33.33",
        "1.1.0=33.33",
        "1.2.0=33.34",
        "--reason",
        "three tones",
    ]);
    out.ok();
    out.stderr_has(&["dev of x now splits 1.0.0 33.33% / 1.1.0 33.33% / 1.2.0 33.34% (was 1.1.0)"]);
    assert!(
        repo.read("registry.yaml").contains("  x:\n    dev:\n      split:\n        - {version: 1.0.0, percent: 33.33}\n        - {version: 1.1.0, percent: 33.33}\n        - {version: 1.2.0, percent: 33.34}\n    staging: 1.1.0\n"),
        "{}",
        repo.read("registry.yaml")
    );
    let message = repo.git(&["log", "-1", "--format=%B"]);
    assert!(
        message.contains("Split: 1.0.0=33.33 1.1.0=33.33 1.2.0=33.34"),
        "{message}"
    );
    // Staging may now take any of them: dev serves each in part.
    repo.run(&[
        "split", "x", "--env", "staging", "1.1.0=50", "1.2.0=50", "--reason", "a/b",
    ])
    .ok();
    let out = repo.run(&["history", "x", "--env", "staging", "--format", "json"]);
    assert_eq!(
        moved(&out.json()[0]),
        json!({
            "event": "split", "from": "1.1.0", "to": "1.1.0",
            "from_split": null, "to_split": entries(&[("1.1.0", 50), ("1.2.0", 50)]),
            "forced": false,
        })
    );
}

#[test]
fn writes_print_their_move_as_json() {
    let repo = canary_ready();
    let out = repo.run(&canary_args("1.1.0", "10", &["--format", "json"]));
    out.ok();
    let written = out.json();
    assert_eq!(written["command"], "promote");
    assert_eq!(written["version"], "1.1.0");
    assert_eq!(written["new_commit"], true);
    assert_eq!(written["commit"], repo.rev("HEAD"));
    assert_eq!(
        written["move"],
        json!({
            "environment": "production", "change": "split", "from": "1.0.0",
            "to": "1.0.0=90 1.1.0=10", "forced": false, "reason": "canary",
        })
    );

    let out = repo.run(&[
        "split",
        "x",
        "--env",
        "production",
        "1.0.0=50",
        "1.1.0=50",
        "--reason",
        "even",
        "--format",
        "json",
    ]);
    out.ok();
    let written = out.json();
    assert_eq!(written["command"], "split");
    assert_eq!(written["name"], "x");
    assert_eq!(
        written["move"],
        json!({
            "environment": "production", "change": "split", "from": "1.0.0=90 1.1.0=10",
            "to": "1.0.0=50 1.1.0=50", "forced": false, "reason": "even",
        })
    );

    let out = repo.run(&[
        "promote",
        "x",
        "1.1.0",
        "--to",
        "production",
        "--reason",
        "done",
        "--format",
        "json",
    ]);
    out.ok();
    assert_eq!(
        out.json()["move"],
        json!({
            "environment": "production", "change": "promoted", "from": "1.0.0=50 1.1.0=50",
            "to": "1.1.0", "forced": false, "reason": "done",
        })
    );
}

#[test]
fn force_lets_a_version_skip_the_pipeline_and_is_recorded() {
    let repo = canary_ready();
    let out = repo.run(&[
        "split",
        "x",
        "--env",
        "production",
        "1.0.0=80",
        "1.2.0=20",
        "--reason",
        "hotfix trial",
        "--force",
        "--format",
        "json",
    ]);
    out.ok();
    assert_eq!(out.json()["move"]["forced"], true);
    let message = repo.git(&["log", "-1", "--format=%B"]);
    assert!(message.contains("Forced: true"), "{message}");
    assert_eq!(last_production_event(&repo)["forced"], true);
    let table = repo.run(&["history", "x", "--env", "production"]);
    assert!(
        table
            .stdout
            .contains("1.0.0 → 1.0.0 80% / 1.2.0 20% (forced)"),
        "{}",
        table.stdout
    );

    // A canary forced in the same way.
    let repo = canary_ready();
    let out = repo.run(&canary_args(
        "1.2.0",
        "10",
        &["--force", "--format", "json"],
    ));
    out.ok();
    assert_eq!(out.json()["move"]["forced"], true);
    assert_eq!(out.json()["move"]["to"], "1.0.0=90 1.2.0=10");
}

#[test]
fn canary_shares_out_of_range_are_refused() {
    let repo = canary_ready();
    for percent in ["0", "100", "150", "-5", "12.345", "ten", "0.001"] {
        let out = repo.refuses_unchanged(&canary_args("1.1.0", percent, &[]));
        out.stderr_has(&["error: invalid split:"]);
        assert!(!out.stderr.contains("Usage:"), "{percent}: {}", out.stderr);
    }
    repo.refuses_unchanged(&canary_args("1.1.0", "-5", &[]))
        .stderr_has(&["--canary -5", "is not a percentage from 0.01 to 100"]);
    repo.refuses_unchanged(&canary_args("1.1.0", "12.345", &[]))
        .stderr_has(&["more than two decimals"]);
    repo.refuses_unchanged(&canary_args("1.1.0", "100", &[]))
        .stderr_has(&["above 0 and below 100"]);
}

#[test]
fn splits_that_break_the_rules_are_refused() {
    let repo = canary_ready();
    let split = |entries: &[&str]| {
        let mut args = vec!["split", "x", "--env", "production"];
        args.extend_from_slice(entries);
        args.extend(["--reason", "r"]);
        repo.refuses_unchanged(&args)
    };
    split(&["1.0.0=90", "1.1.0=20"]).stderr_has(&["invalid split", "add up to 110, not 100"]);
    split(&["1.0.0=50", "1.1.0=40"]).stderr_has(&["add up to 90, not 100"]);
    split(&["1.0.0=50", "1.0.0=50"]).stderr_has(&["version 1.0.0 appears twice"]);
    split(&["1.1.0=100"]).stderr_has(&["two or more entries"]);
    split(&["1.0.0=100", "1.1.0=0"]).stderr_has(&["percent 0"]);
    split(&["1.0.0=87.655", "1.1.0=12.345"]).stderr_has(&["more than two decimals"]);
    split(&["1.0.0=-5", "1.1.0=105"]).stderr_has(&["invalid split", "`1.0.0=-5`"]);
    split(&["1.0.0", "1.1.0=10"]).stderr_has(&["`1.0.0`: not VERSION=PERCENT"]);
    split(&["1.0=50", "1.1.0=50"]).stderr_has(&["`1.0=50`"]);
    // A version never released.
    split(&["1.0.0=50", "9.9.9=50"]).stderr_has(&["9.9.9"]);
    // A version staging, the environment before production, does not serve.
    split(&["1.0.0=50", "1.2.0=50"])
        .stderr_has(&["cannot promote `x` 1.2.0 to production: staging holds 1.1.0, not 1.2.0"]);
    repo.refuses_unchanged(&canary_args("1.2.0", "10", &[]))
        .stderr_has(&["staging holds 1.1.0, not 1.2.0"]);
    repo.refuses_unchanged(&canary_args("9.9.9", "10", &[]))
        .stderr_has(&["9.9.9"]);
    // An environment outside the pipeline.
    repo.refuses_unchanged(&[
        "split", "x", "--env", "qa", "1.0.0=50", "1.1.0=50", "--reason", "r",
    ]);
}

#[test]
fn a_canary_needs_a_stable_version_other_than_itself() {
    let repo = canary_ready();
    repo.release("y", "1.0.0", "why");
    repo.promote("y", "1.0.0", "dev");
    repo.refuses_unchanged(&[
        "promote", "y", "1.0.0", "--to", "staging", "--canary", "10", "--reason", "r",
    ])
    .stderr_has(&[
        "cannot start a canary of `y` 1.0.0 in staging: it holds no version",
        "hint: promote a version there first",
    ]);
    repo.refuses_unchanged(&canary_args("1.0.0", "10", &[]))
        .stderr_has(&["1.0.0 is the stable version of `x` in production"]);
}

#[test]
fn a_gate_stands_before_a_canary_and_a_split() {
    let repo = canary_ready();
    let gated = format!(
        "{}policy:\n  production:\n    required_tests: [golden]\n",
        registry_with("  x:\n    dev: 1.1.0\n    staging: 1.1.0\n    production: 1.0.0\n")
    );
    repo.commit_by_hand("registry.yaml", &gated, "gate production");
    repo.refuses_unchanged(&canary_args("1.1.0", "10", &[]))
        .stderr_has(&["cannot promote `x` 1.1.0 to production: its gate is not met"]);
    repo.refuses_unchanged(&[
        "split",
        "x",
        "--env",
        "production",
        "1.0.0=50",
        "1.1.0=50",
        "--reason",
        "r",
    ])
    .stderr_has(&["cannot promote `x` 1.1.0 to production: its gate is not met"]);
    // With the results recorded, the canary is admitted.
    repo.record_run("x@1.1.0", "golden", 10, 0);
    repo.run(&canary_args("1.1.0", "10", &[])).ok();
}

/// One rule for `promote --canary`, `split` and `audit`: a version gaining traffic meets the
/// gate; traffic moving back to the stable version never waits for one (a ramp-down in an
/// incident must not be blocked by a gate that got stricter meanwhile).
#[test]
fn more_traffic_for_a_canary_meets_the_gate_less_never_waits() {
    let repo = canary_ready();
    repo.record_run("x@1.1.0", "golden", 10, 0);
    let gated = format!(
        "{}policy:\n  production:\n    required_tests: [golden]\n    min_pass_rate: 0.9\n",
        x_canary(80, 20)
    );
    repo.commit_by_hand("registry.yaml", &gated, "canary at 20%, gated");
    // The golden set fails now.
    repo.record_run("x@1.1.0", "golden", 1, 9);
    let split = |a: &'static str, b: &'static str| {
        vec!["split", "x", "--env", "production", a, b, "--reason", "r"]
    };
    for ramp_up in [
        canary_args("1.1.0", "50", &[]),
        split("1.0.0=50", "1.1.0=50"),
    ] {
        repo.refuses_unchanged(&ramp_up)
            .stderr_has(&["cannot promote `x` 1.1.0 to production: its gate is not met"]);
    }
    repo.refuses_unchanged(&[
        "promote",
        "x",
        "1.1.0",
        "--to",
        "production",
        "--reason",
        "r",
    ])
    .stderr_has(&["its gate is not met"]);
    // Down is always open, by either command.
    repo.run(&canary_args("1.1.0", "10", &[])).ok();
    repo.run(&split("1.0.0=95", "1.1.0=5")).ok();
    let out = repo.run(&["audit", "--base", "HEAD~2", "--format", "json"]);
    assert_eq!(out.code, 0, "{}", out.stdout);
}
