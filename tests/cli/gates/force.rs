//! `promote --force` overrides the gate (and the pipeline rule) and records what it overrode.

use super::*;

#[test]
fn force_overrides_the_gate_and_records_what_it_overrode() {
    let repo =
        gated("  production:\n    required_tests: [golden, safety]\n    min_pass_rate: 0.95\n");
    record(&repo, "x@1.0.0", "golden", 8, 2, &[]);
    let commits = repo.commit_count();
    promote_forced(&repo, "1.0.0", "production").ok();
    assert_eq!(repo.commit_count(), commits + 1);
    assert_eq!(repo.changed_paths("HEAD"), ["registry.yaml"]);
    assert_eq!(held(&repo, "production"), "1.0.0");
    let unmet = [
        "required test `safety` has no result",
        "`golden` pass rate 80.0% (8/10) is below 95.0%",
    ];
    let message = repo.git(&["log", "-1", "--format=%B"]);
    assert!(message.lines().any(|l| l == "Forced: true"), "{message}");
    for condition in unmet {
        assert!(
            message
                .lines()
                .any(|l| l == format!("Gate-Unmet: {condition}")),
            "{message}"
        );
    }
    assert_eq!(message.matches("Gate-Unmet:").count(), 2, "{message}");
    let mut trailers = trailer(&repo, "Gate-Unmet");
    trailers.sort();
    let mut expected = unmet.to_vec();
    expected.sort();
    assert_eq!(trailers, expected);

    let event = &history(&repo)[0];
    assert_eq!(event["event"], "promoted");
    assert_eq!(event["environment"], "production");
    assert_eq!(event["reason"], "hotfix");
    assert_eq!(event["forced"], true);
    let mut listed: Vec<&str> = event["gate_unmet"]
        .as_array()
        .expect("gate_unmet is a list")
        .iter()
        .map(|v| v.as_str().expect("a string"))
        .collect();
    listed.sort();
    assert_eq!(listed, expected);
    repo.fsck();
}

#[test]
fn force_overrides_the_pipeline_and_the_gate_together() {
    let repo = gated("  production:\n    required_tests: [golden]\n");
    repo.release("x", "1.1.0", "two");
    // Without --force the pipeline refuses first; nothing changes.
    repo.unchanged_by(|| promote(&repo, "1.1.0", "production"))
        .refused()
        .stderr_has(&["staging holds 1.0.0, not 1.1.0"]);
    promote_forced(&repo, "1.1.0", "production").ok();
    assert_eq!(trailer(&repo, "Forced"), ["true"]);
    assert_eq!(
        trailer(&repo, "Gate-Unmet"),
        ["required test `golden` has no result"]
    );
    let event = &history(&repo)[0];
    assert_eq!(
        (&event["to"], &event["forced"]),
        (&json!("1.1.0"), &json!(true))
    );
    assert_eq!(
        event["gate_unmet"],
        json!(["required test `golden` has no result"])
    );
}

#[test]
fn force_with_nothing_to_override_records_nothing() {
    let repo = gated("  production:\n    required_tests: [golden]\n");
    record(&repo, "x@1.0.0", "golden", 1, 0, &[]);
    promote_forced(&repo, "1.0.0", "production").ok();
    let message = repo.git(&["log", "-1", "--format=%B"]);
    assert!(
        !message.contains("Forced:") && !message.contains("Gate-Unmet:"),
        "{message}"
    );
    let event = &history(&repo)[0];
    assert_eq!(event["forced"], false);
    assert_eq!(event["gate_unmet"], json!([]));
}
