//! `promptreg init` and `init --example`.

use crate::support::{TestRepo, AUTHOR_EMAIL};

#[test]
fn init_commits_registry_and_gitkeep_in_one_commit() {
    let repo = TestRepo::new();
    let out = repo.run(&["init"]);
    out.ok();
    assert_eq!(
        out.stdout, "",
        "init prints only status messages, on stderr"
    );
    assert_eq!(repo.commit_count(), 1);
    let mut paths = repo.changed_paths("HEAD");
    paths.sort();
    assert_eq!(paths, ["prompts/.gitkeep", "registry.yaml"]);
    assert_eq!(
        repo.git(&["log", "-1", "--format=%s|%ae|%ce"]).trim(),
        format!("init promptreg registry|{AUTHOR_EMAIL}|committer@example.com")
    );
    let registry = repo.read("registry.yaml");
    assert!(registry.contains("format: 1"), "{registry}");
    assert!(
        registry.contains("environments: [dev, staging, production]"),
        "{registry}"
    );
    assert_eq!(repo.git(&["status", "--porcelain=v1", "-uall"]), "");
    repo.fsck();
}

#[test]
fn second_init_refuses_and_changes_nothing() {
    let repo = TestRepo::init();
    repo.refuses_unchanged(&["init"])
        .stderr_has(&["already exists", "hint:"]);
}

#[test]
fn init_refuses_an_uncommitted_registry_file() {
    let repo = TestRepo::new();
    repo.write("registry.yaml", "format: 1\n");
    repo.refuses_unchanged(&["init"])
        .stderr_has(&["already exists"]);
}

#[test]
fn init_outside_a_repository_refuses() {
    let dir = TestRepo::bare_dir();
    let ceiling = dir.tmp().to_string_lossy().into_owned();
    dir.run_with(&["init"], &[("GIT_CEILING_DIRECTORIES", &ceiling)], &[])
        .refused()
        .stderr_has(&["not a git repository", "git init"]);
    assert!(!dir.path("registry.yaml").exists());
}

#[test]
fn init_keeps_a_staged_file_staged_and_uncommitted() {
    let repo = TestRepo::new();
    repo.write("notes.txt", "my staged work\n");
    repo.git(&["add", "notes.txt"]);
    repo.run(&["init"]).ok();
    let committed = repo.git(&["ls-tree", "-r", "--name-only", "HEAD"]);
    assert!(!committed.contains("notes.txt"), "{committed}");
    let status = repo.git(&["status", "--porcelain=v1", "-uall"]);
    assert_eq!(status, "A  notes.txt\n");
    assert_eq!(repo.git(&["show", ":notes.txt"]), "my staged work\n");
}

#[test]
fn init_after_existing_commits_keeps_staged_modifications() {
    let repo = TestRepo::new();
    repo.write("README.md", "v1\n");
    repo.git(&["add", "README.md"]);
    repo.git(&["commit", "-q", "-m", "readme"]);
    repo.write("README.md", "v2 staged\n");
    repo.git(&["add", "README.md"]);
    repo.write("README.md", "v3 unstaged\n");
    repo.run(&["init"]).ok();
    assert_eq!(repo.commit_count(), 2);
    assert_eq!(repo.git(&["show", "HEAD:README.md"]), "v1\n");
    assert_eq!(repo.git(&["show", ":README.md"]), "v2 staged\n");
    assert_eq!(repo.read("README.md"), "v3 unstaged\n");
    assert_eq!(
        repo.git(&["status", "--porcelain=v1", "-uall"]),
        "MM README.md\n"
    );
}

#[test]
fn init_does_not_add_gitkeep_when_prompts_has_content() {
    let repo = TestRepo::new();
    repo.write_prompt("x", "hello");
    repo.run(&["init"]).ok();
    assert_eq!(repo.changed_paths("HEAD"), ["registry.yaml"]);
    assert!(!repo.path("prompts/.gitkeep").exists());
}

