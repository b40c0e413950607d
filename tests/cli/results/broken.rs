//! A results file that does not parse: `fetch` still prints the record and says why; `versions`
//! warns.

use super::*;

/// `released()` with a recorded run, then a commit that breaks the results file.
fn broken_results() -> TestRepo {
    let repo = released();
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
