//! Issue 12, the reads that gave quiet wrong answers: templates that compile but can never
//! render, `fetch --format text` of a messages-only prompt, history's reason of a hand edit,
//! versions' pass rate against the gates, and JSON consistency.

use serde_json::Value;

use crate::support::{prompt_file, TestRepo};

fn prompt_with(system_prompt: &str) -> String {
    format!("summary: s\nmodel: m\nsystem_prompt: \"{system_prompt}\"\nvariables:\n  v: {{}}\n")
}

/// Each template that compiles but could never render: `validate` reports it at the name, with
/// its code; `create` refuses it and releases nothing.
#[test]
fn templates_using_what_the_renderer_lacks_are_refused() {
    for (template, code, column, words) in [
        (
            "{{ v | nosuchfilter }}",
            "unknown-filter",
            24,
            "the filter `nosuchfilter`",
        ),
        (
            "{{ v }}{% if v is nosuchtest %}x{% endif %}",
            "unknown-test",
            35,
            "`is nosuchtest`",
        ),
        (
            "{{ v }}{{ nosuchfn() }}",
            "unknown-function",
            27,
            "`nosuchfn()`",
        ),
        (
            "{{ v }}{% include 'footer.md' %}",
            "template-include",
            27,
            "`{% include %}`",
        ),
        (
            "{{ v }}{% import 'm.j2' as m %}",
            "template-include",
            27,
            "`{% import %}`",
        ),
        (
            "{% extends 'base.j2' %}{{ v }}",
            "template-include",
            20,
            "`{% extends %}`",
        ),
        ("{{ v | tojson }}", "unknown-filter", 24, "`tojson`"),
        (
            "{{ v.split(',') }}",
            "unknown-method",
            22,
            "the method `split()`",
        ),
    ] {
        let repo = TestRepo::init();
        repo.write(&prompt_file("x"), &prompt_with(template));
        let out = repo.run(&["validate", "--format", "json"]);
        out.code(1);
        let report = out.json();
        let findings = report.as_array().expect("findings");
        assert_eq!(findings.len(), 1, "{template}: {report}");
        let finding = &findings[0];
        assert_eq!(finding["code"], code, "{template}: {finding}");
        assert_eq!(finding["severity"], "error");
        assert_eq!(finding["file"], "prompts/x/prompt.yaml");
        assert_eq!(finding["line"], 3, "{template}: {finding}");
        assert_eq!(finding["column"], column, "{template}: {finding}");
        let message = finding["message"].as_str().unwrap();
        assert!(message.contains(words), "{template}: {message}");

        let refused = repo.refuses_unchanged(&["create", "x", "--version", "1.0.0", "-m", "m"]);
        refused.stderr_has(&[code, words]);
        assert!(
            repo.git(&["tag", "-l"]).trim().is_empty(),
            "{template}: a tag was made"
        );
    }
}

/// What the renderer has passes: built-in filters, tests, functions, macros, `set`, messages.
#[test]
fn templates_using_what_the_renderer_has_pass() {
    let repo = TestRepo::init();
    repo.write(
        &prompt_file("x"),
        "summary: s\nmodel: m\nsystem_prompt: |\n  {% macro m(a) %}{{ a | upper }}{% endmacro %}{% set f = m %}\n  {{ f(v) }}{% for i in range(2) %}{{ loop.index }}{% endfor %}{% if v is defined and v is string %}{{ v | default('x') | trim }}{% endif %}\n  {% filter lower %}X{% endfilter %}{{ dict(a=1) | length }}\nmessages:\n  - role: user\n    content: \"{{ v | title }}\"\nvariables:\n  v: {}\n",
    );
    repo.run(&["validate"]).ok();
    repo.run(&["create", "x", "--version", "1.0.0", "-m", "m"])
        .ok();
    repo.run(&["render", "x@latest", "--var", "v=Ada"]).ok();
}

