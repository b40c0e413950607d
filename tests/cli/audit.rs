//! `promptreg audit --base REF`: what a pull request's CI runs over every commit since REF that
//! changed registry.yaml or results — skipped stages, disallowed authors (rules as at REF),
//! pointers to versions that were never released, indexes that do not parse, recorded test
//! runs rewritten or removed. (Gates: tests/cli/gates.rs.)

use serde::Deserialize;

use crate::history::registry_with;
use crate::support::{Output, TestRepo, AUTHOR_EMAIL};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Audit {
    commits_checked: usize,
    violations: Vec<Violation>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Violation {
    problem: String,
    commit: String,
    author: String,
    prompt: Option<String>,
    environment: Option<String>,
    from: Option<String>,
    to: Option<String>,
    message: String,
}

/// x 1.0.0 and 1.1.0 released, 1.0.0 in dev, on main; then checked out on branch `pr`.
fn pr_branch() -> TestRepo {
    let repo = TestRepo::init();
    repo.release("x", "1.0.0", "one");
    repo.release("x", "1.1.0", "two");
    repo.promote("x", "1.0.0", "dev");
    repo.git(&["checkout", "-q", "-b", "pr"]);
    repo
}

/// Commits registry.yaml with `prompts` as its prompts block, by hand, as `author`.
fn hand_edit(repo: &TestRepo, author: &str, prompts: &str) -> String {
    repo.write("registry.yaml", &registry_with(prompts));
    repo.git(&[
        "commit",
        "-q",
        "-a",
        "--author",
        author,
        "-m",
        "edit registry",
    ]);
    repo.rev("HEAD")
}

fn audit(repo: &TestRepo) -> Output {
    repo.run(&["audit", "--base", "main"])
}

fn audit_json(repo: &TestRepo) -> (i32, Audit) {
    let out = repo.run(&["audit", "--base", "main", "--format", "json"]);
    let parsed = serde_json::from_str(&out.stdout)
        .unwrap_or_else(|e| panic!("audit JSON does not fit ({e}):\n{}", out.stdout));
    (out.code, parsed)
}

/// Asserts a failed audit with exactly one violation line on stdout, and returns it.
#[track_caller]
fn one_violation(repo: &TestRepo) -> String {
    let out = audit(repo);
    out.code(1);
    assert_eq!(out.stdout.lines().count(), 1, "{}", out.stdout);
    assert!(
        out.stderr.contains("audit: 1 violation(s)"),
        "{}",
        out.stderr
    );
    out.stdout.trim_end().to_owned()
}

#[test]
fn a_hand_made_stage_skip_is_reported() {
    let repo = pr_branch();
    let commit = hand_edit(
        &repo,
        "Sneaky <sneaky@example.com>",
        "  x:\n    dev: 1.0.0\n    production: 1.0.0\n",
    );
    let line = one_violation(&repo);
    assert_eq!(
        line,
        format!(
            "{} sneaky@example.com: x production none → 1.0.0: staging did not hold 1.0.0",
            &commit[..10]
        )
    );
    let (code, result) = audit_json(&repo);
    assert_eq!(code, 1);
    assert_eq!(result.commits_checked, 1);
    assert_eq!(result.violations.len(), 1);
    let v = &result.violations[0];
    assert_eq!(v.problem, "skipped-stage");
    assert_eq!(v.commit, commit);
    assert_eq!(v.author, "sneaky@example.com");
    assert_eq!(v.prompt.as_deref(), Some("x"));
    assert_eq!(v.environment.as_deref(), Some("production"));
    assert_eq!(v.from, None);
    assert_eq!(v.to.as_deref(), Some("1.0.0"));
    assert_eq!(v.message, "staging did not hold 1.0.0");
}

#[test]
fn a_forced_promotion_is_reported_as_marked() {
    let repo = pr_branch();
    repo.run(&[
        "promote", "x", "1.1.0", "--to", "staging", "--reason", "hotfix", "--force",
    ])
    .ok();
    let line = one_violation(&repo);
    assert!(
        line.ends_with("x staging none → 1.1.0: dev did not hold 1.1.0 (marked Forced)"),
        "{line}"
    );
    assert!(line.contains(AUTHOR_EMAIL), "{line}");
}

/// A base whose registry restricts production to alice.
fn restricted_base() -> TestRepo {
    let repo = TestRepo::init();
    repo.release("x", "1.0.0", "one");
    repo.write(
        "registry.yaml",
        &registry_with(
            "  x:\n    dev: 1.0.0\n    staging: 1.0.0\naccess:\n  environments:\n    production: [alice@example.com]\n",
        ),
    );
    repo.git(&["commit", "-q", "-a", "-m", "rules"]);
    repo.git(&["checkout", "-q", "-b", "pr"]);
    repo
}

#[test]
fn a_move_by_a_disallowed_author_is_reported() {
    let repo = restricted_base();
    let text = repo.read("registry.yaml").replace(
        "    staging: 1.0.0\n",
        "    staging: 1.0.0\n    production: 1.0.0\n",
    );
    repo.write("registry.yaml", &text);
    repo.git(&[
        "commit",
        "-q",
        "-a",
        "--author",
        "Bob <bob@example.com>",
        "-m",
        "ship it",
    ]);
    let commit = repo.rev("HEAD");
    let line = one_violation(&repo);
    assert_eq!(
        line,
        format!(
            "{} bob@example.com: x production none → 1.0.0: bob@example.com may not move production (access rules at the base)",
            &commit[..10]
        )
    );
    let (_, result) = audit_json(&repo);
    assert_eq!(result.violations[0].problem, "disallowed-author");

    // The same change by alice passes.
    repo.git(&[
        "commit",
        "-q",
        "--amend",
        "--author",
        "Alice <alice@example.com>",
        "-m",
        "ship it",
    ]);
    audit(&repo).ok();
}

#[test]
fn rules_added_in_the_change_itself_do_not_apply() {
    let repo = pr_branch();
    // The base has no rules; the PR adds some, then moves a pointer against them.
    let rules = "access:\n  environments:\n    dev: [alice@example.com]\n";
    hand_edit(
        &repo,
        "Alice <alice@example.com>",
        &format!("  x:\n    dev: 1.0.0\n{rules}"),
    );
    hand_edit(
        &repo,
        "Bob <bob@example.com>",
        &format!("  x:\n    dev: 1.1.0\n{rules}"),
    );
    let out = audit(&repo);
    out.ok();
    assert_eq!(out.stdout, "");
    assert!(
        out.stderr
            .contains("2 commit(s) changed registry.yaml or results since main; no violations"),
        "{}",
        out.stderr
    );
}

#[test]
fn rules_removed_in_the_change_itself_still_apply() {
    let repo = restricted_base();
    hand_edit(
        &repo,
        "Bob <bob@example.com>",
        "  x:\n    dev: 1.0.0\n    staging: 1.0.0\n",
    );
    let commit = hand_edit(
        &repo,
        "Bob <bob@example.com>",
        "  x:\n    dev: 1.0.0\n    staging: 1.0.0\n    production: 1.0.0\n",
    );
    let line = one_violation(&repo);
    assert!(line.starts_with(&commit[..10]), "{line}");
    assert!(
        line.contains("bob@example.com may not move production"),
        "{line}"
    );
}

#[test]
fn a_pointer_to_an_unreleased_version_is_reported() {
    let repo = pr_branch();
    let commit = hand_edit(&repo, "Typo <typo@example.com>", "  x:\n    dev: 1.0.1\n");
    let line = one_violation(&repo);
    assert_eq!(
        line,
        format!(
            "{} typo@example.com: x dev 1.0.0 → 1.0.1: x 1.0.1 is not a released version",
            &commit[..10]
        )
    );
    let (_, result) = audit_json(&repo);
    assert_eq!(result.violations[0].problem, "missing-version");
}

#[test]
fn an_index_that_does_not_parse_is_reported() {
    let repo = pr_branch();
    repo.write("registry.yaml", &registry_with("  x:\n    dev: [1.0.0\n"));
    repo.git(&[
        "commit",
        "-q",
        "-a",
        "--author",
        "Broken <broken@example.com>",
        "-m",
        "oops",
    ]);
    let commit = repo.rev("HEAD");
    let line = one_violation(&repo);
    assert!(
        line.starts_with(&format!(
            "{} broken@example.com: registry.yaml:",
            &commit[..10]
        )),
        "{line}"
    );
    let (code, result) = audit_json(&repo);
    assert_eq!(code, 1);
    let v = &result.violations[0];
    assert_eq!(v.problem, "invalid-index");
    assert_eq!(
        (v.prompt.as_deref(), v.environment.as_deref()),
        (None, None)
    );
    assert!(v.message.starts_with("registry.yaml:"), "{}", v.message);

    // A deleted index is reported too.
    repo.git(&["rm", "-q", "registry.yaml"]);
    repo.git(&["commit", "-q", "-m", "delete"]);
    let out = audit(&repo);
    out.code(1);
    assert!(
        out.stdout.contains("registry.yaml was deleted"),
        "{}",
        out.stdout
    );
}

#[test]
fn clean_promotions_and_rollbacks_pass() {
    let repo = pr_branch();
    repo.release("x", "1.2.0", "three");
    for version in ["1.0.0", "1.1.0"] {
        repo.promote_through_pipeline("x", version);
    }
    repo.run(&["rollback", "x", "--env", "production", "--reason", "bad"])
        .ok();
    // Staging moves on, then production goes back up to 1.1.0, which staging no longer holds.
    repo.promote("x", "1.2.0", "dev");
    repo.promote("x", "1.2.0", "staging");
    repo.run(&[
        "rollback",
        "x",
        "--env",
        "production",
        "--to",
        "1.1.0",
        "--reason",
        "it was fine",
    ])
    .ok();
    repo.run(&["rollback", "x", "--env", "dev", "--reason", "r"])
        .ok();
    let out = audit(&repo);
    out.ok();
    assert_eq!(out.stdout, "");
    let (code, result) = audit_json(&repo);
    assert_eq!(code, 0);
    // dev 1.0.0 was already there on main; 5 promotions + 2 + 3 rollbacks since.
    assert_eq!(result.commits_checked, 10);
    assert!(result.violations.is_empty());
}

#[test]
fn json_shape_is_pinned() {
    let repo = pr_branch();
    hand_edit(
        &repo,
        "Sneaky <sneaky@example.com>",
        "  x:\n    dev: 1.0.0\n    production: 1.0.0\n",
    );
    let out = repo.run(&["audit", "--base", "main", "--format", "json"]);
    out.code(1);
    let value = out.json();
    let keys: Vec<&str> = value
        .as_object()
        .expect("an object")
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(keys, ["commits_checked", "violations"]);
    let violation: Vec<&str> = value["violations"][0]
        .as_object()
        .expect("an object")
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        violation,
        [
            "problem",
            "commit",
            "author",
            "prompt",
            "environment",
            "from",
            "to",
            "message"
        ]
    );
    // Nothing changed since the base: zero commits, success, an empty list.
    repo.git(&["checkout", "-q", "main"]);
    let (code, result) = audit_json(&repo);
    assert_eq!(code, 0);
    assert_eq!(result.commits_checked, 0);
    assert!(result.violations.is_empty());
}

