//! `audit --base` judges every pointer move by the policy at the base.

use super::*;

/// The base (`main`): x 1.0.0 in dev and staging, production gated; then on branch `pr`.
fn audit_base(policy: &str) -> TestRepo {
    let repo = gated(policy);
    repo.git(&["checkout", "-q", "-b", "pr"]);
    repo
}

/// `audit --base main --format json`: the exit code and the violations.
fn audit(repo: &TestRepo) -> (i32, Vec<Value>) {
    let out = repo.run(&["audit", "--base", "main", "--format", "json"]);
    let value: Value = serde_json::from_str(&out.stdout)
        .unwrap_or_else(|e| panic!("audit JSON ({e}):\n{}\n{}", out.stdout, out.stderr));
    let violations = value["violations"].as_array().expect("a list").clone();
    (out.code, violations)
}

/// Asserts the audit fails with exactly one `gate-not-met` for x production none → 1.0.0 in
/// `commit`, and returns its message.
#[track_caller]
fn one_gate_violation(repo: &TestRepo, commit: &str) -> String {
    let (code, violations) = audit(repo);
    assert_eq!(code, 1, "{violations:#?}");
    assert_eq!(violations.len(), 1, "{violations:#?}");
    let v = &violations[0];
    assert_eq!(v["problem"], "gate-not-met", "{v}");
    assert_eq!(v["commit"], commit);
    assert_eq!(v["prompt"], "x");
    assert_eq!(v["environment"], "production");
    assert_eq!(v["from"], Value::Null);
    assert_eq!(v["to"], "1.0.0");
    v["message"].as_str().expect("a message").to_owned()
}

#[test]
fn audit_reports_a_hand_made_promotion_that_misses_the_gate() {
    let repo = audit_base(GOLDEN_95);
    commit_registry(
        &repo,
        &format!("{X_STAGED}    production: 1.0.0\n"),
        GOLDEN_95,
    );
    let commit = repo.rev("HEAD");
    let message = one_gate_violation(&repo, &commit);
    assert_eq!(
        message,
        "1.0.0 did not meet the production gate: required test `golden` has no result"
    );
    assert_eq!(
        audit(&repo).1[0]["author"],
        AUTHOR_EMAIL,
        "the author is the commit's"
    );
    // The text report says the same, and fails.
    let out = repo.run(&["audit", "--base", "main"]);
    out.code(1);
    assert_eq!(
        out.stdout,
        format!(
            "{} {AUTHOR_EMAIL}: x production none → 1.0.0: {message}\n",
            &commit[..10]
        )
    );
    // Results recorded after the move do not make it right: the moving commit is judged.
    record(&repo, "x@1.0.0", "golden", 10, 0, &[]);
    assert_eq!(one_gate_violation(&repo, &commit), message);
}

#[test]
fn audit_passes_a_move_committed_with_its_results() {
    let repo = audit_base(GOLDEN_95);
    record(&repo, "x@1.0.0", "golden", 10, 0, &[]);
    // Results and the move by hand in one commit.
    repo.git(&["reset", "-q", "--soft", "HEAD~1"]);
    commit_registry(
        &repo,
        &format!("{X_STAGED}    production: 1.0.0\n"),
        GOLDEN_95,
    );
    assert_eq!(
        repo.changed_paths("HEAD"),
        ["registry.yaml", "results/x.yaml"]
    );
    let (code, violations) = audit(&repo);
    assert_eq!((code, violations), (0, vec![]));
}

#[test]
fn audit_judges_by_the_base_policy_not_one_the_change_relaxes() {
    // Removing the gate in the very commit that moves the pointer.
    let repo = audit_base(GOLDEN_95);
    commit_registry(&repo, &format!("{X_STAGED}    production: 1.0.0\n"), "");
    let commit = repo.rev("HEAD");
    assert_eq!(
        one_gate_violation(&repo, &commit),
        "1.0.0 did not meet the production gate: required test `golden` has no result"
    );

    // Relaxing it in one commit, then promoting with promptreg (which applies the lax gate at
    // HEAD and so lets it through).
    let repo = audit_base(GOLDEN_95);
    commit_registry(
        &repo,
        X_STAGED,
        "  production:\n    required_tests: [golden]\n    min_pass_rate: 0.5\n",
    );
    record(&repo, "x@1.0.0", "golden", 6, 4, &[]);
    passes(&repo, "1.0.0", "production");
    let commit = repo.rev("HEAD");
    assert_eq!(
        one_gate_violation(&repo, &commit),
        "1.0.0 did not meet the production gate: `golden` pass rate 60.0% (6/10) is below 95.0%"
    );
}

#[test]
fn audit_ignores_a_gate_the_change_adds() {
    let repo = released_prompt("x", "1.0.0", "one");
    commit_registry(&repo, X_STAGED, "");
    repo.git(&["checkout", "-q", "-b", "pr"]);
    commit_registry(&repo, X_STAGED, GOLDEN_95);
    commit_registry(
        &repo,
        &format!("{X_STAGED}    production: 1.0.0\n"),
        GOLDEN_95,
    );
    let (code, violations) = audit(&repo);
    assert_eq!((code, violations), (0, vec![]));
}

#[test]
fn audit_reports_a_forced_promotion_as_recorded() {
    let repo = audit_base(GOLDEN_95);
    record(&repo, "x@1.0.0", "golden", 8, 2, &[]);
    promote_forced(&repo, "1.0.0", "production").ok();
    let commit = repo.rev("HEAD");
    assert_eq!(
        one_gate_violation(&repo, &commit),
        "1.0.0 did not meet the production gate (forced, recorded in the commit): `golden` pass rate 80.0% (8/10) is below 95.0%"
    );
}

#[test]
fn audit_does_not_report_a_promotion_that_met_the_gate() {
    let repo = audit_base(GOLDEN_95);
    record(&repo, "x@1.0.0", "golden", 8, 2, &[]);
    record(&repo, "x@1.0.0", "golden", 20, 0, &[]);
    passes(&repo, "1.0.0", "production");
    let (code, violations) = audit(&repo);
    assert_eq!((code, violations), (0, vec![]));
    let out = repo.run(&["audit", "--base", "main"]);
    out.ok();
    assert_eq!(out.stdout, "");
}

#[test]
fn audit_gate_checks_a_commit_that_only_claims_to_be_a_rollback() {
    let repo = audit_base(GOLDEN_95);
    repo.write(
        "registry.yaml",
        &registry(&format!("{X_STAGED}    production: 1.0.0\n"), GOLDEN_95),
    );
    // Trailers of a rollback, but production never held 1.0.0.
    repo.git(&[
        "commit",
        "-q",
        "-a",
        "-m",
        "rollback x production to 1.0.0",
        "-m",
        "it was fine",
        "-m",
        "Prompt: x\nEnvironment: production\nVersion: 1.0.0\nPrevious: none\nChange: reverted",
    ]);
    let commit = repo.rev("HEAD");
    assert_eq!(
        one_gate_violation(&repo, &commit),
        "1.0.0 did not meet the production gate: required test `golden` has no result"
    );
}
