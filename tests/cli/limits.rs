//! Hostile templates: every render is bounded (steps, output bytes, call depth, and memory in a
//! worker process), so `validate`, `render`, `create` and `POST /api/prompts` stop quickly with a
//! clear error instead of spinning or growing without end — and a refused `create` changes nothing.

use std::fs::File;
use std::process::Stdio;
use std::time::{Duration, Instant};

use crate::serve::{get, send, Server};
use crate::support::{prompt_file, Output, TestRepo};

/// Generous for a debug build on a loaded machine; an unbounded render would take hours.
const BOUND: Duration = Duration::from_secs(10);

const NESTED_LOOP: &str =
    "{% for a in range(100000) %}{% for b in range(100000) %}x{% endfor %}{% endfor %}";
const ENDLESS_MACRO: &str = "{% macro f() %}{{ f() }}{% endmacro %}{{ f() }}";
const FAN_OUT_MACRO: &str =
    "{% macro f(n) %}{% if n %}{{ f(n - 1) }}{{ f(n - 1) }}{% endif %}{% endmacro %}{{ f(30) }}";
const WIDE_OUTPUT: &str = "{% for i in range(100) %}{{ 'x' * 1000000 }}{% endfor %}";

/// Memory bombs: few steps, no output, a value that doubles until it takes all memory.
const DOUBLING_LOOP: &str = "{% set ns = namespace(s='x' * 1000000) %}{% for i in range(8) %}{% set ns.s = ns.s ~ ns.s %}{% endfor %}done";
const DOUBLING_MACRO: &str =
    "{% macro f(s, n) %}{% if n %}{{ f(s ~ s, n - 1) }}{% endif %}{% endmacro %}{{ f('x', 40) }}done";

/// Forty straight-line `{% set x = x ~ x %}`: 2^40 bytes.
fn doubling_sets() -> String {
    format!(
        "{{% set x = 'x' %}}{}done",
        "{% set x = x ~ x %}".repeat(40)
    )
}

