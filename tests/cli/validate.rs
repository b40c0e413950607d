//! `promptreg validate`: a clean registry, output formats, --strict, --staged, paths, and use as
//! a pre-commit hook.

use crate::support::{prompt_file, TestRepo};

/// A prompt that uses its one declared variable: valid in every respect.
fn good_prompt(name: &str) -> String {
    format!("summary: The {name} prompt\nmodel: gpt-4o\nsystem_prompt: |\n  Hello {{{{ user_name }}}}.\nvariables:\n  user_name: {{description: Who is asking}}\n")
}

/// A prompt whose system prompt (line 5) reads `tone`, which it does not declare.
const UNDECLARED: &str = "summary: s\nmodel: gpt-4o\nsystem_prompt: |\n  Hello {{ user_name }}.\n  Be {{ tone }}.\nvariables:\n  user_name: {}\n";

/// A prompt with only a warning: `locale` (line 6) is required and unused.
const UNUSED: &str = "summary: s\nmodel: gpt-4o\nsystem_prompt: Hello {{ user_name }}\nvariables:\n  user_name: {}\n  locale: {}\n";

fn registry_with(prompts: &[(&str, &str)]) -> TestRepo {
    let repo = TestRepo::init();
    for (name, text) in prompts {
        repo.write(&prompt_file(name), text);
    }
    repo.git(&["add", "-A"]);
    repo.git(&["commit", "-q", "-m", "prompts"]);
    repo
}

#[test]
fn a_clean_registry_passes_silently() {
    let repo = TestRepo::init();
    repo.write(&prompt_file("support/refund"), &good_prompt("refund"));
    repo.run(&[
        "create",
        "support/refund",
        "--version",
        "1.0.0",
        "-m",
        "first",
    ])
    .ok();
    repo.promote("support/refund", "1.0.0", "dev");
    let before = repo.snapshot();
    for args in [
        &["validate"][..],
        &["validate", "--staged"],
        &["validate", "--strict"],
    ] {
        let out = repo.run(args);
        out.ok();
        assert_eq!(out.stdout, "", "{args:?}");
        assert_eq!(out.stderr, "0 errors, 0 warnings in 1 prompt\n", "{args:?}");
    }
    let out = repo.run(&["validate", "--format", "json"]);
    out.ok();
    assert_eq!(out.json(), serde_json::json!([]));
    assert_eq!(
        repo.run(&["validate", "--format", "github"]).ok().stdout,
        ""
    );
    assert_eq!(repo.run(&["-q", "validate"]).ok().stderr, "");
    assert_eq!(repo.snapshot(), before);
}

#[test]
fn text_json_and_github_formats() {
    let repo = registry_with(&[("bad", UNDECLARED), ("warn", UNUSED)]);
    let text = repo.run(&["validate"]);
    text.code(1);
    assert_eq!(
        text.stdout,
        "prompts/bad/prompt.yaml:5:9: error: the system prompt uses `tone`, which is not declared under `variables` [undeclared-variable]\n\
         prompts/warn/prompt.yaml:6:3: warning: required variable `locale` is declared but no template uses it [unused-variable]\n"
    );
    text.stderr_has(&["1 error, 1 warning in 2 prompts"]);

    let json = repo.run(&["validate", "--format", "json"]);
    json.code(1);
    assert_eq!(
        json.json(),
        serde_json::json!([
            {
                "file": "prompts/bad/prompt.yaml", "line": 5, "column": 9, "severity": "error",
                "code": "undeclared-variable",
                "message": "the system prompt uses `tone`, which is not declared under `variables`"
            },
            {
                "file": "prompts/warn/prompt.yaml", "line": 6, "column": 3, "severity": "warning",
                "code": "unused-variable",
                "message": "required variable `locale` is declared but no template uses it"
            }
        ])
    );

    let github = repo.run(&["validate", "--format", "github"]);
    github.code(1);
    assert_eq!(
        github.stdout,
        "::error file=prompts/bad/prompt.yaml,line=5,col=9,title=promptreg undeclared-variable::the system prompt uses `tone`, which is not declared under `variables`\n\
         ::warning file=prompts/warn/prompt.yaml,line=6,col=3,title=promptreg unused-variable::required variable `locale` is declared but no template uses it\n"
    );
    // The line really is where `tone` is used.
    let line5 = repo
        .read("prompts/bad/prompt.yaml")
        .lines()
        .nth(4)
        .unwrap()
        .to_owned();
    assert_eq!(&line5[8..12], "tone");

    repo.run(&["validate", "--format", "table"]).usage();
    repo.run(&["validate", "--ref", "HEAD"]).usage();
}

