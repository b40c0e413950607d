//! `results import`: promptfoo and JUnit reports, with their counts, score, time and link, and
//! the `--test` and `--url` options that override the report.

use super::*;

#[test]
fn promptfoo_reports_import_with_their_counts_score_time_and_link() {
    let repo = released();
    let at = format!("{NAME}@1.0.0");
    let out = import(
        &repo,
        &at,
        "promptfoo",
        &fixture("promptfoo-passing.json"),
        &[],
    );
    out.ok();
    out.stderr_has(&["recorded support/refund-agent 1.0.0 support reply quality: 20/20 passed (100.0%), avg score 0.9"]);
    assert_eq!(
        facts(&only_row(&repo, &at)),
        expect(
            "support reply quality",
            20,
            0,
            0,
            Some(0.9),
            "2026-11-24T10:00:00+00:00",
            "promptfoo",
            Some("https://app.promptfoo.dev/eval/eval-2Xq-2026-11-24T10:00:00"),
        )
    );
    let message = repo.git(&["log", "-1", "--format=%B"]);
    assert_eq!(
        message.lines().next(),
        Some("results: support/refund-agent 1.0.0 support reply quality 20/20 passed")
    );
    assert!(
        message.lines().any(|l| l == "Source: promptfoo"),
        "{message}"
    );
    assert_eq!(repo.changed_paths("HEAD"), [FILE]);

    // A version-2 report without `stats.errors`.
    import(&repo, &at, "promptfoo", &fixture("promptfoo-old.json"), &[]).ok();
    let rows = show(&repo, &at);
    assert_eq!(
        facts(&rows[1]),
        expect(
            "summarizer regression",
            5,
            1,
            0,
            Some(0.8),
            "2024-03-05T14:22:10.123+00:00",
            "promptfoo",
            None
        )
    );
    // No description: --test names it; `shareableUrl: null` gives no link.
    import(
        &repo,
        &at,
        "promptfoo",
        &fixture("promptfoo-failing.json"),
        &["--test", "golden-set"],
    )
    .ok();
    let rows = show(&repo, &at);
    assert_eq!(rows.len(), 3);
    assert_eq!(
        facts(&rows[2]),
        expect(
            "golden-set",
            8,
            2,
            0,
            Some(0.75),
            "2026-11-25T16:45:12.345+00:00",
            "promptfoo",
            None
        )
    );
    assert_eq!(rows[2]["tested_by"], AUTHOR_EMAIL);
    assert_eq!(rows[2]["pass_rate"], json!(0.8));
    repo.fsck();
}

#[test]
fn junit_reports_count_failures_and_errors_and_leave_out_skipped_cases() {
    let repo = released();
    let at = format!("{NAME}@1.0.0");
    import(&repo, &at, "junit", &fixture("junit-pytest.xml"), &[]).ok();
    // 7 cases: 4 passed, 1 failure, 1 error, 1 skipped (not counted); no scores; no offset: UTC.
    let row = only_row(&repo, &at);
    assert_eq!(
        facts(&row),
        expect(
            "pytest tests",
            4,
            1,
            1,
            None,
            "2026-11-24T10:00:00.123456+00:00",
            "junit",
            None
        )
    );
    assert_eq!(row["total"], json!(6));
    assert_eq!(
        repo.git(&["log", "-1", "--format=%s"]).trim(),
        "results: support/refund-agent 1.0.0 pytest tests 4/6 passed"
    );
    // A root <testsuite> with a score on every case; the offset is kept.
    import(&repo, &at, "junit", &fixture("junit-single-suite.xml"), &[]).ok();
    let rows = show(&repo, &at);
    assert_eq!(
        facts(&rows[1]),
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
}

#[test]
fn test_and_url_options_override_the_report() {
    let repo = released();
    let at = format!("{NAME}@1.0.0");
    import(
        &repo,
        &at,
        "promptfoo",
        &fixture("promptfoo-passing.json"),
        &[
            "--test",
            "golden-set",
            "--url",
            "https://ci.example.com/runs/9",
        ],
    )
    .ok();
    import(
        &repo,
        &at,
        "junit",
        &fixture("junit-pytest.xml"),
        &["--url", "https://ci.example.com/runs/10"],
    )
    .ok();
    let rows = show(&repo, &at);
    assert_eq!(
        facts(&rows[0]),
        expect(
            "golden-set",
            20,
            0,
            0,
            Some(0.9),
            "2026-11-24T10:00:00+00:00",
            "promptfoo",
            Some("https://ci.example.com/runs/9")
        )
    );
    assert_eq!(rows[1]["test"], "pytest tests");
    assert_eq!(rows[1]["url"], "https://ci.example.com/runs/10");
    // The overrides are checked like record's.
    repo.refuses_unchanged(&[
        "results",
        "import",
        &at,
        "--from",
        "junit",
        &fixture("junit-pytest.xml"),
        "--url",
        "ftp://x",
    ])
    .stderr_has(&["url `ftp://x` is not an http(s) address"]);
    repo.refuses_unchanged(&[
        "results",
        "import",
        &at,
        "--from",
        "junit",
        &fixture("junit-pytest.xml"),
        "--test",
        " padded",
    ])
    .stderr_has(&["test name ` padded`"]);
}
