//! What the gate does not touch (rollback, environments without a gate) and invalid policies,
//! which make registry.yaml invalid.

use super::*;

#[test]
fn rollback_is_not_gated() {
    let repo = TestRepo::init();
    repo.release("x", "1.0.0", "one");
    repo.release("x", "1.1.0", "two");
    commit_registry(&repo, "  x: {}\n", "  dev:\n    min_pass_rate: 0.9\n");
    record(&repo, "x@1.0.0", "golden", 10, 0, &[]);
    passes(&repo, "1.0.0", "dev");
    record(&repo, "x@1.1.0", "golden", 10, 0, &[]);
    passes(&repo, "1.1.0", "dev");
    // 1.0.0 no longer meets the gate: promoting it is refused...
    record(&repo, "x@1.0.0", "golden", 1, 9, &[]);
    assert_eq!(
        refused(&repo, "1.0.0", "dev"),
        ["`golden` pass rate 10.0% (1/10) is below 90.0%"]
    );
    // ...rolling back to it is not, and the commit records no override.
    let before_rollback = repo.rev("HEAD");
    repo.run(&[
        "rollback",
        "x",
        "--env",
        "dev",
        "--reason",
        "1.1.0 is broken",
    ])
    .ok();
    assert_eq!(held(&repo, "dev"), "1.0.0");
    assert_eq!(trailer(&repo, "Change"), ["reverted"]);
    assert_eq!(trailer(&repo, "Forced"), Vec::<String>::new());
    assert_eq!(trailer(&repo, "Gate-Unmet"), Vec::<String>::new());
    let event = &history(&repo)[0];
    assert_eq!(event["event"], "reverted");
    assert_eq!(event["forced"], false);
    assert_eq!(event["gate_unmet"], json!([]));
    // audit does not gate-check the rollback either.
    let out = repo.run(&["audit", "--base", &before_rollback, "--format", "json"]);
    out.ok();
    assert_eq!(out.json()["violations"], json!([]));
}

#[test]
fn environments_without_a_gate_are_unaffected() {
    let repo = released_prompt("x", "1.0.0", "one");
    commit_registry(
        &repo,
        "  x: {}\n",
        "  production:\n    required_tests: [golden]\n",
    );
    passes(&repo, "1.0.0", "dev");
    passes(&repo, "1.0.0", "staging");
    assert_eq!(
        refused(&repo, "1.0.0", "production"),
        ["required test `golden` has no result"]
    );
    // An empty gate sets no condition.
    commit_registry(&repo, X_STAGED, "  production: {}\n");
    passes(&repo, "1.0.0", "production");
}

#[test]
fn invalid_policies_make_registry_yaml_invalid() {
    let repo = TestRepo::init();
    repo.release("x", "1.0.0", "one");
    // policy: is line 5; each gate is at 6:3, its first key at 7:5.
    let cases = [
        (
            "  qa:\n    min_pass_rate: 0.5\n",
            "6:3",
            "registry-invalid",
            "policy for `qa`: not in environments [dev, staging, production]",
        ),
        (
            "  production:\n    min_pass_rate: 1.5\n",
            "6:3",
            "registry-invalid",
            "policy for `production`: min_pass_rate 1.5 is not between 0 and 1",
        ),
        (
            "  production:\n    min_pass_rate: -0.1\n",
            "6:3",
            "registry-invalid",
            "policy for `production`: min_pass_rate -0.1 is not between 0 and 1",
        ),
        (
            "  production:\n    required_tests: [golden, safety, golden]\n",
            "6:3",
            "registry-invalid",
            "policy for `production`: required test `golden` is listed twice",
        ),
        (
            "  production:\n    required_tests: [\" golden\"]\n",
            "6:3",
            "registry-invalid",
            "policy for `production`: test name ` golden`",
        ),
        // Unknown keys have their own code at any level (docs/VALIDATE.md).
        (
            "  production:\n    min_rate: 0.95\n",
            "7:5",
            "unknown-key",
            "min_rate",
        ),
    ];
    for (policy, at, code, message) in cases {
        commit_registry(&repo, "  x: {}\n", policy);
        let before = repo.snapshot();
        let (line, column) = at.split_once(':').expect("line:col");
        // Commands reading registry.yaml fail with file:line:col.
        for args in [
            &["list"][..],
            &["promote", "x", "1.0.0", "--to", "dev", "--reason", "r"],
        ] {
            let out = repo.run(args);
            out.refused();
            assert!(
                out.stderr.contains(&format!("registry.yaml:{at}: ")),
                "{args:?} with {policy:?}:\n{}",
                out.stderr
            );
            if code == "registry-invalid" {
                out.stderr_has(&[message]);
            }
            assert_eq!(before, repo.snapshot(), "{args:?} with {policy:?}");
        }
        let out = repo.run(&["validate"]);
        out.code(1);
        assert!(
            out.stdout
                .lines()
                .any(|l| l.starts_with(&format!("registry.yaml:{at}: error: "))
                    && l.contains(message)
                    && l.ends_with(&format!("[{code}]"))),
            "{policy:?}:\n{}",
            out.stdout
        );
        let out = repo.run(&["validate", "--format", "json"]);
        out.code(1);
        let findings = out.json();
        let finding = findings
            .as_array()
            .expect("a list")
            .iter()
            .find(|f| f["file"] == "registry.yaml")
            .unwrap_or_else(|| panic!("no registry.yaml finding for {policy:?}: {findings}"));
        assert_eq!(finding["code"], code, "{policy:?}");
        assert_eq!(finding["severity"], "error");
        assert_eq!(finding["line"], line.parse::<u64>().expect("a line"));
        assert_eq!(finding["column"], column.parse::<u64>().expect("a column"));
        assert!(
            finding["message"]
                .as_str()
                .is_some_and(|m| m.contains(message)),
            "{finding}"
        );
    }
    // A valid policy validates.
    commit_registry(&repo, "  x: {}\n", "  production:\n    min_pass_rate: 1\n");
    repo.run(&["validate"]).ok();
}

#[test]
fn a_rate_just_below_the_minimum_is_shown_below_it() {
    let repo = gated("  production:\n    min_pass_rate: 1\n");
    record(&repo, "x@1.0.0", "golden", 19999, 1, &[]);
    let unmet = refused(&repo, "1.0.0", "production");
    assert_eq!(unmet.len(), 1);
    // `... pass rate R (19999/20000) is below M`: R and M must not read the same.
    let (rate, minimum) = unmet[0]
        .strip_prefix("`golden` pass rate ")
        .and_then(|rest| rest.split_once(" (19999/20000) is below "))
        .unwrap_or_else(|| panic!("{}", unmet[0]));
    assert_ne!(rate, minimum, "{}", unmet[0]);
}
