//! Each gate condition alone (a required test without a result, a pass rate or an average score
//! below its minimum, a gate without required tests, runs before the release), then several at once:
//! every unmet condition is listed, and only the latest committed run of each test counts.

use super::*;

#[test]
fn a_required_test_without_a_result_blocks_until_one_is_recorded() {
    let repo = gated("  production:\n    required_tests: [safety]\n");
    assert_eq!(
        refused(&repo, "1.0.0", "production"),
        ["required test `safety` has no result"]
    );
    // Another test, or the required test on another version, does not count.
    record(&repo, "x@1.0.0", "golden", 10, 0, &[]);
    repo.release("x", "1.1.0", "two");
    record(&repo, "x@1.1.0", "safety", 10, 0, &[]);
    assert_eq!(
        refused(&repo, "1.0.0", "production"),
        ["required test `safety` has no result"]
    );
    // Any result will do when the gate sets no other condition.
    record(&repo, "x@1.0.0", "safety", 0, 3, &[]);
    passes(&repo, "1.0.0", "production");
}

#[test]
fn a_pass_rate_below_the_minimum_blocks_with_its_numbers() {
    let repo = gated("  production:\n    required_tests: [golden]\n    min_pass_rate: 0.95\n");
    // Errored cases count in the total.
    record(&repo, "x@1.0.0", "golden", 18, 1, &["--errored", "1"]);
    assert_eq!(
        refused(&repo, "1.0.0", "production"),
        ["`golden` pass rate 90.0% (18/20) is below 95.0%"]
    );
    // Exactly the minimum passes.
    record(&repo, "x@1.0.0", "golden", 19, 1, &[]);
    passes(&repo, "1.0.0", "production");
}

#[test]
fn an_average_score_below_the_minimum_or_missing_blocks() {
    let repo = gated("  production:\n    required_tests: [golden]\n    min_avg_score: 0.8\n");
    record(&repo, "x@1.0.0", "golden", 10, 0, &[]);
    assert_eq!(
        refused(&repo, "1.0.0", "production"),
        ["`golden` has no score (needs an average score of at least 0.8)"]
    );
    record(&repo, "x@1.0.0", "golden", 10, 0, &["--score", "0.7"]);
    assert_eq!(
        refused(&repo, "1.0.0", "production"),
        ["`golden` average score 0.7 is below 0.8"]
    );
    record(&repo, "x@1.0.0", "golden", 10, 0, &["--score", "0.8"]);
    passes(&repo, "1.0.0", "production");
}

#[test]
fn a_gate_without_required_tests_needs_some_result_and_checks_every_test() {
    let repo = gated("  production:\n    min_pass_rate: 0.5\n");
    assert_eq!(
        refused(&repo, "1.0.0", "production"),
        ["no test results are recorded for 1.0.0"]
    );
    record(&repo, "x@1.0.0", "golden", 1, 3, &[]);
    assert_eq!(
        refused(&repo, "1.0.0", "production"),
        ["`golden` pass rate 25.0% (1/4) is below 50.0%"]
    );
    // Every test recorded for the version is checked.
    record(&repo, "x@1.0.0", "golden", 2, 2, &[]);
    record(&repo, "x@1.0.0", "smoke", 1, 9, &[]);
    assert_eq!(
        refused(&repo, "1.0.0", "production"),
        ["`smoke` pass rate 10.0% (1/10) is below 50.0%"]
    );
    record(&repo, "x@1.0.0", "smoke", 9, 1, &[]);
    passes(&repo, "1.0.0", "production");
}

