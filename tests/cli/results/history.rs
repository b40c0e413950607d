//! `history` of results: `tested` events for runs recorded, appended by hand or merged.

use super::*;

#[test]
fn a_run_appended_by_hand_is_a_tested_event_by_the_commit_author() {
    let repo = released();
    repo.record_run(&format!("{NAME}@1.0.0"), "golden-set", 9, 1);
    let file = repo.read(FILE);
    repo.write(
        FILE,
        &format!(
            "{file}    - test: smoke\n      passed: 7\n      failed: 3\n      \
             tested_at: \"2026-01-05T09:00:00+00:00\"\n      tested_by: ci@example.com\n      source: pytest\n"
        ),
    );
    repo.git(&[
        "commit",
        "-q",
        "-a",
        "--author",
        "QA Person <qa@example.com>",
        "--date",
        "2026-01-06T12:00:00+00:00",
        "-m",
        "smoke run",
        "-m",
        "ran it by hand",
    ]);
    let events = tested_events(&repo, &[NAME]);
    assert_eq!(events.len(), 2, "{events:#?}");
    let event = &events[0];
    assert_eq!(event["by"], "qa@example.com");
    assert_eq!(event["by_name"], "QA Person");
    assert_eq!(event["at"], "2026-01-06T12:00:00+00:00");
    assert_eq!(event["commit"], json!(repo.rev("HEAD")));
    assert_eq!(event["to"], "1.0.0");
    assert_eq!(
        event["test"],
        json!({
            "test": "smoke", "passed": 7, "failed": 3, "errored": 0, "total": 10, "pass_rate": 0.7,
            "avg_score": null, "tested_at": "2026-01-05T09:00:00+00:00", "tested_by": "ci@example.com",
            "source": "pytest", "url": null,
        })
    );
    // The earlier run is still reported once, at its own commit.
    assert_eq!(events[1]["test"]["test"], "golden-set");
    assert_eq!(events[1]["commit"], json!(repo.rev("HEAD^")));
    // And the hand-written run counts like any other.
    let rows = show(&repo, NAME);
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[1]["test"], "smoke");
}

#[test]
fn rewriting_the_results_file_without_new_runs_adds_no_tested_event() {
    let repo = released();
    repo.record_run(&format!("{NAME}@1.0.0"), "golden-set", 9, 1);
    let file = repo.read(FILE);
    repo.write(FILE, &format!("# Reviewed.\n{}", without_comments(&file)));
    repo.git(&["commit", "-q", "-a", "-m", "reformat"]);
    assert_ne!(repo.rev("HEAD:results"), repo.rev("HEAD^:results"));
    let events = tested_events(&repo, &[NAME]);
    assert_eq!(events.len(), 1, "{events:#?}");
    assert_eq!(events[0]["commit"], json!(repo.rev("HEAD^")));
}

#[test]
fn a_run_merged_from_a_branch_is_reported_once_at_its_own_commit() {
    let repo = released();
    repo.release(NAME, "1.1.0", "Hi {{ user_name }}");
    let v1 = format!("{NAME}@1.0.0");
    let v2 = format!("{NAME}@1.1.0");
    repo.record_run(&v1, "a", 1, 0);
    repo.record_run(&v2, "a", 2, 0);
    // The branch adds a run to 1.0.0, main one to 1.1.0: the merge combines both.
    repo.git(&["switch", "-q", "-c", "side"]);
    repo.record_run(&v1, "b", 3, 0);
    let side = repo.rev("HEAD");
    repo.git(&["switch", "-q", "main"]);
    repo.record_run(&v2, "b", 4, 0);
    let main = repo.rev("HEAD");
    repo.git(&["merge", "-q", "--no-ff", "side", "-m", "merge side"]);
    let merge = repo.rev("HEAD");
    // The merge's results differ from both parents'.
    let results = repo.rev("HEAD:results");
    assert_ne!(results, repo.rev("HEAD^1:results"));
    assert_ne!(results, repo.rev("HEAD^2:results"));

    let events = tested_events(&repo, &[NAME]);
    let got: Vec<(Value, Value)> = events
        .iter()
        .map(|e| (e["test"]["passed"].clone(), e["commit"].clone()))
        .collect();
    assert_eq!(got.len(), 4, "{events:#?}");
    for (passed, commit) in [(3, &side), (4, &main)] {
        let at: Vec<&(Value, Value)> = got.iter().filter(|(p, _)| *p == json!(passed)).collect();
        assert_eq!(at, [&(json!(passed), json!(commit))], "{got:?}");
    }
    assert!(got.iter().all(|(_, c)| *c != json!(merge)), "{got:?}");
    assert_eq!(show(&repo, &v1).len(), 2);
    assert_eq!(show(&repo, &v2).len(), 2);
    repo.fsck();
}
