//! `promptreg schema`, `promptreg completions` and `completions --man`.

use std::path::{Path, PathBuf};

use jsonschema::Validator;
use serde_json::Value;

use crate::support::library::{yaml, PromptFile, PromptName, Registry, Results};
use crate::support::TestRepo;

/// The schema `promptreg schema [which]` prints, checked against the draft 2020-12 meta-schema.
fn schema(which: &[&str]) -> Value {
    let mut args = vec!["schema"];
    args.extend(which);
    let out = TestRepo::bare_dir().run(&args);
    out.ok();
    assert_eq!(out.stderr, "");
    let schema = out.json();
    if let Err(e) = jsonschema::meta::validate(&schema) {
        panic!("not a valid JSON Schema: {e}\n{schema:#}");
    }
    assert_eq!(
        schema["$schema"],
        "https://json-schema.org/draft/2020-12/schema"
    );
    assert!(schema["$id"].is_string() && schema["title"].is_string());
    schema
}

fn validator(schema: &Value) -> Validator {
    jsonschema::draft202012::new(schema).expect("the schema compiles")
}

/// YAML as promptreg reads it, as JSON.
fn yaml(text: &str) -> Value {
    yaml::parse(text.as_bytes(), Path::new("test.yaml")).expect("YAML")
}

fn errors(validator: &Validator, instance: &Value) -> Vec<String> {
    validator
        .iter_errors(instance)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect()
}

fn example_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("prompts.example")
}

fn prompt_files(dir: &Path, found: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("read_dir") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            prompt_files(&path, found);
        } else if path.file_name().is_some_and(|n| n == "prompt.yaml") {
            found.push(path);
        }
    }
}

#[test]
fn example_prompts_validate_against_the_prompt_schema() {
    let schema = schema(&[]);
    assert_eq!(schema, self::schema(&["prompt"]), "prompt is the default");
    let validator = validator(&schema);
    let mut files = Vec::new();
    prompt_files(&example_dir().join("prompts"), &mut files);
    assert!(files.len() >= 4, "{files:?}");
    for file in files {
        let text = std::fs::read_to_string(&file).expect("read");
        let errors = errors(&validator, &yaml(&text));
        assert!(errors.is_empty(), "{}: {errors:#?}", file.display());
    }
}

#[test]
fn prompt_schema_knows_keys_types_ranges_and_roles() {
    let schema = schema(&["prompt"]);
    assert_eq!(schema["additionalProperties"], false);
    let properties = &schema["properties"];
    assert_eq!(properties["temperature"]["minimum"], 0.0);
    assert_eq!(properties["temperature"]["maximum"], 2.0);
    assert_eq!(properties["token_budget"]["minimum"], 1);
    let role = &properties["messages"]["items"]["properties"]["role"];
    assert_eq!(
        role["enum"],
        serde_json::json!(["system", "user", "assistant"])
    );
    assert!(
        properties["temperature"]["description"]
            .as_str()
            .is_some_and(|d| d.contains("between 0 and 2")),
        "descriptions come from the doc comments: {schema:#}"
    );
}

