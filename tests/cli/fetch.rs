//! `promptreg fetch`: selectors, formats, the JSON record, promotion state and errors.

use serde::Deserialize;
use serde_json::{Map, Value};

use crate::support::{promoted_through_pipeline, TestRepo, COMMITTER_EMAIL, DATE};

/// The JSON record, pinned: an unknown key fails to parse.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Record {
    id: String,
    name: String,
    version: String,
    created_by: String,
    created_at: String,
    updated_by: Option<String>,
    updated_at: Option<String>,
    description: String,
    system_prompt: String,
    token_budget: u64,
    temperature: f64,
    status: String,
    environment: Option<String>,
    environments: Vec<String>,
    split: Option<Vec<Value>>,
    bucket: Option<u32>,
    domain: Option<String>,
    model: Option<String>,
    messages: Vec<Value>,
    variables: Map<String, Value>,
    examples: Vec<Value>,
    tags: Vec<String>,
    metadata: Map<String, Value>,
    summary: Option<String>,
    commit: String,
    tag: String,
    tests: Vec<Value>,
}

const KEYS: [&str; 27] = [
    "id",
    "name",
    "version",
    "created_by",
    "created_at",
    "updated_by",
    "updated_at",
    "description",
    "system_prompt",
    "token_budget",
    "temperature",
    "status",
    "environment",
    "environments",
    "domain",
    "model",
    "messages",
    "variables",
    "examples",
    "tags",
    "metadata",
    "summary",
    "commit",
    "tag",
    "tests",
    "split",
    "bucket",
];

#[track_caller]
fn record(repo: &TestRepo, args: &[&str]) -> Record {
    let mut full = vec!["fetch"];
    full.extend_from_slice(args);
    full.extend_from_slice(&["--format", "json"]);
    let out = repo.run(&full);
    out.ok();
    serde_json::from_str(&out.stdout)
        .unwrap_or_else(|e| panic!("not a prompt record ({e}):\n{}", out.stdout))
}

#[track_caller]
fn version_of(repo: &TestRepo, args: &[&str]) -> String {
    record(repo, args).version
}

/// x: 1.0.0 in production, 1.1.0 in staging, 1.2.0 in dev, 2.0.0-rc.1 a draft.
fn pipeline_repo() -> TestRepo {
    let repo = promoted_through_pipeline("x", "1.0.0", "one");
    repo.release("x", "1.1.0", "one point one");
    repo.promote("x", "1.1.0", "dev");
    repo.promote("x", "1.1.0", "staging");
    repo.release("x", "1.2.0", "one point two");
    repo.promote("x", "1.2.0", "dev");
    repo.release("x", "2.0.0-rc.1", "two candidate");
    repo
}

#[test]
fn selectors_and_flags_pick_the_right_version() {
    let repo = pipeline_repo();
    for (args, expected) in [
        (&["x"][..], "1.0.0"),
        (&["x@1.1.0"], "1.1.0"),
        (&["x@v1.1.0"], "1.1.0"),
        (&["x@2.0.0-rc.1"], "2.0.0-rc.1"),
        (&["x@production"], "1.0.0"),
        (&["x@staging"], "1.1.0"),
        (&["x@dev"], "1.2.0"),
        (&["x@latest"], "1.2.0"),
        (&["x", "--version", "1.1.0"], "1.1.0"),
        (&["x", "--env", "staging"], "1.1.0"),
        (&["x", "--env", "dev"], "1.2.0"),
        (&["x", "--latest"], "1.2.0"),
    ] {
        assert_eq!(version_of(&repo, args), expected, "fetch {args:?}");
    }
}

#[test]
fn latest_is_the_highest_prerelease_when_there_is_nothing_else() {
    let repo = TestRepo::init();
    repo.release("x", "0.1.0-alpha.1", "a1");
    repo.release("x", "0.1.0-alpha.2", "a2");
    assert_eq!(version_of(&repo, &["x@latest"]), "0.1.0-alpha.2");
}

