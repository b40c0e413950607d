//! `create` is all or nothing: a tag that cannot be written refuses the release before anything
//! is committed, and a release whose tag never landed is completed by a retry or by `doctor`.

use crate::support::{released_prompt, TestRepo};

/// An initialised registry with `x` 1.0.0 released and a new version in the working tree.
fn registry() -> TestRepo {
    let repo = released_prompt("x", "1.0.0", "one");
    repo.write_prompt("x", "two");
    repo
}

#[test]
fn a_locked_tag_ref_refuses_create_and_changes_nothing() {
    let repo = registry();
    let lock = repo.path(".git/refs/tags/x/v1.1.0.lock");
    std::fs::create_dir_all(lock.parent().expect("dir")).expect("dir");
    std::fs::write(&lock, "").expect("lock");
    repo.refuses_unchanged(&["create", "x", "--version", "1.1.0", "-m", "m"])
        .stderr_has(&["refs/tags/x/v1.1.0.lock", "doctor --fix"]);
    assert!(lock.exists(), "somebody else's lock is not ours to remove");
    std::fs::remove_file(&lock).expect("unlock");
    repo.run(&["create", "x", "--version", "1.1.0", "-m", "m"])
        .ok();
    assert_eq!(repo.rev("x/v1.1.0^{commit}"), repo.rev("HEAD"));
}

/// A tag named like the prompt (`git tag y`) blocks `y/v1.0.0`, loose or packed.
fn conflicting_tag(packed: bool) {
    let repo = TestRepo::init();
    repo.git(&["tag", "y"]);
    if packed {
        repo.git(&["pack-refs", "--all"]);
        assert!(!repo.path(".git/refs/tags/y").exists());
    }
    repo.write_prompt("y", "one");
    repo.refuses_unchanged(&["create", "y", "--version", "1.0.0", "-m", "m"])
        .stderr_has(&["y/v1.0.0", "refs/tags/y", "hint:"]);
    assert_eq!(repo.git(&["tag", "--list"]), "y\n");
    repo.fsck();
}

#[test]
fn a_lightweight_tag_in_the_way_refuses_create_and_changes_nothing() {
    conflicting_tag(false);
}

#[test]
fn a_packed_tag_in_the_way_refuses_create_and_changes_nothing() {
    conflicting_tag(true);
}

#[test]
fn refs_below_the_tag_name_refuse_create() {
    let repo = registry();
    repo.git(&["tag", "x/v1.1.0/extra"]);
    repo.refuses_unchanged(&["create", "x", "--version", "1.1.0", "-m", "m"])
        .stderr_has(&["x/v1.1.0"]);
}

/// What a `create` killed between its commit and its tag leaves.
fn untagged(repo: &TestRepo) -> String {
    repo.run(&[
        "create",
        "x",
        "--version",
        "1.1.0",
        "-m",
        "the change\n\nin detail",
    ])
    .ok();
    let commit = repo.rev("HEAD");
    repo.git(&["tag", "-d", "x/v1.1.0"]);
    commit
}

#[test]
fn a_retry_completes_a_create_whose_tag_never_landed() {
    let repo = registry();
    let commit = untagged(&repo);
    let out = repo.run(&["create", "x", "--version", "1.1.0", "-m", "retry"]);
    out.ok();
    assert_eq!(out.stdout, "1.1.0\n");
    assert_eq!(
        repo.rev("x/v1.1.0^{commit}"),
        commit,
        "the commit is tagged, not repeated"
    );
    assert_eq!(repo.rev("HEAD"), commit);
    repo.run(&["doctor"])
        .ok()
        .stderr_has(&["no problems found"]);
}

#[test]
fn doctor_reports_and_completes_an_untagged_create_commit() {
    let repo = registry();
    let commit = untagged(&repo);
    // A later write on top: the commit is no longer the tip.
    repo.promote("x", "1.0.0", "dev");
    let out = repo.run(&["doctor"]);
    out.code(1);
    for needle in [
        "untagged-create",
        "refs/tags/x/v1.1.0",
        &commit[..10],
        "x 1.1.0",
    ] {
        assert!(out.stdout.contains(needle), "{needle}: {}", out.stdout);
    }
    repo.run(&["doctor", "--fix"])
        .ok()
        .stderr_has(&["cleared 1 problem"]);
    assert_eq!(repo.rev("x/v1.1.0^{commit}"), commit);
    assert_eq!(repo.git(&["cat-file", "-t", "x/v1.1.0"]).trim(), "tag");
    let message = repo.git(&["tag", "-l", "--format=%(contents)", "x/v1.1.0"]);
    assert_eq!(message.trim_end(), "the change\n\nin detail");
    repo.run(&["versions", "x"]).ok();
    repo.run(&["doctor"])
        .ok()
        .stderr_has(&["no problems found"]);
    repo.fsck();
}

#[test]
fn an_older_tag_deleted_on_purpose_is_not_brought_back() {
    let repo = registry();
    repo.run(&["create", "x", "--version", "1.1.0", "-m", "m"])
        .ok();
    repo.git(&["tag", "-d", "x/v1.0.0"]);
    repo.run(&["doctor", "--fix"])
        .ok()
        .stderr_has(&["no problems found"]);
    assert_eq!(repo.git(&["tag", "--list"]), "x/v1.1.0\n");
}
