//! `results import` input: a report that names no test, reports on standard input, malformed
//! reports, and reports against a version never released.

use super::*;

#[test]
fn a_report_that_names_no_test_needs_the_test_option() {
    let repo = released();
    let file = fixture("promptfoo-failing.json");
    usage_unchanged(
        &repo,
        &[
            "results",
            "import",
            &format!("{NAME}@1.0.0"),
            "--from",
            "promptfoo",
            &file,
        ],
        &[&file, "does not name its test", "--test NAME"],
    );
    assert!(!repo.path("results").exists());
}

#[test]
fn reports_are_read_from_standard_input() {
    let repo = released();
    let at = format!("{NAME}@1.0.0");
    let report = std::fs::read(fixture("junit-single-suite.xml")).expect("fixture");
    let out = repo.run_stdin(&["results", "import", &at, "--from", "junit", "-"], &report);
    out.ok();
    assert_eq!(
        facts(&only_row(&repo, &at)),
        expect(
            "support-reply-evals",
            3,
            1,
            0,
            Some(0.8),
            "2026-11-24T09:30:00+01:00",
            "junit",
            None
        )
    );
    let report = std::fs::read(fixture("promptfoo-failing.json")).expect("fixture");
    repo.run_stdin(
        &[
            "results",
            "import",
            &at,
            "--from",
            "promptfoo",
            "-",
            "--test",
            "piped",
        ],
        &report,
    )
    .ok();
    assert_eq!(show(&repo, &at)[1]["test"], "piped");
    assert_eq!(show(&repo, &at)[1]["passed"], json!(8));

    // Refusals from standard input change nothing either.
    let before = repo.snapshot();
    let out = repo.run_stdin(
        &["results", "import", &at, "--from", "promptfoo", "-"],
        &report,
    );
    out.usage().stderr_has(&["does not name its test"]);
    let bad = std::fs::read(fixture("not-json.json")).expect("fixture");
    let out = repo.run_stdin(
        &[
            "results",
            "import",
            &at,
            "--from",
            "promptfoo",
            "-",
            "--test",
            "t",
        ],
        &bad,
    );
    out.refused()
        .stderr_has(&["not a promptfoo report", "not valid JSON"]);
    assert_eq!(before, repo.snapshot());
}

#[test]
fn malformed_reports_are_refused_naming_the_file_and_the_problem() {
    let repo = released();
    let at = format!("{NAME}@1.0.0");
    for (format, file, problem) in [
        (
            "promptfoo",
            "not-json.json",
            "not a promptfoo report: not valid JSON",
        ),
        (
            "promptfoo",
            "json-not-promptfoo.json",
            "not a promptfoo report: no `results` object",
        ),
        (
            "promptfoo",
            "promptfoo-negative.json",
            "`results.stats.failures` is -2: a count cannot be negative",
        ),
        (
            "junit",
            "not-xml.xml",
            "not a JUnit report: not well-formed XML",
        ),
        (
            "junit",
            "xml-not-junit.xml",
            "root element is <html>, expected <testsuites> or <testsuite>",
        ),
        ("junit", "junit-empty.xml", "no test cases"),
        // The wrong --from says which format the file looks like.
        (
            "junit",
            "promptfoo-passing.json",
            "it looks like JSON: is it a promptfoo report?",
        ),
        (
            "promptfoo",
            "junit-pytest.xml",
            "it looks like XML: is it a JUnit report?",
        ),
    ] {
        let path = fixture(file);
        let out = repo.refuses_unchanged(&[
            "results", "import", &at, "--from", format, &path, "--test", "t",
        ]);
        out.stderr_has(&[&format!("{path}: "), problem]);
        assert!(!out.stderr.contains("recorded"), "{}", out.stderr);
    }
    let missing = repo
        .tmp()
        .join("missing.json")
        .to_string_lossy()
        .into_owned();
    repo.refuses_unchanged(&["results", "import", &at, "--from", "promptfoo", &missing])
        .stderr_has(&["cannot read", &missing]);
    usage_unchanged(
        &repo,
        &[
            "results",
            "import",
            &at,
            "--from",
            "csv",
            &fixture("promptfoo-passing.json"),
        ],
        &["csv"],
    );
    assert!(!repo.path("results").exists());
}

#[test]
fn importing_against_a_version_never_released_is_refused() {
    let repo = released();
    repo.refuses_unchanged(&[
        "results",
        "import",
        &format!("{NAME}@3.0.0"),
        "--from",
        "promptfoo",
        &fixture("promptfoo-passing.json"),
    ])
    .stderr_has(&[
        "version 3.0.0 of `support/refund-agent` not found",
        "existing versions: 1.0.0",
    ]);
}