/// Each case: the schema and promptreg's own parser agree on whether it is valid.
#[test]
fn prompt_schema_accepts_and_rejects_what_promptreg_does() {
    let validator = validator(&schema(&[]));
    let base = "summary: s\nsystem_prompt: Hi {{ name }}\n";
    let cases: &[(&str, bool)] = &[
        ("", true),
        ("temperature: 0\ntoken_budget: 1\n", true),
        ("temperature: 2\n", true),
        ("temperature: 1\n", true),
        ("messages: [{role: user, content: x}]\n", true),
        ("variables:\n  _x1: {required: false, default: 30}\n", true),
        (
            "variables:\n  name: {description: d, default: true}\n",
            true,
        ),
        ("examples: [{input: a, output: b}, 3]\n", true),
        ("temprature: 0.3\n", false),
        ("temperature: 5\n", false),
        ("temperature: -0.1\n", false),
        ("temperature: warm\n", false),
        ("token_budget: 0\n", false),
        ("token_budget: -3\n", false),
        ("messages: [{role: robot, content: x}]\n", false),
        ("messages: [{role: User, content: x}]\n", false),
        ("messages: [{role: user}]\n", false),
        ("messages: [{role: user, content: x, name: y}]\n", false),
        ("variables:\n  1x: {}\n", false),
        ("variables:\n  a-b: {}\n", false),
        ("variables:\n  x: {requird: false}\n", false),
        ("variables:\n  x: {default: [1, 2]}\n", false),
        ("variables:\n  x: {required: maybe}\n", false),
        ("system_prompt_file: system.md\n", false),
        ("examples: []\nexamples_file: examples.yaml\n", false),
        ("tags: support\n", false),
        ("metadata: [a]\n", false),
    ];
    for (extra, valid) in cases {
        check_prompt(&validator, &format!("{base}{extra}"), *valid);
    }
    let without_system_prompt: &[(&str, bool)] = &[
        ("system_prompt_file: system.md\n", true),
        ("system_prompt_file: parts/.hidden/..system.md\n", true),
        ("messages: [{role: user, content: x}]\n", true),
        ("summary: nothing to send\n", false),
        ("messages: []\n", false),
        ("system_prompt_file: ../system.md\n", false),
        ("system_prompt_file: parts/./system.md\n", false),
        ("system_prompt_file: parts//system.md\n", false),
        ("system_prompt_file: /etc/passwd\n", false),
        ("system_prompt_file: parts\\system.md\n", false),
        ("system_prompt_file: prompt.yaml\n", false),
        ("system_prompt_file: sub/prompt.yaml\n", false),
        (
            "messages: [{role: user, content: x}]\nexamples_file: ../examples.yaml\n",
            false,
        ),
    ];
    for (text, valid) in without_system_prompt {
        check_prompt(&validator, text, *valid);
    }
}

#[track_caller]
fn check_prompt(validator: &Validator, text: &str, valid: bool) {
    let errors = errors(validator, &yaml(text));
    assert_eq!(errors.is_empty(), valid, "schema on {text:?}: {errors:#?}");
    let parsed = PromptFile::parse(text.as_bytes(), Path::new("prompts/x/prompt.yaml"));
    assert_eq!(parsed.is_ok(), valid, "promptreg on {text:?}: {parsed:?}");
}

