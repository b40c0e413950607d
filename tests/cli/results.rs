//! `promptreg results record/import/show`: one commit per run that changes `results/<name>.yaml`
//! alone, the refusals, report imports, and what `show`, `fetch`, `versions`, `history` and
//! `validate` make of the recorded runs.

use serde_json::{json, Value};

use crate::support::{
    released_prompt, Output, TestRepo, AUTHOR_EMAIL, AUTHOR_NAME, COMMITTER_EMAIL, DATE,
};

const NAME: &str = "support/refund-agent";
const FILE: &str = "results/support/refund-agent.yaml";

/// The path of a sample report in `fixtures/results/`.
fn fixture(file: &str) -> String {
    format!("{}/fixtures/results/{file}", env!("CARGO_MANIFEST_DIR"))
}

/// A registry with `NAME` 1.0.0 released; its prompt draws no validation findings.
fn released() -> TestRepo {
    released_prompt(NAME, "1.0.0", "Hello {{ user_name }}")
}

/// `results record SELECTOR EXTRA…`.
fn record(repo: &TestRepo, selector: &str, extra: &[&str]) -> Output {
    let mut args = vec!["results", "record", selector];
    args.extend_from_slice(extra);
    repo.run(&args)
}

/// `results import SELECTOR --from FORMAT FILE EXTRA…`.
fn import(repo: &TestRepo, selector: &str, format: &str, file: &str, extra: &[&str]) -> Output {
    let mut args = vec!["results", "import", selector, "--from", format, file];
    args.extend_from_slice(extra);
    repo.run(&args)
}

/// `ARGS --format json`, asserting success.
#[track_caller]
fn json_of(repo: &TestRepo, args: &[&str]) -> Value {
    let mut all = args.to_vec();
    all.extend_from_slice(&["--format", "json"]);
    let out = repo.run(&all);
    out.ok();
    out.json()
}

/// `results show SELECTOR --format json`.
#[track_caller]
fn show(repo: &TestRepo, selector: &str) -> Vec<Value> {
    match json_of(repo, &["results", "show", selector]) {
        Value::Array(rows) => rows,
        other => panic!("results show is not a JSON array: {other}"),
    }
}

/// The only run `results show SELECTOR` lists.
#[track_caller]
fn only_row(repo: &TestRepo, selector: &str) -> Value {
    let rows = show(repo, selector);
    assert_eq!(rows.len(), 1, "{rows:#?}");
    rows.into_iter().next().expect("one row")
}

/// The `tested` events of `history ARGS`, newest first.
#[track_caller]
fn tested_events(repo: &TestRepo, args: &[&str]) -> Vec<Value> {
    let mut all = vec!["history"];
    all.extend_from_slice(args);
    match json_of(repo, &all) {
        Value::Array(events) => events
            .into_iter()
            .filter(|e| e["event"] == "tested")
            .collect(),
        other => panic!("history is not a JSON array: {other}"),
    }
}

/// The whitespace-separated cells of the table line that contains `needle`.
#[track_caller]
fn table_row(table: &str, needle: &str) -> Vec<String> {
    let line = table
        .lines()
        .find(|l| l.contains(needle))
        .unwrap_or_else(|| panic!("no line with {needle:?}:\n{table}"));
    line.split_whitespace().map(str::to_owned).collect()
}

/// `text` without its `#` comment lines (the header comment is not part of the format).
fn without_comments(text: &str) -> String {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .map(|l| format!("{l}\n"))
        .collect()
}

/// Runs `args`, asserting a usage error whose stderr has `needles`, and that nothing changed.
#[track_caller]
fn usage_unchanged(repo: &TestRepo, args: &[&str], needles: &[&str]) {
    repo.unchanged_by(|| repo.run(args))
        .usage()
        .stderr_has(needles);
}

// --- record ------------------------------------------------------------------------------------

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

// --- record: refusals ----------------------------------------------------------------------------

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

// --- import ------------------------------------------------------------------------------------

/// `(test, passed, failed, errored, avg_score, tested_at, source, url)` of a run.
type Facts = (Value, Value, Value, Value, Value, Value, Value, Value);

/// The [`Facts`] of a `show` row.
fn facts(row: &Value) -> Facts {
    (
        row["test"].clone(),
        row["passed"].clone(),
        row["failed"].clone(),
        row["errored"].clone(),
        row["avg_score"].clone(),
        row["tested_at"].clone(),
        row["source"].clone(),
        row["url"].clone(),
    )
}

/// Builds the expected value of [`facts`].
#[allow(clippy::too_many_arguments)]
fn expect(
    test: &str,
    passed: u64,
    failed: u64,
    errored: u64,
    avg_score: Option<f64>,
    tested_at: &str,
    source: &str,
    url: Option<&str>,
) -> Facts {
    (
        json!(test),
        json!(passed),
        json!(failed),
        json!(errored),
        json!(avg_score),
        json!(tested_at),
        json!(source),
        json!(url),
    )
}

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

// --- show: latest and superseded runs ------------------------------------------------------------

