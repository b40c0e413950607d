//! `promptreg create`: releases, bumps, refusals that change nothing, and the user's own work.

use crate::support::{prompt_yaml, TestRepo, AUTHOR_EMAIL, IDENTITY_VARS};

#[test]
fn create_tags_an_annotated_release_of_only_the_prompt_dir() {
    let repo = TestRepo::init();
    repo.write_prompt("x", "You are X.");
    let out = repo.run(&["create", "x", "--version", "1.0.0", "-m", "First release"]);
    out.ok();
    assert_eq!(out.stdout, "1.0.0\n");
    assert!(out.stderr.contains("created x 1.0.0"), "{}", out.stderr);

    assert_eq!(repo.git(&["cat-file", "-t", "x/v1.0.0"]).trim(), "tag");
    assert_eq!(repo.rev("x/v1.0.0^{commit}"), repo.rev("HEAD"));
    let tagger = repo.git(&[
        "for-each-ref",
        "--format=%(taggername)|%(taggeremail)|%(taggerdate:raw)",
        "refs/tags/x/v1.0.0",
    ]);
    assert_eq!(
        tagger.trim(),
        "Test Committer|<committer@example.com>|1767225600 +0000"
    );
    let message = repo.git(&["for-each-ref", "--format=%(contents)", "refs/tags/x/v1.0.0"]);
    assert_eq!(message.trim_end(), "First release");

    assert_eq!(repo.changed_paths("HEAD"), ["prompts/x/prompt.yaml"]);
    assert_eq!(
        repo.git(&["show", "HEAD:prompts/x/prompt.yaml"]),
        prompt_yaml("x", "You are X.")
    );
    let commit = repo.git(&["log", "-1", "--format=%s%n%ae%n%B"]);
    let mut lines = commit.lines();
    assert_eq!(lines.next(), Some("create x 1.0.0"));
    assert_eq!(lines.next(), Some(AUTHOR_EMAIL));
    assert!(commit.contains("\nFirst release\n"), "{commit}");
    assert!(commit.contains("\nPrompt: x\nVersion: 1.0.0\n"), "{commit}");
    assert_eq!(repo.git(&["status", "--porcelain=v1", "-uall"]), "");
    repo.fsck();
}

#[test]
fn quiet_create_prints_only_the_version() {
    let repo = TestRepo::init();
    repo.write_prompt("x", "hi");
    let out = repo.run(&["-q", "create", "x", "--version", "1.0.0", "-m", "m"]);
    out.ok();
    assert_eq!(out.stdout, "1.0.0\n");
    assert_eq!(out.stderr, "");
}

#[test]
fn a_leading_v_is_accepted_and_dropped() {
    let repo = TestRepo::init();
    repo.write_prompt("x", "hi");
    let out = repo.run(&["create", "x", "--version", "v2.0.0-rc.1", "-m", "m"]);
    out.ok();
    assert_eq!(out.stdout, "2.0.0-rc.1\n");
    assert_eq!(repo.git(&["cat-file", "-t", "x/v2.0.0-rc.1"]).trim(), "tag");
}

#[test]
fn bump_first_versions() {
    let repo = TestRepo::init();
    for (name, bump, expected) in [
        ("major", "major", "1.0.0"),
        ("minor", "minor", "0.1.0"),
        ("patch", "patch", "0.1.0"),
    ] {
        repo.write_prompt(name, "first");
        let out = repo.run(&["create", name, "--bump", bump, "-m", "m"]);
        out.ok();
        assert_eq!(out.stdout, format!("{expected}\n"), "--bump {bump}");
        assert_eq!(
            repo.git(&["cat-file", "-t", &format!("{name}/v{expected}")])
                .trim(),
            "tag"
        );
    }
}

#[test]
fn bump_increments_from_the_highest_version() {
    let repo = TestRepo::init();
    repo.release("x", "1.2.3", "v0");
    for (i, (bump, expected)) in [
        ("patch", "1.2.4"),
        ("minor", "1.3.0"),
        ("major", "2.0.0"),
        ("patch", "2.0.1"),
    ]
    .into_iter()
    .enumerate()
    {
        repo.write_prompt("x", &format!("edit {i}"));
        let out = repo.run(&["create", "x", "--bump", bump, "-m", "m"]);
        out.ok();
        assert_eq!(out.stdout, format!("{expected}\n"), "--bump {bump}");
    }
}

