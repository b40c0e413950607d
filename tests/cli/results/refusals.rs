//! `results record` refusals that concern what a run is recorded against: versions never released,
//! bare names, a results file with uncommitted edits or that does not parse; each ends in a hint.

use super::*;

#[test]
fn a_version_never_released_is_refused_listing_the_existing_ones() {
    let repo = released();
    repo.release(NAME, "1.1.0", "Hi {{ user_name }}");
    let out = repo.refuses_unchanged(&[
        "results",
        "record",
        &format!("{NAME}@2.0.0"),
        "--test",
        "t",
        "--passed",
        "1",
        "--failed",
        "0",
    ]);
    out.stderr_has(&[
        "version 2.0.0 of `support/refund-agent` not found",
        "hint: existing versions: 1.0.0, 1.1.0",
    ]);
    assert!(!out.stderr.contains("recorded"), "{}", out.stderr);
    repo.refuses_unchanged(&[
        "results",
        "record",
        "nope@1.0.0",
        "--test",
        "t",
        "--passed",
        "1",
        "--failed",
        "0",
    ])
    .stderr_has(&["prompt `nope` not found"]);
    repo.refuses_unchanged(&[
        "results",
        "record",
        &format!("{NAME}@1.0"),
        "--test",
        "t",
        "--passed",
        "1",
        "--failed",
        "0",
    ])
    .stderr_has(&["invalid version `1.0`"]);
    assert!(!repo.path("results").exists());
}

#[test]
fn a_bare_name_is_refused() {
    let repo = released();
    repo.refuses_unchanged(&[
        "results", "record", NAME, "--test", "t", "--passed", "1", "--failed", "0",
    ])
    .stderr_has(&["name the version tested", "NAME@VERSION"]);
    repo.refuses_unchanged(&[
        "results",
        "import",
        NAME,
        "--from",
        "junit",
        &fixture("junit-pytest.xml"),
    ])
    .stderr_has(&["name the version tested"]);
}

#[test]
fn the_hint_for_a_bare_name_does_not_offer_a_bare_name() {
    let repo = released();
    let out = repo.run(&[
        "results", "record", NAME, "--test", "t", "--passed", "1", "--failed", "0",
    ]);
    out.refused();
    let hint = out
        .stderr
        .lines()
        .find(|l| l.starts_with("hint:"))
        .unwrap_or_else(|| panic!("no hint:\n{}", out.stderr));
    assert!(hint.contains(&format!("{NAME}@1.2.0")), "{hint}");
    assert!(!hint.contains("write NAME,"), "{hint}");
}

#[test]
fn uncommitted_edits_to_the_results_file_are_refused() {
    let repo = released();
    let at = format!("{NAME}@1.0.0");
    let args = [
        "results",
        "record",
        at.as_str(),
        "--test",
        "t",
        "--passed",
        "1",
        "--failed",
        "0",
    ];
    let needles = [
        "`results/support/refund-agent.yaml` has uncommitted changes",
        "hint: commit or stash your edits to results/support/refund-agent.yaml",
    ];
    // A results file that exists only in the working tree.
    repo.write(
        FILE,
        "format: 1\nprompt: support/refund-agent\nversions: {}\n",
    );
    repo.refuses_unchanged(&args).stderr_has(&needles);
    std::fs::remove_file(repo.path(FILE)).expect("remove");

    repo.record_run(&at, "t", 1, 0);
    let committed = repo.read(FILE);
    // An unstaged edit.
    repo.write(FILE, &format!("{committed}# note\n"));
    repo.refuses_unchanged(&args).stderr_has(&needles);
    // A staged edit whose working copy matches HEAD again.
    repo.git(&["add", FILE]);
    repo.write(FILE, &committed);
    repo.refuses_unchanged(&args).stderr_has(&needles);
    repo.git(&["reset", "-q", "--", FILE]);
    // A deleted working copy.
    std::fs::remove_file(repo.path(FILE)).expect("remove");
    repo.refuses_unchanged(&args).stderr_has(&needles);
    repo.write(FILE, &committed);
    // Clean again: accepted.
    repo.record_run(&at, "t", 2, 0);
}

#[test]
fn a_results_file_that_does_not_parse_is_not_appended_to() {
    let repo = released();
    repo.record_run(&format!("{NAME}@1.0.0"), "t", 1, 0);
    let broken = repo.read(FILE).replace("passed: 1", "passed: -1");
    repo.write(FILE, &broken);
    repo.git(&["commit", "-q", "-a", "-m", "break the results by hand"]);
    repo.refuses_unchanged(&[
        "results",
        "record",
        &format!("{NAME}@1.0.0"),
        "--test",
        "t",
        "--passed",
        "2",
        "--failed",
        "0",
    ])
    .stderr_has(&["results/support/refund-agent.yaml:8:"]);
    repo.refuses_unchanged(&["results", "show", NAME])
        .stderr_has(&["results/support/refund-agent.yaml:8:"]);
}

#[test]
fn a_broken_results_file_is_explained_in_words_with_a_hint() {
    let repo = released();
    repo.record_run(&format!("{NAME}@1.0.0"), "t", 1, 0);
    let broken = repo.read(FILE).replace("passed: 1", "passed: -1");
    repo.write(FILE, &broken);
    repo.git(&["commit", "-q", "-a", "-m", "break the results by hand"]);
    let out = repo.run(&[
        "results",
        "record",
        &format!("{NAME}@1.0.0"),
        "--test",
        "t",
        "--passed",
        "2",
        "--failed",
        "0",
    ]);
    out.refused()
        .stderr_has(&["results/support/refund-agent.yaml:8:", "hint:"]);
    assert!(!out.stderr.contains("u64"), "{}", out.stderr);
}

#[test]
fn refused_runs_and_reports_end_with_a_hint() {
    let repo = released();
    let at = format!("{NAME}@1.0.0");
    let outs = [
        record(
            &repo,
            &at,
            &["--test", "t", "--passed", "0", "--failed", "0"],
        ),
        record(
            &repo,
            &at,
            &[
                "--test", "t", "--passed", "1", "--failed", "0", "--url", "ftp://x",
            ],
        ),
        import(&repo, &at, "junit", &fixture("xml-not-junit.xml"), &[]),
    ];
    for out in outs {
        out.refused().stderr_has(&["hint:"]);
    }
}
