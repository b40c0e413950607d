//! The README's worked example of a gated pipeline, step by step.

use super::*;

#[test]
fn readme_worked_example() {
    let tmp = TestRepo::bare_dir();
    let dir = tmp.tmp().join("registry");
    let d = dir.to_str().expect("a UTF-8 path");
    let fixture = |name: &str| {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("fixtures/results")
            .join(name)
            .to_string_lossy()
            .into_owned()
    };
    let (failing, passing) = (
        fixture("promptfoo-failing.json"),
        fixture("promptfoo-passing.json"),
    );
    let cwd = tmp.tmp();
    tmp.run_in(cwd, &["init", "--example", d]).ok();
    let run = |args: &[&str]| {
        let mut all = vec!["--repo", d];
        all.extend_from_slice(args);
        tmp.run_in(cwd, &all)
    };
    let commits = || {
        tmp.git_in(&dir, &["rev-list", "--count", "HEAD"])
            .stdout
            .trim()
            .to_owned()
    };
    let promote = [
        "promote",
        "support/refund-agent",
        "1.1.0",
        "--to",
        "production",
        "--reason",
        "CAB-230",
    ];
    // 1.1.0 is in staging, without results.
    let fetch = run(&["fetch", "support/refund-agent@staging", "--format", "json"]);
    fetch.ok();
    assert_eq!(fetch.json()["version"], "1.1.0");
    let start = commits();
    assert_eq!(
        gate_refusal(
            &run(&promote),
            "support/refund-agent",
            "1.1.0",
            "production"
        ),
        ["required test `golden-set` has no result"]
    );
    assert_eq!(commits(), start);

    run(&[
        "results",
        "import",
        "support/refund-agent@1.1.0",
        "--from",
        "promptfoo",
        &failing,
        "--test",
        "golden-set",
    ])
    .ok();
    let registry_before = tmp.git_in(&dir, &["show", "HEAD:registry.yaml"]).stdout;
    let before = commits();
    assert_eq!(
        gate_refusal(
            &run(&promote),
            "support/refund-agent",
            "1.1.0",
            "production"
        ),
        ["`golden-set` pass rate 80.0% (8/10) is below 95.0%"]
    );
    assert_eq!(commits(), before);
    assert_eq!(
        tmp.git_in(&dir, &["show", "HEAD:registry.yaml"]).stdout,
        registry_before
    );

    run(&[
        "results",
        "import",
        "support/refund-agent@1.1.0",
        "--from",
        "promptfoo",
        &passing,
        "--test",
        "golden-set",
    ])
    .ok();
    run(&promote).ok();
    let fetch = run(&["fetch", "support/refund-agent", "--format", "json"]);
    fetch.ok();
    assert_eq!(fetch.json()["version"], "1.1.0");

    // created, tested (twice), promoted — newest first.
    let out = run(&["history", "support/refund-agent", "--format", "json"]);
    out.ok();
    let events = out.json();
    let events = events.as_array().expect("a list");
    let summary: Vec<(String, String, Option<u64>)> = events[..3]
        .iter()
        .map(|e| {
            (
                e["event"].as_str().unwrap_or_default().to_owned(),
                e["to"].as_str().unwrap_or_default().to_owned(),
                e["test"]["passed"].as_u64(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            ("promoted".to_owned(), "1.1.0".to_owned(), None),
            ("tested".to_owned(), "1.1.0".to_owned(), Some(20)),
            ("tested".to_owned(), "1.1.0".to_owned(), Some(8)),
        ]
    );
    assert_eq!(events[0]["environment"], "production");
    assert_eq!(events[0]["reason"], "CAB-230");
    assert_eq!(events[0]["forced"], false);
    assert_eq!(events[1]["test"]["test"], "golden-set");
    assert_eq!(events[2]["test"]["test"], "golden-set");
    assert!(
        events
            .iter()
            .any(|e| e["event"] == "created" && e["to"] == "1.1.0"),
        "{events:#?}"
    );
    // The text history shows the same story.
    let text = run(&["history", "support/refund-agent"]);
    text.ok();
    let rows: Vec<&str> = text.stdout.lines().skip(1).take(3).collect();
    assert!(
        rows[0].contains("promoted") && rows[0].contains("CAB-230"),
        "{}",
        text.stdout
    );
    assert!(
        rows[1].contains("tested") && rows[1].contains("golden-set: 20/20"),
        "{}",
        text.stdout
    );
    assert!(
        rows[2].contains("tested") && rows[2].contains("golden-set: 8/10"),
        "{}",
        text.stdout
    );
}