fn memory_bombs() -> [(&'static str, String); 3] {
    [
        ("loop", DOUBLING_LOOP.to_owned()),
        ("sets", doubling_sets()),
        ("macro", DOUBLING_MACRO.to_owned()),
    ]
}

/// What every memory-bomb error says.
const NEEDED_MEMORY: &str = "needed more than 256 MiB of memory";

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

#[test]
fn validate_reports_each_memory_bomb_and_goes_on() {
    let repo = TestRepo::init();
    for (name, template) in memory_bombs() {
        repo.write(&prompt_file(name), &hostile(&template));
    }
    // Checked after the bombs (files are checked in order): a fresh worker renders it.
    repo.write(
        &prompt_file("zz-fine"),
        &hostile("{% for i in range(3) %}{{ i }}{% endfor %}"),
    );
    let out = run_bounded(&repo, &["validate", "--format", "json"]);
    out.code(1);
    let findings = out.json();
    let findings = findings.as_array().expect("a list");
    for (name, _) in memory_bombs() {
        let file = prompt_file(name);
        let finding = findings
            .iter()
            .find(|f| f["file"] == file.as_str())
            .unwrap_or_else(|| panic!("no finding for {file}: {findings:?}"));
        assert_eq!(finding["code"], "template-limit", "{finding}");
        assert_eq!(finding["severity"], "error");
        assert_eq!(finding["line"], 2, "{finding}");
        let message = finding["message"].as_str().unwrap();
        assert!(message.contains(NEEDED_MEMORY), "{name}: {message}");
    }
    assert!(
        !findings
            .iter()
            .any(|f| f["file"] == prompt_file("zz-fine").as_str()),
        "{findings:?}"
    );
    assert_eq!(findings.len(), 3, "{findings:?}");
}

#[test]
fn render_refuses_each_memory_bomb() {
    let repo = TestRepo::init();
    for (name, template) in memory_bombs() {
        repo.write(&prompt_file(name), &hostile(&template));
        run_bounded(&repo, &["render", name, "--worktree"])
            .refused()
            .stderr_has(&[
                &format!("prompts/{name}/prompt.yaml: system_prompt"),
                "the template was stopped because",
                NEEDED_MEMORY,
                "hint: a render may use 256 MiB of memory",
            ]);
    }
}

#[test]
fn create_refuses_memory_bombs_and_changes_nothing() {
    let repo = TestRepo::init();
    for (name, template) in memory_bombs() {
        repo.write(&prompt_file(name), &hostile(&template));
        let before = repo.snapshot();
        run_bounded(&repo, &["create", name, "--version", "1.0.0", "-m", "m"])
            .refused()
            .stderr_has(&[&prompt_file(name), NEEDED_MEMORY, "[template-limit]"]);
        assert_eq!(
            repo.snapshot(),
            before,
            "{name}: a refused create changed nothing"
        );
    }
    repo.write(&prompt_file("fine"), &hostile("Hello {{ 'x' ~ 'y' }}"));
    repo.run(&["create", "fine", "--version", "1.0.0", "-m", "m"])
        .ok();
    repo.fsck();
}

/// Peak resident memory of a process (VmHWM), in bytes.
fn peak_rss(pid: u32) -> u64 {
    crate::support::proc_memory_kib(pid, "VmHWM") * 1024
}

#[test]
fn post_api_prompts_refuses_memory_bombs_and_the_server_stays_small() {
    let repo = TestRepo::init();
    repo.release("support/agent", "1.0.0", "Hello {{ user_name }}");
    let before = repo.snapshot();
    let server = Server::start(&repo, &["--allow-local-writes"]);
    let url = server.url("/api/prompts");
    for (name, template) in memory_bombs() {
        let body = serde_json::json!({
            "name": "support/agent", "version": "2.0.0", "description": "hostile",
            "system_prompt": template,
        });
        let started = Instant::now();
        let refused = send("POST", &url, None, &body);
        assert!(
            started.elapsed() < BOUND,
            "{name}: took {:?}",
            started.elapsed()
        );
        let answer = refused.json();
        assert_eq!(refused.status, 422, "{name}: {answer}");
        let said = answer.to_string();
        assert!(said.contains("template-limit"), "{answer}");
        assert!(said.contains(NEEDED_MEMORY), "{answer}");
    }
    // The templates ran elsewhere: the server itself never came near their gigabytes.
    let peak = peak_rss(server.pid());
    assert!(peak < 200 << 20, "server peak RSS {} MiB", peak >> 20);
    assert_eq!(repo.snapshot(), before, "refused writes changed nothing");
    let fetched = get(&server.url("/api/prompts/support/agent?version=1.0.0"));
    assert_eq!(fetched.status, 200, "{}", fetched.json());
    assert!(
        fetched.json().to_string().contains("Hello"),
        "{}",
        fetched.json()
    );
    let fine = serde_json::json!({
        "name": "support/agent", "version": "2.0.0", "description": "fine",
        "system_prompt": "Bye {{ user_name }}",
    });
    let created = send("POST", &url, None, &fine);
    assert_eq!(created.status, 201, "{}", created.json());
}

/// A render through the worker process gives exactly what an in-process render gives: text,
/// errors with their lines, and limits.
#[test]
fn the_worker_renders_exactly_as_in_process() {
    use crate::support::library::{render, Isolation, WorkerCommand};
    let isolation = Isolation::new(WorkerCommand {
        program: env!("CARGO_BIN_EXE_promptreg").into(),
        args: vec!["__template-worker".into()],
    });
    let values = serde_json::json!({
        "customer": "Zoë \"Ada\" Lovelace\n<b>",
        "items": (0..200).map(|i| serde_json::json!({"name": format!("item {i}"), "price": i as f64 * 0.1})).collect::<Vec<_>>(),
        "vip": true,
        "big": u64::MAX,
        "nested": {"a": [1, 2.5, null, "x"]},
    });
    let values = values.as_object().unwrap().clone();
    let sources = [
        "You help {{ customer }}.\n{% for item in items %}- {{ loop.index }}. {{ item.name | title }}: {{ item.price }}\n{% endfor %}{% if vip %}Be generous.{% endif %}",
        "{{ big }} {{ nested | tojson }} {{ nested.a[1] * 2 }} {{ customer | length }} {{ customer | escape }}",
        "{# comment #}{%- for k, v in nested | items %} {{ k }}={{ v }}{% endfor -%}\n\n",
        "line one\n{{ nobody }}",
        "line one\nline two\n{{ broken ",
        NESTED_LOOP,
        ENDLESS_MACRO,
        WIDE_OUTPUT,
    ];
    for source in sources {
        let here = render(source, &values);
        let there = isolation.render(source, &values);
        assert_eq!(there, here, "{source}");
    }
    // And the worker is the one doing it: it refuses a memory bomb the process here would run.
    let bomb = isolation.render(DOUBLING_MACRO, &values).unwrap_err();
    assert!(bomb.message.contains(NEEDED_MEMORY), "{bomb:?}");
    assert_eq!(isolation.render("{{ 1 + 1 }}", &values).unwrap(), "2");
}
