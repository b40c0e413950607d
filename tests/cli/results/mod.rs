//! `promptreg results record/import/show`: one commit per run that changes `results/<name>.yaml`
//! alone, the refusals, report imports, and what `show`, `fetch`, `versions`, `history` and
//! `validate` make of the recorded runs; one file per subject, the helpers they share here.

use serde_json::{json, Value};

use crate::support::{
    released_prompt, Output, TestRepo, AUTHOR_EMAIL, AUTHOR_NAME, COMMITTER_EMAIL, DATE,
};

mod bad_runs;
mod broken;
mod history;
mod import;
mod import_input;
mod record;
mod refusals;
mod show;
mod validate;

const NAME: &str = "support/refund-agent";
const FILE: &str = "results/support/refund-agent.yaml";

/// The path of a sample report in `fixtures/results/`.
fn fixture(file: &str) -> String {
    format!("{}/fixtures/results/{file}", env!("CARGO_MANIFEST_DIR"))
}

/// A registry with `NAME` 1.0.0 released; its prompt draws no validation findings.
fn released() -> TestRepo {
    released_prompt(NAME, "1.0.0", "Hello {{ user_name }}")
}

/// `results record SELECTOR EXTRA…`.
fn record(repo: &TestRepo, selector: &str, extra: &[&str]) -> Output {
    let mut args = vec!["results", "record", selector];
    args.extend_from_slice(extra);
    repo.run(&args)
}

/// `results import SELECTOR --from FORMAT FILE EXTRA…`.
fn import(repo: &TestRepo, selector: &str, format: &str, file: &str, extra: &[&str]) -> Output {
    let mut args = vec!["results", "import", selector, "--from", format, file];
    args.extend_from_slice(extra);
    repo.run(&args)
}

/// `ARGS --format json`, asserting success.
#[track_caller]
fn json_of(repo: &TestRepo, args: &[&str]) -> Value {
    let mut all = args.to_vec();
    all.extend_from_slice(&["--format", "json"]);
    let out = repo.run(&all);
    out.ok();
    out.json()
}

/// `results show SELECTOR --format json`.
#[track_caller]
fn show(repo: &TestRepo, selector: &str) -> Vec<Value> {
    match json_of(repo, &["results", "show", selector]) {
        Value::Array(rows) => rows,
        other => panic!("results show is not a JSON array: {other}"),
    }
}

/// The only run `results show SELECTOR` lists.
#[track_caller]
fn only_row(repo: &TestRepo, selector: &str) -> Value {
    let rows = show(repo, selector);
    assert_eq!(rows.len(), 1, "{rows:#?}");
    rows.into_iter().next().expect("one row")
}

/// The `tested` events of `history ARGS`, newest first.
#[track_caller]
fn tested_events(repo: &TestRepo, args: &[&str]) -> Vec<Value> {
    let mut all = vec!["history"];
    all.extend_from_slice(args);
    match json_of(repo, &all) {
        Value::Array(events) => events
            .into_iter()
            .filter(|e| e["event"] == "tested")
            .collect(),
        other => panic!("history is not a JSON array: {other}"),
    }
}

/// The whitespace-separated cells of the table line that contains `needle`.
#[track_caller]
fn table_row(table: &str, needle: &str) -> Vec<String> {
    let line = table
        .lines()
        .find(|l| l.contains(needle))
        .unwrap_or_else(|| panic!("no line with {needle:?}:\n{table}"));
    line.split_whitespace().map(str::to_owned).collect()
}

/// `text` without its `#` comment lines (the header comment is not part of the format).
fn without_comments(text: &str) -> String {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .map(|l| format!("{l}\n"))
        .collect()
}

/// Runs `args`, asserting a usage error whose stderr has `needles`, and that nothing changed.
#[track_caller]
fn usage_unchanged(repo: &TestRepo, args: &[&str], needles: &[&str]) {
    repo.unchanged_by(|| repo.run(args))
        .usage()
        .stderr_has(needles);
}

/// `(test, passed, failed, errored, avg_score, tested_at, source, url)` of a run.
type Facts = (Value, Value, Value, Value, Value, Value, Value, Value);

/// The [`Facts`] of a `show` row.
fn facts(row: &Value) -> Facts {
    (
        row["test"].clone(),
        row["passed"].clone(),
        row["failed"].clone(),
        row["errored"].clone(),
        row["avg_score"].clone(),
        row["tested_at"].clone(),
        row["source"].clone(),
        row["url"].clone(),
    )
}

/// Builds the expected value of [`facts`].
#[allow(clippy::too_many_arguments)]
fn expect(
    test: &str,
    passed: u64,
    failed: u64,
    errored: u64,
    avg_score: Option<f64>,
    tested_at: &str,
    source: &str,
    url: Option<&str>,
) -> Facts {
    (
        json!(test),
        json!(passed),
        json!(failed),
        json!(errored),
        json!(avg_score),
        json!(tested_at),
        json!(source),
        json!(url),
    )
}