#[test]
fn version_and_bump_are_a_usage_choice() {
    let repo = TestRepo::init();
    repo.write_prompt("x", "hi");
    let before = repo.snapshot();
    repo.run(&["create", "x", "-m", "m"]).usage();
    repo.run(&[
        "create",
        "x",
        "--version",
        "1.0.0",
        "--bump",
        "patch",
        "-m",
        "m",
    ])
    .usage();
    repo.run(&["create", "x", "--bump", "huge", "-m", "m"])
        .usage();
    repo.run(&["create", "x", "--version", "1.0.0"]).usage();
    repo.run(&["create", "x", "--version", "1.0.0", "-m", "  "])
        .usage()
        .stderr_has(&["changelog"]);
    assert_eq!(before, repo.snapshot());
}

#[test]
fn file_option_copies_into_prompt_yaml() {
    let repo = TestRepo::init();
    let draft = prompt_yaml("x", "From a draft.");
    repo.write("drafts/x.yaml", &draft);
    let out = repo.run(&[
        "create",
        "x",
        "--version",
        "1.0.0",
        "-m",
        "m",
        "--file",
        "drafts/x.yaml",
    ]);
    out.ok();
    assert_eq!(repo.read("prompts/x/prompt.yaml"), draft);
    assert_eq!(repo.git(&["show", "x/v1.0.0:prompts/x/prompt.yaml"]), draft);
    assert_eq!(repo.changed_paths("HEAD"), ["prompts/x/prompt.yaml"]);
    assert_eq!(
        repo.git(&["status", "--porcelain=v1", "-uall"]),
        "?? drafts/x.yaml\n"
    );
}

#[test]
fn file_option_replaces_an_existing_prompt_yaml() {
    let repo = TestRepo::init();
    repo.release("x", "1.0.0", "old");
    let draft = prompt_yaml("x", "new");
    repo.write("draft.yaml", &draft);
    repo.run(&[
        "create",
        "x",
        "--bump",
        "minor",
        "-m",
        "m",
        "--file",
        "draft.yaml",
    ])
    .ok();
    assert_eq!(repo.read("prompts/x/prompt.yaml"), draft);
    assert_eq!(repo.git(&["show", "x/v1.1.0:prompts/x/prompt.yaml"]), draft);
}

#[test]
fn file_option_refusals_leave_prompt_yaml_alone() {
    let repo = TestRepo::init();
    repo.release("x", "1.0.0", "released");
    repo.write_prompt("x", "work in progress");
    repo.write("bad.yaml", "system_prompt: hi\ntemprature: 0.5\n");
    repo.refuses_unchanged(&[
        "create",
        "x",
        "--version",
        "1.1.0",
        "-m",
        "m",
        "--file",
        "bad.yaml",
    ])
    .stderr_has(&["bad.yaml:2:1", "temprature"]);
    // Passes validation, then is refused as unchanged: prompt.yaml must be put back.
    repo.write("same.yaml", &prompt_yaml("x", "released"));
    repo.refuses_unchanged(&[
        "create",
        "x",
        "--version",
        "1.1.0",
        "-m",
        "m",
        "--file",
        "same.yaml",
    ])
    .stderr_has(&["unchanged since version 1.0.0"]);
    repo.refuses_unchanged(&[
        "create",
        "x",
        "--version",
        "1.1.0",
        "-m",
        "m",
        "--file",
        "absent.yaml",
    ])
    .stderr_has(&["absent.yaml"]);
}

#[test]
fn nested_names_live_in_nested_directories() {
    let repo = TestRepo::init();
    repo.write_prompt("support/refund-agent", "Refunds.");
    let out = repo.run(&[
        "create",
        "support/refund-agent",
        "--version",
        "1.0.0",
        "-m",
        "m",
    ]);
    out.ok();
    assert_eq!(out.stdout, "1.0.0\n");
    assert_eq!(
        repo.git(&["cat-file", "-t", "support/refund-agent/v1.0.0"])
            .trim(),
        "tag"
    );
    assert_eq!(
        repo.changed_paths("HEAD"),
        ["prompts/support/refund-agent/prompt.yaml"]
    );
    repo.release("support/billing/dunning", "0.1.0", "Dunning.");
    repo.run(&["fetch", "support/billing/dunning@0.1.0"]).ok();
}

