//! Safety: usage errors, garbage input, the lock, concurrent writers, and repository integrity.

use std::process::Stdio;

use crate::support::TestRepo;

#[test]
fn a_long_scenario_keeps_the_repository_sound() {
    let repo = TestRepo::init();
    repo.write("README.md", "prompts\n");
    repo.git(&["add", "README.md"]);
    repo.git(&["commit", "-q", "-m", "readme"]);
    for (i, name) in ["summarize", "support/refund-agent", "support/triage"]
        .into_iter()
        .enumerate()
    {
        repo.release(name, "1.0.0", &format!("{name} one"));
        repo.promote(name, "1.0.0", "dev");
        repo.promote(name, "1.0.0", "staging");
        if i != 2 {
            repo.promote(name, "1.0.0", "production");
        }
    }
    repo.release("summarize", "1.1.0", "summarize two");
    repo.promote("summarize", "1.1.0", "dev");
    // The user commits in between; then tags get packed, as `git gc` would.
    repo.write("README.md", "prompts, documented\n");
    repo.git(&["commit", "-q", "-a", "-m", "docs"]);
    repo.git(&["pack-refs", "--all"]);
    repo.write(
        "prompts/summarize/prompt.yaml",
        "system_prompt_file: system.md\ntemperature: 0.1\n",
    );
    repo.write("prompts/summarize/system.md", "Summarize tersely.\n");
    repo.run(&["create", "summarize", "--bump", "minor", "-m", "file-based"])
        .ok();
    repo.promote("summarize", "1.2.0", "dev");
    repo.promote("summarize", "1.2.0", "staging");
    repo.promote("summarize", "1.2.0", "production");

    repo.fsck();
    assert_eq!(repo.git(&["status", "--porcelain=v1", "-uall"]), "");
    let out = repo.run(&["versions", "summarize", "--format", "json"]);
    out.ok();
    let statuses: Vec<(String, String)> = out
        .json()
        .as_array()
        .expect("array")
        .iter()
        .map(|r| {
            (
                r["version"].as_str().expect("v").to_owned(),
                r["status"].as_str().expect("s").to_owned(),
            )
        })
        .collect();
    assert_eq!(
        statuses,
        [
            ("1.0.0".to_owned(), "draft".to_owned()),
            ("1.1.0".to_owned(), "draft".to_owned()),
            ("1.2.0".to_owned(), "production".to_owned()),
        ]
    );
    let text = repo.run(&["fetch", "summarize", "--format", "text"]);
    text.ok();
    assert_eq!(text.stdout, "Summarize tersely.\n");
    let old = repo.run(&["fetch", "summarize@1.0.0", "--format", "text"]);
    assert_eq!(old.stdout, "summarize one\n");
    let listed = repo.run(&["list", "--env", "production", "--format", "json"]);
    listed.ok();
    assert_eq!(listed.json().as_array().expect("array").len(), 2);
    // Every release is an annotated tag on a commit reachable from main.
    let tags = repo.git(&["tag", "--list"]);
    assert_eq!(tags.lines().count(), 5, "{tags}");
    for tag in tags.lines() {
        assert_eq!(repo.git(&["cat-file", "-t", tag]).trim(), "tag");
        repo.git(&[
            "merge-base",
            "--is-ancestor",
            &format!("{tag}^{{commit}}"),
            "main",
        ]);
    }
}

#[test]
fn usage_errors_exit_2() {
    let repo = TestRepo::init();
    repo.release("x", "1.0.0", "one");
    for args in [
        &["frobnicate"][..],
        &[],
        &["fetch"],
        &["create", "x"],
        &["promote", "x"],
        &["versions"],
        &["fetch", "x@1.0.0", "--format", "table"],
        &["list", "--format", "yaml"],
        &["list", "--format", "text"],
        &["fetch", "x", "--format", "xml"],
        &["fetch", "x", "--no-such-flag"],
        &["--color", "sometimes", "list"],
    ] {
        let out = repo.run(args);
        out.usage();
        assert!(!out.stderr.is_empty(), "{args:?}: no message");
    }
}

#[test]
fn help_and_version_exit_0() {
    let repo = TestRepo::bare_dir();
    for args in [
        &["--help"][..],
        &["help"],
        &["fetch", "--help"],
        &["create", "--help"],
        &["promote", "-h"],
    ] {
        let out = repo.run(args);
        out.ok();
        assert!(out.stdout.contains("Usage"), "{args:?}: {}", out.stdout);
    }
    let out = repo.run(&["--version"]);
    out.ok();
    assert!(out.stdout.starts_with("promptreg "), "{}", out.stdout);
}