#[test]
fn registry_schema_accepts_and_rejects_what_promptreg_does() {
    let validator = validator(&schema(&["registry"]));
    let example = std::fs::read_to_string(example_dir().join("registry.yaml")).expect("read");
    let demo_dir = TestRepo::bare_dir();
    let demo = demo_dir.tmp().join("demo");
    demo_dir
        .run(&["init", "--example", &demo.to_string_lossy()])
        .ok();
    let demo = std::fs::read_to_string(demo.join("registry.yaml")).expect("read");
    assert!(demo.contains("production:"), "{demo}");
    let full = "format: 1\nenvironments: [dev, qa, production]\nprompts:\n  customer-support:\n    qa: 2.1.0\n    production: v2.0.0\n  support/refund-agent:\n    dev: 1.2.0-rc.1\n  empty:\naccess:\n  groups:\n    release-managers: [alice@example.com, \"*@ops.example.com\"]\n  environments:\n    production: [release-managers]\n  domains:\n    support:\n      production: [lead@example.com, release-managers]\n";
    let cases: Vec<(&str, bool)> = vec![
        (&example, true),
        (&demo, true),
        (full, true),
        ("format: 1\n", true),
        ("format: 1\nprompts:\naccess:\n", true),
        ("format: 2\n", false),
        ("environments: [dev]\n", false),
        ("format: 1\npromts: {}\n", false),
        ("format: 1\nenvironments: []\n", false),
        ("format: 1\nenvironments: [dev, dev]\n", false),
        ("format: 1\nenvironments: [dev, latest]\n", false),
        ("format: 1\nenvironments: [Dev]\n", false),
        ("format: 1\nprompts:\n  x:\n    dev: 1.2\n", false),
        ("format: 1\nprompts:\n  x:\n    dev: 1.2.3+build\n", false),
        ("format: 1\nprompts:\n  x:\n    dev: 01.2.3\n", false),
        ("format: 1\nprompts:\n  Bad_Name:\n    dev: 1.0.0\n", false),
        ("format: 1\nprompts:\n  a/b/c/d/e:\n    dev: 1.0.0\n", false),
        ("format: 1\naccess:\n  group: {}\n", false),
        ("format: 1\naccess:\n  groups:\n    g: [nobody]\n", false),
        ("format: 1\naccess:\n  groups:\n    a@b: [x@y.z]\n", false),
    ];
    let split = |entries: &str| {
        format!(
            "format: 1\nprompts:\n  x:\n    dev: 1.0.0\n    production:\n      split:\n{entries}"
        )
    };
    let canary =
        split("        - {version: 1.0.0, percent: 90}\n        - {version: 1.1.0, percent: 10}\n");
    let thirds = split("        - {version: 1.0.0, percent: 33.33}\n        - version: 1.1.0\n          percent: 33.33\n        - {version: 2.0.0-rc.1, percent: 33.34}\n");
    let flow = "format: 1\nprompts:\n  x: {dev: {split: [{version: 1.0.0, percent: 0.29}, {version: 1.1.0, percent: 99.71}]}}\n".to_owned();
    let splits: Vec<(String, bool)> = vec![
        (canary, true),
        (thirds, true),
        (flow, true),
        (split("        - {version: 1.0.0, percent: 100}\n"), false),
        (split("        - {version: 1.0.0, percent: 100}\n        - {version: 1.1.0, percent: 0}\n"), false),
        (split("        - {version: 1.0.0, percent: 150}\n        - {version: 1.1.0, percent: -50}\n"), false),
        (split("        - {version: 1.0.0, percent: 90}\n        - {version: 1.1.0, weight: 10}\n"), false),
        (split("        - {version: 1.0.0, percent: 90}\n        - {version: 1.1.0}\n"), false),
        (split("        - {version: 1.0.0, percent: 90}\n        - {version: '1.1', percent: 10}\n"), false),
        (split("        - {version: 1.0.0, percent: 90}\n        - {version: 1.1.0, percent: ten}\n"), false),
        ("format: 1\nprompts:\n  x:\n    dev: {splits: []}\n".to_owned(), false),
        ("format: 1\nprompts:\n  x:\n    dev: {split: [], version: 1.0.0}\n".to_owned(), false),
    ];
    let cases = cases
        .into_iter()
        .map(|(text, valid)| (text.to_owned(), valid))
        .chain(splits);
    for (text, valid) in cases {
        let errors = errors(&validator, &yaml(&text));
        assert_eq!(errors.is_empty(), valid, "schema on {text:?}: {errors:#?}");
        let parsed = Registry::parse(text.as_bytes(), Path::new("registry.yaml"));
        assert_eq!(parsed.is_ok(), valid, "promptreg on {text:?}: {parsed:?}");
    }
    // Beyond a schema's reach: the sum, distinct versions, two decimals. The schema accepts
    // them; promptreg refuses them with `bad-split` (and `validate` says where).
    for entries in [
        "        - {version: 1.0.0, percent: 90}\n        - {version: 1.1.0, percent: 20}\n",
        "        - {version: 1.0.0, percent: 50}\n        - {version: 1.0.0, percent: 50}\n",
        "        - {version: 1.0.0, percent: 87.655}\n        - {version: 1.1.0, percent: 12.345}\n",
    ] {
        let text = split(entries);
        let errors = errors(&validator, &yaml(&text));
        assert!(errors.is_empty(), "schema on {text:?}: {errors:#?}");
        assert!(
            Registry::parse(text.as_bytes(), Path::new("registry.yaml")).is_err(),
            "{text:?}"
        );
    }
}

