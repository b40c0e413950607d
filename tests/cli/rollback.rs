//! `promptreg rollback`: back to the previous good version (or a named one the environment
//! held), recorded as `reverted`; refusals change nothing.

use crate::history::{history_events, mv, Event};
use crate::support::TestRepo;

/// x 1.0.0, 1.1.0 and 1.2.0 released, none promoted.
fn released() -> TestRepo {
    let repo = TestRepo::init();
    repo.release("x", "1.0.0", "one");
    repo.release("x", "1.1.0", "two");
    repo.release("x", "1.2.0", "three");
    repo
}

/// The version `selector` resolves to.
fn served(repo: &TestRepo, selector: &str) -> String {
    let out = repo.run(&["fetch", selector, "--format", "json"]);
    out.ok();
    out.json()["version"]
        .as_str()
        .expect("a version")
        .to_owned()
}

fn rollback(repo: &TestRepo, env: &str, to: Option<&str>) -> crate::support::Output {
    let mut args = vec!["rollback", "x", "--env", env, "--reason", "it broke"];
    if let Some(to) = to {
        args.extend(["--to", to]);
    }
    repo.run(&args)
}

#[test]
fn rollback_returns_to_the_previous_version() {
    let repo = released();
    repo.promote("x", "1.0.0", "dev");
    repo.promote("x", "1.1.0", "dev");
    let commits = repo.commit_count();
    let out = rollback(&repo, "dev", None);
    out.ok();
    assert_eq!(out.stdout, "");
    assert!(
        out.stderr
            .contains("rolled back x in dev from 1.1.0 to 1.0.0"),
        "{}",
        out.stderr
    );
    assert_eq!(served(&repo, "x@dev"), "1.0.0");
    assert_eq!(repo.commit_count(), commits + 1);
    assert_eq!(repo.changed_paths("HEAD"), ["registry.yaml"]);
    let message = repo.git(&["log", "-1", "--format=%B"]);
    assert_eq!(message.lines().next(), Some("rollback x dev to 1.0.0"));
    assert!(message.contains("\n\nit broke\n"), "{message}");
    for trailer in [
        "Prompt: x",
        "Environment: dev",
        "Version: 1.0.0",
        "Previous: 1.1.0",
        "Change: reverted",
    ] {
        assert!(
            message.lines().any(|l| l == trailer),
            "missing {trailer:?}:\n{message}"
        );
    }
    assert!(!message.contains("Forced"), "{message}");
    assert_eq!(repo.git(&["status", "--porcelain=v1", "-uall"]), "");
    assert_eq!(
        repo.git(&["show", ":registry.yaml"]),
        repo.read("registry.yaml")
    );
    let events = history_events(&repo, &["x", "--env", "dev"]);
    assert_eq!(events[0].mv(), mv("reverted", "dev", "1.1.0", "1.0.0"));
    assert_eq!(events[0].reason, "it broke");
    repo.fsck();
}

#[test]
fn a_second_rollback_with_two_versions_has_nothing_to_go_back_to() {
    let repo = released();
    repo.promote("x", "1.0.0", "dev");
    repo.promote("x", "1.1.0", "dev");
    rollback(&repo, "dev", None).ok();
    repo.unchanged_by(|| rollback(&repo, "dev", None))
        .refused()
        .stderr_has(&[
            "dev of `x` held no other version before 1.0.0",
            "nothing to roll back to",
            "promptreg history x --env dev",
        ]);
}

#[test]
fn an_environment_that_only_ever_held_one_version_cannot_roll_back() {
    let repo = released();
    repo.promote("x", "1.0.0", "dev");
    repo.unchanged_by(|| rollback(&repo, "dev", None))
        .refused()
        .stderr_has(&["nothing to roll back to"]);
}

#[test]
fn repeated_rollbacks_step_further_back() {
    let repo = released();
    for version in ["1.0.0", "1.1.0", "1.2.0"] {
        repo.promote("x", version, "dev");
    }
    rollback(&repo, "dev", None).ok();
    assert_eq!(served(&repo, "x@dev"), "1.1.0");
    rollback(&repo, "dev", None).ok();
    assert_eq!(served(&repo, "x@dev"), "1.0.0");
    repo.unchanged_by(|| rollback(&repo, "dev", None))
        .refused()
        .stderr_has(&["nothing to roll back to"]);
    let moves: Vec<_> = history_events(&repo, &["x", "--env", "dev"])
        .iter()
        .map(Event::mv)
        .collect();
    assert_eq!(
        moves,
        [
            mv("reverted", "dev", "1.1.0", "1.0.0"),
            mv("reverted", "dev", "1.2.0", "1.1.0"),
            mv("promoted", "dev", "1.1.0", "1.2.0"),
            mv("promoted", "dev", "1.0.0", "1.1.0"),
            mv("promoted", "dev", "-", "1.0.0"),
        ]
    );
}

#[test]
fn rollback_to_a_version_the_environment_held() {
    let repo = released();
    for version in ["1.0.0", "1.1.0", "1.2.0"] {
        repo.promote("x", version, "dev");
    }
    let out = rollback(&repo, "dev", Some("1.0.0"));
    out.ok();
    assert!(out.stderr.contains("from 1.2.0 to 1.0.0"), "{}", out.stderr);
    assert_eq!(served(&repo, "x@dev"), "1.0.0");
    let message = repo.git(&["log", "-1", "--format=%B"]);
    assert_eq!(message.lines().next(), Some("rollback x dev to 1.0.0"));
    assert!(message.lines().any(|l| l == "Previous: 1.2.0"), "{message}");
    // `v` prefix accepted, as everywhere else.
    rollback(&repo, "dev", Some("v1.1.0")).ok();
    assert_eq!(served(&repo, "x@dev"), "1.1.0");
}

