//! `results record`: one commit per run that changes `results/<name>.yaml` alone, with the
//! documented subject and trailers, and what `show`, `fetch`, `versions` and `history` make of it.

use super::*;

#[test]
fn a_recorded_run_shows_in_show_fetch_versions_and_history() {
    let repo = released();
    let out = record(
        &repo,
        &format!("{NAME}@1.0.0"),
        &[
            "--test",
            "golden-set",
            "--passed",
            "19",
            "--failed",
            "1",
            "--score",
            "0.92",
            "--url",
            "https://ci.example.com/runs/4711",
        ],
    );
    out.ok();
    assert_eq!(out.stdout, "", "record prints nothing on stdout");
    out.stderr_has(&[
        "recorded support/refund-agent 1.0.0 golden-set: 19/20 passed (95.0%), avg score 0.92",
    ]);

    let summary = json!({
        "test": "golden-set", "passed": 19, "failed": 1, "errored": 0, "total": 20,
        "pass_rate": 0.95, "avg_score": 0.92, "tested_at": DATE, "tested_by": AUTHOR_EMAIL,
        "source": "manual", "url": "https://ci.example.com/runs/4711",
    });
    let mut row = summary.clone();
    row["version"] = json!("1.0.0");
    row["latest"] = json!(true);
    assert_eq!(show(&repo, NAME), [row.clone()]);
    assert_eq!(show(&repo, &format!("{NAME}@1.0.0")), [row]);

    let table = repo.run(&["results", "show", NAME]);
    table.ok();
    assert_eq!(
        table_row(&table.stdout, "VERSION"),
        [
            "VERSION", "TEST", "PASSED", "FAILED", "ERRORED", "PASS", "RATE", "SCORE", "TESTED",
            "BY", "SOURCE"
        ]
    );
    assert_eq!(
        table_row(&table.stdout, "golden-set"),
        [
            "1.0.0",
            "golden-set",
            "19",
            "1",
            "0",
            "95.0%",
            "0.92",
            "2026-01-01",
            "00:00",
            AUTHOR_EMAIL,
            "manual"
        ]
    );

    let record = json_of(&repo, &["fetch", &format!("{NAME}@1.0.0")]);
    assert_eq!(record["tests"], json!([summary]));

    let versions = json_of(&repo, &["versions", NAME]);
    assert_eq!(versions[0]["version"], "1.0.0");
    assert_eq!(versions[0]["pass_rate"], json!(0.95));
    assert_eq!(versions[0]["tests"], json!(1));
    let table = repo.run(&["versions", NAME]);
    table.ok();
    assert!(table.stdout.contains("PASS RATE"), "{}", table.stdout);
    assert!(
        table_row(&table.stdout, "1.0.0").contains(&"95.0%".to_owned()),
        "{}",
        table.stdout
    );

    let events = tested_events(&repo, &[NAME]);
    assert_eq!(events.len(), 1, "{events:#?}");
    let event = &events[0];
    assert_eq!(event["prompt"], NAME);
    assert_eq!(event["environment"], Value::Null);
    assert_eq!(event["from"], Value::Null);
    assert_eq!(event["to"], "1.0.0");
    assert_eq!(event["by"], AUTHOR_EMAIL);
    assert_eq!(event["by_name"], AUTHOR_NAME);
    assert_eq!(event["at"], DATE);
    assert_eq!(event["commit"], json!(repo.rev("HEAD")));
    assert_eq!(event["forced"], json!(false));
    assert_eq!(event["test"], summary);
    // The whole-registry history lists it too.
    assert_eq!(tested_events(&repo, &[]), events);
}