#[test]
fn components_and_subdirectories_are_released_together() {
    let repo = TestRepo::init();
    repo.write(
        "prompts/x/prompt.yaml",
        "system_prompt_file: parts/system.md\nexamples_file: examples.yaml\n",
    );
    repo.write("prompts/x/parts/system.md", "From a file.\n");
    repo.write("prompts/x/examples.yaml", "- {input: a, output: b}\n");
    repo.run(&["create", "x", "--version", "1.0.0", "-m", "m"])
        .ok();
    let mut paths = repo.changed_paths("HEAD");
    paths.sort();
    assert_eq!(
        paths,
        [
            "prompts/x/examples.yaml",
            "prompts/x/parts/system.md",
            "prompts/x/prompt.yaml"
        ]
    );
    // Deleting a component in the next version removes it from the release and the index.
    repo.write("prompts/x/prompt.yaml", "system_prompt: inline now\n");
    std::fs::remove_dir_all(repo.path("prompts/x/parts")).expect("remove parts");
    std::fs::remove_file(repo.path("prompts/x/examples.yaml")).expect("remove examples");
    repo.run(&["create", "x", "--version", "1.1.0", "-m", "m"])
        .ok();
    assert_eq!(
        repo.git(&["ls-tree", "-r", "--name-only", "x/v1.1.0", "prompts/x"]),
        "prompts/x/prompt.yaml\n"
    );
    assert_eq!(repo.git(&["status", "--porcelain=v1", "-uall"]), "");
}

#[test]
fn ignored_files_are_left_out() {
    let repo = TestRepo::init();
    repo.write(".gitignore", "*.log\n");
    repo.git(&["add", ".gitignore"]);
    repo.git(&["commit", "-q", "-m", "ignore logs"]);
    repo.write_prompt("x", "hi");
    repo.write("prompts/x/debug.log", "noise\n");
    repo.run(&["create", "x", "--version", "1.0.0", "-m", "m"])
        .ok();
    assert_eq!(repo.changed_paths("HEAD"), ["prompts/x/prompt.yaml"]);
}

#[test]
fn refuses_an_existing_version() {
    let repo = TestRepo::init();
    repo.release("x", "1.0.0", "one");
    repo.write_prompt("x", "two");
    repo.refuses_unchanged(&["create", "x", "--version", "1.0.0", "-m", "again"])
        .stderr_has(&["1.0.0", "already exists", "highest version is 1.0.0"]);
}

#[test]
fn refuses_invalid_versions_and_names() {
    let repo = TestRepo::init();
    repo.write_prompt("x", "hi");
    repo.refuses_unchanged(&["create", "x", "--version", "1.2", "-m", "m"])
        .stderr_has(&["invalid version `1.2`"]);
    repo.refuses_unchanged(&["create", "x", "--version", "1.0.0+build", "-m", "m"])
        .stderr_has(&["build metadata"]);
    repo.write("prompts/Bad_Name/prompt.yaml", "system_prompt: hi\n");
    repo.refuses_unchanged(&["create", "Bad_Name", "--version", "1.0.0", "-m", "m"])
        .stderr_has(&["invalid prompt name `Bad_Name`"]);
}

#[test]
fn refuses_an_unknown_key_naming_file_line_and_column() {
    let repo = TestRepo::init();
    repo.write(
        "prompts/x/prompt.yaml",
        "system_prompt: hi\ntemprature: 0.5\n",
    );
    repo.refuses_unchanged(&["create", "x", "--version", "1.0.0", "-m", "m"])
        .stderr_has(&[
            "prompts/x/prompt.yaml:2:1:",
            "unknown key `temprature` (did you mean `temperature`?)",
        ]);
}

