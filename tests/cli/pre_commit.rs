//! The pre-commit configurations of README.md and docs/VALIDATE.md (`repo: local`), exactly as
//! documented, run by the real pre-commit framework against a registry: a clean registry passes,
//! a staged prompt with an undeclared variable fails the hook and the commit.
//!
//! pre-commit is not part of the Rust toolchain, so this test is ignored by default; `.ci/run`
//! installs pre-commit from PyPI into a venv under `target/` and runs it with
//! `PROMPTREG_PRE_COMMIT=<path to the pre-commit executable> cargo test --test cli pre_commit -- --ignored`.

use std::path::Path;
use std::process::Command;

use crate::support::{hermetic, prompt_file, Output, TestRepo};

/// The first ```yaml block of `file` that holds `repo: local`.
fn documented_config(file: &str) -> String {
    let text = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(file))
        .expect("read the markdown");
    text.split("```yaml\n")
        .skip(1)
        .filter_map(|rest| rest.split_once("```").map(|(block, _)| block))
        .find(|block| block.contains("repo: local"))
        .unwrap_or_else(|| panic!("{file} has no `repo: local` pre-commit configuration"))
        .to_owned()
}

/// Runs `program` in the registry, hermetically, with the built promptreg first on PATH.
fn run(repo: &TestRepo, program: &str, args: &[&str]) -> Output {
    let promptreg = Path::new(env!("CARGO_BIN_EXE_promptreg"));
    let mut path = std::ffi::OsString::from(promptreg.parent().expect("the binary's directory"));
    path.push(":");
    path.push(std::env::var_os("PATH").unwrap_or_default());
    let mut command = Command::new(program);
    hermetic::apply(&mut command, &repo.home)
        .args(args)
        .env("PATH", &path)
        .current_dir(&repo.root);
    Output::of(&mut command)
}

fn check(file: &str, tool: &str) {
    let config = documented_config(file);
    let repo = TestRepo::init();
    repo.release(
        "support/refund-agent",
        "1.0.0",
        "Be kind to {{ user_name }}.",
    );
    repo.write(".pre-commit-config.yaml", &config);
    repo.git(&["add", ".pre-commit-config.yaml"]);
    repo.git(&["commit", "-q", "-m", "pre-commit"]);

    let clean = run(&repo, tool, &["run", "--all-files"]);
    clean.ok();
    assert!(
        clean.stdout.contains("promptreg validate") && clean.stdout.contains("Passed"),
        "{file}: {}",
        clean.stdout
    );

    // Installed as the Git hook, it refuses a commit of a broken prompt.
    run(&repo, tool, &["install"]).ok();
    let prompt = prompt_file("support/refund-agent");
    let broken = repo.read(&prompt).replace("{{ user_name }}", "{{ tone }}");
    repo.write(&prompt, &broken);
    repo.git(&["add", &prompt]);
    let head = repo.rev("HEAD");
    let commit = run(&repo, "git", &["commit", "-q", "-m", "broken"]);
    assert_ne!(
        commit.code, 0,
        "{file}: the hook let a broken prompt through"
    );
    let said = format!("{}{}", commit.stdout, commit.stderr);
    assert!(said.contains("undeclared-variable"), "{file}: {said}");
    assert_eq!(repo.rev("HEAD"), head);
}

fn tool() -> String {
    std::env::var("PROMPTREG_PRE_COMMIT")
        .expect("set PROMPTREG_PRE_COMMIT to the pre-commit executable (.ci/run does)")
}

#[test]
#[ignore = "needs pre-commit: .ci/run installs it and sets PROMPTREG_PRE_COMMIT"]
fn the_documented_local_hook_runs() {
    let tool = tool();
    check("docs/VALIDATE.md", &tool);
    check("README.md", &tool);
}