#[test]
fn garbage_input_never_panics() {
    let repo = TestRepo::init();
    repo.release("x", "1.0.0", "one");
    let long = "a".repeat(5000);
    let cases: Vec<Vec<&str>> = vec![
        vec!["fetch", "@"],
        vec!["fetch", "a@@b"],
        vec!["fetch", "x@"],
        vec!["fetch", "@1.0.0"],
        vec!["fetch", ""],
        vec!["fetch", "../x"],
        vec!["fetch", "x/../../etc"],
        vec!["fetch", "x/.."],
        vec!["fetch", ".."],
        vec!["fetch", "x@.."],
        vec!["fetch", "x@v"],
        vec!["fetch", "x@1.0.0+meta"],
        vec!["fetch", "x@99999999999999999999999.0.0"],
        vec!["fetch", "x@-1"],
        vec!["fetch", "x", "--env", ""],
        vec!["fetch", "x", "--version", ""],
        vec!["fetch", "x@1.0.0", "--ref", ""],
        vec!["fetch", "x@1.0.0", "--ref", "HEAD~999"],
        vec!["fetch", "ünïcödé"],
        vec!["fetch", &long],
        vec!["versions", ""],
        vec!["versions", "a//b"],
        vec!["versions", "a/b/c/d/e"],
        vec!["list", "--env", ""],
        vec!["create", "", "--version", "1.0.0", "-m", "m"],
        vec!["create", "..", "--version", "1.0.0", "-m", "m"],
        vec!["create", "x", "--version", "", "-m", "m"],
        vec!["create", "x", "--version", "1.0.0", "-m", ""],
        vec!["create", "x", "--version", "1.0.0", "-m", "m", "--file", ""],
        vec![
            "create",
            "x",
            "--version",
            "1.0.0",
            "-m",
            "m",
            "--file",
            "/",
        ],
        vec!["promote", "x", "", "--to", "dev", "--reason", "r"],
        vec!["promote", "x", "1.0.0", "--to", "", "--reason", ""],
        vec!["promote", "", "1.0.0", "--to", "dev", "--reason", "r"],
        vec!["--repo", "/nonexistent/path", "list"],
    ];
    let before = repo.snapshot();
    for args in &cases {
        let out = repo.run(args);
        assert!(
            out.code == 1 || out.code == 2,
            "{args:?}: exit {}\n{}",
            out.code,
            out.stderr
        );
        assert!(!out.stderr.contains("panicked"), "{args:?}: {}", out.stderr);
        assert_eq!(out.stdout, "", "{args:?}: stdout must be empty on errors");
    }
    assert_eq!(before, repo.snapshot());
}

#[test]
fn stdout_is_empty_on_errors_of_every_command() {
    let repo = TestRepo::init();
    for args in [
        &["init"][..],
        &["create", "missing", "--version", "1.0.0", "-m", "m"],
        &["fetch", "missing"],
        &["versions", "missing"],
        &["list", "--env", "qa"],
        &[
            "promote", "missing", "1.0.0", "--to", "dev", "--reason", "r",
        ],
    ] {
        repo.run(args).refused();
    }
}

#[test]
fn a_lock_file_left_by_a_killed_promptreg_blocks_nobody() {
    let repo = TestRepo::init();
    repo.release("x", "1.0.0", "one");
    repo.write_prompt("x", "two");
    // What an older promptreg, or one killed while holding the lock, leaves: the lock is a
    // kernel lock, released when its holder died, so the file alone means nothing.
    std::fs::write(repo.path(".git/promptreg.lock"), "999999\n").expect("lock");
    repo.run(&["create", "x", "--version", "1.1.0", "-m", "m"])
        .ok();
    repo.promote("x", "1.1.0", "dev");
    assert_eq!(
        std::fs::read_to_string(repo.path(".git/promptreg.lock")).expect("kept"),
        ""
    );
    repo.run(&["doctor"])
        .ok()
        .stderr_has(&["no problems found"]);
}