#[test]
fn flags_conflict_with_a_target_in_the_selector() {
    let repo = pipeline_repo();
    for args in [
        &["fetch", "x@1.0.0", "--env", "dev"][..],
        &["fetch", "x@dev", "--latest"],
        &["fetch", "x@latest", "--version", "1.0.0"],
        &["fetch", "x", "--version", "1.0.0", "--env", "dev"],
        &["fetch", "x", "--env", "dev", "--latest"],
        &["fetch", "x", "--version", "1.0.0", "--latest"],
    ] {
        repo.run(args).usage();
    }
}

#[test]
fn text_format_prints_exactly_the_system_prompt() {
    let repo = TestRepo::init();
    repo.write(
        "prompts/x/prompt.yaml",
        "system_prompt: |\n  Line one.\n\n  Line {{ three }}.\nvariables:\n  three: {}\n",
    );
    repo.run(&["create", "x", "--version", "1.0.0", "-m", "m"])
        .ok();
    let out = repo.run(&["fetch", "x@1.0.0", "--format", "text"]);
    out.ok();
    assert_eq!(out.stdout, "Line one.\n\nLine {{ three }}.\n");
    assert_eq!(out.stderr, "");
}

#[test]
fn text_format_of_a_single_line_prompt_ends_with_one_newline() {
    let repo = TestRepo::init();
    repo.write("prompts/x/prompt.yaml", "system_prompt: 'Just this.'\n");
    repo.run(&["create", "x", "--version", "1.0.0", "-m", "m"])
        .ok();
    let out = repo.run(&["fetch", "x@1.0.0", "--format", "text"]);
    out.ok();
    assert_eq!(out.stdout, "Just this.\n");
}

#[test]
fn components_are_resolved() {
    let repo = TestRepo::init();
    repo.write(
        "prompts/x/prompt.yaml",
        "system_prompt_file: system.md\nexamples_file: examples.yaml\n",
    );
    repo.write("prompts/x/system.md", "From the file.\nSecond line.\n");
    repo.write(
        "prompts/x/examples.yaml",
        "- {input: hello, output: hi}\n- plain\n",
    );
    repo.run(&["create", "x", "--version", "1.0.0", "-m", "m"])
        .ok();
    let out = repo.run(&["fetch", "x@1.0.0", "--format", "text"]);
    out.ok();
    assert_eq!(out.stdout, "From the file.\nSecond line.\n");
    let rec = record(&repo, &["x@1.0.0"]);
    assert_eq!(rec.system_prompt, "From the file.\nSecond line.\n");
    assert_eq!(
        Value::Array(rec.examples),
        serde_json::json!([{"input": "hello", "output": "hi"}, "plain"])
    );
}

#[test]
fn json_has_exactly_the_documented_keys_in_order() {
    let repo = TestRepo::init();
    repo.release("support/refund-agent", "1.0.0", "Refunds.");
    let out = repo.run(&["fetch", "support/refund-agent@1.0.0", "--format", "json"]);
    out.ok();
    let value: Value = out.json();
    let keys: Vec<&str> = value
        .as_object()
        .expect("an object")
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(keys, KEYS);
    let rec: Record = serde_json::from_value(value).expect("pinned shape");
    assert_eq!(rec.id, "support/refund-agent@1.0.0");
    assert_eq!(rec.name, "support/refund-agent");
    assert_eq!(rec.version, "1.0.0");
    assert_eq!(rec.created_by, COMMITTER_EMAIL);
    assert_eq!(rec.created_at, DATE);
    assert_eq!(rec.description, "release");
    assert_eq!(rec.system_prompt, "Refunds.\n");
    assert_eq!(rec.domain.as_deref(), Some("support"));
    assert_eq!(rec.model.as_deref(), Some("gpt-4o"));
    assert_eq!(
        rec.summary.as_deref(),
        Some("The support/refund-agent prompt")
    );
    assert_eq!(
        rec.variables["user_name"],
        serde_json::json!({"description": "Who is asking", "required": true, "default": null})
    );
    assert!(rec.messages.is_empty());
    assert!(rec.tags.is_empty());
    assert!(rec.metadata.is_empty());
    assert_eq!(rec.tag, "support/refund-agent/v1.0.0");
    assert_eq!(rec.commit, repo.rev("support/refund-agent/v1.0.0^{commit}"));
    // A version asked for by number is never a split's, and no key was given.
    assert!(rec.split.is_none() && rec.bucket.is_none(), "{rec:?}");
}

