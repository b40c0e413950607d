//! `promptreg archive`, `archive verify`, `archive restore` and `archive prune`: old releases to a
//! git bundle with a manifest, and back (docs/FORMAT.md §11).

use std::path::Path;

use crate::support::{Output, TestRepo};

/// The example registry (`init --example`) as the test repository: seven releases, all tagged at
/// the hermetic date, 2026-01-01T00:00:00Z.
fn example() -> TestRepo {
    let repo = TestRepo::bare_dir();
    repo.run_in(repo.tmp(), &["init", "--example", "repo"]).ok();
    repo
}

/// `name` → tag object id, for every tag of the repository at `dir`.
fn tags_in(repo: &TestRepo, dir: &Path) -> String {
    let out = repo.git_in(
        dir,
        &[
            "for-each-ref",
            "--format=%(refname) %(objectname)",
            "refs/tags/",
        ],
    );
    out.ok();
    out.stdout
}

fn path_str(path: &Path) -> &str {
    path.to_str().expect("a UTF-8 path")
}

/// A scratch directory for the archive's temporary repositories, to check it is left empty.
fn scratch(repo: &TestRepo) -> std::path::PathBuf {
    let dir = repo.tmp().join("scratch");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn run_scratch(repo: &TestRepo, dir: &Path, args: &[&str]) -> Output {
    let scratch = scratch(repo);
    let mut command = repo.command(args);
    command.current_dir(dir).env("TMPDIR", &scratch);
    let out = Output::of(&mut command);
    let left: Vec<_> = std::fs::read_dir(&scratch).unwrap().collect();
    assert!(
        left.is_empty(),
        "scratch repositories left behind: {left:?}"
    );
    out
}

#[test]
fn round_trip_archive_verify_restore_into_a_fresh_clone() {
    let repo = example();
    let bundle = repo.tmp().join("old.bundle");
    let before = repo.snapshot();
    let out = run_scratch(
        &repo,
        &repo.root,
        &[
            "archive",
            "--before",
            "2026-01-02",
            "--out",
            path_str(&bundle),
            "--format",
            "json",
        ],
    );
    out.ok();
    assert_eq!(before, repo.snapshot(), "archive changed the registry");
    let manifest = out.json();
    let tags = manifest["tags"].as_array().unwrap();
    assert_eq!(tags.len(), 7, "{manifest}");
    assert_eq!(manifest["before"], "2026-01-02T00:00:00Z");
    assert!(tags
        .iter()
        .any(|t| t["tag"] == "support/refund-agent/v1.2.0"));
    let tag_id = repo.rev("refs/tags/summarize/v1.0.0");
    let listed = tags
        .iter()
        .find(|t| t["tag"] == "summarize/v1.0.0")
        .unwrap();
    assert_eq!(listed["tag_id"], tag_id.as_str());
    assert_eq!(
        listed["commit"],
        repo.rev("summarize/v1.0.0^{commit}").as_str()
    );

    // Verify needs no registry: run it from a directory that is not a repository.
    let outside = repo.tmp().join("outside");
    std::fs::create_dir_all(&outside).unwrap();
    let verified = run_scratch(
        &repo,
        &outside,
        &["archive", "verify", path_str(&bundle), "--format", "json"],
    );
    verified.ok();
    let report = verified.json();
    assert_eq!(report["ok"], true, "{report}");
    assert_eq!(report["tags"], 7);
    let table = run_scratch(&repo, &outside, &["archive", "verify", path_str(&bundle)]);
    table.ok().stderr_has(&["complete, 7 tag(s)"]);
    for check in ["bundle", "objects", "manifest", "tags"] {
        assert!(table.stdout.contains(check), "{}", table.stdout);
    }

    // A clone without tags has none of the releases; restore brings back exactly the originals.
    let fresh = repo.tmp().join("fresh");
    repo.git(&[
        "clone",
        "-q",
        "--no-tags",
        path_str(&repo.root),
        path_str(&fresh),
    ]);
    assert_eq!(tags_in(&repo, &fresh), "");
    let restored = run_scratch(
        &repo,
        &fresh,
        &["archive", "restore", path_str(&bundle), "--format", "json"],
    );
    restored.ok();
    assert_eq!(restored.json()["restored"].as_array().unwrap().len(), 7);
    assert_eq!(tags_in(&repo, &fresh), tags_in(&repo, &repo.root));
    repo.git_in(&fresh, &["fsck", "--no-progress"]).ok();
    let fetched = run_scratch(&repo, &fresh, &["fetch", "support/refund-agent@production"]);
    fetched.ok();
    assert!(!fetched.stdout.is_empty());
    run_scratch(&repo, &fresh, &["validate", "-q"]).ok();

    // Again: nothing to do, and it says so.
    let again = run_scratch(&repo, &fresh, &["archive", "restore", path_str(&bundle)]);
    again.ok().stderr_has(&[
        "restored 0 tag(s)",
        "7 already here",
        "already here, skipped",
    ]);
    assert_eq!(tags_in(&repo, &fresh), tags_in(&repo, &repo.root));
}

#[test]
fn restore_into_an_empty_repository_brings_the_history_too() {
    let repo = example();
    let bundle = repo.tmp().join("all.bundle");
    repo.run(&[
        "archive",
        "--before",
        "2026-01-02",
        "--out",
        path_str(&bundle),
    ])
    .ok();
    let empty = repo.tmp().join("empty");
    repo.git(&["init", "-q", "-b", "main", path_str(&empty)]);
    let out = repo.run_in(&empty, &["archive", "restore", path_str(&bundle)]);
    out.ok();
    assert_eq!(tags_in(&repo, &empty), tags_in(&repo, &repo.root));
    let shown = repo.git_in(
        &empty,
        &["show", "summarize/v1.0.0:prompts/summarize/prompt.yaml"],
    );
    shown.ok();
    assert_eq!(
        shown.stdout,
        repo.git(&["show", "summarize/v1.0.0:prompts/summarize/prompt.yaml"])
    );
    repo.git_in(&empty, &["fsck", "--no-progress"]).ok();
}

#[test]
fn only_releases_tagged_before_the_date_are_archived() {
    let repo = TestRepo::init();
    let dated = |version: &str, text: &str, date: &str| {
        repo.write_prompt("p", text);
        repo.run_with(
            &["create", "p", "--version", version, "-m", "release"],
            &[("GIT_COMMITTER_DATE", date), ("GIT_AUTHOR_DATE", date)],
            &[],
        )
        .ok();
    };
    dated("1.0.0", "first", "2024-03-01T10:00:00+00:00");
    dated("1.1.0", "second", "2025-06-01T10:00:00+00:00");
    let bundle = repo.tmp().join("2024.bundle");
    let out = repo.run(&[
        "archive",
        "--before",
        "2025-01-01",
        "--out",
        path_str(&bundle),
    ]);
    out.ok();
    assert!(out.stdout.contains("p/v1.0.0"), "{}", out.stdout);
    assert!(!out.stdout.contains("p/v1.1.0"), "{}", out.stdout);
    // The bundle records the one tag and the manifest, nothing else.
    let heads = repo.git(&["bundle", "list-heads", path_str(&bundle)]);
    let mut names: Vec<&str> = heads
        .lines()
        .filter_map(|l| l.split_once(' ').map(|(_, name)| name))
        .collect();
    names.sort();
    assert_eq!(
        names,
        ["refs/promptreg/archive-manifest", "refs/tags/p/v1.0.0"]
    );
    // Relative dates are accepted too: the forms of `history --since`.
    let relative = repo.tmp().join("relative.bundle");
    repo.run(&[
        "archive",
        "--before",
        "1 day ago",
        "--out",
        path_str(&relative),
    ])
    .ok();
    assert!(relative.exists());
}

#[test]
fn an_empty_selection_is_refused_and_writes_nothing() {
    let repo = example();
    let bundle = repo.tmp().join("none.bundle");
    let out = repo.refuses_unchanged(&[
        "archive",
        "--before",
        "2026-01-01",
        "--out",
        path_str(&bundle),
    ]);
    out.stderr_has(&["no release was tagged before 2026-01-01T00:00:00Z", "hint:"]);
    assert!(!bundle.exists());
    let left: Vec<_> = std::fs::read_dir(repo.tmp())
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().contains("none.bundle"))
        .collect();
    assert!(left.is_empty(), "{left:?}");
}

