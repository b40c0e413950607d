//! Exit statuses that are answers, not errors: `diff` exits 1 when the sides differ and
//! `doctor` when problems remain, with their whole output on stdout and no `error:` line;
//! both exit 0 otherwise, and 2 for usage errors.

use crate::support::{prompt_file, TestRepo};

const LINES: usize = 4000;

/// A prompt whose system prompt has `LINES` numbered lines, each ending in `word`: large enough
/// that its diff is far beyond any pipe or stdio buffer.
fn long_prompt(word: &str) -> String {
    let mut text = String::from("model: gpt-4o\ntoken_budget: 1000000\nsystem_prompt: |\n");
    for i in 0..LINES {
        text.push_str(&format!("  line {i} says {word}\n"));
    }
    text
}

/// `long` 1.0.0 and 2.0.0, every line different; the working tree holds 2.0.0.
fn repo() -> TestRepo {
    let repo = TestRepo::init();
    for (version, word) in [("1.0.0", "before"), ("2.0.0", "after")] {
        repo.write(&prompt_file("long"), &long_prompt(word));
        repo.run(&["create", "long", "--version", version, "-m", "m"])
            .ok();
    }
    repo
}

#[track_caller]
fn no_error_line(stderr: &str) {
    assert!(!stderr.contains("error"), "stderr: {stderr}");
}

#[test]
fn diff_with_differences_exits_1_after_printing_all_of_it() {
    let repo = repo();
    let out = repo.run(&["diff", "long", "1.0.0", "2.0.0"]);
    out.code(1);
    no_error_line(&out.stderr);
    assert!(out
        .stdout
        .starts_with("--- a/long@1.0.0\n+++ b/long@2.0.0\n"));
    for i in 0..LINES {
        for side in [
            format!("-line {i} says before\n"),
            format!("+line {i} says after\n"),
        ] {
            assert!(out.stdout.contains(&side), "{side:?} missing");
        }
    }
    assert!(
        out.stdout.ends_with('\n'),
        "cut short: {:?}",
        &out.stdout[out.stdout.len() - 40..]
    );

    let out = repo.run(&["diff", "long", "1.0.0", "2.0.0", "--format", "json"]);
    out.code(1);
    no_error_line(&out.stderr);
    let json = out.json();
    assert_eq!(json["equal"], false);
    assert_eq!(
        json["text_diff"]
            .as_str()
            .unwrap()
            .matches("says after")
            .count(),
        LINES
    );
}

#[test]
fn diff_without_differences_exits_0() {
    let repo = repo();
    let out = repo.run(&["diff", "long", "2.0.0"]);
    out.ok()
        .stderr_has(&["no differences between long@2.0.0 and long@worktree"]);
    assert_eq!(out.stdout, "");
    let out = repo.run(&["diff", "long", "latest", "--format", "json"]);
    out.ok();
    assert_eq!(out.json()["equal"], true);
}

#[test]
fn diff_usage_errors_exit_2_and_failures_1() {
    let repo = repo();
    repo.run(&["diff", "long", "1.0.0", "--text"])
        .usage()
        .stderr_has(&["error: --text goes with --env A B"]);
    repo.run(&["diff", "long", "9.9.9", "2.0.0"])
        .refused()
        .stderr_has(&["error: version 9.9.9 of `long` not found"]);
}

#[test]
fn doctor_exits_1_while_problems_remain_and_0_once_cleared() {
    let repo = TestRepo::init();
    let lock = ".git/refs/heads/main.lock";
    std::fs::write(repo.path(lock), "").expect("ref lock");

    let out = repo.run(&["doctor", "--format", "json"]);
    out.code(1).stderr_has(&["found 1 problem"]);
    no_error_line(&out.stderr);
    let findings = out.json();
    let findings = findings.as_array().expect("a list of findings");
    assert_eq!(findings.len(), 1, "{findings:?}");
    assert_eq!(findings[0]["kind"], "git-lock");
    assert_eq!(findings[0]["path"], lock);
    assert_eq!(findings[0]["fixed"], false);

    let out = repo.run(&["doctor"]);
    out.code(1);
    no_error_line(&out.stderr);
    assert!(
        out.stdout.trim_start().starts_with("KIND"),
        "{}",
        out.stdout
    );
    assert!(out.stdout.contains(lock), "{}", out.stdout);
    assert!(out.stdout.ends_with("\n"), "{:?}", out.stdout);

    // Too young to clear: still a problem.
    repo.run(&["doctor", "--fix"])
        .code(1)
        .stderr_has(&["left alone"]);
    let out = repo.run(&["doctor", "--fix", "--min-age", "0", "--format", "json"]);
    out.ok().stderr_has(&["cleared 1 problem"]);
    assert_eq!(out.json()[0]["fixed"], true);
    repo.run(&["doctor"])
        .ok()
        .stderr_has(&["no problems found"]);
    repo.run(&["doctor", "--format", "yaml"]).usage();
}

/// A reader that stops early (`promptreg … | head -c 10`) is no failure: the JSON written as it
/// is made meets the closed pipe mid-document, and the command still ends with status 0 and no
/// `error:` line.
#[test]
fn json_to_a_reader_that_closes_early_exits_0() {
    use std::io::Read;
    use std::process::Stdio;
    // Some 500 KB of JSON: several times the pipe's and the writer's buffers, so the closed
    // pipe meets the serialiser itself, not only the last flush.
    let repo = TestRepo::init();
    let mut text = String::from("model: gpt-4o\ntoken_budget: 10000000\nsystem_prompt: |\n");
    for i in 0..20_000 {
        text.push_str(&format!("  line {i} of a long prompt\n"));
    }
    repo.write(&prompt_file("long"), &text);
    repo.run(&["create", "long", "--version", "1.0.0", "-m", "m"])
        .ok();
    let mut child = repo
        .command(&["fetch", "long@1.0.0", "--format", "json"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let mut stdout = child.stdout.take().expect("stdout");
    let mut first = [0u8; 10];
    stdout.read_exact(&mut first).expect("the document's start");
    assert_eq!(&first[..1], b"{");
    // The rest is left unread.
    drop(stdout);
    let out = child.wait_with_output().expect("wait");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "stderr: {stderr}");
    no_error_line(&stderr);
}