#[test]
fn commits_that_do_not_touch_the_index_are_not_counted() {
    let repo = pr_branch();
    repo.write("README.md", "docs\n");
    repo.git(&["add", "README.md"]);
    repo.git(&["commit", "-q", "-m", "docs"]);
    repo.promote("x", "1.0.0", "staging");
    let (code, result) = audit_json(&repo);
    assert_eq!(code, 0);
    assert_eq!(result.commits_checked, 1);
}

#[test]
fn a_base_that_does_not_exist_is_refused() {
    let repo = pr_branch();
    repo.run(&["audit", "--base", "no-such-ref"])
        .refused()
        .stderr_has(&["revision `no-such-ref` not found"]);
    repo.run(&["audit"]).usage();
}

/// A registry where x and y sit far enough apart for git to merge edits to both.
const SPACED: &str = "  x:\n    dev: 1.0.0\n    staging: 1.0.0\n  # --------\n  # spacer so\n  # that x and y\n  # merge cleanly\n  # --------\n  y:\n    dev: 1.0.0\n    staging: 1.0.0\naccess:\n  environments:\n    production: [alice@example.com]\n";

#[test]
fn merging_the_base_into_the_branch_reports_nothing_new() {
    let repo = TestRepo::init();
    for name in ["x", "y"] {
        repo.release(name, "1.0.0", name);
    }
    repo.commit_by_hand("registry.yaml", &registry_with(SPACED), "setup");
    repo.git(&["checkout", "-q", "-b", "pr"]);
    // Bob's PR touches only dev of x, which anyone may move.
    repo.release("x", "1.1.0", "two");
    repo.run_with(
        &["promote", "x", "1.1.0", "--to", "dev", "--reason", "r"],
        &[("GIT_AUTHOR_EMAIL", "bob@example.com")],
        &[],
    )
    .ok();
    // Meanwhile alice ships y on main; main is merged into the branch ("update branch") by
    // the default test identity, who may not move production either.
    repo.git(&["checkout", "-q", "main"]);
    repo.run_with(
        &[
            "promote",
            "y",
            "1.0.0",
            "--to",
            "production",
            "--reason",
            "r",
        ],
        &[("GIT_AUTHOR_EMAIL", "alice@example.com")],
        &[],
    )
    .ok();
    repo.git(&["checkout", "-q", "pr"]);
    repo.git(&["merge", "-q", "--no-edit", "main"]);
    // Observed: exit 1, "<merge> author@example.com: y production none → 1.0.0:
    // author@example.com may not move production (access rules at the base)".
    let out = audit(&repo);
    out.ok();
    assert_eq!(out.stdout, "");
}

