//! `results show`: the latest run of each test per version; later runs supersede earlier ones.

use super::*;

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