#[test]
fn defaults_are_applied_and_explicit_values_kept() {
    let repo = TestRepo::init();
    repo.write("prompts/plain/prompt.yaml", "system_prompt: hi\n");
    repo.run(&["create", "plain", "--version", "1.0.0", "-m", "m"])
        .ok();
    let rec = record(&repo, &["plain@1.0.0"]);
    assert_eq!(rec.temperature, 0.7);
    assert_eq!(rec.token_budget, 4096);
    assert_eq!(rec.model, None);
    assert_eq!(rec.summary, None);
    assert_eq!(rec.domain, None);
    assert!(rec.variables.is_empty() && rec.examples.is_empty());

    repo.write(
        "prompts/full/prompt.yaml",
        "temperature: 0.2\ntoken_budget: 512\nsystem_prompt: hi\nmessages:\n  - role: user\n    content: 'Q: {{ q }}'\ntags: [a, b]\nmetadata: {owner: team}\nvariables:\n  q: {required: false, default: 3}\n",
    );
    repo.run(&["create", "full", "--version", "1.0.0", "-m", "m"])
        .ok();
    let rec = record(&repo, &["full@1.0.0"]);
    assert_eq!(rec.temperature, 0.2);
    assert_eq!(rec.token_budget, 512);
    assert_eq!(
        Value::Array(rec.messages),
        serde_json::json!([{"role": "user", "content": "Q: {{ q }}"}])
    );
    assert_eq!(rec.tags, ["a", "b"]);
    assert_eq!(
        Value::Object(rec.metadata),
        serde_json::json!({"owner": "team"})
    );
    assert_eq!(
        rec.variables["q"],
        serde_json::json!({"description": null, "required": false, "default": 3})
    );
}

#[test]
fn status_and_environments_follow_promotions() {
    let repo = pipeline_repo();
    for (version, status, environments) in [
        ("1.0.0", "production", &["production"][..]),
        ("1.1.0", "staging", &["staging"]),
        ("1.2.0", "dev", &["dev"]),
        ("2.0.0-rc.1", "draft", &[]),
    ] {
        let rec = record(&repo, &[&format!("x@{version}")]);
        assert_eq!(rec.status, status, "{version}");
        assert_eq!(rec.environments, environments, "{version}");
        let expected_env = (status != "draft").then(|| status.to_owned());
        assert_eq!(rec.environment, expected_env, "{version}");
        assert!(rec.tests.is_empty(), "never tested: {version}");
    }
    // One version in every environment.
    let repo = promoted_through_pipeline("y", "1.0.0", "y");
    let rec = record(&repo, &["y"]);
    assert_eq!(rec.environments, ["dev", "staging", "production"]);
    assert_eq!(rec.status, "production");
}