#[test]
fn init_on_a_detached_head_refuses() {
    let repo = TestRepo::new();
    repo.write("a.txt", "a\n");
    repo.git(&["add", "a.txt"]);
    repo.git(&["commit", "-q", "-m", "a"]);
    repo.git(&["checkout", "-q", "--detach"]);
    repo.refuses_unchanged(&["init"]).stderr_has(&["detached"]);
}

#[test]
fn init_failure_leaves_the_working_tree_unchanged() {
    let repo = TestRepo::new();
    repo.write("prompts", "a file, not a directory\n");
    repo.refuses_unchanged(&["init"]);
}

#[test]
fn init_example_builds_a_demo_registry() {
    let dir = TestRepo::bare_dir();
    let demo = dir.tmp().join("demo");
    let demo_arg = demo.to_string_lossy().into_owned();
    let out = dir.run(&["init", "--example", &demo_arg]);
    out.ok();
    assert_eq!(out.stdout, "");
    let listed = dir.run(&["--repo", &demo_arg, "list", "--format", "json"]);
    listed.ok();
    let rows = listed.json();
    let rows = rows.as_array().expect("array");
    assert_eq!(rows.len(), 4, "{rows:?}");
    assert!(rows.iter().all(|r| r["latest"].is_string()), "{rows:?}");
    let table = dir.run(&["--repo", &demo_arg, "list"]);
    table.ok();
    assert_eq!(table.stdout.lines().count(), 1 + 4, "{}", table.stdout);

    let fsck = dir.git_in(&demo, &["fsck", "--strict"]);
    assert_eq!(fsck.code, 0, "{}", fsck.stderr);
    let status = dir.git_in(&demo, &["status", "--porcelain=v1", "-uall"]);
    assert_eq!(status.stdout, "");
}

#[test]
fn init_example_works_without_a_git_identity() {
    let dir = TestRepo::bare_dir();
    let demo = dir.tmp().join("demo");
    let demo_arg = demo.to_string_lossy().into_owned();
    dir.run_with(
        &["init", "--example", &demo_arg],
        &[],
        &crate::support::IDENTITY_VARS,
    )
    .ok();
    dir.run(&[
        "--repo",
        &demo_arg,
        "fetch",
        "summarize",
        "--format",
        "text",
    ])
    .ok();
    // The demo identity signs only the demo's own commits: a later write needs the user's own
    // identity and is refused, changing nothing, without one (tests/cli/demo_identity.rs).
    let head = dir.git_in(&demo, &["rev-parse", "HEAD"]).stdout;
    dir.run_with(
        &[
            "--repo",
            &demo_arg,
            "results",
            "record",
            "support/refund-agent@1.1.0",
            "--test",
            "golden-set",
            "--passed",
            "20",
            "--failed",
            "0",
        ],
        &[],
        &crate::support::IDENTITY_VARS,
    )
    .refused()
    .stderr_has(&["hint:"]);
    assert_eq!(dir.git_in(&demo, &["rev-parse", "HEAD"]).stdout, head);
    let author = dir.git_in(&demo, &["log", "-1", "--format=%an <%ae>"]);
    assert_eq!(
        author.stdout.trim(),
        "promptreg demo <demo@promptreg.invalid>"
    );
}

#[test]
fn init_example_keeps_no_identity_when_one_is_configured() {
    let dir = TestRepo::bare_dir();
    let demo = dir.tmp().join("demo");
    let demo_arg = demo.to_string_lossy().into_owned();
    dir.run(&["init", "--example", &demo_arg]).ok();
    let config = std::fs::read_to_string(demo.join(".git/config")).expect("config");
    assert!(!config.contains("[user]"), "{config}");
}

#[test]
fn init_example_refuses_a_non_empty_directory() {
    let dir = TestRepo::bare_dir();
    dir.write("keep.txt", "mine\n");
    let target = dir.root.to_string_lossy().into_owned();
    dir.run(&["init", "--example", &target])
        .refused()
        .stderr_has(&["not empty"]);
    assert!(!dir.path(".git").exists());
    assert_eq!(dir.read("keep.txt"), "mine\n");
    let entries = std::fs::read_dir(&dir.root).expect("read dir").count();
    assert_eq!(entries, 1);
}
