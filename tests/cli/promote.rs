//! `promptreg promote`: the pipeline rule, minimal registry.yaml edits, commits, refusals.

use crate::support::{TestRepo, AUTHOR_EMAIL};

/// A registry with hand-written comments and x 1.0.0 / 1.1.0 released.
const COMMENTED: &str = "\
# Our prompts. Reviewed in pull requests.
format: 1
environments: [dev, staging, production]   # ordered promotion pipeline

prompts:
  # The main one.
  x:
    dev: 1.0.0   # first try
    staging: 1.0.0
  # Nothing yet.
  y: {}
";

fn commented_repo() -> TestRepo {
    let repo = TestRepo::init();
    repo.release("x", "1.0.0", "one");
    repo.release("x", "1.1.0", "two");
    repo.release("y", "1.0.0", "why");
    repo.commit_by_hand("registry.yaml", COMMENTED, "hand-written registry");
    repo
}

#[test]
fn first_promotion_expands_the_empty_prompts_map() {
    let repo = TestRepo::init();
    repo.release("x", "1.0.0", "one");
    let before = repo.read("registry.yaml");
    let out = repo.run(&["promote", "x", "1.0.0", "--to", "dev", "--reason", "try it"]);
    out.ok();
    assert_eq!(out.stdout, "");
    assert!(
        out.stderr.contains("promoted x 1.0.0 to dev"),
        "{}",
        out.stderr
    );
    let expected = before.replace("prompts: {}\n", "prompts:\n  x:\n    dev: 1.0.0\n");
    assert_ne!(expected, before);
    assert_eq!(repo.read("registry.yaml"), expected);
    assert_eq!(repo.git(&["show", "HEAD:registry.yaml"]), expected);
}

#[test]
fn promotion_commit_touches_only_registry_and_syncs_index() {
    let repo = TestRepo::init();
    repo.release("x", "1.0.0", "one");
    let commits = repo.commit_count();
    repo.promote("x", "1.0.0", "dev");
    assert_eq!(repo.commit_count(), commits + 1);
    assert_eq!(repo.changed_paths("HEAD"), ["registry.yaml"]);
    let head = repo.git(&["show", "HEAD:registry.yaml"]);
    assert_eq!(repo.git(&["show", ":registry.yaml"]), head);
    assert_eq!(repo.read("registry.yaml"), head);
    assert_eq!(repo.git(&["status", "--porcelain=v1", "-uall"]), "");
}

#[test]
fn promotion_commit_message_has_subject_reason_and_trailers() {
    let repo = TestRepo::init();
    repo.release("support/refund-agent", "1.0.0", "one");
    repo.run(&[
        "promote",
        "support/refund-agent",
        "1.0.0",
        "--to",
        "dev",
        "--reason",
        "QA passed",
    ])
    .ok();
    let message = repo.git(&["log", "-1", "--format=%B"]);
    assert_eq!(
        message.lines().next(),
        Some("promote support/refund-agent 1.0.0 to dev")
    );
    assert!(message.contains("\n\nQA passed\n"), "{message}");
    for trailer in [
        "Prompt: support/refund-agent",
        "Version: 1.0.0",
        "Environment: dev",
    ] {
        assert!(
            message.lines().any(|l| l == trailer),
            "missing {trailer:?}:\n{message}"
        );
    }
    assert!(!message.contains("Forced:"), "{message}");
    let trailers = repo.git(&[
        "log",
        "-1",
        "--format=%(trailers:key=Environment,valueonly)",
    ]);
    assert_eq!(trailers.trim(), "dev");
    assert_eq!(
        repo.git(&["log", "-1", "--format=%ae"]).trim(),
        AUTHOR_EMAIL
    );
}