#[test]
fn the_results_commit_has_the_documented_subject_trailers_and_file() {
    let repo = released();
    record(
        &repo,
        &format!("{NAME}@1.0.0"),
        &[
            "--test",
            "golden-set",
            "--passed",
            "18",
            "--failed",
            "1",
            "--errored",
            "1",
            "--score",
            "0.91",
        ],
    )
    .ok();
    assert_eq!(
        repo.git(&["log", "-1", "--format=%B"]),
        format!(
            "results: support/refund-agent 1.0.0 golden-set 18/20 passed\n\n\
             Prompt: support/refund-agent\nVersion: 1.0.0\nTest: golden-set\nPassed: 18\nFailed: 1\n\
             Errored: 1\nScore: 0.91\nTested-At: {DATE}\nTested-By: {AUTHOR_EMAIL}\n\
             Source: manual\nChange: tested\n\n"
        )
    );
    // git reads them as trailers.
    assert_eq!(
        repo.git(&["log", "-1", "--format=%(trailers:key=Change,valueonly)"])
            .trim(),
        "tested"
    );
    assert_eq!(
        repo.git(&["log", "-1", "--format=%ae %ce"]).trim(),
        format!("{AUTHOR_EMAIL} {COMMITTER_EMAIL}")
    );
    let expected = format!(
        "format: 1\nprompt: \"{NAME}\"\nversions:\n  \"1.0.0\":\n    - test: \"golden-set\"\n      \
         passed: 18\n      failed: 1\n      errored: 1\n      avg_score: 0.91\n      \
         tested_at: \"{DATE}\"\n      tested_by: \"{AUTHOR_EMAIL}\"\n      source: \"manual\"\n"
    );
    assert_eq!(
        without_comments(&repo.git(&["show", &format!("HEAD:{FILE}")])),
        expected
    );

    // Without a score there is no Score trailer and no avg_score line.
    repo.record_run(&format!("{NAME}@1.0.0"), "safety", 3, 0);
    let message = repo.git(&["log", "-1", "--format=%B"]);
    assert_eq!(
        message.lines().next(),
        Some("results: support/refund-agent 1.0.0 safety 3/3 passed")
    );
    assert!(!message.contains("Score:"), "{message}");
    let file = repo.read(FILE);
    assert_eq!(file.matches("avg_score").count(), 1, "{file}");
    repo.fsck();
}

#[test]
fn record_commits_only_the_results_file_and_leaves_other_changes_as_they_were() {
    let repo = released();
    // A staged new file, a file staged and then edited again, an unstaged edit to the prompt and
    // to registry.yaml, and an untracked file.
    repo.write("notes/staged.txt", "staged\n");
    repo.write("notes/both.txt", "first\n");
    repo.git(&["add", "notes/staged.txt", "notes/both.txt"]);
    repo.write("notes/both.txt", "first\nsecond\n");
    repo.write(
        "prompts/support/refund-agent/prompt.yaml",
        "summary: edited by hand\n",
    );
    let registry = repo.read("registry.yaml");
    repo.write(
        "registry.yaml",
        &format!("{registry}# a comment in progress\n"),
    );
    repo.write("untracked.txt", "loose\n");
    let status = repo.git(&["status", "--porcelain=v1", "-uall"]);
    let cached = repo.git(&["diff", "--cached", "--name-only"]);
    let unstaged = repo.git(&["diff", "--name-only"]);
    let staged_both = repo.git(&["show", ":notes/both.txt"]);
    let commits = repo.commit_count();
    let parent = repo.rev("HEAD");

    repo.record_run(&format!("{NAME}@1.0.0"), "golden-set", 9, 1);

    assert_eq!(repo.commit_count(), commits + 1);
    assert_eq!(repo.rev("HEAD^"), parent);
    assert_eq!(repo.changed_paths("HEAD"), [FILE]);
    assert_eq!(repo.git(&["status", "--porcelain=v1", "-uall"]), status);
    assert_eq!(repo.git(&["diff", "--cached", "--name-only"]), cached);
    assert_eq!(repo.git(&["diff", "--name-only"]), unstaged);
    assert_eq!(repo.git(&["show", ":notes/both.txt"]), staged_both);
    assert_eq!(repo.read("notes/both.txt"), "first\nsecond\n");
    assert_eq!(
        repo.read("prompts/support/refund-agent/prompt.yaml"),
        "summary: edited by hand\n"
    );
    assert_eq!(repo.read("untracked.txt"), "loose\n");
    // The results file is clean: index and working copy are the committed file.
    assert_eq!(repo.git(&["status", "--porcelain=v1", "--", FILE]), "");
    let committed = repo.git(&["show", &format!("HEAD:{FILE}")]);
    assert_eq!(repo.git(&["show", &format!(":{FILE}")]), committed);
    assert_eq!(repo.read(FILE), committed);
    repo.fsck();
}