#[test]
fn refuses_rule_violations() {
    let repo = TestRepo::init();
    for (content, needle) in [
        ("system_prompt: hi\ntemperature: 3\n", "between 0 and 2"),
        ("summary: nothing else\n", "needs `system_prompt`"),
        ("system_prompt: a\nsystem_prompt_file: b.md\n", "not both"),
        ("system_prompt: a\ntoken_budget: 0\n", "greater than 0"),
        (
            "system_prompt_file: ../escape.md\n",
            "inside the prompt directory",
        ),
        (
            "system_prompt: a\nsystem_prompt: b\n",
            "prompts/x/prompt.yaml:",
        ),
    ] {
        repo.write("prompts/x/prompt.yaml", content);
        repo.refuses_unchanged(&["create", "x", "--version", "1.0.0", "-m", "m"])
            .stderr_has(&["prompts/x/prompt.yaml", needle]);
    }
}

#[test]
fn refuses_a_missing_prompt_file() {
    let repo = TestRepo::init();
    repo.refuses_unchanged(&["create", "y", "--version", "1.0.0", "-m", "m"])
        .stderr_has(&["prompts/y/prompt.yaml", "not found", "--file"]);
}

#[test]
fn refuses_unchanged_content_unless_allowed() {
    let repo = TestRepo::init();
    repo.release("x", "1.0.0", "same");
    repo.refuses_unchanged(&["create", "x", "--version", "1.0.1", "-m", "m"])
        .stderr_has(&["unchanged since version 1.0.0", "--allow-unchanged"]);
    let commits = repo.commit_count();
    let out = repo.run(&[
        "create",
        "x",
        "--version",
        "1.0.1",
        "-m",
        "same again",
        "--allow-unchanged",
    ]);
    out.ok();
    assert_eq!(out.stdout, "1.0.1\n");
    assert_eq!(
        repo.commit_count(),
        commits,
        "no new commit for the same content"
    );
    assert_eq!(repo.rev("x/v1.0.1^{commit}"), repo.rev("x/v1.0.0^{commit}"));
}

#[test]
fn refuses_a_detached_head() {
    let repo = TestRepo::init();
    repo.git(&["checkout", "-q", "--detach"]);
    repo.write_prompt("x", "hi");
    repo.refuses_unchanged(&["create", "x", "--version", "1.0.0", "-m", "m"])
        .stderr_has(&["HEAD is detached", "git switch"]);
}

#[test]
fn refuses_without_an_identity() {
    let repo = TestRepo::init();
    repo.write_prompt("x", "hi");
    repo.unchanged_by(|| {
        repo.run_with(
            &["create", "x", "--version", "1.0.0", "-m", "m"],
            &[],
            &IDENTITY_VARS,
        )
    })
    .refused()
    .stderr_has(&["no Git identity", "user.email"]);
}

#[test]
fn refuses_a_malformed_date() {
    let repo = TestRepo::init();
    repo.write_prompt("x", "hi");
    repo.unchanged_by(|| {
        repo.run_with(
            &["create", "x", "--version", "1.0.0", "-m", "m"],
            &[("GIT_COMMITTER_DATE", "next tuesday")],
            &[],
        )
    })
    .refused()
    .stderr_has(&["GIT_COMMITTER_DATE"]);
}

#[test]
fn refuses_a_prompt_inside_another_prompt() {
    let repo = TestRepo::init();
    repo.release("a", "1.0.0", "outer");
    repo.write_prompt("a/b", "inner");
    repo.refuses_unchanged(&["create", "a/b", "--version", "1.0.0", "-m", "m"])
        .stderr_has(&["inside the prompt `a`"]);
    // And the other way round: a directory holding a sub-prompt cannot become a prompt.
    let other = TestRepo::init();
    other.write_prompt("c/d", "inner");
    other.write_prompt("c", "outer");
    other
        .refuses_unchanged(&["create", "c", "--version", "1.0.0", "-m", "m"])
        .stderr_has(&["prompts/c/d", "cannot contain another prompt"]);
}

#[test]
fn refuses_a_prompt_around_a_released_prompt() {
    let repo = TestRepo::init();
    repo.release("a/b", "1.0.0", "inner");
    // The user deletes the a/b working copy (not committed) and writes a prompt around it.
    std::fs::remove_dir_all(repo.path("prompts/a/b")).expect("remove a/b");
    repo.write_prompt("a", "outer");
    repo.refuses_unchanged(&["create", "a", "--version", "1.0.0", "-m", "m"])
        .stderr_has(&["cannot contain another prompt"]);
}