#[test]
fn results_schema_accepts_and_rejects_what_promptreg_does() {
    let validator = validator(&schema(&["results"]));
    let demo_dir = TestRepo::bare_dir();
    let demo = demo_dir.tmp().join("demo");
    demo_dir
        .run(&["init", "--example", &demo.to_string_lossy()])
        .ok();
    let recorded =
        std::fs::read_to_string(demo.join("results/support/refund-agent.yaml")).expect("read");
    let name = PromptName::parse("x").expect("name");
    let run = "    - {test: golden, passed: 1, failed: 0, tested_at: \"2026-01-01T00:00:00Z\", tested_by: a@b.c, source: manual";
    let head = "format: 1\nprompt: x\nversions:\n  \"1.0.0\":\n";
    let cases: Vec<(String, bool)> = vec![
        (
            recorded.replace("prompt: \"support/refund-agent\"", "prompt: \"x\""),
            true,
        ),
        ("format: 1\nprompt: x\nversions: {}\n".into(), true),
        (format!("{head}{run}}}\n"), true),
        (
            format!("{head}{run}, errored: 2, avg_score: 0.5, url: \"https://ci/1\"}}\n"),
            true,
        ),
        ("format: 2\nprompt: x\n".into(), false),
        ("format: 1\nprompt: x\nversion: {}\n".into(), false),
        (format!("{head}{run}, flaky: 1}}\n"), false),
        (
            format!("{head}{run}, passed: -1}}\n").replace("passed: 1, ", ""),
            false,
        ),
        (
            "format: 1\nprompt: x\nversions:\n  \"1.0\": []\n".into(),
            false,
        ),
    ];
    for (text, valid) in cases {
        let errors = errors(&validator, &yaml(&text));
        assert_eq!(errors.is_empty(), valid, "schema on {text:?}: {errors:#?}");
        let parsed = Results::parse(text.as_bytes(), Path::new("r"), &name);
        assert_eq!(parsed.is_ok(), valid, "promptreg on {text:?}: {parsed:?}");
    }
}

#[test]
fn schema_prints_only_json() {
    TestRepo::bare_dir()
        .run(&["schema", "--format", "yaml"])
        .usage();
    TestRepo::bare_dir().run(&["schema", "prompts"]).usage();
}

#[test]
fn completions_cover_every_shell_and_subcommand() {
    let dir = TestRepo::bare_dir();
    for shell in ["bash", "zsh", "fish", "powershell", "elvish"] {
        let out = dir.run(&["completions", shell]);
        out.ok();
        assert_eq!(out.stderr, "", "{shell}");
        for word in ["promptreg", "promote", "rollback", "completions", "repo"] {
            assert!(out.stdout.contains(word), "{shell} lacks {word}");
        }
    }
}

#[test]
fn completions_man_prints_the_man_page() {
    let out = TestRepo::bare_dir().run(&["completions", "--man"]);
    out.ok();
    let first = out.stdout.lines().next().unwrap_or_default();
    assert!(
        first.starts_with('.'),
        "roff starts with a request: {first:?}"
    );
    assert!(
        out.stdout.lines().any(|l| l.starts_with(".TH promptreg 1")),
        "{}",
        out.stdout
    );
    for word in [".SH NAME", ".SH SYNOPSIS", "promote", "rollback"] {
        assert!(out.stdout.contains(word), "man page lacks {word}");
    }
}

#[test]
fn completions_need_a_shell_or_man() {
    let dir = TestRepo::bare_dir();
    dir.run(&["completions"]).usage();
    dir.run(&["completions", "tcsh"]).usage();
    dir.run(&["completions", "bash", "--man"]).usage();
}

/// Every key of every object in `value`.
fn keys(value: &Value, found: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            for (key, value) in map {
                found.push(key.clone());
                keys(value, found);
            }
        }
        Value::Array(items) => items.iter().for_each(|v| keys(v, found)),
        _ => {}
    }
}

/// Older YAML language servers read draft-07 only, and some versions resolve `$ref` badly.
#[test]
fn schemas_use_only_keywords_older_editors_know() {
    for which in ["prompt", "registry", "results"] {
        let mut found = Vec::new();
        keys(&schema(&[which]), &mut found);
        for newer in [
            "$ref",
            "$defs",
            "$anchor",
            "$dynamicRef",
            "prefixItems",
            "unevaluatedProperties",
            "unevaluatedItems",
            "dependentSchemas",
            "dependentRequired",
        ] {
            assert!(!found.iter().any(|k| k == newer), "{which} uses {newer}");
        }
    }
}
