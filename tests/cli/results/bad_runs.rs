//! `results record` refusals of the run itself: zero cases, non-finite scores, links that are not
//! http(s) addresses, bad test names; bad counts and times are usage errors.

use super::*;

#[test]
fn a_run_of_zero_cases_is_refused() {
    let repo = released();
    repo.refuses_unchanged(&[
        "results",
        "record",
        &format!("{NAME}@1.0.0"),
        "--test",
        "t",
        "--passed",
        "0",
        "--failed",
        "0",
    ])
    .stderr_has(&["`t` counts no test cases"]);
    repo.refuses_unchanged(&[
        "results",
        "record",
        &format!("{NAME}@1.0.0"),
        "--test",
        "t",
        "--passed",
        "0",
        "--failed",
        "0",
        "--errored",
        "0",
    ])
    .stderr_has(&["counts no test cases"]);
    // Errored cases alone are cases.
    record(
        &repo,
        &format!("{NAME}@1.0.0"),
        &[
            "--test",
            "t",
            "--passed",
            "0",
            "--failed",
            "0",
            "--errored",
            "2",
        ],
    )
    .ok();
    assert_eq!(only_row(&repo, NAME)["pass_rate"], json!(0.0));
}

#[test]
fn non_finite_scores_are_refused() {
    let repo = released();
    for score in [
        "--score=NaN",
        "--score=inf",
        "--score=-inf",
        "--score=infinity",
    ] {
        repo.refuses_unchanged(&[
            "results",
            "record",
            &format!("{NAME}@1.0.0"),
            "--test",
            "t",
            "--passed",
            "1",
            "--failed",
            "0",
            score,
        ])
        .stderr_has(&["is not a finite number"]);
    }
    // Any finite number is a score, negative ones included.
    record(
        &repo,
        &format!("{NAME}@1.0.0"),
        &[
            "--test", "t", "--passed", "1", "--failed", "0", "--score", "-0.5",
        ],
    )
    .ok();
    assert_eq!(only_row(&repo, NAME)["avg_score"], json!(-0.5));
}

#[test]
fn links_that_are_not_http_addresses_are_refused() {
    let repo = released();
    for url in [
        "ftp://ci.example.com/run/1",
        "https://",
        "ci.example.com/run/1",
        "https://ci.example.com/a b",
        "mailto:ci@example.com",
        "",
    ] {
        repo.refuses_unchanged(&[
            "results",
            "record",
            &format!("{NAME}@1.0.0"),
            "--test",
            "t",
            "--passed",
            "1",
            "--failed",
            "0",
            "--url",
            url,
        ])
        .stderr_has(&[&format!("url `{url}` is not an http(s) address")]);
    }
    record(
        &repo,
        &format!("{NAME}@1.0.0"),
        &[
            "--test",
            "t",
            "--passed",
            "1",
            "--failed",
            "0",
            "--url",
            "http://ci.local/1",
        ],
    )
    .ok();
    assert_eq!(only_row(&repo, NAME)["url"], "http://ci.local/1");
}

#[test]
fn bad_test_names_are_refused() {
    let repo = released();
    let long = "t".repeat(101);
    for (test, needle) in [
        ("", "must not be empty"),
        (" golden", "must not be empty or start or end with spaces"),
        ("golden ", "must not be empty or start or end with spaces"),
        ("golden\tset", "must not contain control characters"),
        ("golden\nset", "must not contain control characters"),
        (long.as_str(), "longer than 100 characters"),
    ] {
        repo.refuses_unchanged(&[
            "results",
            "record",
            &format!("{NAME}@1.0.0"),
            "--test",
            test,
            "--passed",
            "1",
            "--failed",
            "0",
        ])
        .stderr_has(&[needle]);
    }
    // 100 characters, spaces and punctuation inside are fine.
    let hundred = "t".repeat(100);
    for test in [hundred.as_str(), "golden set \"v2\": ünïcode"] {
        record(
            &repo,
            &format!("{NAME}@1.0.0"),
            &["--test", test, "--passed", "1", "--failed", "0"],
        )
        .ok();
    }
    let tests: Vec<Value> = show(&repo, &format!("{NAME}@1.0.0"))
        .iter()
        .map(|r| r["test"].clone())
        .collect();
    assert_eq!(tests, [json!(hundred), json!("golden set \"v2\": ünïcode")]);
}

#[test]
fn bad_counts_and_times_are_usage_errors() {
    let repo = released();
    let at = format!("{NAME}@1.0.0");
    usage_unchanged(
        &repo,
        &[
            "results", "record", &at, "--test", "t", "--passed", "-1", "--failed", "0",
        ],
        &[],
    );
    usage_unchanged(
        &repo,
        &[
            "results", "record", &at, "--test", "t", "--passed", "many", "--failed", "0",
        ],
        &["many"],
    );
    usage_unchanged(
        &repo,
        &["results", "record", &at, "--test", "t", "--passed", "1"],
        &["--failed"],
    );
    usage_unchanged(
        &repo,
        &[
            "results",
            "record",
            &at,
            "--test",
            "t",
            "--passed",
            "1",
            "--failed",
            "0",
            "--at",
            "yesterday",
        ],
        &["--at `yesterday` is not a time"],
    );
}