#[test]
fn warnings_fail_only_with_strict() {
    let repo = registry_with(&[("warn", UNUSED)]);
    let out = repo.run(&["validate"]);
    out.ok();
    assert!(out.stdout.contains("[unused-variable]"));
    assert_eq!(out.stderr, "0 errors, 1 warning in 1 prompt\n");
    let strict = repo.run(&["validate", "--strict"]);
    strict.code(1);
    assert_eq!(strict.stdout, out.stdout);
    strict.stderr_has(&["0 errors, 1 warning in 1 prompt (--strict)"]);
}

#[test]
fn staged_checks_the_index_and_plain_checks_the_working_tree() {
    let repo = registry_with(&[("x", &good_prompt("x"))]);
    let file = prompt_file("x");

    // A broken working file, a good staged one.
    repo.write(&file, UNDECLARED);
    repo.run(&["validate", "--staged"]).ok();
    let out = repo.run(&["validate"]);
    out.code(1);
    assert!(out.stdout.contains("`tone`"), "{}", out.stdout);

    // Stage the broken one, then fix the working file.
    repo.git(&["add", &file]);
    repo.write(&file, &good_prompt("x"));
    repo.run(&["validate"]).ok();
    let staged = repo.run(&["validate", "--staged"]);
    staged.code(1);
    assert!(staged.stdout.contains("`tone`"), "{}", staged.stdout);

    // Component files come from the same place as prompt.yaml.
    repo.write(
        &file,
        &good_prompt("x").replace(
            "system_prompt: |\n  Hello {{ user_name }}.\n",
            "system_prompt_file: system.md\n",
        ),
    );
    repo.write("prompts/x/system.md", "Hi {{ user_name }}");
    repo.run(&["validate"]).ok();
    let staged = repo.run(&["validate", "--staged"]);
    staged.code(1);
    repo.git(&["add", "prompts/x"]);
    repo.run(&["validate", "--staged"]).ok();
    repo.write("prompts/x/system.md", "Hi {{ nobody }}");
    let out = repo.run(&["validate"]);
    out.code(1);
    assert!(
        out.stdout.contains("prompts/x/system.md:1:7: error:"),
        "{}",
        out.stdout
    );
    repo.run(&["validate", "--staged"]).ok();
}

#[test]
fn paths_restrict_what_is_checked() {
    let repo = registry_with(&[("good", &good_prompt("good")), ("bad", UNDECLARED)]);
    repo.write("prompts/bad/notes.md", "notes\n");
    repo.run(&["validate"]).code(1);
    let out = repo.run(&["validate", "prompts/good/prompt.yaml"]);
    out.ok();
    assert_eq!(out.stderr, "0 errors, 0 warnings in 1 prompt\n");
    // Any file of a prompt's directory selects that prompt.
    let out = repo.run(&["validate", "prompts/bad/notes.md"]);
    out.code(1);
    assert!(
        out.stdout.starts_with("prompts/bad/prompt.yaml:5:9:"),
        "{}",
        out.stdout
    );
    // Relative to the current directory.
    let out = repo.run_in(&repo.path("prompts"), &["validate", "bad/prompt.yaml"]);
    out.code(1);
    assert!(
        out.stdout.starts_with("prompts/bad/prompt.yaml:"),
        "{}",
        out.stdout
    );
    // Files outside prompts/ are ignored; registry.yaml checks the index.
    repo.run(&["validate", "README.md", "registry.yaml"]).ok();
    repo.write(
        "registry.yaml",
        "format: 1\nprompts:\n  good:\n    dev: 1.0.0\n",
    );
    let out = repo.run(&["validate", "registry.yaml", "prompts/good/prompt.yaml"]);
    out.code(1);
    assert_eq!(
        out.stdout,
        "registry.yaml:4:10: error: `good` dev → 1.0.0: `good` has no released version [dangling-pointer]\n"
    );
    // A deleted file selects nothing.
    repo.run(&["validate", "prompts/gone/prompt.yaml"]).ok();
    repo.run(&["validate", "/elsewhere/x.yaml"]).usage();
}

#[test]
fn paths_find_nested_prompts_and_links() {
    let repo = registry_with(&[("a", &good_prompt("a")), ("a/b", &good_prompt("b"))]);
    let out = repo.run(&["validate", "prompts/a/b/prompt.yaml"]);
    out.code(1);
    assert!(out.stdout.contains("[nested-prompt]"), "{}", out.stdout);
    std::os::unix::fs::symlink("../a", repo.path("prompts/c")).unwrap();
    let out = repo.run(&["validate", "prompts/c/prompt.yaml"]);
    out.code(1);
    assert!(
        out.stdout.contains("prompts/c: error: is a symbolic link"),
        "{}",
        out.stdout
    );
}