#[test]
fn a_later_run_of_the_same_test_supersedes_the_earlier_one() {
    let repo = released();
    let at = format!("{NAME}@1.0.0");
    record(
        &repo,
        &at,
        &[
            "--test",
            "golden-set",
            "--passed",
            "5",
            "--failed",
            "5",
            "--at",
            "2026-01-10T00:00:00Z",
        ],
    )
    .ok();
    // Recorded last, though it ran earlier: it is the latest.
    record(
        &repo,
        &at,
        &[
            "--test",
            "golden-set",
            "--passed",
            "9",
            "--failed",
            "1",
            "--at",
            "2026-01-05T00:00:00Z",
        ],
    )
    .ok();

    let rows = show(&repo, &at);
    let got: Vec<(Value, Value)> = rows
        .iter()
        .map(|r| (r["passed"].clone(), r["latest"].clone()))
        .collect();
    assert_eq!(got, [(json!(5), json!(false)), (json!(9), json!(true))]);
    let table = repo.run(&["results", "show", &at]);
    table.ok();
    assert_eq!(
        table_row(&table.stdout, "superseded")[..5],
        ["1.0.0", "golden-set", "(superseded)", "5", "5"]
    );
    assert_eq!(
        table.stdout.matches("superseded").count(),
        1,
        "{}",
        table.stdout
    );

    let latest = only_row(&repo, NAME);
    assert_eq!(
        (latest["passed"].clone(), latest["latest"].clone()),
        (json!(9), json!(true))
    );
    let tests = json_of(&repo, &["fetch", &at])["tests"].clone();
    assert_eq!(tests.as_array().map(Vec::len), Some(1), "{tests}");
    assert_eq!(tests[0]["passed"], json!(9));
    assert_eq!(tests[0]["tested_at"], "2026-01-05T00:00:00+00:00");
    assert_eq!(
        json_of(&repo, &["versions", NAME])[0]["pass_rate"],
        json!(0.9)
    );
    // Both runs are in history, newest first.
    let passed: Vec<Value> = tested_events(&repo, &[NAME])
        .iter()
        .map(|e| e["test"]["passed"].clone())
        .collect();
    assert_eq!(passed, [json!(9), json!(5)]);
}

#[test]
fn show_lists_the_latest_run_of_each_test_per_version() {
    let repo = released();
    repo.release(NAME, "1.1.0", "Hi {{ user_name }}");
    let v1 = format!("{NAME}@1.0.0");
    let v2 = format!("{NAME}@1.1.0");
    repo.record_run(&v1, "b", 1, 1);
    repo.record_run(&v1, "a", 9, 1);
    repo.record_run(&v2, "a", 3, 1);
    repo.record_run(&v1, "b", 2, 8);
    let rows = show(&repo, NAME);
    let got: Vec<(Value, Value, Value)> = rows
        .iter()
        .map(|r| (r["version"].clone(), r["test"].clone(), r["passed"].clone()))
        .collect();
    assert_eq!(
        got,
        [
            (json!("1.0.0"), json!("a"), json!(9)),
            (json!("1.0.0"), json!("b"), json!(2)),
            (json!("1.1.0"), json!("a"), json!(3)),
        ]
    );
    assert!(rows.iter().all(|r| r["latest"] == json!(true)), "{rows:#?}");
    assert_eq!(show(&repo, &v1).len(), 3);
    // fetch: the latest of each test; versions: passed over total of those runs.
    let tests = json_of(&repo, &["fetch", &v1])["tests"].clone();
    let names: Vec<(Value, Value)> = tests
        .as_array()
        .expect("tests")
        .iter()
        .map(|t| (t["test"].clone(), t["passed"].clone()))
        .collect();
    assert_eq!(names, [(json!("a"), json!(9)), (json!("b"), json!(2))]);
    let versions = json_of(&repo, &["versions", NAME]);
    let rates: Vec<(Value, Value, Value)> = versions
        .as_array()
        .expect("versions")
        .iter()
        .map(|v| {
            (
                v["version"].clone(),
                v["pass_rate"].clone(),
                v["tests"].clone(),
            )
        })
        .collect();
    assert_eq!(
        rates,
        [
            (json!("1.0.0"), json!(0.55), json!(2)),
            (json!("1.1.0"), json!(0.75), json!(1)),
        ]
    );
}

#[test]
fn a_version_never_tested_has_no_results() {
    let repo = released();
    assert_eq!(show(&repo, NAME), Vec::<Value>::new());
    assert_eq!(show(&repo, &format!("{NAME}@1.0.0")), Vec::<Value>::new());
    let table = repo.run(&["results", "show", NAME]);
    table.ok();
    assert_eq!(table.stdout, "");
    table.stderr_has(&["no results recorded for support/refund-agent"]);
    assert_eq!(
        json_of(&repo, &["fetch", &format!("{NAME}@1.0.0")])["tests"],
        json!([])
    );
    let versions = json_of(&repo, &["versions", NAME]);
    assert_eq!(versions[0]["pass_rate"], Value::Null);
    assert_eq!(versions[0]["tests"], json!(0));
}

#[test]
fn show_refuses_unknown_prompts_and_versions_and_environment_selectors() {
    let repo = released();
    repo.record_run(&format!("{NAME}@1.0.0"), "t", 1, 0);
    repo.refuses_unchanged(&["results", "show", "nope"])
        .stderr_has(&["prompt `nope` not found"]);
    repo.refuses_unchanged(&["results", "show", &format!("{NAME}@9.9.9")])
        .stderr_has(&[
            "version 9.9.9 of `support/refund-agent` not found",
            "existing versions: 1.0.0",
        ]);
    usage_unchanged(
        &repo,
        &["results", "show", &format!("{NAME}@latest")],
        &["show takes NAME or NAME@VERSION"],
    );
    usage_unchanged(
        &repo,
        &["results", "show", NAME, "--format", "yaml"],
        &["--format yaml"],
    );
}

// --- history ---------------------------------------------------------------------------------------

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

// --- validate ---------------------------------------------------------------------------------------

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

// --- a results file that does not parse ------------------------------------------------------------

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
