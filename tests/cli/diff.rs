//! `promptreg diff`: text and field differences between versions, environments and the working
//! tree; environment-wide comparison; exit codes, JSON shapes and errors.

use serde::Deserialize;

use crate::support::{prompt_file, TestRepo};

/// `diff NAME A B --format json`, pinned.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Diff {
    a: String,
    b: String,
    equal: bool,
    text_diff: String,
    fields: Vec<Field>,
}

#[derive(Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
struct Field {
    field: String,
    a: Option<String>,
    b: Option<String>,
}

/// `diff --env A B --format json`, pinned.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct EnvDiff {
    a: String,
    b: String,
    equal: bool,
    prompts: Vec<EnvPrompt>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct EnvPrompt {
    name: String,
    a: Option<String>,
    b: Option<String>,
    change: String,
    diff: Option<Diff>,
}

const V1: &str = "\
summary: Answers refunds
model: gpt-4o
temperature: 0.3
system_prompt: |
  You are an agent for {{ company }}.
  Be brief.
  Follow the policy.
messages:
  - {role: user, content: \"{{ message }}\"}
variables:
  company: {description: The company}
  message: {}
  tone: {required: false, default: calm}
tags: [support]
";

const V2: &str = "\
summary: Answers refund requests
model: gpt-4o-mini
temperature: 0.3
token_budget: 1000
system_prompt: |
  You are an agent for {{ company }}.
  Be very brief.
  Follow the policy.
messages:
  - {role: user, content: \"{{ message }}\"}
  - {role: assistant, content: OK}
variables:
  company: {description: The company}
  message: {}
  channel: {}
tags: [support, refunds]
";

/// `agent` 1.0.0 (V1) in every environment, 2.0.0 (V2) in dev and staging; the working tree
/// holds V2.
fn repo() -> TestRepo {
    let repo = TestRepo::init();
    for (version, content, envs) in [
        ("1.0.0", V1, &["dev", "staging", "production"][..]),
        ("2.0.0", V2, &["dev", "staging"]),
    ] {
        repo.write(&prompt_file("agent"), content);
        repo.run(&["create", "agent", "--version", version, "-m", "m"])
            .ok();
        for env in envs {
            repo.promote("agent", version, env);
        }
    }
    repo
}

#[track_caller]
fn json(repo: &TestRepo, args: &[&str], code: i32) -> Diff {
    let mut full = vec!["diff"];
    full.extend_from_slice(args);
    full.extend_from_slice(&["--format", "json"]);
    let out = repo.run(&full);
    out.code(code);
    assert!(!out.stderr.contains("error"), "{}", out.stderr);
    serde_json::from_str(&out.stdout)
        .unwrap_or_else(|e| panic!("not a diff ({e}):\n{}", out.stdout))
}

#[test]
fn equal_sides_exit_0_with_nothing_on_stdout() {
    let repo = repo();
    let out = repo.run(&["diff", "agent", "2.0.0"]);
    out.ok();
    assert_eq!(out.stdout, "");
    assert!(out
        .stderr
        .contains("no differences between agent@2.0.0 and agent@worktree"));
    let diff = json(&repo, &["agent", "staging", "latest"], 0);
    assert!(diff.equal);
    assert_eq!(
        (diff.a.as_str(), diff.b.as_str()),
        ("agent@2.0.0", "agent@2.0.0")
    );
    assert_eq!(diff.text_diff, "");
    assert!(diff.fields.is_empty());
    repo.run(&["-q", "diff", "agent", "1.0.0", "production"])
        .ok();
}

#[test]
fn differences_print_a_unified_diff_and_settings_and_exit_1() {
    let repo = repo();
    let out = repo.run(&["diff", "agent", "production", "dev"]);
    out.code(1);
    assert_eq!(out.stderr, "", "differences are not an error");
    let expected_text = "\
--- a/agent@1.0.0
+++ b/agent@2.0.0
@@ -1,6 +1,9 @@
 You are an agent for {{ company }}.
-Be brief.
+Be very brief.
 Follow the policy.
 
 [user]
 {{ message }}
+
+[assistant]
+OK
";
    assert!(
        out.stdout.starts_with(expected_text),
        "stdout:\n{}",
        out.stdout
    );
    assert!(!out.stdout.contains('\x1b'), "no colour without a terminal");
    assert!(out
        .stdout
        .contains("\nsettings (agent@1.0.0 → agent@2.0.0):\n  model: gpt-4o → gpt-4o-mini\n"));
    assert!(out
        .stdout
        .contains("  variables.channel: (none) → required\n"));
    assert!(out
        .stdout
        .contains("  variables.tone: optional, default: \"calm\" → (none)\n"));
}

#[test]
fn json_lists_every_field_that_differs() {
    let repo = repo();
    let diff = json(&repo, &["agent", "1.0.0", "2.0.0"], 1);
    assert!(!diff.equal);
    assert!(diff
        .text_diff
        .starts_with("--- a/agent@1.0.0\n+++ b/agent@2.0.0\n@@ "));
    let field = |name: &str, a: Option<&str>, b: Option<&str>| Field {
        field: name.into(),
        a: a.map(Into::into),
        b: b.map(Into::into),
    };
    assert_eq!(
        diff.fields,
        [
            field("model", Some("gpt-4o"), Some("gpt-4o-mini")),
            field("token_budget", Some("4096"), Some("1000")),
            field("variables.channel", None, Some("required")),
            field("variables.tone", Some("optional, default: \"calm\""), None),
            field("messages", Some("1: user"), Some("2: user, assistant")),
            field(
                "tags",
                Some("[\"support\"]"),
                Some("[\"support\",\"refunds\"]")
            ),
            field(
                "summary",
                Some("Answers refunds"),
                Some("Answers refund requests")
            ),
        ]
    );
}

#[test]
fn variable_contract_and_description_changes_are_fields() {
    let repo = TestRepo::init();
    repo.write(
        &prompt_file("x"),
        "system_prompt: hi\ntemperature: 1\nvariables:\n  a: {description: old}\n  b: {required: false}\nexamples: [{input: q, output: a}]\nmetadata: {owner: me}\n",
    );
    repo.run(&["create", "x", "--version", "1.0.0", "-m", "m"])
        .ok();
    repo.write(
        &prompt_file("x"),
        "system_prompt: hi\nvariables:\n  a: {description: new, default: 1}\n  b: {}\nexamples: [{input: q, output: b}]\nmetadata: {owner: you, team: t}\n",
    );
    let diff = json(&repo, &["x", "1.0.0"], 1);
    assert_eq!(diff.b, "x@worktree");
    assert_eq!(diff.text_diff, "");
    let fields: Vec<(String, Option<String>, Option<String>)> = diff
        .fields
        .into_iter()
        .map(|f| (f.field, f.a, f.b))
        .collect();
    let s = |x: &str| Some(x.to_owned());
    assert_eq!(
        fields,
        [
            ("temperature".into(), s("1"), s("0.7")),
            (
                "variables.a".into(),
                s("required"),
                s("required, default: 1")
            ),
            ("variables.a.description".into(), s("old"), s("new")),
            ("variables.b".into(), s("optional"), s("required")),
            (
                "examples[0]".into(),
                s(r#"{"input":"q","output":"a"}"#),
                s(r#"{"input":"q","output":"b"}"#)
            ),
            ("metadata.owner".into(), s("\"me\""), s("\"you\"")),
            ("metadata.team".into(), None, s("\"t\"")),
        ]
    );
}

#[test]
fn colour_only_when_asked() {
    let repo = repo();
    let out = repo.run(&["--color", "always", "diff", "agent", "1.0.0", "2.0.0"]);
    out.code(1);
    assert!(
        out.stdout.contains("\x1b[31m-Be brief.\x1b[0m\n"),
        "{:?}",
        out.stdout
    );
    assert!(
        out.stdout.contains("\x1b[32m+Be very brief.\x1b[0m\n"),
        "{:?}",
        out.stdout
    );
    assert!(
        out.stdout.contains("--- a/agent@1.0.0\n"),
        "headers stay plain"
    );
    let plain = repo.run(&["--color", "never", "diff", "agent", "1.0.0", "2.0.0"]);
    assert!(!plain.stdout.contains('\x1b'));
}

#[test]
fn the_working_tree_is_the_default_new_side() {
    let repo = repo();
    repo.write(
        &prompt_file("agent"),
        &V2.replace("Be very brief.", "Be terse."),
    );
    let out = repo.run(&["diff", "agent", "latest"]);
    out.code(1);
    assert!(
        out.stdout
            .starts_with("--- a/agent@2.0.0\n+++ b/agent@worktree\n"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains("\n-Be very brief.\n+Be terse.\n"),
        "{}",
        out.stdout
    );
    assert!(!out.stdout.contains("settings"), "{}", out.stdout);
    let back = repo.run(&["diff", "agent", "worktree", "2.0.0"]);
    back.code(1);
    assert!(
        back.stdout.contains("\n-Be terse.\n+Be very brief.\n"),
        "{}",
        back.stdout
    );
}

#[test]
fn errors_exit_1_with_an_error_line() {
    let repo = repo();
    for (args, needles) in [
        (
            &["diff", "agent", "qa"][..],
            &["unknown environment `qa`", "hint: the pipeline is"][..],
        ),
        (
            &["diff", "agent", "1.0.0", "9.9.9"],
            &["version 9.9.9 of `agent` not found", "1.0.0, 2.0.0"],
        ),
        (
            &["diff", "nobody", "1.0.0", "latest"],
            &["prompt `nobody` not found"],
        ),
        (&["diff", "agent", "1.0"], &["invalid version `1.0`"]),
        (&["diff", "Bad_Name", "1.0.0"], &["invalid prompt name"]),
    ] {
        repo.run(args).refused().stderr_has(needles);
    }
    std::fs::remove_dir_all(repo.path("prompts/agent")).unwrap();
    repo.run(&["diff", "agent", "1.0.0"])
        .refused()
        .stderr_has(&["prompts/agent/prompt.yaml: not found in the working tree"]);
    repo.write(&prompt_file("agent"), "system_prompt: [unclosed\n");
    repo.run(&["diff", "agent", "1.0.0"])
        .refused()
        .stderr_has(&["prompts/agent/prompt.yaml:1:"]);
}

#[test]
fn usage_errors_exit_2() {
    let repo = repo();
    repo.run(&["diff"]).usage();
    repo.run(&["diff", "agent"]).usage();
    repo.run(&["diff", "agent", "1.0.0", "--text"]).usage();
    repo.run(&["diff", "--env", "staging"]).usage();
    repo.run(&["diff", "agent", "1.0.0", "--env", "dev", "staging"])
        .usage();
    repo.run(&["diff", "agent", "1.0.0", "--format", "yaml"])
        .usage();
}

/// Three prompts: `agent` as in [`repo`], `same` 1.0.0 everywhere, `fresh` 1.0.0 only in dev
/// and staging, `old` 1.0.0 only in production (staging's pointer removed by hand), and
/// `twin` with 1.0.0 and 1.0.1 holding the same content in staging and production.
fn env_repo() -> TestRepo {
    let repo = repo();
    repo.release("same", "1.0.0", "same");
    repo.release("fresh", "1.0.0", "fresh");
    repo.release("old", "1.0.0", "old");
    repo.release("twin", "1.0.0", "twin");
    repo.run(&[
        "create",
        "twin",
        "--version",
        "1.0.1",
        "-m",
        "m",
        "--allow-unchanged",
    ])
    .ok();
    for env in ["dev", "staging", "production"] {
        repo.promote("same", "1.0.0", env);
        repo.promote("old", "1.0.0", env);
        repo.promote("twin", "1.0.0", env);
    }
    repo.promote("twin", "1.0.1", "dev");
    repo.promote("twin", "1.0.1", "staging");
    repo.promote("fresh", "1.0.0", "dev");
    repo.promote("fresh", "1.0.0", "staging");
    let index = repo.read("registry.yaml");
    let index = index.replacen(
        "  old:\n    dev: 1.0.0\n    staging: 1.0.0\n",
        "  old:\n",
        1,
    );
    repo.commit_by_hand("registry.yaml", &index, "drop old from dev and staging");
    repo
}

#[test]
fn environments_table_lists_prompts_whose_versions_differ() {
    let repo = env_repo();
    let out = repo.run(&["diff", "--env", "staging", "production"]);
    out.code(1);
    let rows: Vec<Vec<&str>> = out
        .stdout
        .lines()
        .map(|line| line.split_whitespace().collect())
        .collect();
    assert_eq!(
        rows,
        [
            vec!["NAME", "STAGING", "PRODUCTION", "CHANGE"],
            vec![
                "agent",
                "2.0.0",
                "1.0.0",
                "text,",
                "model,",
                "token_budget,",
                "variables,",
                "messages,",
                "tags,",
                "summary"
            ],
            vec!["fresh", "1.0.0", "-", "only", "in", "staging"],
            vec!["old", "-", "1.0.0", "only", "in", "production"],
            vec!["twin", "1.0.1", "1.0.0", "same", "content"],
        ],
        "{}",
        out.stdout
    );
    assert!(out
        .stderr
        .contains("4 prompt(s) differ between staging and production"));
    assert!(!out.stderr.contains("error"));

    let text = repo.run(&["diff", "--env", "production", "staging", "--text"]);
    text.code(1);
    assert!(
        text.stdout
            .contains("\n--- a/agent@1.0.0\n+++ b/agent@2.0.0\n"),
        "{}",
        text.stdout
    );
    assert!(text.stdout.contains("+Be very brief.\n"), "{}", text.stdout);
    assert!(
        !text.stdout.contains("twin@"),
        "equal content has no diff: {}",
        text.stdout
    );
}

/// name, A's version, B's version, change, whether a diff is given.
type Row<'a> = (&'a str, Option<&'a str>, Option<&'a str>, &'a str, bool);

#[test]
fn environments_json_and_identical_environments() {
    let repo = env_repo();
    let out = repo.run(&["diff", "--env", "staging", "production", "--format", "json"]);
    out.code(1);
    let diff: EnvDiff = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(
        (diff.a.as_str(), diff.b.as_str(), diff.equal),
        ("staging", "production", false)
    );
    let summary: Vec<Row> = diff
        .prompts
        .iter()
        .map(|p| {
            (
                p.name.as_str(),
                p.a.as_deref(),
                p.b.as_deref(),
                p.change.as_str(),
                p.diff.is_some(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            (
                "agent",
                Some("2.0.0"),
                Some("1.0.0"),
                "text, model, token_budget, variables, messages, tags, summary",
                true
            ),
            ("fresh", Some("1.0.0"), None, "only in staging", false),
            ("old", None, Some("1.0.0"), "only in production", false),
            ("twin", Some("1.0.1"), Some("1.0.0"), "same content", true),
        ]
    );
    let agent = diff.prompts[0].diff.as_ref().unwrap();
    assert_eq!(
        (agent.a.as_str(), agent.b.as_str(), agent.equal),
        ("agent@2.0.0", "agent@1.0.0", false)
    );
    assert!(agent.text_diff.contains("-Be very brief.\n+Be brief.\n"));
    assert!(!agent.fields.is_empty());
    assert!(diff.prompts[3].diff.as_ref().unwrap().equal);

    let same = repo.run(&["diff", "--env", "dev", "staging"]);
    same.ok();
    assert_eq!(same.stdout, "");
    assert!(same
        .stderr
        .contains("dev and staging serve the same versions"));
    let same = repo.run(&["diff", "--env", "dev", "staging", "--format", "json"]);
    same.ok();
    let diff: EnvDiff = serde_json::from_str(&same.stdout).unwrap();
    assert!(diff.equal && diff.prompts.is_empty());

    repo.run(&["diff", "--env", "staging", "qa"])
        .refused()
        .stderr_has(&["unknown environment `qa`"]);
}

#[test]
fn environments_with_a_split_compare_its_first_entry_and_show_the_weights() {
    let repo = env_repo();
    repo.run(&[
        "promote",
        "agent",
        "2.0.0",
        "--to",
        "production",
        "--canary",
        "10",
        "--reason",
        "canary",
    ])
    .ok();
    let out = repo.run(&["diff", "--env", "staging", "production"]);
    out.code(1);
    let agent = out
        .stdout
        .lines()
        .find(|l| l.trim_start().starts_with("agent "))
        .expect("agent's row");
    assert!(
        agent.contains(" 2.0.0    1.0.0 90% / 2.0.0 10%  text, model, "),
        "{}",
        out.stdout
    );
    assert!(
        agent.ends_with("summary; production split, compared by its first entry 1.0.0 "),
        "{}",
        out.stdout
    );
    let json = repo.run(&["diff", "--env", "staging", "production", "--format", "json"]);
    let diff: EnvDiff = serde_json::from_str(&json.stdout).unwrap();
    let agent = &diff.prompts[0];
    assert_eq!(
        (agent.a.as_deref(), agent.b.as_deref()),
        (Some("2.0.0"), Some("1.0.0=90 2.0.0=10"))
    );
    assert_eq!(agent.diff.as_ref().unwrap().b, "agent@1.0.0");
    // Two splits of the same first entry differ only by their weights.
    repo.run(&[
        "split", "agent", "--env", "staging", "1.0.0=50", "2.0.0=50", "--reason", "ab", "--force",
    ])
    .ok();
    let json = repo.run(&["diff", "--env", "staging", "production", "--format", "json"]);
    let diff: EnvDiff = serde_json::from_str(&json.stdout).unwrap();
    assert_eq!(
        diff.prompts[0].change,
        "same content; staging split, compared by its first entry 1.0.0; production split, compared by its first entry 1.0.0"
    );
}