#[test]
fn runs_before_the_release_do_not_count_when_tested_after_release_is_set() {
    const RELEASED: &str = "2026-03-01T12:00:00+01:00";
    let repo = TestRepo::init();
    repo.write_prompt("x", "one");
    repo.run_with(
        &["create", "x", "--version", "1.0.0", "-m", "release"],
        &[
            ("GIT_AUTHOR_DATE", RELEASED),
            ("GIT_COMMITTER_DATE", RELEASED),
        ],
        &[],
    )
    .ok();
    commit_registry(
        &repo,
        X_STAGED,
        "  production:\n    required_tests: [golden]\n    tested_after_release: true\n",
    );
    // One second before the tag, in another offset.
    record(
        &repo,
        "x@1.0.0",
        "golden",
        10,
        0,
        &["--at", "2026-03-01T10:59:59Z"],
    );
    assert_eq!(
        refused(&repo, "1.0.0", "production"),
        [format!(
            "`golden` ran at 2026-03-01T10:59:59+00:00, before 1.0.0 was released ({RELEASED})"
        )]
    );
    // Without --at the run's time is GIT_AUTHOR_DATE: the hermetic environment's 2026-01-01 is earlier still.
    record(&repo, "x@1.0.0", "golden", 10, 0, &[]);
    assert_eq!(
        refused(&repo, "1.0.0", "production"),
        [format!(
            "`golden` ran at 2026-01-01T00:00:00+00:00, before 1.0.0 was released ({RELEASED})"
        )]
    );
    // At the very instant of the tag is not before it.
    let at = "2026-03-01T11:00:00+00:00";
    repo.run_with(
        &[
            "results", "record", "x@1.0.0", "--test", "golden", "--passed", "10", "--failed", "0",
        ],
        &[("GIT_AUTHOR_DATE", at), ("GIT_COMMITTER_DATE", at)],
        &[],
    )
    .ok();
    passes(&repo, "1.0.0", "production");
}

#[test]
fn every_unmet_condition_is_listed() {
    let repo = gated(
        "  production:\n    required_tests: [golden, safety]\n    min_pass_rate: 0.95\n    min_avg_score: 0.8\n    tested_after_release: true\n",
    );
    record(
        &repo,
        "x@1.0.0",
        "golden",
        18,
        2,
        &["--score", "0.7", "--at", "2025-12-31T23:00:00Z"],
    );
    let mut unmet = refused(&repo, "1.0.0", "production");
    unmet.sort();
    let mut expected = vec![
        "required test `safety` has no result",
        "`golden` ran at 2025-12-31T23:00:00+00:00, before 1.0.0 was released (2026-01-01T00:00:00+00:00)",
        "`golden` pass rate 90.0% (18/20) is below 95.0%",
        "`golden` average score 0.7 is below 0.8",
    ];
    expected.sort();
    assert_eq!(unmet, expected);

    // Fixing some leaves the rest.
    record(&repo, "x@1.0.0", "golden", 20, 0, &["--score", "0.9"]);
    record(&repo, "x@1.0.0", "safety", 5, 5, &[]);
    let mut unmet = refused(&repo, "1.0.0", "production");
    unmet.sort();
    assert_eq!(
        unmet,
        [
            "`safety` has no score (needs an average score of at least 0.8)",
            "`safety` pass rate 50.0% (5/10) is below 95.0%",
        ]
    );
    record(&repo, "x@1.0.0", "safety", 10, 0, &["--score", "1"]);
    passes(&repo, "1.0.0", "production");
}

#[test]
fn only_the_latest_recorded_run_of_each_test_counts() {
    let repo = gated("  production:\n    required_tests: [golden]\n    min_pass_rate: 0.95\n");
    record(
        &repo,
        "x@1.0.0",
        "golden",
        20,
        0,
        &["--at", "2026-01-05T00:00:00Z"],
    );
    // A failing run recorded later blocks again, even though it claims to have run earlier.
    record(
        &repo,
        "x@1.0.0",
        "golden",
        8,
        2,
        &["--at", "2026-01-03T00:00:00Z"],
    );
    assert_eq!(
        refused(&repo, "1.0.0", "production"),
        ["`golden` pass rate 80.0% (8/10) is below 95.0%"]
    );
    // A test the gate does not name changes nothing either way.
    record(&repo, "x@1.0.0", "smoke", 20, 0, &[]);
    assert_eq!(
        refused(&repo, "1.0.0", "production"),
        ["`golden` pass rate 80.0% (8/10) is below 95.0%"]
    );
    record(&repo, "x@1.0.0", "golden", 20, 0, &[]);
    record(&repo, "x@1.0.0", "smoke", 0, 20, &[]);
    passes(&repo, "1.0.0", "production");
}

#[test]
fn only_committed_results_count() {
    let repo = gated("  production:\n    required_tests: [golden]\n");
    record(&repo, "x@1.0.0", "other", 1, 0, &[]);
    // A passing run written into the file but not committed.
    let text = repo
        .read("results/x.yaml")
        .replace("\"other\"", "\"golden\"");
    assert!(text.contains("\"golden\""), "{text}");
    repo.write("results/x.yaml", &text);
    assert_eq!(
        refused(&repo, "1.0.0", "production"),
        ["required test `golden` has no result"]
    );
}