#[test]
fn updated_by_comes_from_the_promoting_commit() {
    let repo = TestRepo::init();
    repo.release("x", "1.0.0", "one");
    repo.release("x", "1.1.0", "two");
    let rec = record(&repo, &["x@1.0.0"]);
    assert_eq!(rec.updated_by, None);
    assert_eq!(rec.updated_at, None);

    repo.run_with(
        &["promote", "x", "1.0.0", "--to", "dev", "--reason", "r"],
        &[
            ("GIT_AUTHOR_EMAIL", "first@example.com"),
            ("GIT_AUTHOR_DATE", "2026-02-01T10:00:00+01:00"),
        ],
        &[],
    )
    .ok();
    let rec = record(&repo, &["x@1.0.0"]);
    assert_eq!(rec.updated_by.as_deref(), Some("first@example.com"));
    assert_eq!(rec.updated_at.as_deref(), Some("2026-02-01T10:00:00+01:00"));
    // Unrelated commits (other prompts, other files) do not count.
    repo.release("other", "1.0.0", "other");
    repo.promote("other", "1.0.0", "dev");
    let rec = record(&repo, &["x@1.0.0"]);
    assert_eq!(rec.updated_by.as_deref(), Some("first@example.com"));
    // A version never promoted stays null even after others were.
    let rec = record(&repo, &["x@1.1.0"]);
    assert_eq!(rec.updated_by, None);
    // Replacing 1.0.0 in dev changes which environments hold it.
    repo.run_with(
        &["promote", "x", "1.1.0", "--to", "dev", "--reason", "r"],
        &[("GIT_AUTHOR_EMAIL", "second@example.com")],
        &[],
    )
    .ok();
    let rec = record(&repo, &["x@1.0.0"]);
    assert_eq!(rec.updated_by.as_deref(), Some("second@example.com"));
    assert_eq!(rec.status, "draft");
    let rec = record(&repo, &["x@1.1.0"]);
    assert_eq!(rec.updated_by.as_deref(), Some("second@example.com"));
    // A hand edit (no trailers) is read from the index itself, and promptreg moves of other
    // prompts after it (read from their trailers) do not hide it.
    let text = repo.read("registry.yaml");
    repo.write(
        "registry.yaml",
        &text.replace("    dev: 1.1.0\n", "    dev: 1.1.0\n    staging: 1.1.0\n"),
    );
    repo.git(&[
        "commit",
        "-q",
        "-a",
        "--author",
        "Hand <hand@example.com>",
        "-m",
        "by hand",
    ]);
    repo.release("other", "1.1.0", "other two");
    repo.promote("other", "1.1.0", "dev");
    let rec = record(&repo, &["x@1.1.0"]);
    assert_eq!(rec.environments, ["dev", "staging"]);
    assert_eq!(rec.updated_by.as_deref(), Some("hand@example.com"));
}

#[test]
fn ref_reads_promotion_state_from_an_older_commit() {
    let repo = TestRepo::init();
    repo.release("x", "1.0.0", "one");
    repo.run_with(
        &["promote", "x", "1.0.0", "--to", "dev", "--reason", "r"],
        &[("GIT_AUTHOR_EMAIL", "dev@example.com")],
        &[],
    )
    .ok();
    let older = repo.rev("HEAD");
    repo.run_with(
        &["promote", "x", "1.0.0", "--to", "staging", "--reason", "r"],
        &[("GIT_AUTHOR_EMAIL", "staging@example.com")],
        &[],
    )
    .ok();
    let now = record(&repo, &["x@1.0.0"]);
    assert_eq!(now.environments, ["dev", "staging"]);
    assert_eq!(now.updated_by.as_deref(), Some("staging@example.com"));
    let then = record(&repo, &["x@1.0.0", "--ref", &older]);
    assert_eq!(then.environments, ["dev"]);
    assert_eq!(then.status, "dev");
    assert_eq!(then.updated_by.as_deref(), Some("dev@example.com"));
    assert_eq!(version_of(&repo, &["x@dev", "--ref", "HEAD~1"]), "1.0.0");
    repo.run(&["fetch", "x@staging", "--ref", &older])
        .refused()
        .stderr_has(&["no version in staging", "dev holds 1.0.0"]);
    repo.run(&["fetch", "x@1.0.0", "--ref", "no-such-branch"])
        .refused()
        .stderr_has(&["revision `no-such-branch` not found"]);
}

#[test]
fn yaml_is_the_default_format() {
    let repo = TestRepo::init();
    repo.release("x", "1.0.0", "one");
    let out = repo.run(&["fetch", "x@1.0.0"]);
    out.ok();
    assert!(out.stdout.contains("id: x@1.0.0\n"), "{}", out.stdout);
    assert!(out.stdout.contains("status: draft\n"), "{}", out.stdout);
    let explicit = repo.run(&["fetch", "x@1.0.0", "--format", "yaml"]);
    assert_eq!(explicit.stdout, out.stdout);
}

#[test]
fn unknown_prompt_lists_nearby_names() {
    let repo = TestRepo::init();
    repo.release("support/refund-agent", "1.0.0", "r");
    repo.release("support/triage", "1.0.0", "t");
    repo.run(&["fetch", "support/refund-agen"])
        .refused()
        .stderr_has(&[
            "prompt `support/refund-agen` not found",
            "support/refund-agent",
            "support/triage",
        ]);
}