#[test]
fn rollback_to_a_version_never_held_lists_what_was() {
    let repo = released();
    repo.promote("x", "1.0.0", "dev");
    repo.promote("x", "1.2.0", "dev");
    let before = repo.snapshot();
    rollback(&repo, "dev", Some("1.1.0"))
        .refused()
        .stderr_has(&["dev of `x` never held 1.1.0", "it has held: 1.2.0, 1.0.0"]);
    // Not released at all: the same answer.
    rollback(&repo, "dev", Some("9.9.9"))
        .refused()
        .stderr_has(&["never held 9.9.9"]);
    // The current version: nothing to do, refused.
    rollback(&repo, "dev", Some("1.2.0"))
        .refused()
        .stderr_has(&["nothing to roll back to"]);
    rollback(&repo, "dev", Some("1.x"))
        .refused()
        .stderr_has(&["invalid version `1.x`"]);
    assert_eq!(before, repo.snapshot());
}

#[test]
fn rollback_of_an_environment_without_a_pointer_is_refused() {
    let repo = released();
    repo.promote("x", "1.0.0", "dev");
    let before = repo.snapshot();
    rollback(&repo, "staging", None)
        .refused()
        .stderr_has(&["`x` has no version in staging"]);
    rollback(&repo, "production", Some("1.0.0"))
        .refused()
        .stderr_has(&["`x` has no version in production"]);
    rollback(&repo, "qa", None)
        .refused()
        .stderr_has(&["unknown environment `qa`"]);
    repo.run(&["rollback", "nope", "--env", "dev", "--reason", "r"])
        .refused();
    repo.run(&["rollback", "x", "--env", "dev"]).usage();
    repo.run(&["rollback", "x", "--reason", "r"]).usage();
    assert_eq!(before, repo.snapshot());
}

#[test]
fn rollback_ignores_the_pipeline_rule() {
    let repo = released();
    for version in ["1.0.0", "1.1.0"] {
        repo.promote_through_pipeline("x", version);
    }
    // Staging moves on to 1.2.0; production can still go back to 1.0.0.
    repo.promote("x", "1.2.0", "dev");
    repo.promote("x", "1.2.0", "staging");
    rollback(&repo, "production", None).ok();
    assert_eq!(served(&repo, "x@production"), "1.0.0");
    assert_eq!(served(&repo, "x@staging"), "1.2.0");
    let message = repo.git(&["log", "-1", "--format=%B"]);
    assert!(!message.contains("Forced"), "{message}");
    // And back up with --to, still without staging holding it.
    rollback(&repo, "production", Some("1.1.0")).ok();
    assert_eq!(served(&repo, "x@production"), "1.1.0");
}

#[test]
fn rollback_refuses_over_uncommitted_registry_edits() {
    let repo = released();
    repo.promote("x", "1.0.0", "dev");
    repo.promote("x", "1.1.0", "dev");
    let original = repo.read("registry.yaml");
    repo.write("registry.yaml", &format!("{original}# a note\n"));
    repo.unchanged_by(|| rollback(&repo, "dev", None))
        .refused()
        .stderr_has(&["registry.yaml has uncommitted changes"]);
    repo.git(&["add", "registry.yaml"]);
    repo.write("registry.yaml", &original);
    repo.unchanged_by(|| rollback(&repo, "dev", None))
        .refused()
        .stderr_has(&["uncommitted changes"]);
    repo.git(&["reset", "-q", "registry.yaml"]);
    rollback(&repo, "dev", None).ok();
}

#[test]
fn rollback_steps_over_versions_reached_by_hand_edits_too() {
    // The trail includes hand edits: dev went 1.0.0 → 1.2.0 by hand, so rollback goes to 1.0.0.
    let repo = released();
    repo.promote("x", "1.0.0", "dev");
    repo.write(
        "registry.yaml",
        &crate::history::registry_with("  x:\n    dev: 1.2.0\n"),
    );
    repo.git(&["commit", "-q", "-a", "-m", "by hand"]);
    rollback(&repo, "dev", None).ok();
    assert_eq!(served(&repo, "x@dev"), "1.0.0");
}

#[test]
fn rollback_after_undoing_a_rollback_steps_back() {
    let repo = released();
    repo.promote("x", "1.0.0", "dev");
    repo.promote("x", "1.1.0", "dev");
    rollback(&repo, "dev", None).ok(); // 1.1.0 → 1.0.0
    rollback(&repo, "dev", Some("1.1.0")).ok(); // undone: 1.0.0 → 1.1.0
                                                // Observed: exit 1, "dev of `x` held nothing before 1.1.0; there is nothing to roll back
                                                // to" — 1.0.0 counts as "rolled back from" because the upward `--to` is recorded as
                                                // `reverted` with Previous: 1.0.0.
    rollback(&repo, "dev", None).ok();
    assert_eq!(served(&repo, "x@dev"), "1.0.0");
}