#[test]
fn each_run_appends_and_versions_are_kept_in_semver_order() {
    let repo = TestRepo::init();
    for version in ["1.9.0", "1.10.0"] {
        repo.release(
            NAME,
            version,
            &format!("Hello {{{{ user_name }}}} {version}"),
        );
    }
    for (version, test) in [("1.10.0", "a"), ("1.9.0", "b"), ("1.10.0", "c")] {
        record(
            &repo,
            &format!("{NAME}@{version}"),
            &["--test", test, "--passed", "1", "--failed", "0"],
        )
        .ok();
        assert_eq!(repo.changed_paths("HEAD"), [FILE]);
    }
    let file = repo.read(FILE);
    let order: Vec<&str> = file
        .lines()
        .filter(|l| l.starts_with("  \"") || l.starts_with("    - test:"))
        .collect();
    assert_eq!(
        order,
        [
            "  \"1.9.0\":",
            "    - test: \"b\"",
            "  \"1.10.0\":",
            "    - test: \"a\"",
            "    - test: \"c\""
        ]
    );
    assert_eq!(repo.git(&["status", "--porcelain=v1", "-uall"]), "");
}

#[test]
fn environment_and_latest_selectors_record_the_version_they_resolve_to() {
    let repo = released();
    repo.release(NAME, "1.1.0", "Hi {{ user_name }}");
    repo.promote(NAME, "1.0.0", "dev");
    repo.promote(NAME, "1.0.0", "staging");
    repo.record_run(&format!("{NAME}@staging"), "s", 1, 0);
    assert_eq!(
        repo.git(&["log", "-1", "--format=%s"]).trim(),
        "results: support/refund-agent 1.0.0 s 1/1 passed"
    );
    repo.record_run(&format!("{NAME}@latest"), "l", 1, 0);
    assert_eq!(
        repo.git(&["log", "-1", "--format=%s"]).trim(),
        "results: support/refund-agent 1.1.0 l 1/1 passed"
    );
    let rows = show(&repo, NAME);
    let got: Vec<(&str, &str)> = rows
        .iter()
        .map(|r| {
            (
                r["version"].as_str().unwrap_or(""),
                r["test"].as_str().unwrap_or(""),
            )
        })
        .collect();
    assert_eq!(got, [("1.0.0", "s"), ("1.1.0", "l")]);
    // An environment holding nothing, or not in the pipeline, is refused.
    repo.refuses_unchanged(&[
        "results",
        "record",
        &format!("{NAME}@production"),
        "--test",
        "p",
        "--passed",
        "1",
        "--failed",
        "0",
    ])
    .stderr_has(&["has no version in production"]);
    repo.refuses_unchanged(&[
        "results",
        "record",
        &format!("{NAME}@qa"),
        "--test",
        "p",
        "--passed",
        "1",
        "--failed",
        "0",
    ])
    .stderr_has(&[
        "unknown environment `qa`",
        "the pipeline is: dev, staging, production",
    ]);
}

#[test]
fn tested_at_is_the_author_date_and_tested_by_the_author_email() {
    let repo = released();
    repo.run_with(
        &[
            "results",
            "record",
            &format!("{NAME}@1.0.0"),
            "--test",
            "t",
            "--passed",
            "1",
            "--failed",
            "0",
        ],
        &[
            ("GIT_AUTHOR_EMAIL", "ci@example.com"),
            ("GIT_AUTHOR_DATE", "2026-03-04T05:06:07+02:00"),
        ],
        &[],
    )
    .ok();
    let row = only_row(&repo, NAME);
    assert_eq!(row["tested_at"], "2026-03-04T05:06:07+02:00");
    assert_eq!(row["tested_by"], "ci@example.com");
    assert_eq!(row["source"], "manual");
    assert_eq!(
        repo.git(&["log", "-1", "--format=%ae"]).trim(),
        "ci@example.com"
    );

    // --at sets the time of the run, not of the commit.
    record(
        &repo,
        &format!("{NAME}@1.0.0"),
        &[
            "--test",
            "t",
            "--passed",
            "2",
            "--failed",
            "0",
            "--at",
            "2026-11-24T10:00:00Z",
        ],
    )
    .ok();
    let row = only_row(&repo, NAME);
    assert_eq!(row["passed"], json!(2));
    assert_eq!(row["tested_at"], "2026-11-24T10:00:00+00:00");
    assert_eq!(
        repo.git(&["log", "-1", "--format=%at"]).trim(),
        "1767225600"
    );
}