/// Records a run of x 1.0.0 on main (before the branch), then checks out `pr`.
fn pr_branch_with_a_run() -> TestRepo {
    let repo = TestRepo::init();
    repo.release("x", "1.0.0", "one");
    repo.run(&[
        "results", "record", "x@1.0.0", "--test", "golden", "--passed", "8", "--failed", "2",
    ])
    .ok();
    repo.git(&["checkout", "-q", "-b", "pr"]);
    repo
}

#[test]
fn a_recorded_run_rewritten_by_hand_is_reported() {
    let repo = pr_branch_with_a_run();
    let text = repo.read("results/x.yaml");
    assert!(text.contains("passed: 8\n"), "{text}");
    repo.write(
        "results/x.yaml",
        &text
            .replace("passed: 8\n", "passed: 10\n")
            .replace("failed: 2\n", "failed: 0\n"),
    );
    repo.git(&[
        "commit",
        "-q",
        "-a",
        "--author",
        "Sneaky <sneaky@example.com>",
        "-m",
        "better numbers",
    ]);
    let line = one_violation(&repo);
    assert!(
        line.contains("sneaky@example.com: x 1.0.0: a recorded run was removed or changed (golden: 8/10 passed (80.0%)"),
        "{line}"
    );
    let (code, result) = audit_json(&repo);
    assert_eq!(code, 1);
    assert_eq!(result.commits_checked, 1);
    let v = &result.violations[0];
    assert_eq!(v.problem, "results-rewritten");
    assert_eq!(
        (
            v.prompt.as_deref(),
            v.environment.as_deref(),
            v.to.as_deref()
        ),
        (Some("x"), None, Some("1.0.0"))
    );
}