#[test]
fn unknown_prompt_in_an_empty_registry_suggests_create() {
    let repo = TestRepo::init();
    repo.run(&["fetch", "x@latest"])
        .refused()
        .stderr_has(&["not found", "promptreg create"]);
}

#[test]
fn unknown_version_lists_existing_ones() {
    let repo = pipeline_repo();
    repo.run(&["fetch", "x@9.9.9"]).refused().stderr_has(&[
        "version 9.9.9 of `x` not found",
        "1.0.0, 1.1.0, 1.2.0, 2.0.0-rc.1",
    ]);
}

#[test]
fn unknown_environment_lists_the_pipeline() {
    let repo = pipeline_repo();
    repo.run(&["fetch", "x@qa"])
        .refused()
        .stderr_has(&["unknown environment `qa`", "dev, staging, production"]);
    repo.run(&["fetch", "x", "--env", "prod"])
        .refused()
        .stderr_has(&["unknown environment `prod`"]);
}

#[test]
fn not_in_production_names_where_it_is() {
    let repo = TestRepo::init();
    repo.release("x", "1.0.0", "one");
    repo.run(&["fetch", "x"])
        .refused()
        .stderr_has(&["`x` has no version in production", "x@latest"]);
    repo.promote("x", "1.0.0", "dev");
    repo.promote("x", "1.0.0", "staging");
    repo.run(&["fetch", "x"]).refused().stderr_has(&[
        "no version in production",
        "dev holds 1.0.0, staging holds 1.0.0",
        "promptreg fetch x@staging",
    ]);
}

#[test]
fn fetch_reads_committed_state_not_the_working_tree() {
    let repo = TestRepo::init();
    repo.release("x", "1.0.0", "one");
    repo.promote("x", "1.0.0", "dev");
    // An uncommitted edit of registry.yaml changes nothing.
    let text = repo
        .read("registry.yaml")
        .replace("dev: 1.0.0", "dev: 9.9.9");
    repo.write("registry.yaml", &text);
    assert_eq!(version_of(&repo, &["x@dev"]), "1.0.0");
}

#[test]
fn fetch_writes_an_access_log_line_when_asked() {
    let repo = TestRepo::init();
    repo.release("x", "1.0.0", "One.");
    repo.promote("x", "1.0.0", "dev");
    let log = repo.root.join("access.log");
    let log_text = log.to_str().unwrap();
    repo.run_with(
        &["fetch", "x@dev", "--format", "text"],
        &[("PROMPTREG_AUDIT_LOG", log_text)],
        &[],
    )
    .ok();
    repo.run_with(
        &["fetch", "x@9.9.9"],
        &[("PROMPTREG_AUDIT_LOG", log_text)],
        &[],
    )
    .refused();
    // Without the variable nothing is written.
    repo.run(&["fetch", "x@dev"]).ok();
    let lines: Vec<serde_json::Value> = std::fs::read_to_string(&log)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[0]["method"], "FETCH");
    assert_eq!(lines[0]["path"], "x@dev");
    assert_eq!(lines[0]["prompt"], "x");
    assert_eq!(lines[0]["version"], "1.0.0");
    assert_eq!(lines[0]["environment"], "dev");
    assert_eq!(lines[0]["client"], "cli");
    assert_eq!(lines[0]["status"], 200);
    assert_eq!(lines[0]["identity"], "author@example.com");
    assert_eq!(lines[1]["status"], 404);
    assert!(lines[1]["version"].is_null());
    for key in ["time", "duration_ms"] {
        assert!(!lines[0][key].is_null(), "{key}");
    }
}

/// Replaces `from` with `to` in `registry.yaml` and commits that by hand, with `author`
/// (`Name <email>`) as its author.
#[track_caller]
fn edit_as(repo: &TestRepo, from: &str, to: &str, author: &str, message: &str) {
    let index = repo.read("registry.yaml");
    let edited = index.replace(from, to);
    assert_ne!(edited, index, "registry.yaml:\n{index}");
    std::fs::write(repo.path("registry.yaml"), edited).unwrap();
    repo.git(&[
        "commit",
        "-q",
        &format!("--author={author}"),
        "-am",
        message,
    ]);
}

