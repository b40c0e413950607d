//! `promptreg export --to langfuse|prompty|dotprompt`: what is written reads back with
//! `import` as the same prompts (`fetch --format json` equal on every carried field).

use std::path::Path;

use serde_json::Value;

use crate::support::TestRepo;

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

/// The fields an export carries, of every version of every prompt.
fn carried(repo: &TestRepo, fields: &[&str]) -> Vec<(String, Value)> {
    let list = repo.run(&["list", "--format", "json"]);
    list.ok();
    let mut out = Vec::new();
    for row in list.json().as_array().unwrap() {
        let name = row["name"].as_str().unwrap();
        let versions = repo.run(&["versions", name, "--format", "json"]);
        versions.ok();
        for v in versions.json().as_array().unwrap() {
            let id = format!("{name}@{}", v["version"].as_str().unwrap());
            let record = fetch(repo, &id);
            for field in fields {
                out.push((format!("{id} {field}"), record[*field].clone()));
            }
        }
    }
    out
}

const FIELDS: [&str; 11] = [
    "system_prompt",
    "messages",
    "variables",
    "model",
    "temperature",
    "tags",
    "created_by",
    "created_at",
    "description",
    "environments",
    "metadata",
];

#[test]
fn langfuse_export_imports_back_as_the_same_prompts() {
    let first = TestRepo::init();
    first
        .run(&["import", "langfuse", &fixture("langfuse/export.json")])
        .ok();
    let file = first.tmp().join("langfuse.json");
    let shown = file.display().to_string();
    first
        .run(&["export", "--to", "langfuse", "--out", &shown])
        .ok()
        .stderr_has(&["wrote 6 versions"]);
    let exported: Value = serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    let reply = exported
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["name"] == "support-reply" && v["version"] == 2)
        .unwrap();
    assert_eq!(reply["type"], "chat");
    assert_eq!(
        reply["labels"],
        serde_json::json!(["dev", "staging", "production", "latest"])
    );
    assert_eq!(reply["prompt"][0]["role"], "system");
    assert_eq!(
        reply["prompt"][1]["content"],
        "Customer message: {{message}}"
    );
    let second = TestRepo::init();
    second.run(&["import", "langfuse", &shown]).ok();
    assert_eq!(carried(&first, &FIELDS), carried(&second, &FIELDS));
}

