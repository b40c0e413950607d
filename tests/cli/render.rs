//! `promptreg render`: strict variables, values from flags and files, both formats, selectors,
//! the working tree, and errors.

use serde::Deserialize;

use crate::support::{prompt_file, TestRepo};

/// `render --format json`, pinned: an unknown key fails to parse.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Chat {
    id: String,
    model: Option<String>,
    temperature: f64,
    messages: Vec<ChatMessage>,
}

#[derive(Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
struct ChatMessage {
    role: String,
    content: String,
}

const AGENT: &str = "\
model: gpt-4o
temperature: 0.3
system_prompt: |
  You work for {{ company }}. Refunds within {{ days }} days.{% if note %} {{ note }}{% endif %}
messages:
  - role: user
    content: \"Customer: {{ message }}\"
  - role: assistant
    content: Noted.
variables:
  company: {description: The company}
  message: {description: The customer's message}
  days: {required: false, default: 30}
  note: {required: false}
";

/// `agent` released as 1.0.0 (in production) with the prompt above.
fn agent_repo() -> TestRepo {
    let repo = TestRepo::init();
    repo.write(&prompt_file("agent"), AGENT);
    repo.run(&["create", "agent", "--version", "1.0.0", "-m", "m"])
        .ok();
    repo.promote_through_pipeline("agent", "1.0.0");
    repo
}

#[track_caller]
fn chat(repo: &TestRepo, args: &[&str]) -> Chat {
    let mut full = vec!["render"];
    full.extend_from_slice(args);
    full.extend_from_slice(&["--format", "json"]);
    let out = repo.run(&full);
    out.ok();
    serde_json::from_str(&out.stdout)
        .unwrap_or_else(|e| panic!("not a chat request ({e}):\n{}", out.stdout))
}

#[test]
fn text_is_the_system_prompt_then_role_blocks() {
    let repo = agent_repo();
    let out = repo.run(&[
        "render",
        "agent@1.0.0",
        "--var",
        "company=Acme",
        "--var",
        "message=Where is my money?",
    ]);
    out.ok();
    assert_eq!(
        out.stdout,
        "You work for Acme. Refunds within 30 days.\n\n[user]\nCustomer: Where is my money?\n\n[assistant]\nNoted.\n"
    );
    assert_eq!(out.stderr, "");
}

#[test]
fn json_is_a_chat_request_with_the_system_prompt_first() {
    let repo = agent_repo();
    let out = repo.run(&[
        "render",
        "agent",
        "--var",
        "company=Acme",
        "--var",
        "message=hi",
        "--var",
        "note=Be kind.",
        "--format",
        "json",
    ]);
    out.ok();
    let keys: Vec<String> = out.json().as_object().unwrap().keys().cloned().collect();
    assert_eq!(keys, ["id", "model", "temperature", "messages"]);
    let chat: Chat = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(chat.id, "agent@1.0.0");
    assert_eq!(chat.model.as_deref(), Some("gpt-4o"));
    assert_eq!(chat.temperature, 0.3);
    let message = |role: &str, content: &str| ChatMessage {
        role: role.into(),
        content: content.into(),
    };
    assert_eq!(
        chat.messages,
        [
            message(
                "system",
                "You work for Acme. Refunds within 30 days. Be kind."
            ),
            message("user", "Customer: hi"),
            message("assistant", "Noted."),
        ]
    );
}

#[test]
fn json_leaves_out_an_empty_system_prompt() {
    let repo = TestRepo::init();
    repo.write(
        &prompt_file("q"),
        "messages:\n  - {role: user, content: \"Q: {{ q }}\"}\nvariables:\n  q: {}\n",
    );
    repo.run(&["create", "q", "--version", "1.0.0", "-m", "m"])
        .ok();
    let chat = chat(&repo, &["q@latest", "--var", "q=why"]);
    assert_eq!(chat.model, None);
    assert_eq!(chat.temperature, 0.7);
    assert_eq!(
        chat.messages,
        [ChatMessage {
            role: "user".into(),
            content: "Q: why".into()
        }]
    );
    let out = repo.run(&["render", "q@1.0.0", "--var", "q=why"]);
    out.ok();
    assert_eq!(out.stdout, "[user]\nQ: why\n");
}

#[test]
fn a_missing_required_variable_is_named() {
    let repo = agent_repo();
    repo.run(&["render", "agent@1.0.0", "--var", "company=Acme"])
        .refused()
        .stderr_has(&[
            "prompts/agent/prompt.yaml",
            "agent@1.0.0",
            "required variable `message` (The customer's message)",
            "--var message=VALUE",
        ]);
}

#[test]
fn a_value_for_an_undeclared_variable_is_an_error() {
    let repo = agent_repo();
    repo.run(&[
        "render",
        "agent@1.0.0",
        "--var",
        "company=Acme",
        "--var",
        "message=hi",
        "--var",
        "tone=warm",
    ])
    .refused()
    .stderr_has(&[
        "--var tone",
        "agent@1.0.0 has no variable `tone`",
        "`company`, `days`, `message`, `note`",
    ]);
}

#[test]
fn vars_files_in_json_and_yaml_then_flags_override() {
    let repo = agent_repo();
    repo.write(
        "vars.json",
        r#"{"company": "Acme", "message": "json", "days": 14}"#,
    );
    repo.write(
        "vars.yaml",
        "company: Globex\nmessage: yaml\nnote: YAML note.\n",
    );
    let system = |args: &[&str]| chat(&repo, args).messages[0].content.clone();
    assert_eq!(
        system(&["agent", "--vars-file", "vars.json"]),
        "You work for Acme. Refunds within 14 days."
    );
    assert_eq!(
        system(&["agent", "--vars-file", "vars.yaml"]),
        "You work for Globex. Refunds within 30 days. YAML note."
    );
    let overridden = chat(
        &repo,
        &[
            "agent",
            "--var",
            "message=flag",
            "--vars-file",
            "vars.json",
            "--var",
            "days=7",
        ],
    );
    assert_eq!(
        overridden.messages[0].content,
        "You work for Acme. Refunds within 7 days."
    );
    assert_eq!(overridden.messages[1].content, "Customer: flag");
}

#[test]
fn vars_files_can_hold_lists_and_numbers() {
    let repo = TestRepo::init();
    repo.write(
        &prompt_file("list"),
        "system_prompt: \"{% for item in items %}{{ loop.index }}. {{ item }} x{{ n * 2 }}\\n{% endfor %}\"\nvariables:\n  items: {}\n  n: {}\n",
    );
    repo.run(&["create", "list", "--version", "1.0.0", "-m", "m"])
        .ok();
    repo.write("v.yaml", "items: [apples, pears]\nn: 3\n");
    let out = repo.run(&["render", "list@1.0.0", "--vars-file", "v.yaml"]);
    out.ok();
    assert_eq!(out.stdout, "1. apples x6\n2. pears x6\n");
}

#[test]
fn bad_vars_files_are_refused() {
    let repo = agent_repo();
    repo.write("list.json", "[1, 2]");
    repo.write("broken.json", "{\"company\": ");
    repo.write("broken.yaml", "company: Acme\nmessage: [unclosed\n");
    repo.write("extra.yaml", "company: Acme\nmessage: hi\ncompnay: typo\n");
    for (file, needles) in [
        (
            "list.json",
            &["list.json", "map of variable names to values, not a list"][..],
        ),
        ("broken.json", &["broken.json:1:", "not valid JSON"]),
        ("broken.yaml", &["broken.yaml:"]),
        (
            "extra.yaml",
            &["key `compnay` of extra.yaml", "has no variable `compnay`"],
        ),
        ("missing.yaml", &["cannot access `missing.yaml`"]),
    ] {
        repo.run(&["render", "agent@1.0.0", "--vars-file", file])
            .refused()
            .stderr_has(needles);
    }
}

#[test]
fn selectors_resolve_like_fetch() {
    let repo = agent_repo();
    repo.write(
        &prompt_file("agent"),
        &AGENT.replace("You work for", "Now you work for"),
    );
    repo.run(&["create", "agent", "--version", "1.1.0", "-m", "m"])
        .ok();
    repo.promote("agent", "1.1.0", "dev");
    let vars = ["--var", "company=A", "--var", "message=m"];
    for (selector, id) in [
        ("agent", "agent@1.0.0"),
        ("agent@production", "agent@1.0.0"),
        ("agent@dev", "agent@1.1.0"),
        ("agent@latest", "agent@1.1.0"),
        ("agent@1.0.0", "agent@1.0.0"),
    ] {
        let mut args = vec![selector];
        args.extend_from_slice(&vars);
        assert_eq!(chat(&repo, &args).id, id, "{selector}");
    }
    let first = |selector: &str| {
        let mut args = vec![selector];
        args.extend_from_slice(&vars);
        chat(&repo, &args).messages[0].content.clone()
    };
    assert!(first("agent@1.1.0").starts_with("Now you work for A."));
    for (selector, needles) in [
        (
            "agent@9.9.9",
            &["version 9.9.9 of `agent` not found", "1.0.0, 1.1.0"][..],
        ),
        ("agent@qa", &["unknown environment `qa`"]),
        ("nobody", &["prompt `nobody` not found"]),
    ] {
        let mut args = vec!["render", selector];
        args.extend_from_slice(&vars);
        repo.run(&args).refused().stderr_has(needles);
    }
}

#[test]
fn worktree_renders_uncommitted_edits() {
    let repo = agent_repo();
    repo.write(
        &prompt_file("agent"),
        "system_prompt: \"Draft for {{ company }}\"\nvariables:\n  company: {}\n",
    );
    let out = repo.run(&["render", "agent", "--worktree", "--var", "company=Acme"]);
    out.ok();
    assert_eq!(out.stdout, "Draft for Acme\n");
    assert_eq!(
        chat(&repo, &["agent", "--worktree", "--var", "company=Acme"]).id,
        "agent@worktree"
    );
    // The release is untouched by the edit.
    assert!(chat(
        &repo,
        &["agent@1.0.0", "--var", "company=A", "--var", "message=m"]
    )
    .messages[0]
        .content
        .starts_with("You work for A."));
    repo.run(&["render", "ghost", "--worktree"])
        .refused()
        .stderr_has(&["prompts/ghost/prompt.yaml", "not found in the working tree"]);
    repo.write(&prompt_file("broken"), "system_prompt: hi\ntemprature: 1\n");
    repo.run(&["render", "broken", "--worktree"])
        .refused()
        .stderr_has(&["prompts/broken/prompt.yaml:2:1", "temprature"]);
    repo.run(&["render", "agent@1.0.0", "--worktree"]).usage();
}

#[test]
fn a_template_reading_an_undeclared_variable_is_named() {
    let repo = TestRepo::init();
    repo.write(
        &prompt_file("x"),
        "system_prompt: |\n  Hello {{ name }}.\n  Bye {{ ghost }}.\nvariables:\n  name: {}\n",
    );
    repo.run(&["render", "x", "--worktree", "--var", "name=A"])
        .refused()
        .stderr_has(&["prompts/x/prompt.yaml", "system_prompt, line 2", "`ghost`"]);
}

#[test]
fn usage_errors_exit_2() {
    let repo = agent_repo();
    repo.run(&["render", "agent", "--var", "no-equals-sign"])
        .usage()
        .stderr_has(&["--var `no-equals-sign` is not NAME=VALUE"]);
    repo.run(&["render", "agent", "--var", "=x"]).usage();
    repo.run(&["render", "agent", "--format", "yaml"])
        .usage()
        .stderr_has(&["text, json"]);
    repo.run(&["render"]).usage();
}