#[test]
fn new_runs_pass_and_a_broken_results_file_is_reported() {
    let repo = pr_branch_with_a_run();
    // A new run, through promptreg or by hand, is what results files are for.
    repo.run(&[
        "results", "record", "x@1.0.0", "--test", "golden", "--passed", "10", "--failed", "0",
    ])
    .ok();
    let out = audit(&repo);
    out.ok();
    assert!(
        out.stderr
            .contains("1 commit(s) changed registry.yaml or results since main; no violations"),
        "{}",
        out.stderr
    );
    repo.write("results/x.yaml", "format: 1\nprompt: x\nversions: [\n");
    repo.git(&["commit", "-q", "-a", "-m", "oops"]);
    let (code, result) = audit_json(&repo);
    assert_eq!(code, 1);
    assert_eq!(result.commits_checked, 2);
    assert_eq!(result.violations.len(), 1);
    assert_eq!(result.violations[0].problem, "invalid-results");
    assert!(
        result.violations[0].message.starts_with("results/x.yaml:"),
        "{}",
        result.violations[0].message
    );
}

#[test]
fn deleting_a_results_file_is_reported_for_every_run() {
    let repo = pr_branch_with_a_run();
    repo.git(&["rm", "-q", "results/x.yaml"]);
    repo.git(&["commit", "-q", "-m", "clean up"]);
    let (code, result) = audit_json(&repo);
    assert_eq!(code, 1);
    let problems: Vec<&str> = result
        .violations
        .iter()
        .map(|v| v.problem.as_str())
        .collect();
    assert_eq!(problems, ["results-rewritten"]);
}