#[test]
fn pipeline_rule_refuses_skipping_a_stage() {
    let repo = TestRepo::init();
    repo.release("x", "1.0.0", "one");
    repo.refuses_unchanged(&["promote", "x", "1.0.0", "--to", "staging", "--reason", "r"])
        .stderr_has(&[
            "cannot promote `x` 1.0.0 to staging",
            "dev holds nothing",
            "promote it to dev first",
            "--force",
        ]);

    // Dev holding another version is not enough either.
    repo.release("x", "1.1.0", "two");
    repo.promote("x", "1.0.0", "dev");
    repo.refuses_unchanged(&["promote", "x", "1.1.0", "--to", "staging", "--reason", "r"])
        .stderr_has(&["dev holds 1.0.0, not 1.1.0"]);
}

#[test]
fn force_skips_the_pipeline_rule_and_says_so() {
    let repo = TestRepo::init();
    repo.release("x", "1.0.0", "one");
    repo.run(&[
        "promote",
        "x",
        "1.0.0",
        "--to",
        "production",
        "--reason",
        "hotfix",
        "--force",
    ])
    .ok();
    let message = repo.git(&["log", "-1", "--format=%B"]);
    assert!(message.lines().any(|l| l == "Forced: true"), "{message}");
    let out = repo.run(&["fetch", "x", "--format", "json"]);
    out.ok();
    assert_eq!(
        out.json()["environments"],
        serde_json::json!(["production"])
    );
}

#[test]
fn promoting_where_it_already_is_does_nothing() {
    let repo = TestRepo::init();
    repo.release("x", "1.0.0", "one");
    repo.promote("x", "1.0.0", "dev");
    let before = repo.snapshot();
    let out = repo.run(&["promote", "x", "1.0.0", "--to", "dev", "--reason", "again"]);
    out.ok();
    assert_eq!(out.stdout, "");
    assert!(out.stderr.contains("nothing to do"), "{}", out.stderr);
    assert_eq!(before, repo.snapshot());
}

#[test]
fn edits_are_minimal_and_keep_comments() {
    let repo = commented_repo();
    // Replace a value in place: the trailing comment stays.
    repo.promote("x", "1.1.0", "dev");
    assert_eq!(
        repo.read("registry.yaml"),
        COMMENTED.replace("dev: 1.0.0   # first try", "dev: 1.1.0   # first try")
    );
    assert_eq!(
        repo.git(&["diff", "--numstat", "HEAD~1", "HEAD"]),
        "1\t1\tregistry.yaml\n"
    );
    // A new pointer goes after the closest earlier environment.
    repo.promote("x", "1.0.0", "production");
    let expected = COMMENTED
        .replace("dev: 1.0.0   # first try", "dev: 1.1.0   # first try")
        .replace(
            "    staging: 1.0.0\n",
            "    staging: 1.0.0\n    production: 1.0.0\n",
        );
    assert_eq!(repo.read("registry.yaml"), expected);
    assert_eq!(
        repo.git(&["diff", "--numstat", "HEAD~1", "HEAD"]),
        "1\t0\tregistry.yaml\n"
    );
    // An empty flow map entry is expanded to block style.
    repo.promote("y", "1.0.0", "dev");
    let expected = expected.replace("  y: {}\n", "  y:\n    dev: 1.0.0\n");
    assert_eq!(repo.read("registry.yaml"), expected);
    assert_eq!(repo.git(&["status", "--porcelain=v1", "-uall"]), "");
    repo.fsck();
}

#[test]
fn a_new_prompt_is_appended_to_the_prompts_block() {
    let repo = commented_repo();
    repo.release("z", "1.0.0", "zed");
    repo.promote("z", "1.0.0", "dev");
    assert_eq!(
        repo.read("registry.yaml"),
        format!("{COMMENTED}  z:\n    dev: 1.0.0\n")
    );
}

#[test]
fn flow_style_entries_are_refused_not_rewritten() {
    let repo = TestRepo::init();
    repo.release("x", "1.0.0", "one");
    repo.release("x", "1.1.0", "two");
    repo.commit_by_hand(
        "registry.yaml",
        "format: 1\nprompts:\n  x: {dev: 1.0.0}\n",
        "flow style",
    );
    repo.refuses_unchanged(&["promote", "x", "1.1.0", "--to", "dev", "--reason", "r"])
        .stderr_has(&["registry.yaml", "block style"]);
}