#[test]
fn env_and_prompt_narrow_the_export() {
    let repo = TestRepo::init();
    repo.run(&["import", "langfuse", &fixture("langfuse/export.json")])
        .ok();
    let out = repo.run(&["export", "--to", "langfuse", "--env", "production"]);
    out.ok();
    let names: Vec<(String, u64)> = out
        .json()
        .as_array()
        .unwrap()
        .iter()
        .map(|v| {
            (
                v["name"].as_str().unwrap().to_owned(),
                v["version"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        names,
        [("summarize".to_owned(), 1), ("support-reply".to_owned(), 2)]
    );
    let dir = repo.tmp().join("one");
    let shown = dir.display().to_string();
    repo.run(&[
        "export",
        "--to",
        "prompty",
        "--prompt",
        "movie-critic",
        "--out",
        &shown,
    ])
    .ok();
    let files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(files, ["movie-critic.prompty"]);
    assert!(std::fs::read_to_string(dir.join("movie-critic.prompty"))
        .unwrap()
        .contains("version: \"3.0.0\""));
    repo.run(&["export", "--to", "prompty"]).usage();
    repo.run(&["export", "--prompt", "movie-critic"]).usage();
}

#[test]
fn prompty_export_imports_back_as_the_same_prompts() {
    let first = TestRepo::init();
    for file in ["prompty/basic.prompty", "prompty/travel-guide.prompty"] {
        first.run(&["import", "prompty", &fixture(file)]).ok();
    }
    first
        .run(&[
            "import",
            "langfuse",
            &fixture("langfuse/export.json"),
            "--domain",
            "lf",
        ])
        .ok();
    let dir = first.tmp().join("prompty");
    let shown = dir.display().to_string();
    first
        .run(&["export", "--to", "prompty", "--out", &shown])
        .ok();
    assert!(dir.join("lf/support-reply.prompty").exists());
    let second = TestRepo::init();
    second.run(&["import", "prompty", &shown]).ok();
    let fields = [
        "system_prompt",
        "messages",
        "variables",
        "model",
        "temperature",
        "tags",
        "summary",
        "examples",
    ];
    let ours = |repo: &TestRepo| -> Vec<(String, Value)> {
        [
            "basic-prompt@latest",
            "travel-guide@latest",
            "lf/support-reply@latest",
            "lf/summarize@latest",
        ]
        .iter()
        .flat_map(|id| {
            let record = fetch(repo, id);
            fields
                .iter()
                .map(move |f| (format!("{id} {f}"), record[*f].clone()))
                .collect::<Vec<_>>()
        })
        .collect()
    };
    assert_eq!(ours(&first), ours(&second));
    assert_eq!(fetch(&second, "travel-guide@latest")["version"], "1.2.0");
    assert_eq!(
        fetch(&second, "travel-guide@latest")["created_by"],
        "lea@example.com"
    );
    assert_eq!(
        fetch(&second, "travel-guide@latest")["metadata"]["config"]["max_tokens"],
        400
    );
    // Same text, rendered.
    let render = |repo: &TestRepo| {
        let out = repo.run(&[
            "render",
            "lf/support-reply@latest",
            "--var",
            "company=Acme",
            "--var",
            "message=Hej",
        ]);
        out.ok();
        out.stdout.clone()
    };
    assert_eq!(render(&first), render(&second));
}

#[test]
fn dotprompt_export_writes_what_handlebars_can_say_and_names_the_rest() {
    let first = TestRepo::init();
    first
        .run(&["import", "dotprompt", &fixture("dotprompt")])
        .ok();
    first
        .run(&["import", "langfuse", &fixture("langfuse/export.json")])
        .ok();
    let dir = first.tmp().join("dotprompt");
    let shown = dir.display().to_string();
    first
        .run(&["export", "--to", "dotprompt", "--out", &shown])
        .ok()
        .stderr_has(&["not exported: city-guide@1.0.0"]);
    assert!(!dir.join("city-guide.prompt").exists());
    let summarize = std::fs::read_to_string(dir.join("summarize.prompt")).unwrap();
    assert!(
        summarize
            .contains("Keep literal braces like \\{{ this is not a variable }} and {% as text %}."),
        "{summarize}"
    );
    let second = TestRepo::init();
    second.run(&["import", "dotprompt", &shown]).ok();
    for id in [
        "greeting@latest",
        "summarize@latest",
        "support-reply@latest",
        "movie-critic@latest",
    ] {
        let (a, b) = (fetch(&first, id), fetch(&second, id));
        for field in [
            "system_prompt",
            "messages",
            "model",
            "temperature",
            "version",
        ] {
            assert_eq!(a[field], b[field], "{id} {field}");
        }
        let keys = |r: &Value| {
            r["variables"]
                .as_object()
                .unwrap()
                .keys()
                .cloned()
                .collect::<Vec<_>>()
        };
        assert_eq!(keys(&a), keys(&b), "{id} variables");
    }
    let out = second.run(&[
        "render",
        "summarize@latest",
        "--var",
        "max_words=5",
        "--var",
        "text=T",
    ]);
    out.ok();
    assert!(out
        .stdout
        .ends_with("Keep literal braces like {{ this is not a variable }} and {% as text %}.\n"));
}

#[test]
fn langfuse_export_skips_templates_with_logic_and_names_them() {
    let repo = TestRepo::init();
    repo.run(&[
        "import",
        "prompty",
        &fixture("prompty/travel-guide.prompty"),
    ])
    .ok();
    let out = repo.run(&["export", "--to", "langfuse"]);
    out.ok()
        .stderr_has(&["not exported: travel-guide@1.2.0: messages[0] uses template logic"]);
    assert_eq!(out.json(), serde_json::json!([]));
}
