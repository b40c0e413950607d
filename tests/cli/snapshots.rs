//! Whole-output snapshots of what a person reads: the `versions` and `history` tables, `fetch`
//! and `diff` output, `--help`, and errors with their hints (the `list` table's snapshot is in
//! list.rs). The snapshots live in `tests/cli/snapshots/`; commit ids, dates and temporary paths
//! are redacted ([`redactions`]). After an intended change of output, rerun with
//! `INSTA_UPDATE=always` (or `cargo insta review`), read the diff, and commit the `.snap` files.

use crate::support::{redactions, released_prompt, Output, TestRepo};

/// summarize (in production), support/refund-agent (1.1.0 in dev and tested, 1.2.0 a draft) and
/// support/triage (never promoted).
fn registry() -> TestRepo {
    let repo = crate::support::promoted_through_pipeline("summarize", "1.0.0", "Summarize.");
    repo.release("support/refund-agent", "1.0.0", "Refunds {{ user_name }}");
    repo.release(
        "support/refund-agent",
        "1.1.0",
        "Refunds for {{ user_name }}",
    );
    repo.promote("support/refund-agent", "1.1.0", "dev");
    repo.record_run("support/refund-agent@1.1.0", "golden-set", 9, 1);
    repo.release("support/refund-agent", "1.2.0", "Refunds, {{ user_name }}");
    repo.release("support/triage", "0.1.0", "Triage.");
    repo
}

/// Asserts the whole of `text` matches the snapshot `name`, redacted for `repo`.
#[track_caller]
fn snapshot(repo: &TestRepo, name: &str, text: &str) {
    redactions(repo).bind(|| insta::assert_snapshot!(name, text));
}

/// Runs `args`, asserting success and nothing on stderr; returns stdout.
#[track_caller]
fn stdout_of(repo: &TestRepo, args: &[&str]) -> String {
    let out = repo.run(args);
    out.ok();
    assert_eq!(out.stderr, "", "{args:?}");
    out.stdout
}

/// stderr of a refusal (exit 1, nothing on stdout) that left the repository unchanged.
#[track_caller]
fn refusal(repo: &TestRepo, args: &[&str]) -> String {
    repo.refuses_unchanged(args).stderr
}

#[test]
fn versions_table() {
    let repo = registry();
    snapshot(
        &repo,
        "versions",
        &stdout_of(&repo, &["versions", "support/refund-agent"]),
    );
}

#[test]
fn history_table() {
    let repo = registry();
    snapshot(
        &repo,
        "history",
        &stdout_of(&repo, &["history", "support/refund-agent"]),
    );
}

/// [`registry`] with a canary story in production: support/refund-agent 1.1.0 promoted to
/// staging, canaried at 10%, ramped to 50%, rolled back, started again at 20%.
fn canary_story() -> TestRepo {
    let repo = registry();
    let name = "support/refund-agent";
    repo.promote(name, "1.0.0", "dev");
    repo.promote(name, "1.0.0", "staging");
    repo.promote(name, "1.0.0", "production");
    repo.promote(name, "1.1.0", "dev");
    repo.promote(name, "1.1.0", "staging");
    let canary = |percent: &str, reason: &str| {
        repo.run(&[
            "promote",
            name,
            "1.1.0",
            "--to",
            "production",
            "--canary",
            percent,
            "--reason",
            reason,
        ])
        .ok();
    };
    canary("10", "canary");
    canary("50", "ramp");
    repo.run(&[
        "rollback",
        name,
        "--env",
        "production",
        "--reason",
        "errors up",
    ])
    .ok();
    canary("20", "again");
    repo
}

#[test]
fn versions_table_with_a_split() {
    let repo = canary_story();
    snapshot(
        &repo,
        "versions_split",
        &stdout_of(&repo, &["versions", "support/refund-agent"]),
    );
}

#[test]
fn list_table_with_a_split() {
    let repo = canary_story();
    snapshot(&repo, "list_split", &stdout_of(&repo, &["list"]));
}

#[test]
fn history_of_a_canary() {
    let repo = canary_story();
    snapshot(
        &repo,
        "history_canary",
        &stdout_of(
            &repo,
            &["history", "support/refund-agent", "--env", "production"],
        ),
    );
}

#[test]
fn fetch_human_output() {
    let repo = registry();
    snapshot(
        &repo,
        "fetch",
        &stdout_of(&repo, &["fetch", "support/refund-agent@dev"]),
    );
}

#[test]
fn diff_output() {
    let repo = registry();
    // `diff` exits 1 when the versions differ, like diff(1).
    let out = repo.run(&["diff", "support/refund-agent", "1.0.0", "1.1.0"]);
    out.code(1);
    assert_eq!(out.stderr, "");
    snapshot(&repo, "diff", &out.stdout);
}

#[test]
fn help_of_the_top_level_and_of_subcommands() {
    let repo = TestRepo::bare_dir();
    for (name, args) in [
        ("help", &["--help"][..]),
        ("help_promote", &["promote", "--help"]),
        ("help_fetch", &["fetch", "--help"]),
        ("help_split", &["split", "--help"]),
        ("help_results_record", &["results", "record", "--help"]),
    ] {
        snapshot(&repo, name, &stdout_of(&repo, args));
    }
}

#[test]
fn error_unknown_prompt_with_a_hint() {
    let repo = registry();
    snapshot(
        &repo,
        "error_unknown_prompt",
        &refusal(&repo, &["fetch", "summarise@production"]),
    );
}

#[test]
fn error_invalid_yaml_names_file_line_and_column() {
    let repo = released_prompt("x", "1.0.0", "one");
    repo.write(
        "prompts/x/prompt.yaml",
        "summary: The x prompt\ntemprature: 0.2\nsystem_prompt: hi\n",
    );
    snapshot(
        &repo,
        "error_invalid_yaml",
        &refusal(&repo, &["create", "x", "--version", "1.1.0", "-m", "m"]),
    );
}

#[test]
fn error_promote_refused_by_a_gate() {
    let repo = released_prompt("x", "1.0.0", "one");
    repo.commit_by_hand(
        "registry.yaml",
        "format: 1\nenvironments: [dev, staging, production]\nprompts:\n  x:\n    dev: 1.0.0\n    staging: 1.0.0\npolicy:\n  production:\n    required_tests: [golden, safety]\n    min_pass_rate: 0.95\n",
        "gate production",
    );
    repo.record_run("x@1.0.0", "golden", 8, 2);
    snapshot(
        &repo,
        "error_gate",
        &refusal(
            &repo,
            &[
                "promote",
                "x",
                "1.0.0",
                "--to",
                "production",
                "--reason",
                "ship",
            ],
        ),
    );
}

#[test]
fn error_usage() {
    let repo = registry();
    let out: Output = repo.unchanged_by(|| repo.run(&["promote", "x", "1.0.0", "--to", "dev"]));
    out.usage();
    snapshot(&repo, "error_usage", &out.stderr);
}
