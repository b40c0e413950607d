//! Hostile templates: every render is bounded (steps, output bytes, call depth), so `validate`,
//! `render`, `create` and `POST /api/prompts` stop quickly with a clear error instead of spinning
//! or growing without end — and a refused `create` changes nothing.

use std::fs::File;
use std::process::Stdio;
use std::time::{Duration, Instant};

use crate::harness::{prompt_file, Output, TestRepo};
use crate::serve::{send, Server};

/// Generous for a debug build on a loaded machine; an unbounded render would take hours.
const BOUND: Duration = Duration::from_secs(10);

const NESTED_LOOP: &str =
    "{% for a in range(100000) %}{% for b in range(100000) %}x{% endfor %}{% endfor %}";
const ENDLESS_MACRO: &str = "{% macro f() %}{{ f() }}{% endmacro %}{{ f() }}";
const FAN_OUT_MACRO: &str =
    "{% macro f(n) %}{% if n %}{{ f(n - 1) }}{{ f(n - 1) }}{% endif %}{% endmacro %}{{ f(30) }}";
const WIDE_OUTPUT: &str = "{% for i in range(100) %}{{ 'x' * 1000000 }}{% endfor %}";

/// A prompt.yaml whose system prompt is `template`, on line 2.
fn hostile(template: &str) -> String {
    format!("summary: hostile\nsystem_prompt: \"{template}\"\n")
}