#[test]
fn a_running_writer_makes_the_next_one_wait_then_name_it() {
    let repo = TestRepo::init();
    repo.release("x", "1.0.0", "one");
    // Hold the lock as a running promptreg would, for longer than a write takes.
    let file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(repo.path(".git/promptreg.lock"))
        .expect("open lock");
    file.lock().expect("lock");
    std::fs::write(repo.path(".git/promptreg.lock"), "4242\n").expect("pid");
    let child = repo
        .command(&["promote", "x", "1.0.0", "--to", "dev", "--reason", "r"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    std::thread::sleep(std::time::Duration::from_millis(500));
    let before = repo.rev("HEAD");
    drop(file);
    let out = child.wait_with_output().expect("wait");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_ne!(repo.rev("HEAD"), before, "it waited, then wrote");
    assert_eq!(repo.git(&["status", "--porcelain=v1", "-uall"]), "");
}

#[test]
fn concurrent_creates_of_different_prompts_all_land() {
    let repo = TestRepo::init();
    let names = ["alpha", "beta", "gamma", "delta"];
    for name in names {
        repo.write_prompt(name, &format!("I am {name}."));
    }
    let children: Vec<_> = names
        .iter()
        .map(|name| {
            repo.command(&["create", name, "--version", "1.0.0", "-m", "parallel"])
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .expect("spawn")
        })
        .collect();
    for (name, child) in names.iter().zip(children) {
        let out = child.wait_with_output().expect("wait");
        assert!(
            out.status.success(),
            "{name}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(String::from_utf8_lossy(&out.stdout), "1.0.0\n");
    }
    for name in names {
        let tag = format!("{name}/v1.0.0");
        assert_eq!(repo.git(&["cat-file", "-t", &tag]).trim(), "tag");
        let commit = repo.rev(&format!("{tag}^{{commit}}"));
        repo.git(&["merge-base", "--is-ancestor", &commit, "main"]);
        assert_eq!(
            repo.changed_paths(&commit),
            [format!("prompts/{name}/prompt.yaml")]
        );
        assert_eq!(
            repo.git(&["show", &format!("main:prompts/{name}/prompt.yaml")]),
            crate::support::prompt_yaml(name, &format!("I am {name}."))
        );
    }
    assert_eq!(repo.commit_count(), 1 + names.len());
    assert_eq!(repo.git(&["status", "--porcelain=v1", "-uall"]), "");
    // Released: the lock file stays (it is never deleted) and records nothing.
    assert_eq!(
        std::fs::read_to_string(repo.path(".git/promptreg.lock")).expect("lock"),
        ""
    );
    repo.fsck();
}

#[test]
fn concurrent_promotions_all_land() {
    let repo = TestRepo::init();
    let names = ["alpha", "beta", "gamma", "delta"];
    for name in names {
        repo.release(name, "1.0.0", name);
    }
    let children: Vec<_> = names
        .iter()
        .map(|name| {
            repo.command(&["promote", name, "1.0.0", "--to", "dev", "--reason", "r"])
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .expect("spawn")
        })
        .collect();
    for (name, child) in names.iter().zip(children) {
        let out = child.wait_with_output().expect("wait");
        assert!(
            out.status.success(),
            "{name}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let out = repo.run(&["list", "--env", "dev", "--format", "json"]);
    out.ok();
    assert_eq!(out.json().as_array().expect("array").len(), names.len());
    assert_eq!(repo.git(&["status", "--porcelain=v1", "-uall"]), "");
    repo.fsck();
}

#[test]
fn repo_option_and_environment_select_the_registry() {
    let repo = TestRepo::init();
    repo.release("x", "1.0.0", "one");
    let elsewhere = repo.tmp().to_path_buf();
    let root = repo.root.to_string_lossy().into_owned();
    let out = repo.run_in(
        &elsewhere,
        &["--repo", &root, "fetch", "x@1.0.0", "--format", "text"],
    );
    out.ok();
    assert_eq!(out.stdout, "one\n");
    let mut command = repo.command(&["versions", "x", "--format", "json"]);
    command.current_dir(&elsewhere).env("PROMPTREG_REPO", &root);
    let out = command.output().expect("run");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // From a sub-directory, the repository is discovered as git does.
    let sub = repo.path("prompts/x");
    let out = repo.run_in(&sub, &["fetch", "x@1.0.0", "--format", "text"]);
    out.ok();
    assert_eq!(out.stdout, "one\n");
}

#[test]
fn colour_only_when_asked() {
    let repo = TestRepo::init();
    let plain = repo.run(&["fetch", "missing"]);
    plain.refused();
    assert!(!plain.stderr.contains('\u{1b}'), "{:?}", plain.stderr);
    let coloured = repo.run(&["--color", "always", "fetch", "missing"]);
    coloured.refused();
    assert!(coloured.stderr.contains('\u{1b}'), "{:?}", coloured.stderr);
}

#[test]
fn a_linked_worktree_writes_through_its_own_index() {
    let repo = TestRepo::init();
    repo.release("x", "1.0.0", "one");
    let other = repo.tmp().join("other");
    let other_arg = other.to_string_lossy().into_owned();
    repo.git(&["worktree", "add", "-q", "-b", "other", &other_arg]);
    let main_index = std::fs::read(repo.path(".git/index")).expect("main index");
    repo.run_in(
        &other,
        &["promote", "x", "1.0.0", "--to", "dev", "--reason", "wt"],
    )
    .ok();
    // The linked worktree's index (in .git/worktrees/other/) followed; main's did not move.
    assert_eq!(
        repo.git_in(&other, &["status", "--porcelain=v1", "-uall"])
            .stdout,
        ""
    );
    assert_eq!(
        std::fs::read(repo.path(".git/index")).expect("index"),
        main_index
    );
    assert_eq!(repo.git(&["status", "--porcelain=v1", "-uall"]), "");
    assert!(!repo.path(".git/worktrees/other/index.lock").exists());
    assert_ne!(repo.rev("other"), repo.rev("main"));
    repo.fsck();
}