/// On main: x 1.0.0 everywhere, 1.1.0 in dev and staging, 1.2.0 in dev, the production gate
/// asking for a `golden` run and only alice allowed to move production; then branch `pr`.
/// `production` is the production pointer's lines (under `    production:`, or after it).
fn split_pr_branch(production: &str) -> TestRepo {
    let repo = TestRepo::init();
    for (version, text) in [("1.0.0", "one"), ("1.1.0", "two"), ("1.2.0", "three")] {
        repo.release("x", version, text);
    }
    repo.write(
        "registry.yaml",
        &split_registry("1.2.0", "1.1.0", production),
    );
    repo.git(&["commit", "-q", "-a", "-m", "main"]);
    repo.git(&["checkout", "-q", "-b", "pr"]);
    repo
}

/// The registry of [`split_pr_branch`] with dev at `dev`, staging at `staging` and production's
/// pointer `production`.
fn split_registry(dev: &str, staging: &str, production: &str) -> String {
    registry_with(&format!(
        "  x:\n    dev: {dev}\n    staging: {staging}\n    production:{production}\npolicy:\n  production:\n    required_tests: [golden]\naccess:\n  environments:\n    production: [alice@example.com]\n"
    ))
}

/// production's pointer split between `entries` (version, percent), in block style.
fn production_split(entries: &[(&str, u32)]) -> String {
    let mut text = "\n      split:\n".to_owned();
    for (version, percent) in entries {
        text.push_str(&format!(
            "        - {{version: {version}, percent: {percent}}}\n"
        ));
    }
    text.trim_end().to_owned()
}

/// Commits `registry` by hand as `author`; returns the commit.
fn commit_as(repo: &TestRepo, author: &str, registry: &str) -> String {
    repo.write("registry.yaml", registry);
    repo.git(&[
        "commit",
        "-q",
        "-a",
        "--author",
        author,
        "-m",
        "edit registry",
    ]);
    repo.rev("HEAD")
}

#[test]
fn every_version_entering_a_split_is_checked() {
    let repo = split_pr_branch(" 1.0.0");
    let commit = commit_as(
        &repo,
        "Bob <bob@example.com>",
        &split_registry(
            "1.2.0",
            "1.1.0",
            &production_split(&[("1.0.0", 80), ("1.1.0", 10), ("1.2.0", 10)]),
        ),
    );
    let (code, result) = audit_json(&repo);
    assert_eq!(code, 1);
    let found: Vec<(&str, &str)> = result
        .violations
        .iter()
        .map(|v| (v.problem.as_str(), v.message.as_str()))
        .collect();
    // 1.0.0 was served already; 1.1.0 and 1.2.0 enter production. Access is judged once per
    // move, each entering version on the gate and the pipeline.
    assert_eq!(
        found,
        [
            (
                "disallowed-author",
                "bob@example.com may not move production (access rules at the base)"
            ),
            (
                "gate-not-met",
                "1.1.0 did not meet the production gate: required test `golden` has no result"
            ),
            (
                "gate-not-met",
                "1.2.0 did not meet the production gate: required test `golden` has no result"
            ),
            ("skipped-stage", "staging did not hold 1.2.0"),
        ]
    );
    for v in &result.violations {
        assert_eq!(v.commit, commit);
        assert_eq!(v.from.as_deref(), Some("1.0.0"));
        assert_eq!(v.to.as_deref(), Some("1.0.0=80 1.1.0=10 1.2.0=10"));
    }
    // The text names the split with its weights.
    let out = audit(&repo);
    assert!(
        out.stdout.contains(&format!(
            "{} bob@example.com: x production 1.0.0 → 1.0.0 80% / 1.1.0 10% / 1.2.0 10%: staging did not hold 1.2.0\n",
            &commit[..10]
        )),
        "{}",
        out.stdout
    );
}

