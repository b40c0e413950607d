//! Version tags made behind promptreg's back whose commit holds no valid `prompt.yaml`: `promote`
//! and `rollback` refuse to point an environment at them (that would take the prompt offline),
//! changing nothing, and `validate` reports each one.

use crate::support::{prompt_file, prompt_yaml, TestRepo};

/// `x` 1.0.0 released properly and in dev; by hand: 1.1.0 whose prompt.yaml does not parse,
/// 1.2.0 on a commit without the prompt, 1.3.0 whose system prompt file is missing, 1.4.0 whose
/// prompt.yaml parses but breaks a rule.
fn repo_with_broken_tags() -> TestRepo {
    let repo = TestRepo::init();
    repo.release("x", "1.0.0", "Hello {{ user_name }}");
    repo.promote("x", "1.0.0", "dev");
    let by_hand = |version: &str, content: Option<&str>| match content {
        Some(text) => {
            repo.write(&prompt_file("x"), text);
            repo.git(&["add", "-A"]);
            repo.git(&["commit", "-qm", &format!("by hand {version}")]);
            repo.git(&["tag", "-a", "-m", "by hand", &format!("x/v{version}")]);
        }
        None => {
            let root = repo.git(&["rev-list", "--max-parents=0", "HEAD"]);
            repo.git(&[
                "tag",
                "-a",
                "-m",
                "by hand",
                &format!("x/v{version}"),
                root.trim(),
            ]);
        }
    };
    by_hand("1.1.0", Some("summary: s\nsystem_prompt: [unclosed\n"));
    by_hand("1.2.0", None);
    by_hand("1.3.0", Some("summary: s\nsystem_prompt_file: gone.md\n"));
    by_hand(
        "1.4.0",
        Some("summary: s\nsystem_prompt: hi\ntemperature: 9\n"),
    );
    // The working copy back to a valid prompt, so only the tags are broken.
    repo.write(
        &prompt_file("x"),
        &prompt_yaml("x", "Hello {{ user_name }}"),
    );
    repo.git(&["commit", "-qam", "fixed"]);
    repo
}

#[test]
fn promote_refuses_a_release_that_cannot_be_served() {
    let repo = repo_with_broken_tags();
    for (version, cause) in [
        ("1.1.0", "caused by: prompts/x/prompt.yaml:2:"),
        ("1.2.0", "its commit has no `prompts/x`"),
        ("1.3.0", "gone.md"),
        ("1.4.0", "temperature"),
    ] {
        for force in [false, true] {
            let mut args = vec!["promote", "x", version, "--to", "dev", "--reason", "r"];
            if force {
                args.push("--force");
            }
            repo.refuses_unchanged(&args).stderr_has(&[
                &format!(
                    "error: cannot move dev of `x` to {version}: that release cannot be served"
                ),
                cause,
                "hint: nothing was changed; `promptreg validate` lists the broken tags",
            ]);
        }
    }
    // The valid release still serves.
    let fetched = repo.run(&["fetch", "x@dev", "--format", "json"]);
    fetched.ok();
    assert_eq!(fetched.json()["version"], "1.0.0");
}

#[test]
fn rollback_refuses_to_return_to_a_release_that_cannot_be_served() {
    let repo = repo_with_broken_tags();
    // dev held 1.1.0 through a hand edit of registry.yaml, then a newer valid 2.0.0: going
    // back from 2.0.0 means 1.1.0.
    let registry = repo.read("registry.yaml");
    repo.write(
        "registry.yaml",
        &registry.replace("dev: 1.0.0", "dev: 1.1.0"),
    );
    repo.git(&["commit", "-qam", "hand edit"]);
    repo.release("x", "2.0.0", "Hi {{ user_name }}");
    repo.promote("x", "2.0.0", "dev");
    for args in [
        vec!["rollback", "x", "--env", "dev", "--reason", "r"],
        vec![
            "rollback", "x", "--env", "dev", "--to", "1.1.0", "--reason", "r",
        ],
    ] {
        repo.refuses_unchanged(&args).stderr_has(&[
            "cannot move dev of `x` to 1.1.0: that release cannot be served",
            "hint: nothing was changed",
        ]);
    }
}

fn codes(repo: &TestRepo, args: &[&str]) -> Vec<(String, String)> {
    let out = repo.run(args);
    out.code(1);
    out.json()
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["file"].as_str().unwrap().to_owned(),
                f["code"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

fn pair(file: &str, code: &str) -> (String, String) {
    (file.to_owned(), code.to_owned())
}

#[test]
fn validate_of_a_prompt_reports_each_of_its_broken_tags() {
    let repo = repo_with_broken_tags();
    assert_eq!(
        codes(&repo, &["validate", "--format", "json", &prompt_file("x")]),
        [
            pair("refs/tags/x/v1.1.0", "tag-invalid-prompt"),
            pair("refs/tags/x/v1.2.0", "tag-without-prompt"),
            pair("refs/tags/x/v1.3.0", "tag-invalid-prompt"),
            pair("refs/tags/x/v1.4.0", "tag-invalid-prompt"),
        ]
    );
    let text = repo.run(&["validate", &prompt_file("x")]);
    for line in [
        "refs/tags/x/v1.1.0: error: its prompts/x/prompt.yaml does not parse: line 2, column ",
        "refs/tags/x/v1.3.0: error: a file its prompts/x/prompt.yaml names cannot be read: prompts/x/gone.md",
        "refs/tags/x/v1.4.0: error: its prompts/x/prompt.yaml breaks a rule: `temperature` is 9; it must be between 0 and 2; `fetch` cannot serve this version, and `promote` refuses it [tag-invalid-prompt]",
    ] {
        assert!(text.stdout.contains(line), "{line}\n{}", text.stdout);
    }
}

/// Over everything, the content of what is served is checked: pointer targets and `@latest`.
#[test]
fn validate_of_everything_reports_the_broken_tags_that_are_served() {
    let repo = repo_with_broken_tags();
    assert_eq!(
        codes(&repo, &["validate", "--format", "json"]),
        [
            pair("refs/tags/x/v1.2.0", "tag-without-prompt"),
            pair("refs/tags/x/v1.4.0", "tag-invalid-prompt"),
        ]
    );
    let registry = repo.read("registry.yaml");
    repo.write(
        "registry.yaml",
        &registry.replace("dev: 1.0.0", "dev: 1.1.0"),
    );
    assert_eq!(
        codes(&repo, &["validate", "--format", "json"]),
        [
            pair("refs/tags/x/v1.1.0", "tag-invalid-prompt"),
            pair("refs/tags/x/v1.2.0", "tag-without-prompt"),
            pair("refs/tags/x/v1.4.0", "tag-invalid-prompt"),
        ]
    );
}