#[test]
fn refuses_a_symlink_in_the_prompt_dir() {
    let repo = TestRepo::init();
    repo.write_prompt("x", "hi");
    repo.write("elsewhere.md", "outside\n");
    std::os::unix::fs::symlink("../../elsewhere.md", repo.path("prompts/x/link.md"))
        .expect("symlink");
    repo.refuses_unchanged(&["create", "x", "--version", "1.0.0", "-m", "m"])
        .stderr_has(&["prompts/x/link.md", "symbolic link"]);
}

#[test]
fn refuses_a_symlinked_system_prompt_file() {
    let repo = TestRepo::init();
    repo.write("prompts/x/prompt.yaml", "system_prompt_file: system.md\n");
    repo.write("secret.md", "outside\n");
    std::os::unix::fs::symlink("../../secret.md", repo.path("prompts/x/system.md"))
        .expect("symlink");
    repo.refuses_unchanged(&["create", "x", "--version", "1.0.0", "-m", "m"])
        .stderr_has(&["prompts/x/system.md", "symbolic link"]);
}

#[test]
fn refuses_a_symlinked_prompt_directory() {
    let repo = TestRepo::init();
    let outside = repo.tmp().join("outside");
    std::fs::create_dir_all(&outside).expect("mkdir");
    std::fs::write(outside.join("prompt.yaml"), prompt_yaml("x", "outside")).expect("write");
    std::os::unix::fs::symlink(&outside, repo.path("prompts/x")).expect("symlink");
    repo.refuses_unchanged(&["create", "x", "--version", "1.0.0", "-m", "m"])
        .stderr_has(&["prompts/x", "symbolic link"]);
}

#[test]
fn refuses_a_missing_component() {
    let repo = TestRepo::init();
    repo.write("prompts/x/prompt.yaml", "system_prompt_file: system.md\n");
    repo.refuses_unchanged(&["create", "x", "--version", "1.0.0", "-m", "m"])
        .stderr_has(&["prompts/x/system.md", "not found"]);
}

#[test]
fn refuses_without_a_registry() {
    // No commit at all.
    let repo = TestRepo::new();
    repo.write_prompt("x", "hi");
    repo.refuses_unchanged(&["create", "x", "--version", "1.0.0", "-m", "m"])
        .stderr_has(&["no registry.yaml", "promptreg init"]);
    // Commits, but no registry.
    repo.write("README.md", "hello\n");
    repo.git(&["add", "README.md"]);
    repo.git(&["commit", "-q", "-m", "readme"]);
    repo.refuses_unchanged(&["create", "x", "--version", "1.0.0", "-m", "m"])
        .stderr_has(&["no registry.yaml", "promptreg init"]);
}

#[test]
fn refuses_during_a_merge() {
    let repo = TestRepo::init();
    repo.write_prompt("x", "hi");
    let head = repo.rev("HEAD");
    std::fs::write(repo.path(".git/MERGE_HEAD"), format!("{head}\n")).expect("merge head");
    repo.refuses_unchanged(&["create", "x", "--version", "1.0.0", "-m", "m"])
        .stderr_has(&["merge is in progress"]);
}

#[test]
fn never_releases_a_version_without_prompt_yaml() {
    let repo = TestRepo::init();
    repo.write(".gitignore", "*.yaml\n");
    repo.git(&["add", ".gitignore"]);
    repo.git(&["commit", "-q", "-m", "ignore yaml"]);
    repo.write("prompts/x/prompt.yaml", "system_prompt_file: system.md\n");
    repo.write("prompts/x/system.md", "hi\n");
    let before = repo.snapshot();
    let out = repo.run(&["create", "x", "--version", "1.0.0", "-m", "m"]);
    if out.code == 0 {
        // Accepted: then the release must hold prompt.yaml and be readable.
        repo.git(&["cat-file", "-e", "x/v1.0.0:prompts/x/prompt.yaml"]);
        repo.run(&["fetch", "x@1.0.0"]).ok();
    } else {
        out.refused();
        assert_eq!(before, repo.snapshot());
    }
}

