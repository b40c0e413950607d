//! `promptreg import`: other systems' exports (fixtures/import/) become releases, checked with
//! `fetch --format json`, git's own view of tags and commits, and `render`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::support::{TestRepo, COMMITTER_EMAIL};

fn fixture(relative: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/import")
        .join(relative)
        .display()
        .to_string()
}

fn fetch(repo: &TestRepo, selector: &str) -> Value {
    let out = repo.run(&["fetch", selector, "--format", "json"]);
    out.ok();
    out.json()
}

/// Every file under `.git` and the working tree, byte for byte (objects, refs, logs, index),
/// but for promptreg's read cache (`.git/promptreg/cache/`), which every read fills.
fn every_byte(root: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![root.to_path_buf()];
    let cache = root.join(".git/promptreg/cache");
    while let Some(dir) = stack.pop() {
        if dir == cache {
            continue;
        }
        for entry in std::fs::read_dir(&dir).unwrap() {
            let entry = entry.unwrap();
            let path = entry.path();
            if entry.file_type().unwrap().is_dir() {
                stack.push(path);
            } else {
                out.insert(path.clone(), std::fs::read(&path).unwrap());
            }
        }
    }
    out
}

#[test]
fn a_langfuse_export_becomes_versions_authors_dates_and_pointers() {
    let repo = TestRepo::init();
    let out = repo.run(&["import", "langfuse", &fixture("langfuse/export.json")]);
    out.ok()
        .stderr_has(&["imported from langfuse: created 6 versions, moved 3 pointers (3 prompts)"]);
    // The same versions, each with its author and date as the tagger.
    let tags = repo.git(&[
        "for-each-ref",
        "--format=%(refname:short) %(taggername) %(taggeremail) %(taggerdate:iso-strict)",
        "refs/tags",
    ]);
    let expected = [
        "movie-critic/v1.0.0 Ana Lima <ana@example.com> 2025-03-01T09:15:00Z",
        "movie-critic/v2.0.0 bruno <bruno@example.com> 2025-03-08T14:02:11Z",
        "summarize/v1.0.0 dana <dana@example.com> 2025-01-15T12:00:00Z",
        "support-reply/v1.0.0 chloé <chloé@example.com> 2025-04-02T10:30:00+02:00",
        "support-reply/v2.0.0 chloé <chloé@example.com> 2025-04-09T16:45:00+02:00",
    ];
    for line in expected {
        assert!(
            tags.lines().any(|l| l == line),
            "{line} missing from\n{tags}"
        );
    }
    // createdBy without an address: the importing user, at the original date.
    assert!(tags.contains(&format!(
        "movie-critic/v3.0.0 Test Committer <{COMMITTER_EMAIL}> 2025-03-20T08:00:00Z"
    )));
    // The commits carry the same identity.
    let log = repo.git(&["log", "--format=%an <%ae> %aI %s", "--grep=^create"]);
    assert!(
        log.contains("Ana Lima <ana@example.com> 2025-03-01T09:15:00Z create movie-critic 1.0.0"),
        "{log}"
    );

    // Labels that are environments became pointers; the others are reported.
    let critic = fetch(&repo, "movie-critic@staging");
    assert_eq!(critic["version"], "2.0.0");
    assert_eq!(critic["created_by"], "bruno@example.com");
    assert_eq!(critic["description"], "Ask for a score");
    assert_eq!(
        critic["system_prompt"],
        "As a {{ criticLevel }} movie critic, rate {{ movie }} from 1 to 10 and say why."
    );
    assert_eq!(critic["model"], "gpt-4o");
    assert_eq!(critic["temperature"], 0.5);
    assert_eq!(critic["metadata"]["config"]["max_tokens"], 300);
    assert_eq!(critic["tags"], serde_json::json!(["movies"]));
    assert_eq!(
        critic["variables"]
            .as_object()
            .unwrap()
            .keys()
            .collect::<Vec<_>>(),
        ["criticLevel", "movie"]
    );
    let reply = fetch(&repo, "support-reply@production");
    assert_eq!(reply["version"], "2.0.0");
    assert_eq!(
        reply["environments"],
        serde_json::json!(["dev", "staging", "production"])
    );
    assert!(reply["system_prompt"]
        .as_str()
        .unwrap()
        .contains("Réponds en français"));
    assert_eq!(reply["messages"][0]["role"], "user");
    assert_eq!(reply["messages"][1]["role"], "assistant");
    assert_eq!(fetch(&repo, "summarize@production")["version"], "1.0.0");
    let list = repo.run(&["versions", "movie-critic", "--format", "json"]);
    assert_eq!(list.json().as_array().unwrap().len(), 3);
    // Text that only looked like a template renders as it was.
    let out = repo.run(&[
        "render",
        "summarize",
        "--var",
        "max_words=20",
        "--var",
        "text=Hi",
    ]);
    out.ok();
    assert_eq!(
        out.stdout,
        "Summarize in 20 words or fewer:\n\nHi\n\nKeep literal braces like {{ this is not a variable }} and {% as text %}.\n"
    );
    repo.fsck();
}

