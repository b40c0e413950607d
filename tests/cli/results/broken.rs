//! A results file that does not parse: `fetch` still prints the record and says why; `versions`
//! warns; `export` writes the bundle without that prompt's tests and says why.

use super::*;

/// `released()` with a recorded run, then a commit that breaks the results file.
fn broken_results() -> TestRepo {
    break_results(released())
}

/// Records a run against `NAME@1.0.0` and commits a results file that no longer parses.
fn break_results(repo: TestRepo) -> TestRepo {
    repo.record_run(&format!("{NAME}@1.0.0"), "t", 1, 0);
    let broken = repo.read(FILE).replace("passed: 1", "passed: -1");
    repo.write(FILE, &broken);
    repo.git(&["commit", "-q", "-a", "-m", "break the results by hand"]);
    repo
}

#[test]
fn fetch_still_prints_the_record_when_the_results_file_is_broken_and_says_why() {
    let repo = broken_results();
    let out = repo.run(&["fetch", &format!("{NAME}@1.0.0"), "--format", "json"]);
    out.ok();
    assert_eq!(out.json()["version"], "1.0.0");
    assert_eq!(out.json()["tests"], json!([]));
    out.stderr_has(&["warning: test results not shown", FILE]);
}

#[test]
fn versions_warns_when_the_results_file_is_broken() {
    let repo = broken_results();
    let out = repo.run(&["versions", NAME, "--format", "json"]);
    out.ok();
    out.stderr_has(&["warning", FILE]);
}

#[test]
fn export_ships_the_prompt_without_tests_and_says_why() {
    let repo = released();
    repo.promote(NAME, "1.0.0", "dev");
    let repo = break_results(repo);
    let out = repo.run(&["export", "--env", "dev"]);
    out.ok();
    let record = &out.json()["prompts"][NAME];
    assert_eq!(record["version"], "1.0.0");
    assert_eq!(record["tests"], json!([]));
    out.stderr_has(&["warning: test results not exported", FILE]);
}