#[test]
fn a_canary_that_passes_every_rule_is_not_reported() {
    let repo = split_pr_branch(" 1.0.0");
    repo.write(
        "results/x.yaml",
        "format: 1\nprompt: x\nversions:\n  \"1.1.0\":\n    - {test: golden, passed: 1, failed: 0, tested_at: \"2026-01-01T00:00:00Z\", tested_by: a@b.c, source: manual}\n",
    );
    repo.git(&["add", "results/x.yaml"]);
    commit_as(
        &repo,
        "Alice <alice@example.com>",
        &split_registry(
            "1.2.0",
            "1.1.0",
            &production_split(&[("1.0.0", 90), ("1.1.0", 10)]),
        ),
    );
    let (code, result) = audit_json(&repo);
    assert!(result.violations.is_empty(), "{result:?}");
    assert_eq!(code, 0);
}

#[test]
fn re_weighting_or_completing_a_split_is_not_a_new_entry() {
    // On main, production already splits 1.0.0 / 1.1.0; staging has moved on to 1.2.0 and
    // 1.1.0 never had a `golden` run. The pipeline was passed when 1.1.0 entered: no step
    // below skips a stage. More traffic for the canary meets the gate (as `promote --canary`
    // asks), traffic moving back to the stable version does not.
    let repo = split_pr_branch(&production_split(&[("1.0.0", 90), ("1.1.0", 10)]));
    repo.write(
        "registry.yaml",
        &split_registry(
            "1.2.0",
            "1.2.0",
            &production_split(&[("1.0.0", 90), ("1.1.0", 10)]),
        ),
    );
    repo.git(&["commit", "-q", "-a", "-m", "staging moves on"]);
    repo.git(&["branch", "-f", "main"]);
    let gate = vec!["gate-not-met"];
    for (n, (production, expected)) in [
        (production_split(&[("1.0.0", 95), ("1.1.0", 5)]), vec![]),
        (
            production_split(&[("1.0.0", 75), ("1.1.0", 25)]),
            gate.clone(),
        ),
        (
            production_split(&[("1.0.0", 50), ("1.1.0", 50)]),
            gate.clone(),
        ),
        (" 1.1.0".to_owned(), gate.clone()),
    ]
    .iter()
    .enumerate()
    {
        commit_as(
            &repo,
            "Alice <alice@example.com>",
            &split_registry("1.2.0", "1.2.0", production),
        );
        let (_, result) = audit_json(&repo);
        let last = repo.rev("HEAD");
        let kinds: Vec<&str> = result
            .violations
            .iter()
            .filter(|v| v.commit == last)
            .map(|v| v.problem.as_str())
            .collect();
        assert_eq!(&kinds, expected, "step {n}: {result:?}");
        assert_eq!(result.commits_checked, n + 1);
    }
    // A re-weight by someone the access rules do not allow is still theirs to answer for:
    // access is judged on every move.
    repo.git(&["reset", "-q", "--hard", "main"]);
    commit_as(
        &repo,
        "Bob <bob@example.com>",
        &split_registry(
            "1.2.0",
            "1.2.0",
            &production_split(&[("1.0.0", 60), ("1.1.0", 40)]),
        ),
    );
    let (_, result) = audit_json(&repo);
    let problems: Vec<&str> = result
        .violations
        .iter()
        .map(|v| v.problem.as_str())
        .collect();
    assert_eq!(problems, ["disallowed-author", "gate-not-met"]);
}
