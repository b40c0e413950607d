//! `validate` of results files: recorded and hand-written runs pass; broken files, bad counts,
//! unknown keys and runs of versions never released are findings.

use super::*;

/// `validate --format json`: the exit code and the findings.
fn validate(repo: &TestRepo) -> (i32, Vec<Value>) {
    let out = repo.run(&["validate", "--format", "json"]);
    match out.json() {
        Value::Array(findings) => (out.code, findings),
        other => panic!("validate is not a JSON array: {other}"),
    }
}

/// A results file for `NAME` with the given `versions:` block.
fn results_file(versions: &str) -> String {
    format!("format: 1\nprompt: {NAME}\nversions:\n{versions}")
}

const RUN: &str =
    "      passed: 1\n      failed: 0\n      tested_at: \"2026-01-02T00:00:00Z\"\n      \
                   tested_by: ci@example.com\n      source: manual\n";

#[test]
fn validate_accepts_recorded_and_hand_written_results() {
    let repo = released();
    record(
        &repo,
        &format!("{NAME}@1.0.0"),
        &[
            "--test", "t", "--passed", "1", "--failed", "0", "--score", "1",
        ],
    )
    .ok();
    assert_eq!(validate(&repo), (0, Vec::new()));
    repo.write(
        FILE,
        &results_file(&format!("  \"1.0.0\":\n    - test: hand\n{RUN}")),
    );
    assert_eq!(validate(&repo), (0, Vec::new()));
}

#[test]
fn validate_reports_results_files_that_break_the_format() {
    let repo = released();
    for (content, message, line) in [
        (
            format!("format: 1\nprompt: {NAME}\nversions:\n  \"1.0.0\": [\n"),
            "",
            Some(4),
        ),
        (
            results_file(&format!(
                "  \"1.0.0\":\n    - test: t\n{}",
                RUN.replace("passed: 1", "passed: 0")
            )),
            "version 1.0.0: `t` counts no test cases",
            None,
        ),
        (
            results_file(&format!(
                "  \"1.0.0\":\n    - test: t\n{}",
                RUN.replace("2026-01-02T00:00:00Z", "yesterday")
            )),
            "tested_at `yesterday` is not an RFC 3339 time",
            None,
        ),
        (
            results_file(&format!(
                "  \"1.0.0\":\n    - test: t\n{RUN}      url: ftp://x\n"
            )),
            "url `ftp://x` is not an http(s) address",
            None,
        ),
        (
            "format: 1\nprompt: other\nversions: {}\n".to_owned(),
            "does not match the file's place",
            None,
        ),
        (
            format!("format: 2\nprompt: {NAME}\nversions: {{}}\n"),
            "unsupported format 2",
            None,
        ),
    ] {
        repo.write(FILE, &content);
        let (code, findings) = validate(&repo);
        assert_eq!(code, 1, "{content}\n{findings:#?}");
        assert_eq!(findings.len(), 1, "{content}\n{findings:#?}");
        let finding = &findings[0];
        assert_eq!(finding["file"], FILE);
        assert_eq!(finding["code"], "results-invalid", "{finding:#}");
        assert_eq!(finding["severity"], "error");
        assert!(
            finding["message"].as_str().unwrap_or("").contains(message),
            "{finding:#}"
        );
        if let Some(line) = line {
            assert_eq!(finding["line"], json!(line), "{finding:#}");
            assert!(finding["column"].is_u64(), "{finding:#}");
        }
    }
    // A path that names no prompt.
    std::fs::remove_file(repo.path(FILE)).expect("remove");
    repo.write("results/Bad.yaml", "format: 1\nprompt: Bad\nversions: {}\n");
    let (_, findings) = validate(&repo);
    assert_eq!(findings.len(), 1, "{findings:#?}");
    assert_eq!(findings[0]["file"], "results/Bad.yaml");
    assert_eq!(findings[0]["code"], "results-invalid");
    // The text format: file, line and column, and the code.
    repo.write(
        FILE,
        &format!("format: 1\nprompt: {NAME}\nversions:\n  \"1.0.0\": [\n"),
    );
    std::fs::remove_file(repo.path("results/Bad.yaml")).expect("remove");
    let out = repo.run(&["validate"]);
    out.code(1);
    assert!(
        out.stdout
            .lines()
            .chain(out.stderr.lines())
            .any(|l| l.starts_with(&format!("{FILE}:4:")) && l.ends_with("[results-invalid]")),
        "{}\n{}",
        out.stdout,
        out.stderr
    );
}

#[test]
fn validate_reports_bad_counts_and_unknown_keys_as_results_invalid() {
    let repo = released();
    for (content, line) in [
        (
            results_file(&format!(
                "  \"1.0.0\":\n    - test: t\n{}",
                RUN.replace("passed: 1", "passed: -3")
            )),
            6,
        ),
        (
            results_file(&format!(
                "  \"1.0.0\":\n    - test: t\n{RUN}      flaky: 2\n"
            )),
            11,
        ),
    ] {
        repo.write(FILE, &content);
        let (code, findings) = validate(&repo);
        assert_eq!(code, 1);
        assert_eq!(findings.len(), 1, "{findings:#?}");
        assert_eq!(findings[0]["code"], "results-invalid", "{:#}", findings[0]);
        assert_eq!(findings[0]["line"], json!(line), "{:#}", findings[0]);
    }
}

#[test]
fn validate_reports_runs_of_versions_never_released() {
    let repo = released();
    repo.write(
        FILE,
        &results_file(&format!(
            "  \"1.0.0\":\n    - test: t\n{RUN}  \"1.5.0\":\n    - test: t\n{RUN}"
        )),
    );
    let (code, findings) = validate(&repo);
    assert_eq!(code, 1);
    assert_eq!(findings.len(), 1, "{findings:#?}");
    assert_eq!(findings[0]["file"], FILE);
    assert_eq!(findings[0]["code"], "results-unreleased");
    assert_eq!(
        findings[0]["message"],
        "records runs of support/refund-agent 1.5.0, which was never released"
    );
}