#[test]
fn a_pre_commit_hook_blocks_an_undeclared_variable() {
    let repo = registry_with(&[("x", &good_prompt("x"))]);
    // The hook documented in docs/VALIDATE.md, with the binary under test.
    let hook = repo.path(".git/hooks/pre-commit");
    std::fs::create_dir_all(hook.parent().unwrap()).unwrap();
    std::fs::write(
        &hook,
        format!(
            "#!/bin/sh\nfiles=$(git diff --cached --name-only --diff-filter=ACMR -- prompts registry.yaml)\n[ -z \"$files\" ] && exit 0\nexec \"{}\" validate --staged $files\n",
            env!("CARGO_BIN_EXE_promptreg")
        ),
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&hook, std::fs::Permissions::from_mode(0o755)).unwrap();

    let head = repo.rev("HEAD");
    repo.write(&prompt_file("x"), UNDECLARED);
    repo.git(&["add", "-A"]);
    let out = repo.git_output(&["commit", "-m", "use a tone"]);
    assert_eq!(out.code, 1, "the commit went through: {}", out.stderr);
    let shown = format!("{}{}", out.stdout, out.stderr);
    assert!(
        shown.contains("prompts/x/prompt.yaml:5:9: error: the system prompt uses `tone`"),
        "{shown}"
    );
    assert_eq!(repo.rev("HEAD"), head);

    // Declared, the same change commits.
    repo.write(
        &prompt_file("x"),
        &UNDECLARED.replace(
            "user_name: {}\n",
            "user_name: {}\n  tone: {required: false, default: kind}\n",
        ),
    );
    repo.git(&["add", "-A"]);
    repo.git(&["commit", "-q", "-m", "use a tone"]);
    assert_ne!(repo.rev("HEAD"), head);
}

#[test]
fn tags_are_checked() {
    let repo = TestRepo::init();
    repo.write(&prompt_file("x"), &good_prompt("x"));
    repo.run(&["create", "x", "--version", "1.0.0", "-m", "first"])
        .ok();
    repo.run(&["validate"]).ok();
    // A lightweight tag of a prompt is an error; of something that is no prompt, a warning.
    repo.git(&["tag", "x/v2.0.0"]);
    repo.git(&["tag", "docs/v1.0.0"]);
    repo.git(&["tag", "v1.0.0"]); // Not shaped like a version of a prompt: ignored.
    let out = repo.run(&["validate"]);
    out.code(1);
    assert_eq!(
        out.stdout
            .lines()
            .map(|l| l.rsplit('[').next().unwrap())
            .collect::<Vec<_>>(),
        ["lightweight-tag]", "lightweight-tag]"]
    );
    assert!(
        out.stdout.starts_with("refs/tags/docs/v1.0.0: warning:"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains("refs/tags/x/v2.0.0: error:"),
        "{}",
        out.stdout
    );
    // With paths, only the tags of those prompts.
    let out = repo.run(&["validate", "prompts/x/prompt.yaml"]);
    out.code(1);
    assert_eq!(out.stdout.lines().count(), 1);
    // A pointer at a lightweight tag dangles.
    repo.git(&["tag", "-d", "docs/v1.0.0"]);
    repo.write(
        "registry.yaml",
        "format: 1\nprompts:\n  x:\n    dev: 1.0.0\n    staging: 2.0.0\n",
    );
    let out = repo.run(&["validate", "registry.yaml"]);
    out.code(1);
    assert_eq!(
        out.stdout,
        "registry.yaml:5:14: error: `x` staging → 2.0.0: tag `x/v2.0.0` is a lightweight tag, not a release [dangling-pointer]\n"
    );
}

#[test]
fn the_pre_commit_hook_definition() {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/.pre-commit-hooks.yaml"
    ))
    .unwrap();
    let hooks: Vec<serde_json::Value> = serde_saphyr::from_str(&text).unwrap();
    assert_eq!(hooks.len(), 1);
    let hook = &hooks[0];
    assert_eq!(hook["id"], "promptreg-validate");
    assert_eq!(hook["entry"], "promptreg validate --staged");
    assert_eq!(hook["language"], "system");
    assert_eq!(hook["files"], "^(prompts/.*|results/.*|registry\\.yaml)$");
    assert_eq!(hook["pass_filenames"], true);
}