#[test]
fn preserves_the_users_staged_and_unstaged_work() {
    let repo = TestRepo::init();
    repo.write("A.txt", "a1\n");
    repo.write("B.txt", "b1\n");
    repo.git(&["add", "A.txt", "B.txt"]);
    repo.git(&["commit", "-q", "-m", "user files"]);

    repo.write("A.txt", "a2 staged\n");
    repo.git(&["add", "A.txt"]);
    repo.write("B.txt", "b2 unstaged\n");
    // Stage one content for the prompt, then change the working tree again.
    repo.write_prompt("x", "staged version");
    repo.git(&["add", "prompts/x/prompt.yaml"]);
    repo.write_prompt("x", "working-tree version");

    let cached_a = repo.git(&["diff", "--cached", "--", "A.txt"]);
    let unstaged_b = repo.git(&["diff", "--", "B.txt"]);
    repo.run(&["create", "x", "--version", "1.0.0", "-m", "m"])
        .ok();

    assert_eq!(repo.git(&["diff", "--cached", "--", "A.txt"]), cached_a);
    assert_eq!(repo.git(&["diff", "--", "B.txt"]), unstaged_b);
    assert_eq!(repo.read("A.txt"), "a2 staged\n");
    assert_eq!(repo.read("B.txt"), "b2 unstaged\n");
    let committed = repo.git(&["show", "HEAD:prompts/x/prompt.yaml"]);
    assert_eq!(committed, prompt_yaml("x", "working-tree version"));
    assert_eq!(committed, repo.read("prompts/x/prompt.yaml"));
    assert_eq!(repo.changed_paths("HEAD"), ["prompts/x/prompt.yaml"]);
    assert_eq!(
        repo.git(&["status", "--porcelain=v1", "-uall", "--", "prompts/x"]),
        ""
    );
    assert_eq!(
        repo.git(&["status", "--porcelain=v1", "-uall"]),
        "M  A.txt\n M B.txt\n"
    );

    // The user's next commit carries their staged A and does not revert the release.
    repo.git(&["commit", "-q", "-m", "user commits A"]);
    assert_eq!(repo.changed_paths("HEAD"), ["A.txt"]);
    assert_eq!(
        repo.git(&["show", "HEAD:prompts/x/prompt.yaml"]),
        prompt_yaml("x", "working-tree version")
    );
    repo.fsck();
}

#[test]
fn tags_head_when_it_already_holds_the_content() {
    let repo = TestRepo::init();
    repo.write_prompt("x", "committed by hand");
    repo.git(&["add", "prompts/x"]);
    repo.git(&["commit", "-q", "-m", "add x by hand"]);
    let head = repo.rev("HEAD");
    let out = repo.run(&["create", "x", "--version", "1.0.0", "-m", "m"]);
    out.ok();
    assert_eq!(out.stdout, "1.0.0\n");
    assert!(out.stderr.contains("already committed"), "{}", out.stderr);
    assert_eq!(repo.rev("HEAD"), head, "no new commit");
    assert_eq!(repo.rev("x/v1.0.0^{commit}"), head);
    assert_eq!(repo.git(&["cat-file", "-t", "x/v1.0.0"]).trim(), "tag");
}

#[test]
fn created_content_never_changes() {
    let repo = TestRepo::init();
    repo.release("x", "1.0.0", "original");
    repo.write_prompt("x", "edited later");
    repo.git(&["add", "-A"]);
    repo.git(&["commit", "-q", "-m", "edit by hand"]);
    repo.write_prompt("x", "and again, uncommitted");
    let out = repo.run(&["fetch", "x@1.0.0", "--format", "text"]);
    out.ok();
    assert_eq!(out.stdout, "original\n");
    assert_eq!(
        repo.git(&["show", "x/v1.0.0:prompts/x/prompt.yaml"]),
        prompt_yaml("x", "original")
    );
}