/// Who last moved a version is cached under the commit a read starts from, and a later read
/// stops at the first commit with a cached answer. Hand edits after it (another prompt moved,
/// as a pull brings; this prompt moved by hand) and a cache removed altogether all give what
/// a walk with no cache gives.
#[test]
fn updated_by_through_the_cache_is_what_a_walk_without_it_gives() {
    let repo = TestRepo::init();
    repo.release("x", "1.0.0", "one");
    repo.release("other", "1.0.0", "other");
    repo.run_with(
        &["promote", "x", "1.0.0", "--to", "dev", "--reason", "r"],
        &[("GIT_AUTHOR_EMAIL", "first@example.com")],
        &[],
    )
    .ok();
    let cold = |repo: &TestRepo| {
        std::fs::remove_dir_all(repo.path(".git/promptreg")).ok();
        record(repo, &["x@1.0.0"]).updated_by
    };
    // The answer through the cache, then with no cache at all.
    let warm_and_cold = |repo: &TestRepo, by: &str| {
        let warm = record(repo, &["x@1.0.0"]).updated_by;
        assert_eq!(
            (warm.as_deref(), cold(repo).as_deref()),
            (Some(by), Some(by))
        );
    };
    assert_eq!(
        record(&repo, &["x@1.0.0"]).updated_by.as_deref(),
        Some("first@example.com")
    );
    assert_eq!(
        record(&repo, &["x@1.0.0"]).updated_by.as_deref(),
        Some("first@example.com")
    );

    // A pull that moved another prompt: the answer cached one commit back still holds.
    let index = repo.read("registry.yaml");
    let moved_other = format!("{index}  other:\n    dev: 1.0.0\n");
    let answers = |repo: &TestRepo| {
        std::fs::read_dir(repo.path(".git/promptreg/cache"))
            .unwrap()
            .filter(|e| {
                let name = e.as_ref().unwrap().file_name();
                name.to_string_lossy().starts_with("updates-")
            })
            .count()
    };
    let before = answers(&repo);
    repo.commit_by_hand("registry.yaml", &moved_other, "other to dev by hand");
    assert_eq!(
        record(&repo, &["x@1.0.0"]).updated_by.as_deref(),
        Some("first@example.com")
    );
    assert_eq!(
        answers(&repo),
        before + 1,
        "the new commit's answer is kept"
    );

    // x moved by hand by someone else: the new commit is the answer, not the cached one.
    edit_as(
        &repo,
        "x:\n    dev: 1.0.0\n",
        "x:\n    dev: 1.0.0\n    staging: 1.0.0\n",
        "Hand <hand@example.com>",
        "x to staging by hand",
    );
    warm_and_cold(&repo, "hand@example.com");

    // Answers cached before they recorded the holders (`{"by","at"}` only): the walk reads
    // the indexes to compare, and still stops at them.
    record(&repo, &["x@1.0.0"]);
    let mut rewritten = 0;
    for entry in std::fs::read_dir(repo.path(".git/promptreg/cache")).unwrap() {
        let path = entry.unwrap().path();
        if !path
            .file_name()
            .unwrap()
            .to_string_lossy()
            .starts_with("updates-")
        {
            continue;
        }
        let mut value: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        assert!(value["holders"].is_array(), "{value}");
        value.as_object_mut().unwrap().remove("holders");
        std::fs::write(&path, value.to_string()).unwrap();
        rewritten += 1;
    }
    assert!(rewritten > 0);
    let index = repo.read("registry.yaml");
    repo.commit_by_hand(
        "registry.yaml",
        &index.replace(
            "  other:\n    dev: 1.0.0\n",
            "  other:\n    staging: 1.0.0\n",
        ),
        "other to staging by hand",
    );
    assert_eq!(
        record(&repo, &["x@1.0.0"]).updated_by.as_deref(),
        Some("hand@example.com")
    );
    edit_as(
        &repo,
        "x:\n    dev: 1.0.0\n    staging: 1.0.0\n",
        "x:\n    dev: 1.0.0\n",
        "Third <third@example.com>",
        "x out of staging by hand",
    );
    warm_and_cold(&repo, "third@example.com");
}