#[test]
fn promote_adds_a_prompts_block_when_absent() {
    let repo = TestRepo::init();
    repo.release("x", "1.0.0", "one");
    repo.commit_by_hand("registry.yaml", "format: 1\n", "minimal registry");
    repo.promote("x", "1.0.0", "dev");
    let out = repo.run(&["fetch", "x@dev", "--format", "json"]);
    out.ok();
    assert_eq!(out.json()["version"], "1.0.0");
}

#[test]
fn refuses_over_uncommitted_registry_edits() {
    let repo = TestRepo::init();
    repo.release("x", "1.0.0", "one");
    let original = repo.read("registry.yaml");

    repo.write("registry.yaml", &format!("{original}# my unstaged note\n"));
    repo.refuses_unchanged(&["promote", "x", "1.0.0", "--to", "dev", "--reason", "r"])
        .stderr_has(&["registry.yaml has uncommitted changes", "git stash"]);

    // Staged edits, with the working tree put back: still refused.
    repo.git(&["add", "registry.yaml"]);
    repo.write("registry.yaml", &original);
    repo.refuses_unchanged(&["promote", "x", "1.0.0", "--to", "dev", "--reason", "r"])
        .stderr_has(&["uncommitted changes"]);

    // Deleted from the working tree: refused too.
    repo.git(&["reset", "-q", "registry.yaml"]);
    std::fs::remove_file(repo.path("registry.yaml")).expect("remove");
    repo.refuses_unchanged(&["promote", "x", "1.0.0", "--to", "dev", "--reason", "r"]);
}

#[test]
fn promote_keeps_other_staged_work_out_of_its_commit() {
    let repo = TestRepo::init();
    repo.release("x", "1.0.0", "one");
    repo.write("notes.txt", "staged\n");
    repo.git(&["add", "notes.txt"]);
    repo.write_prompt("x", "edited, not released");
    repo.promote("x", "1.0.0", "dev");
    assert_eq!(repo.changed_paths("HEAD"), ["registry.yaml"]);
    assert_eq!(
        repo.git(&["status", "--porcelain=v1", "-uall"]),
        "A  notes.txt\n M prompts/x/prompt.yaml\n"
    );
}

#[test]
fn promote_refusals() {
    let repo = TestRepo::init();
    repo.release("x", "1.0.0", "one");
    let before = repo.snapshot();
    for (args, needles) in [
        (
            &["promote", "x", "1.0.0", "--to", "qa", "--reason", "r"][..],
            &["unknown environment `qa`", "dev, staging, production"][..],
        ),
        (
            &["promote", "x", "2.0.0", "--to", "dev", "--reason", "r"],
            &["version 2.0.0 of `x` not found", "existing versions: 1.0.0"],
        ),
        (
            &["promote", "nope", "1.0.0", "--to", "dev", "--reason", "r"],
            &["prompt `nope` not found"],
        ),
        (
            &["promote", "x", "1.0", "--to", "dev", "--reason", "r"],
            &["invalid version `1.0`"],
        ),
        (
            &["promote", "X", "1.0.0", "--to", "dev", "--reason", "r"],
            &["invalid prompt name `X`"],
        ),
    ] {
        repo.refuses_unchanged(args).stderr_has(needles);
    }
    repo.run(&["promote", "x", "1.0.0", "--to", "dev"]).usage();
    repo.run(&["promote", "x", "1.0.0", "--reason", "r"])
        .usage();
    assert_eq!(before, repo.snapshot());
}

#[test]
fn promote_on_a_detached_head_is_refused() {
    let repo = TestRepo::init();
    repo.release("x", "1.0.0", "one");
    repo.git(&["checkout", "-q", "--detach"]);
    repo.refuses_unchanged(&["promote", "x", "1.0.0", "--to", "dev", "--reason", "r"])
        .stderr_has(&["detached"]);
}