/// Runs promptreg, killing it when it overruns `BOUND` (then the test fails, it does not hang).
#[track_caller]
fn run_bounded(repo: &TestRepo, args: &[&str]) -> Output {
    let out_path = repo.tmp().join("bounded.stdout");
    let err_path = repo.tmp().join("bounded.stderr");
    let mut command = repo.command(args);
    command
        .stdout(Stdio::from(File::create(&out_path).unwrap()))
        .stderr(Stdio::from(File::create(&err_path).unwrap()));
    let started = Instant::now();
    let mut child = command.spawn().expect("spawn promptreg");
    let status = loop {
        if let Some(status) = child.try_wait().expect("try_wait") {
            break status;
        }
        if started.elapsed() > BOUND {
            let _ = child.kill();
            let _ = child.wait();
            panic!("`promptreg {}` ran for more than {BOUND:?}", args.join(" "));
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    Output {
        code: status.code().unwrap_or(-1),
        stdout: std::fs::read_to_string(&out_path).unwrap_or_default(),
        stderr: std::fs::read_to_string(&err_path).unwrap_or_default(),
    }
}

#[test]
fn validate_stops_each_runaway_template_with_a_finding() {
    let repo = TestRepo::init();
    let cases = [
        ("loop", NESTED_LOOP, "steps"),
        ("endless", ENDLESS_MACRO, "levels deep"),
        ("fan", FAN_OUT_MACRO, "steps"),
        ("wide", WIDE_OUTPUT, "bytes"),
    ];
    for (name, template, _) in cases {
        repo.write(&prompt_file(name), &hostile(template));
    }
    let out = run_bounded(&repo, &["validate", "--format", "json"]);
    out.code(1);
    let findings = out.json();
    let findings = findings.as_array().expect("a list");
    for (name, _, says) in cases {
        let file = prompt_file(name);
        let finding = findings
            .iter()
            .find(|f| f["file"] == file.as_str())
            .unwrap_or_else(|| panic!("no finding for {file}: {findings:?}"));
        assert_eq!(finding["code"], "template-limit", "{finding}");
        assert_eq!(finding["severity"], "error");
        assert_eq!(finding["line"], 2, "{finding}");
        let message = finding["message"].as_str().unwrap();
        assert!(message.contains(says), "{name}: {message}");
        assert!(message.starts_with("the system prompt"), "{message}");
    }
    // The text form names file:line:column and the code.
    let text = run_bounded(&repo, &["validate", &prompt_file("loop")]);
    text.code(1);
    assert!(
        text.stdout
            .starts_with("prompts/loop/prompt.yaml:2:17: error: the system prompt, rendered with defaults, was stopped because it ran for more than 1000000 steps"),
        "{}",
        text.stdout
    );
    assert!(text.stdout.contains("[template-limit]"), "{}", text.stdout);
}

#[test]
fn a_template_in_a_file_is_reported_in_that_file() {
    let repo = TestRepo::init();
    repo.write(
        &prompt_file("filed"),
        "summary: s\nsystem_prompt_file: system.md\n",
    );
    repo.write(
        "prompts/filed/system.md",
        &format!("Intro line\n\n{ENDLESS_MACRO}\n"),
    );
    let out = run_bounded(&repo, &["validate"]);
    out.code(1);
    assert!(
        out.stdout.starts_with("prompts/filed/system.md:3:"),
        "{}",
        out.stdout
    );
    assert!(out.stdout.contains("[template-limit]"), "{}", out.stdout);
}

#[test]
fn an_ordinary_loop_is_not_a_limit() {
    let repo = TestRepo::init();
    repo.write(
        &prompt_file("fine"),
        "summary: s\nsystem_prompt: \"{% for i in range(2000) %}{{ i }} {% endfor %}\"\ntoken_budget: 100000\n",
    );
    run_bounded(&repo, &["validate", &prompt_file("fine")]).ok();
}

#[test]
fn render_stops_with_a_clear_error() {
    let repo = TestRepo::init();
    for (name, template, says) in [
        ("loop", NESTED_LOOP, "more than 1000000 steps"),
        ("endless", ENDLESS_MACRO, "levels deep"),
        ("wide", WIDE_OUTPUT, "bytes"),
    ] {
        repo.write(&prompt_file(name), &hostile(template));
        run_bounded(&repo, &["render", name, "--worktree"])
            .refused()
            .stderr_has(&[
                &format!("prompts/{name}/prompt.yaml: system_prompt"),
                "the template was stopped because",
                says,
                "hint: every render is bounded to 1000000 steps",
            ]);
    }
}

/// A release made behind promptreg's back (a plain commit and tag) still renders bounded.
#[test]
fn render_of_a_hand_made_release_is_bounded() {
    let repo = TestRepo::init();
    repo.write(&prompt_file("loop"), &hostile(NESTED_LOOP));
    repo.git(&["add", "-A"]);
    repo.git(&["commit", "-qm", "hostile"]);
    repo.git(&["tag", "-a", "-m", "by hand", "loop/v1.0.0"]);
    run_bounded(&repo, &["render", "loop@1.0.0"])
        .refused()
        .stderr_has(&["the template was stopped because", "steps"]);
}

#[test]
fn create_refuses_and_changes_nothing() {
    let repo = TestRepo::init();
    for (name, template) in [
        ("loop", NESTED_LOOP),
        ("endless", ENDLESS_MACRO),
        ("fan", FAN_OUT_MACRO),
        ("wide", WIDE_OUTPUT),
    ] {
        repo.write(&prompt_file(name), &hostile(template));
        let before = repo.snapshot();
        run_bounded(&repo, &["create", name, "--version", "1.0.0", "-m", "m"])
            .refused()
            .stderr_has(&[&prompt_file(name), "[template-limit]"]);
        assert_eq!(
            repo.snapshot(),
            before,
            "{name}: a refused create changed nothing"
        );
    }
    // Nothing was left locked: the next release goes through.
    repo.write(&prompt_file("fine"), &hostile("Hello"));
    repo.run(&["create", "fine", "--version", "1.0.0", "-m", "m"])
        .ok();
    repo.fsck();
}

#[test]
fn post_api_prompts_refuses_quickly_and_keeps_serving() {
    let repo = TestRepo::init();
    repo.release("support/agent", "1.0.0", "Hello {{ user_name }}");
    let before = repo.snapshot();
    let server = Server::start(&repo, &["--allow-local-writes"]);
    let url = server.url("/api/prompts");
    for template in [NESTED_LOOP, ENDLESS_MACRO, WIDE_OUTPUT] {
        let body = serde_json::json!({
            "name": "support/agent", "version": "2.0.0", "description": "hostile",
            "system_prompt": template,
        });
        let started = Instant::now();
        let refused = send("POST", &url, None, &body);
        assert!(started.elapsed() < BOUND, "took {:?}", started.elapsed());
        let answer = refused.json();
        assert_eq!(refused.status, 422, "{answer}");
        assert!(answer.to_string().contains("template-limit"), "{answer}");
    }
    assert_eq!(repo.snapshot(), before, "refused writes changed nothing");
    // The lock is free: an ordinary release goes through at once.
    let fine = serde_json::json!({
        "name": "support/agent", "version": "2.0.0", "description": "fine",
        "system_prompt": "Bye {{ user_name }}",
    });
    let created = send("POST", &url, None, &fine);
    assert_eq!(created.status, 201, "{}", created.json());
}