#[test]
fn a_bad_date_or_missing_option_is_a_usage_error() {
    let repo = example();
    let bundle = repo.tmp().join("x.bundle");
    repo.run(&["archive", "--before", "someday", "--out", path_str(&bundle)])
        .usage()
        .stderr_has(&["--before `someday` is not a date", "hint:"]);
    repo.run(&["archive", "--before", "2026-01-02"]).usage();
    repo.run(&["archive"]).usage();
    assert!(!bundle.exists());
}

#[test]
fn a_failed_write_leaves_no_file() {
    let repo = example();
    let bundle = repo.tmp().join("no-such-dir/x.bundle");
    repo.refuses_unchanged(&[
        "archive",
        "--before",
        "2026-01-02",
        "--out",
        path_str(&bundle),
    ]);
    assert!(!bundle.parent().unwrap().exists());
}

#[test]
fn damaged_archives_fail_verify_and_restore() {
    let repo = example();
    let bundle = repo.tmp().join("good.bundle");
    repo.run(&[
        "archive",
        "--before",
        "2026-01-02",
        "--out",
        path_str(&bundle),
    ])
    .ok();
    let bytes = std::fs::read(&bundle).unwrap();
    let damaged = |name: &str, content: &[u8]| {
        let path = repo.tmp().join(name);
        std::fs::write(&path, content).unwrap();
        path
    };
    let truncated = damaged("truncated.bundle", &bytes[..bytes.len() * 2 / 3]);
    let mut flipped_bytes = bytes.clone();
    let at = flipped_bytes.len() - 200;
    flipped_bytes[at] ^= 0xff;
    let flipped = damaged("flipped.bundle", &flipped_bytes);
    let header_only = damaged("header.bundle", &bytes[..40]);
    let not_bundle = damaged("notes.txt", b"just some text\n");
    // A git bundle, but not a promptreg archive: no manifest.
    let plain = repo.tmp().join("plain.bundle");
    repo.git(&["bundle", "create", "-q", path_str(&plain), "--all"]);

    for (path, failing) in [
        (&truncated, "objects"),
        (&flipped, "objects"),
        (&header_only, "bundle"),
        (&not_bundle, "bundle"),
        (&plain, "manifest"),
    ] {
        let out = repo.run(&["archive", "verify", path_str(path), "--format", "json"]);
        out.code(1).stderr_has(&["check(s) failed", "hint:"]);
        let report = out.json();
        assert_eq!(report["ok"], false);
        let failed: Vec<&str> = report["checks"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|c| c["ok"] == false)
            .map(|c| c["check"].as_str().unwrap())
            .collect();
        assert_eq!(failed, [failing], "{}: {report}", path.display());
        // Restore checks first and writes nothing.
        let fresh = repo.tmp().join("fresh");
        if !fresh.exists() {
            repo.git(&[
                "clone",
                "-q",
                "--no-tags",
                path_str(&repo.root),
                path_str(&fresh),
            ]);
        }
        let out = repo.run_in(&fresh, &["archive", "restore", path_str(path)]);
        out.refused()
            .stderr_has(&["is not a complete promptreg archive", failing]);
        assert_eq!(tags_in(&repo, &fresh), "");
    }
    // The undamaged original still verifies.
    repo.run(&["archive", "verify", path_str(&bundle)]).ok();
}