#[test]
fn the_report_names_every_version_label_and_what_was_not_carried() {
    let repo = TestRepo::init();
    let out = repo.run(&[
        "import",
        "langfuse",
        &fixture("langfuse/export.json"),
        "--format",
        "json",
    ]);
    out.ok();
    let report = out.json();
    assert_eq!(report["changed"], true);
    let critic = &report["prompts"][0];
    assert_eq!(critic["name"], "movie-critic");
    assert_eq!(critic["versions"][2]["author_from"], "importing user");
    assert!(critic["versions"][2]["not_carried"]
        .as_array()
        .unwrap()
        .iter()
        .any(|n| n.as_str().unwrap().contains("clx9userid42")));
    let labels: Vec<(String, String)> = critic["labels"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| {
            (
                l["label"].as_str().unwrap().to_owned(),
                l["action"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert!(
        labels.contains(&("staging".into(), "moved".into())),
        "{labels:?}"
    );
    assert!(labels
        .iter()
        .any(|(l, a)| l == "experiment-b" && a.starts_with("not carried")));
    assert!(labels
        .iter()
        .any(|(l, a)| l == "latest" && a.contains("@latest")));
    let renamed = &report["prompts"][2];
    assert_eq!(
        (renamed["source"].as_str(), renamed["name"].as_str()),
        (Some("Support Reply"), Some("support-reply"))
    );
}

#[test]
fn a_second_run_changes_nothing_and_says_so() {
    let repo = TestRepo::init();
    repo.run(&["import", "langfuse", &fixture("langfuse/export.json")])
        .ok();
    let before = every_byte(&repo.root);
    let out = repo.run(&["import", "langfuse", &fixture("langfuse/export.json")]);
    out.ok().stderr_has(&["nothing to import"]);
    assert!(out.stdout.contains("already imported"));
    assert!(
        every_byte(&repo.root) == before,
        "the second import wrote something"
    );
}

#[test]
fn dry_run_leaves_every_byte_untouched() {
    let repo = TestRepo::init();
    let before = every_byte(&repo.root);
    let out = repo.run(&[
        "import",
        "langfuse",
        &fixture("langfuse/export.json"),
        "--dry-run",
    ]);
    out.ok().stderr_has(&["dry run: nothing written"]);
    assert!(out.stdout.contains("would create"));
    assert!(out
        .stdout
        .contains("production: would move (via dev, staging)"));
    assert!(
        every_byte(&repo.root) == before,
        "--dry-run wrote something"
    );
}

#[test]
fn a_changed_version_is_refused_naming_the_file_and_version() {
    let repo = TestRepo::init();
    repo.run(&["import", "langfuse", &fixture("langfuse/export.json")])
        .ok();
    let text = std::fs::read_to_string(fixture("langfuse/export.json")).unwrap();
    let edited = repo.tmp().join("edited.json");
    std::fs::write(
        &edited,
        text.replace("First draft", "x")
            .replace("do you like", "do you love"),
    )
    .unwrap();
    let shown = edited.display().to_string();
    repo.refuses_unchanged(&["import", "langfuse", &shown])
        .stderr_has(&[
            &shown,
            "version 1",
            "`movie-critic` 1.0.0 is already released with different content",
            "hint:",
        ]);
}

#[test]
fn refusals_name_the_file_and_the_field_and_change_nothing() {
    let repo = TestRepo::init();
    let cases = [
        (
            "langfuse",
            "refused/langfuse/placeholder.json",
            "[0].prompt[1]: a message placeholder",
        ),
        (
            "langfuse",
            "refused/langfuse/reserved.json",
            "data[0].prompt: the mustache template cannot be imported: line 2, column 3",
        ),
        (
            "prompty",
            "refused/prompty/mustache.prompty",
            "template: only jinja2",
        ),
        (
            "prompty",
            "refused/prompty/tojson.prompty",
            "body, the system message at line 4",
        ),
        (
            "dotprompt",
            "refused/dotprompt/history.prompt",
            "body, line 6: dotprompt's `history` helper",
        ),
        (
            "mlflow",
            "refused/mlflow/jinja.json",
            "[0].template: line 2, column 1: `{%` makes MLflow render",
        ),
        (
            "langsmith",
            "refused/langsmith/placeholder.json",
            "[0].kwargs.messages[1]: a MessagesPlaceholder",
        ),
        (
            "promptlayer",
            "refused/promptlayer/format-spec.json",
            "[0].prompt_template.content: the f-string template cannot be imported: line 1, column 8",
        ),
        (
            "dotprompt",
            "refused/dotprompt/media.prompt",
            "body, line 7: dotprompt's `media` helper",
        ),
    ];
    for (format, file, field) in cases {
        let path = fixture(file);
        repo.refuses_unchanged(&["import", format, &path])
            .stderr_has(&[&path, field, "hint:"]);
    }
    // A whole directory is refused when one file is, before anything is written.
    let dir = repo.tmp().join("mixed");
    std::fs::create_dir(&dir).unwrap();
    std::fs::copy(fixture("prompty/basic.prompty"), dir.join("a.prompty")).unwrap();
    std::fs::copy(
        fixture("refused/prompty/tojson.prompty"),
        dir.join("b.prompty"),
    )
    .unwrap();
    repo.refuses_unchanged(&["import", "prompty", &dir.display().to_string()]);
    repo.refuses_unchanged(&["import", "langfuse", &fixture("prompty/basic.prompty")])
        .stderr_has(&["not JSON"]);
}

#[test]
fn a_prompty_file_becomes_a_release_that_renders_the_same_text() {
    let repo = TestRepo::init();
    repo.run(&["import", "prompty", &fixture("prompty/basic.prompty")])
        .ok();
    let record = fetch(&repo, "basic-prompt@latest");
    assert_eq!(record["version"], "1.0.0");
    assert_eq!(record["model"], "gpt-4o-mini");
    assert_eq!(record["temperature"], 0.2);
    assert_eq!(
        record["summary"],
        "A basic prompt that uses the chat API to answer questions"
    );
    assert_eq!(record["variables"]["firstName"]["default"], "Jane");
    assert_eq!(record["variables"]["question"]["required"], true);
    assert_eq!(
        record["examples"][0]["question"],
        "What is the meaning of life?"
    );
    // What prompty renders for the sample: the system message, then the user's.
    let out = repo.run(&[
        "render",
        "basic-prompt@latest",
        "--var",
        "question=What is the meaning of life?",
    ]);
    out.ok();
    assert_eq!(
        out.stdout,
        "You are an AI assistant who helps people find information.\n\
         As the assistant, you answer questions briefly, succinctly,\n\
         and in a personable manner using markdown. You can add some personal flair.\n\
         \n\
         # Customer\n\
         You are helping Jane to find answers to their questions.\n\
         Use their name to address them in your responses.\n\
         \n\
         [user]\n\
         What is the meaning of life?\n"
    );
    // Jinja2 with loops and filters is kept as it is; the author has an address; version 1.2.
    repo.run(&[
        "import",
        "prompty",
        &fixture("prompty/travel-guide.prompty"),
    ])
    .ok();
    let guide = fetch(&repo, "travel-guide@1.2.0");
    assert_eq!(guide["created_by"], "lea@example.com");
    assert_eq!(guide["metadata"]["config"]["max_tokens"], 400);
    let vars = repo.tmp().join("vars.json");
    std::fs::write(
        &vars,
        r#"{"city": "Kraków", "days": 2, "interests": ["food", "history"]}"#,
    )
    .unwrap();
    let out = repo.run(&[
        "render",
        "travel-guide@1.2.0",
        "--vars-file",
        &vars.display().to_string(),
    ]);
    out.ok();
    assert!(out.stdout.contains("I have 2 days in Kraków.\nI like food, history.\n\nDay 1: suggest one place.\n\nDay 2: suggest one place."), "{}", out.stdout);
    assert!(!guide["metadata"]
        .to_string()
        .contains("AZURE_OPENAI_ENDPOINT"));
}

#[test]
fn dotprompt_files_become_chat_releases() {
    let repo = TestRepo::init();
    repo.run(&[
        "import",
        "dotprompt",
        &fixture("dotprompt"),
        "--domain",
        "guides",
    ])
    .ok();
    let guide = fetch(&repo, "guides/city-guide@latest");
    assert_eq!(guide["model"], "googleai/gemini-2.0-flash");
    assert_eq!(guide["temperature"], 0.6);
    assert_eq!(
        guide["variables"]["city"]["description"],
        "the city to describe"
    );
    assert_eq!(guide["variables"]["vip"]["default"], false);
    let vars = repo.tmp().join("vars.json");
    std::fs::write(
        &vars,
        r#"{"city": "Sevilla", "sights": ["Alcázar", "Giralda"], "vip": true}"#,
    )
    .unwrap();
    let out = repo.run(&[
        "render",
        "guides/city-guide@latest",
        "--vars-file",
        &vars.display().to_string(),
    ]);
    out.ok();
    assert_eq!(
        out.stdout,
        "You are a city guide. Treat the traveller as a VIP.\n\n[user]\nDescribe Sevilla — ¿qué ver?\n- 0: Alcázar\n- 1: Giralda\n"
    );
    // No role marker: the text is the user's; `\{{` stays literal.
    let greeting = fetch(&repo, "guides/greeting@latest");
    assert_eq!(greeting["system_prompt"], "");
    let out = repo.run(&["render", "guides/greeting@latest", "--var", "name=Zoë"]);
    out.ok();
    assert_eq!(
        out.stdout,
        "[user]\nSay hello to Zoë in one short sentence. Literal: {{name}}.\n"
    );
}

#[test]
fn a_gate_that_refuses_a_label_is_reported_and_the_versions_still_land() {
    let repo = TestRepo::init();
    let registry = repo.read("registry.yaml");
    repo.commit_by_hand(
        "registry.yaml",
        &format!("{registry}policy:\n  staging:\n    min_pass_rate: 0.9\n"),
        "gate staging",
    );
    let out = repo.run(&[
        "import",
        "langfuse",
        &fixture("langfuse/export.json"),
        "--format",
        "json",
    ]);
    out.ok();
    out.stderr_has(&["labels not moved (a gate or an access rule refused it"]);
    let report = out.json();
    let summarize = &report["prompts"][1];
    assert_eq!(summarize["name"], "summarize");
    let action = summarize["labels"][0]["action"].as_str().unwrap();
    assert!(action.starts_with("refused: staging:"), "{action}");
    assert_eq!(fetch(&repo, "summarize@dev")["version"], "1.0.0");
    repo.run(&["fetch", "summarize@production"]).refused();
    assert_eq!(
        fetch(&repo, "summarize@1.0.0")["created_by"],
        "dana@example.com"
    );
}

#[test]
fn mlflow_versions_and_aliases_become_releases_and_pointers() {
    let repo = TestRepo::init();
    repo.run(&["import", "mlflow", &fixture("mlflow")]).ok();
    let v1 = fetch(&repo, "summarization-prompt@1.0.0");
    assert_eq!(v1["created_by"], "maria@example.com");
    assert_eq!(v1["created_at"], "2025-03-01T11:00:00+00:00");
    assert_eq!(v1["description"], "Initial version");
    assert_eq!(
        v1["metadata"]["tags"],
        serde_json::json!({"task": "summarization", "language": "en"})
    );
    let production = fetch(&repo, "summarization-prompt@production");
    assert_eq!(production["version"], "2.0.0");
    assert_eq!(production["model"], "gpt-4o-mini");
    assert_eq!(production["metadata"]["config"]["max_tokens"], 500);
    assert!(production["metadata"]["config"]["response_format"].is_object());
    let out = repo.run(&[
        "render",
        "summarization-prompt@production",
        "--var",
        "num_sentences=2",
        "--var",
        "content=Text",
    ]);
    out.ok();
    assert_eq!(
        out.stdout,
        "You are an expert summarizer. Write in plain English — no jargon.\n\n[user]\nSummarize in 2 sentences:\n\nText\n"
    );
}

#[test]
fn langsmith_commits_become_versions_with_their_model() {
    let repo = TestRepo::init();
    let out = repo.run(&[
        "import",
        "langsmith",
        &fixture("langsmith/rag-answer.json"),
        "--format",
        "json",
    ]);
    out.ok();
    let report = out.json();
    assert!(report["prompts"][0]["versions"][1]["not_carried"]
        .to_string()
        .contains("openai_api_key: a secret"));
    let first = fetch(&repo, "rag-answer@1.0.0");
    assert_eq!(first["created_at"], "2025-06-01T12:00:00+00:00");
    assert_eq!(first["metadata"]["langsmith_commit"], "a1f3d2c4");
    let production = fetch(&repo, "rag-answer@production");
    assert_eq!(production["version"], "2.0.0");
    assert_eq!(
        (
            production["model"].as_str(),
            production["temperature"].as_f64()
        ),
        (Some("gpt-4o"), Some(0.0))
    );
    assert!(!production.to_string().contains("OPENAI_API_KEY"));
    let out = repo.run(&[
        "render",
        "rag-answer@production",
        "--var",
        "context=C",
        "--var",
        "question=Q?",
    ]);
    out.ok();
    // f-string `{{braces}}` are literal braces; an AIMessage is text, its braces too.
    assert_eq!(
        out.stdout,
        "You answer questions using only the context; say \"I don't know\" otherwise. Use {braces} literally.\nContext: C\n\n[user]\nQ?\n\n[assistant]\nUnderstood — I'll cite the {context} I used.\n"
    );
}

#[test]
fn promptlayer_templates_keep_each_message_syntax() {
    let repo = TestRepo::init();
    repo.run(&["import", "promptlayer", &fixture("promptlayer/triage.json")])
        .ok();
    assert_eq!(fetch(&repo, "ticket-triage@staging")["version"], "1.0.0");
    let v2 = fetch(&repo, "ticket-triage@production");
    assert_eq!(v2["version"], "2.0.0");
    assert_eq!(v2["created_at"], "2025-05-09T15:00:00+00:00");
    let out = repo.run(&[
        "render",
        "ticket-triage@1.0.0",
        "--var",
        "product=Acme",
        "--var",
        "ticket=It crashes",
    ]);
    out.ok();
    assert_eq!(
        out.stdout,
        "Classify this Acme ticket as bug, question or request:\nIt crashes\nAnswer with one word. Example output: {\"label\": \"bug\"}\n"
    );
    let vars = repo.tmp().join("vars.json");
    std::fs::write(
        &vars,
        r#"{"product": "Acme", "ticket": "Help", "customer_tier": "gold"}"#,
    )
    .unwrap();
    let out = repo.run(&[
        "render",
        "ticket-triage@2.0.0",
        "--vars-file",
        &vars.display().to_string(),
    ]);
    out.ok();
    assert_eq!(
        out.stdout,
        "You triage Acme support tickets. Réponse : un seul mot.\n\n[user]\nHelp (tier: gold)\n"
    );
}

#[test]
fn edits_in_progress_in_a_prompt_directory_are_never_overwritten() {
    let repo = TestRepo::init();
    repo.run(&["import", "langfuse", &fixture("langfuse/export.json")])
        .ok();
    let text = std::fs::read_to_string(fixture("langfuse/export.json")).unwrap();
    let mut versions: Value = serde_json::from_str(&text).unwrap();
    let mut fourth = versions[2].clone();
    fourth["version"] = 4.into();
    fourth["prompt"] = "Version four: {{movie}}".into();
    fourth["labels"] = serde_json::json!([]);
    versions.as_array_mut().unwrap().push(fourth);
    let newer = repo.tmp().join("newer.json");
    std::fs::write(&newer, versions.to_string()).unwrap();
    let newer = newer.display().to_string();
    let edited = format!(
        "{}# my edit\n",
        repo.read("prompts/movie-critic/prompt.yaml")
    );
    repo.write("prompts/movie-critic/prompt.yaml", &edited);
    repo.refuses_unchanged(&["import", "langfuse", &newer])
        .stderr_has(&["prompts/movie-critic", "uncommitted changes", "git stash"]);
    repo.git(&["checkout", "--", "prompts/movie-critic/prompt.yaml"]);
    let registry = repo.read("registry.yaml");
    repo.write(
        "registry.yaml",
        &format!("{registry}# a comment in progress\n"),
    );
    let mut moved = versions.clone();
    moved[0]["labels"] = serde_json::json!(["production"]);
    let moving = repo.tmp().join("moving.json");
    std::fs::write(&moving, moved.to_string()).unwrap();
    repo.refuses_unchanged(&["import", "langfuse", &moving.display().to_string()])
        .stderr_has(&["registry.yaml has uncommitted changes"]);
    // Nothing to move: the edit in progress is no obstacle.
    repo.run(&["import", "langfuse", &fixture("langfuse/export.json")])
        .ok()
        .stderr_has(&["nothing to import"]);
    repo.write("registry.yaml", &registry);
    repo.write("prompts/movie-critic/notes.txt", "not for release");
    repo.refuses_unchanged(&["import", "langfuse", &newer, "--dry-run"]);
    std::fs::remove_file(repo.path("prompts/movie-critic/notes.txt")).unwrap();
    repo.run(&["import", "langfuse", &newer]).ok();
    assert_eq!(
        fetch(&repo, "movie-critic@4.0.0")["system_prompt"],
        "Version four: {{ movie }}"
    );
    let released = repo.git(&[
        "ls-tree",
        "-r",
        "--name-only",
        "movie-critic/v4.0.0",
        "prompts/movie-critic",
    ]);
    assert_eq!(released.trim(), "prompts/movie-critic/prompt.yaml");
}

#[test]
fn labels_can_be_read_as_other_environments() {
    let repo = TestRepo::init();
    let out = repo.run(&[
        "import",
        "promptlayer",
        &fixture("promptlayer/triage.json"),
        "--label",
        "prod=production",
        "--label",
        "production=staging",
        "--format",
        "json",
    ]);
    out.ok();
    let labels = &out.json()["prompts"][0]["labels"];
    let prod = labels
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["label"] == "prod")
        .unwrap();
    assert_eq!(
        (prod["environment"].as_str(), prod["action"].as_str()),
        (Some("production"), Some("moved"))
    );
    assert_eq!(fetch(&repo, "ticket-triage@production")["version"], "2.0.0");
    repo.run(&[
        "import",
        "promptlayer",
        &fixture("promptlayer/triage.json"),
        "--label",
        "prod",
    ])
    .usage();
}