/// `create --bump auto`: runs it, asserting success, and returns (stdout, stderr).
#[track_caller]
fn create_auto(repo: &TestRepo, name: &str) -> (String, String) {
    let out = repo.run(&["create", name, "--bump", "auto", "-m", "auto"]);
    out.ok();
    (out.stdout.clone(), out.stderr.clone())
}

const AUTO_BASE: &str = "summary: s\nsystem_prompt: Hi {{ who }} in a {{ tone }} tone\nvariables:\n  who: {description: d}\n  tone: {required: false, default: calm}\ntags: [a]\n";

#[test]
fn bump_auto_starts_at_1_0_0() {
    let repo = TestRepo::init();
    repo.write("prompts/x/prompt.yaml", AUTO_BASE);
    let (stdout, stderr) = create_auto(&repo, "x");
    assert_eq!(stdout, "1.0.0\n");
    assert!(stderr.contains("bump: major (first version)\n"), "{stderr}");
    assert!(stderr.contains("created x 1.0.0"), "{stderr}");
}

#[test]
fn bump_auto_classifies_the_change_and_says_why() {
    let repo = TestRepo::init();
    repo.write("prompts/x/prompt.yaml", AUTO_BASE);
    repo.run(&["create", "x", "--version", "1.2.3", "-m", "m"])
        .ok();
    for (edit, version, why) in [
        (
            AUTO_BASE.replace("tags: [a]", "tags: [a, b]\nmetadata: {owner: me}"),
            "1.2.4",
            "bump: patch (tags changed, metadata changed)",
        ),
        (
            AUTO_BASE.replace("Hi {{ who }}", "Hello {{ who }}"),
            "1.3.0",
            "bump: minor (system prompt changed)",
        ),
        (
            AUTO_BASE.replace("summary: s\n", "summary: s\ntemperature: 0.1\n"),
            "1.4.0",
            "bump: minor (temperature changed)",
        ),
        (
            AUTO_BASE
                .replace(" in a {{ tone }} tone", "")
                .replace("  tone: {required: false, default: calm}\n", ""),
            "2.0.0",
            "bump: major (variable `tone` removed)",
        ),
        (
            AUTO_BASE.replace("who", "name"),
            "3.0.0",
            "bump: major (variable `who` removed, new required variable `name`)",
        ),
    ] {
        repo.write("prompts/x/prompt.yaml", &edit);
        let (stdout, stderr) = create_auto(&repo, "x");
        assert_eq!(stdout, format!("{version}\n"), "{stderr}");
        assert!(stderr.contains(&format!("{why}\n")), "{stderr}");
        // Reset to the base for the next edit, released as a patch.
        repo.write("prompts/x/prompt.yaml", AUTO_BASE);
        repo.run(&["create", "x", "--bump", "patch", "-m", "reset"])
            .ok();
    }
    let versions = repo.git(&["tag", "-l", "x/*", "--sort=v:refname"]);
    assert!(versions.contains("x/v3.0.0\n"), "{versions}");
}

#[test]
fn bump_auto_refuses_unchanged_content_and_quiet_hides_the_reason() {
    let repo = TestRepo::init();
    repo.write("prompts/x/prompt.yaml", AUTO_BASE);
    repo.run(&["create", "x", "--version", "1.0.0", "-m", "m"])
        .ok();
    repo.refuses_unchanged(&["create", "x", "--bump", "auto", "-m", "again"])
        .stderr_has(&["unchanged since version 1.0.0"]);
    // Same resolved prompt, different formatting: a patch that says so.
    repo.write(
        "prompts/x/prompt.yaml",
        &AUTO_BASE.replace("tags: [a]", "tags:\n  - a"),
    );
    let (stdout, stderr) = create_auto(&repo, "x");
    assert_eq!(stdout, "1.0.1\n");
    assert!(
        stderr.contains("bump: patch (the resolved prompt is unchanged"),
        "{stderr}"
    );
    repo.write("prompts/x/prompt.yaml", AUTO_BASE);
    let out = repo.run(&["-q", "create", "x", "--bump", "auto", "-m", "m"]);
    out.ok();
    assert_eq!((out.stdout.as_str(), out.stderr.as_str()), ("1.0.2\n", ""));
    repo.run(&["create", "x", "--bump", "sideways", "-m", "m"])
        .usage();
}