#[test]
fn a_manifest_that_does_not_match_the_bundle_fails_verify() {
    let repo = example();
    // Build an archive by hand whose manifest lists an id the bundle's tag does not have.
    let bundle = repo.tmp().join("good.bundle");
    repo.run(&[
        "archive",
        "--before",
        "2026-01-02",
        "--out",
        path_str(&bundle),
    ])
    .ok();
    let work = repo.tmp().join("work");
    repo.git(&["clone", "-q", "--bare", path_str(&bundle), path_str(&work)]);
    let at = |args: &[&str]| {
        let out = repo.git_in(&work, args);
        out.ok();
        out.stdout.trim().to_owned()
    };
    at(&["fetch", "-q", path_str(&bundle), "refs/*:refs/*"]);
    let manifest = at(&["show", "refs/promptreg/archive-manifest:manifest.json"]);
    let real = repo.rev("refs/tags/summarize/v1.0.0");
    let other = repo.rev("refs/tags/support/triage/v1.0.0");
    let edited = manifest.replace(&real, &other);
    assert_ne!(edited, manifest);
    std::fs::write(repo.tmp().join("manifest.json"), &edited).unwrap();
    let blob = at(&[
        "hash-object",
        "-w",
        path_str(&repo.tmp().join("manifest.json")),
    ]);
    let tree = {
        let mut command = std::process::Command::new("git");
        command
            .arg("-C")
            .arg(&work)
            .arg("mktree")
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped());
        let mut child = command.spawn().unwrap();
        use std::io::Write as _;
        child
            .stdin
            .take()
            .unwrap()
            .write_all(format!("100644 blob {blob}\tmanifest.json\n").as_bytes())
            .unwrap();
        String::from_utf8(child.wait_with_output().unwrap().stdout)
            .unwrap()
            .trim()
            .to_owned()
    };
    let commit = at(&["commit-tree", &tree, "-m", "forged"]);
    at(&["update-ref", "refs/promptreg/archive-manifest", &commit]);
    let forged = repo.tmp().join("forged.bundle");
    at(&["bundle", "create", "-q", path_str(&forged), "--all"]);
    let out = repo.run(&["archive", "verify", path_str(&forged), "--format", "json"]);
    out.code(1);
    let report = out.json();
    let failed: Vec<&str> = report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["ok"] == false)
        .map(|c| c["check"].as_str().unwrap())
        .collect();
    assert_eq!(failed, ["tag summarize/v1.0.0", "tags"], "{report}");
}