/// A system prompt file is checked too, at its own position.
#[test]
fn a_system_prompt_file_is_checked_at_its_line() {
    let repo = TestRepo::init();
    repo.write(
        &prompt_file("x"),
        "summary: s\nmodel: m\nsystem_prompt_file: system.md\nvariables:\n  v: {}\n",
    );
    repo.write("prompts/x/system.md", "Hello {{ v }}\n\n{{ v | nosuch }}\n");
    let out = repo.run(&["validate", "--format", "json"]);
    out.code(1);
    let finding = out.json()[0].clone();
    assert_eq!(finding["file"], "prompts/x/system.md", "{finding}");
    assert_eq!(
        (finding["line"].clone(), finding["column"].clone()),
        (Value::from(3), Value::from(8))
    );
    assert_eq!(finding["code"], "unknown-filter");
}

/// A hand edit whose message is a subject alone shows that subject as its reason; promptreg's
/// own commits (generated subjects) show their body, or nothing.
#[test]
fn history_reason_of_a_subject_only_hand_edit_is_its_subject() {
    let repo = TestRepo::init();
    repo.release("x", "1.0.0", "one");
    repo.promote("x", "1.0.0", "dev");
    repo.record_run("x@1.0.0", "golden", 9, 1);
    let registry = repo.read("registry.yaml");
    let edited: String = registry
        .lines()
        .filter(|line| !line.contains("1.0.0"))
        .map(|line| format!("{line}\n"))
        .collect();
    assert_ne!(edited, registry, "no pointer line in:\n{registry}");
    repo.commit_by_hand("registry.yaml", &edited, "drop x from dev");

    let out = repo.run(&["history", "x", "--format", "json"]);
    out.ok();
    let events = out.json();
    let reason_of = |event: &str| -> Vec<String> {
        events
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["event"] == event)
            .map(|e| e["reason"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(reason_of("demoted"), ["drop x from dev"], "{events}");
    assert_eq!(reason_of("promoted"), ["test"], "{events}");
    assert_eq!(reason_of("tested"), [""], "{events}");

    let table = repo.run(&["history", "x"]);
    table.ok();
    assert!(table.stdout.contains("drop x from dev"), "{}", table.stdout);
}

/// `fetch --format text` of a prompt with messages prints them, one `[role]` block each, after
/// the system prompt (as `render` lays them out); a system prompt alone is printed as it is.
#[test]
fn fetch_text_prints_messages_with_their_roles() {
    let repo = TestRepo::init();
    repo.write(
        &prompt_file("chat"),
        "summary: s\nmodel: m\nmessages:\n  - role: user\n    content: \"Hi {{ v }}\"\n  - role: assistant\n    content: |\n      Hello.\n      How can I help?\nvariables:\n  v: {}\n",
    );
    repo.run(&["create", "chat", "--version", "1.0.0", "-m", "m"])
        .ok();
    let out = repo.run(&["fetch", "chat@1.0.0", "--format", "text"]);
    out.ok();
    assert_eq!(
        out.stdout,
        "[user]\nHi {{ v }}\n\n[assistant]\nHello.\nHow can I help?\n"
    );

    repo.write(
        &prompt_file("both"),
        "summary: s\nmodel: m\nsystem_prompt: \"Be brief.\"\nmessages:\n  - role: user\n    content: Hi\n",
    );
    repo.run(&["create", "both", "--version", "1.0.0", "-m", "m"])
        .ok();
    let out = repo.run(&["fetch", "both@1.0.0", "--format", "text"]);
    out.ok();
    assert_eq!(out.stdout, "Be brief.\n\n[user]\nHi\n");

    repo.release("plain", "1.0.0", "Just text.");
    let out = repo.run(&["fetch", "plain@1.0.0", "--format", "text"]);
    out.ok();
    assert_eq!(out.stdout, "Just text.\n");
}

/// `versions` shows what a gate judges: the worst test's pass rate, not all cases pooled (one
/// test at 66.7% fails a 90% gate whatever the others do). The JSON keeps the pooled
/// `pass_rate` and adds the worst.
#[test]
fn versions_pass_rate_is_the_worst_test_as_gates_judge() {
    let repo = TestRepo::init();
    repo.release("x", "1.0.0", "one");
    repo.release("x", "2.0.0", "two");
    repo.record_run("x@1.0.0", "golden", 100, 0);
    repo.record_run("x@1.0.0", "edge", 2, 1);
    repo.record_run("x@1.0.0", "smoke", 40, 0);
    repo.record_run("x@2.0.0", "golden", 9, 1);

    let table = repo.run(&["versions", "x"]);
    table.ok();
    let row = |version: &str| {
        table
            .stdout
            .lines()
            .find(|l| l.trim_start().starts_with(version))
            .unwrap_or_else(|| panic!("no {version} row in\n{}", table.stdout))
            .to_owned()
    };
    assert!(
        row("1.0.0").contains("66.7% (worst of 3)"),
        "{}",
        table.stdout
    );
    assert!(row("2.0.0").contains("90.0% (1 test)"), "{}", table.stdout);

    let out = repo.run(&["versions", "x", "--format", "json"]);
    out.ok();
    let rows = out.json();
    let first = &rows[0];
    assert_eq!(first["tests"], 3, "a count, as documented");
    assert_eq!(
        first["pass_rate"],
        Value::from(142.0 / 143.0),
        "pooled, unchanged"
    );
    assert_eq!(first["worst_test"], "edge");
    assert_eq!(first["worst_pass_rate"], Value::from(2.0 / 3.0));
    assert_eq!(rows[1]["worst_test"], "golden");

    // The gate agrees: with min_pass_rate 0.9, 1.0.0 is held back by `edge`.
    let registry = repo.read("registry.yaml");
    assert!(!registry.contains("policy"), "{registry}");
    repo.commit_by_hand(
        "registry.yaml",
        &format!("{registry}policy:\n  dev:\n    min_pass_rate: 0.9\n"),
        "gate dev",
    );
    repo.refuses_unchanged(&["promote", "x", "1.0.0", "--to", "dev", "--reason", "r"])
        .stderr_has(&["`edge` pass rate 66.6"]);
}

/// A version never tested has no worst test.
#[test]
fn versions_never_tested_has_no_worst() {
    let repo = TestRepo::init();
    repo.release("x", "1.0.0", "one");
    let rows = repo.run(&["versions", "x", "--format", "json"]).json();
    assert_eq!(rows[0]["worst_pass_rate"], Value::Null);
    assert_eq!(rows[0]["worst_test"], Value::Null);
    assert_eq!(rows[0]["tests"], 0);
}

/// A run recorded at the clock's time has `tested_at` in whole seconds, the commit's own time,
/// like `created_at` (it had the clock's nanoseconds); a time given with `--at` is kept as
/// given.
#[test]
fn tested_at_from_the_clock_has_whole_seconds() {
    let repo = TestRepo::init();
    repo.release("x", "1.0.0", "one");
    let clock = ["GIT_AUTHOR_DATE", "GIT_COMMITTER_DATE"];
    repo.run_with(
        &[
            "results", "record", "x@1.0.0", "--test", "t", "--passed", "1", "--failed", "0",
        ],
        &[],
        &clock,
    )
    .ok();
    let record = repo.run(&["fetch", "x@1.0.0", "--format", "json"]).json();
    let tested_at = record["tests"][0]["tested_at"].as_str().unwrap().to_owned();
    let committed = repo.git(&["log", "-1", "--format=%at", "--", "results"]);
    let at = chrono::DateTime::parse_from_rfc3339(&tested_at).expect("RFC 3339");
    assert_eq!(
        at.timestamp().to_string(),
        committed.trim(),
        "tested_at is the commit's time"
    );
    assert!(!tested_at.contains('.'), "{tested_at}");

    repo.run(&[
        "results",
        "record",
        "x@1.0.0",
        "--test",
        "u",
        "--passed",
        "1",
        "--failed",
        "0",
        "--at",
        "2026-11-24T10:00:00.250Z",
    ])
    .ok();
    let record = repo.run(&["fetch", "x@1.0.0", "--format", "json"]).json();
    let given = record["tests"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["test"] == "u")
        .unwrap()["tested_at"]
        .clone();
    assert_eq!(given, "2026-11-24T10:00:00.250+00:00");
}