#[test]
fn restore_refuses_a_conflicting_tag_and_writes_nothing() {
    let repo = example();
    let bundle = repo.tmp().join("old.bundle");
    repo.run(&[
        "archive",
        "--before",
        "2026-01-02",
        "--out",
        path_str(&bundle),
    ])
    .ok();
    let fresh = repo.tmp().join("fresh");
    repo.git(&[
        "clone",
        "-q",
        "--no-tags",
        path_str(&repo.root),
        path_str(&fresh),
    ]);
    repo.git_in(
        &fresh,
        &[
            "tag",
            "-a",
            "summarize/v1.0.0",
            "-m",
            "someone else's",
            "HEAD",
        ],
    )
    .ok();
    let before = tags_in(&repo, &fresh);
    let out = repo.run_in(&fresh, &["archive", "restore", path_str(&bundle)]);
    out.refused()
        .stderr_has(&["summarize/v1.0.0", "other contents", "nothing was restored"]);
    assert_eq!(tags_in(&repo, &fresh), before);
}

#[test]
fn prune_refuses_versions_an_environment_holds() {
    let repo = example();
    let bundle = repo.tmp().join("old.bundle");
    repo.run(&[
        "archive",
        "--before",
        "2026-01-02",
        "--out",
        path_str(&bundle),
    ])
    .ok();
    let out = repo.refuses_unchanged(&["archive", "prune", path_str(&bundle)]);
    out.stderr_has(&[
        "held by an environment",
        "summarize/v1.0.0 (dev, staging, production)",
        "support/refund-agent/v1.2.0 (dev)",
        "nothing was deleted",
    ]);
}

#[test]
fn prune_deletes_archived_tags_nobody_holds_and_restore_brings_them_back() {
    let repo = TestRepo::init();
    for (version, text, date) in [
        ("1.0.0", "first", "2024-03-01T10:00:00+00:00"),
        ("1.1.0", "second", "2024-04-01T10:00:00+00:00"),
        ("1.2.0", "third", "2025-06-01T10:00:00+00:00"),
    ] {
        repo.write_prompt("p", text);
        repo.run_with(
            &["create", "p", "--version", version, "-m", "release"],
            &[("GIT_COMMITTER_DATE", date)],
            &[],
        )
        .ok();
    }
    repo.promote("p", "1.1.0", "dev");
    let held = repo.tmp().join("held.bundle");
    repo.run(&[
        "archive",
        "--before",
        "2025-01-01",
        "--out",
        path_str(&held),
    ])
    .ok();
    repo.refuses_unchanged(&["archive", "prune", path_str(&held)])
        .stderr_has(&["p/v1.1.0 (dev)"]);
    // Only 1.0.0, which no environment holds.
    let old = repo.tmp().join("old.bundle");
    repo.run(&["archive", "--before", "2024-03-15", "--out", path_str(&old)])
        .ok();
    let tag_id = repo.rev("refs/tags/p/v1.0.0");
    let out = repo.run(&["archive", "prune", path_str(&old)]);
    out.ok().stderr_has(&["deleted 1 archived tag(s)"]);
    assert_eq!(out.stdout, "deleted p/v1.0.0\n");
    assert!(
        repo.git_output(&["rev-parse", "-q", "--verify", "refs/tags/p/v1.0.0"])
            .code
            != 0
    );
    repo.run(&["fetch", "p@1.1.0"]).ok();
    // A damaged archive is never pruned from.
    let bytes = std::fs::read(&held).unwrap();
    let truncated = repo.tmp().join("truncated.bundle");
    std::fs::write(&truncated, &bytes[..bytes.len() / 2]).unwrap();
    repo.refuses_unchanged(&["archive", "prune", path_str(&truncated)])
        .stderr_has(&["is not a complete promptreg archive"]);
    // Back again, the same tag object.
    repo.run(&["archive", "restore", path_str(&old)]).ok();
    assert_eq!(repo.rev("refs/tags/p/v1.0.0"), tag_id);
    repo.run(&["validate", "-q"]).ok();
}
