//! Access rules in registry.yaml: who may move which environment's pointers, per domain, with
//! groups and `*@domain` patterns; enforced by `promote` and `rollback`.

use crate::support::{Output, TestRepo};

/// support/x and billing/y at 1.0.0 in dev and staging; 1.1.0 released for both.
const RULES: &str = "\
format: 1
environments: [dev, staging, production]
prompts:
  support/x:
    dev: 1.0.0
    staging: 1.0.0
  billing/y:
    dev: 1.0.0
    staging: 1.0.0
access:
  groups:
    release-managers: [alice@example.com, \"*@ops.example.com\"]
  environments:
    staging: [qa@example.com, release-managers]
    production: [release-managers]
  domains:
    support:
      production: [lead@example.com]
";

fn restricted() -> TestRepo {
    let repo = TestRepo::init();
    for name in ["support/x", "billing/y"] {
        repo.release(name, "1.0.0", "one");
        repo.release(name, "1.1.0", "two");
    }
    repo.commit_by_hand("registry.yaml", RULES, "access rules");
    repo
}

/// Runs promptreg as `email`.
fn as_author(repo: &TestRepo, email: &str, args: &[&str]) -> Output {
    repo.run_with(args, &[("GIT_AUTHOR_EMAIL", email)], &[])
}

fn promote_as(repo: &TestRepo, email: &str, name: &str, version: &str, env: &str) -> Output {
    as_author(
        repo,
        email,
        &["promote", name, version, "--to", env, "--reason", "r"],
    )
}

#[test]
fn an_allowed_author_may_promote_to_a_restricted_environment() {
    let repo = restricted();
    promote_as(
        &repo,
        "alice@example.com",
        "billing/y",
        "1.0.0",
        "production",
    )
    .ok();
    assert_eq!(
        repo.git(&["log", "-1", "--format=%ae %s"]).trim(),
        "alice@example.com promote billing/y 1.0.0 to production"
    );
    let out = repo.run(&["fetch", "billing/y@production", "--format", "json"]);
    out.ok();
    assert_eq!(out.json()["version"], "1.0.0");
}

#[test]
fn a_disallowed_author_is_refused_and_told_who_may() {
    let repo = restricted();
    let before = repo.snapshot();
    promote_as(
        &repo,
        "mallory@example.com",
        "billing/y",
        "1.0.0",
        "production",
    )
    .refused()
    .stderr_has(&[
        "mallory@example.com may not move production of `billing/y`",
        "hint:",
        "release-managers",
    ]);
    // The default test identity is not allowed either.
    repo.run(&[
        "promote",
        "billing/y",
        "1.0.0",
        "--to",
        "production",
        "--reason",
        "r",
    ])
    .refused()
    .stderr_has(&["author@example.com may not move production"]);
    assert_eq!(before, repo.snapshot());
}

#[test]
fn a_domain_rule_replaces_the_environment_rule() {
    let repo = restricted();
    let before = repo.snapshot();
    // alice manages releases, but support's production belongs to its lead.
    promote_as(
        &repo,
        "alice@example.com",
        "support/x",
        "1.0.0",
        "production",
    )
    .refused()
    .stderr_has(&[
        "alice@example.com may not move production of `support/x`",
        "lead@example.com",
    ]);
    promote_as(
        &repo,
        "lead@example.com",
        "billing/y",
        "1.0.0",
        "production",
    )
    .refused()
    .stderr_has(&["lead@example.com may not move production of `billing/y`"]);
    assert_eq!(before, repo.snapshot());
    promote_as(
        &repo,
        "lead@example.com",
        "support/x",
        "1.0.0",
        "production",
    )
    .ok();
    promote_as(
        &repo,
        "alice@example.com",
        "billing/y",
        "1.0.0",
        "production",
    )
    .ok();
    // The domain has no staging rule: the environment rule applies to it.
    promote_as(&repo, "lead@example.com", "support/x", "1.1.0", "dev").ok();
    promote_as(&repo, "lead@example.com", "support/x", "1.1.0", "staging")
        .refused()
        .stderr_has(&["qa@example.com, release-managers"]);
    promote_as(&repo, "qa@example.com", "support/x", "1.1.0", "staging").ok();
}

#[test]
fn group_members_and_patterns_match() {
    let repo = restricted();
    let before = repo.snapshot();
    for outsider in [
        "bob@example.com",
        "bob@notops.example.com",
        "ops.example.com",
    ] {
        promote_as(&repo, outsider, "billing/y", "1.0.0", "production")
            .refused()
            .stderr_has(&["may not move production"]);
    }
    assert_eq!(before, repo.snapshot());
    // `*@ops.example.com` through the group; addresses compare case-insensitively.
    promote_as(
        &repo,
        "bob@ops.example.com",
        "billing/y",
        "1.0.0",
        "production",
    )
    .ok();
    promote_as(&repo, "Alice@Example.COM", "billing/y", "1.1.0", "dev").ok();
    promote_as(&repo, "Alice@Example.COM", "billing/y", "1.1.0", "staging").ok();
    promote_as(
        &repo,
        "Alice@Example.COM",
        "billing/y",
        "1.1.0",
        "production",
    )
    .ok();
}

#[test]
fn an_environment_without_a_rule_is_open_to_everyone() {
    let repo = restricted();
    promote_as(&repo, "anyone@elsewhere.org", "support/x", "1.1.0", "dev").ok();
    promote_as(&repo, "someone@else.net", "billing/y", "1.1.0", "dev").ok();
}

#[test]
fn only_the_author_counts_not_the_committer() {
    let repo = restricted();
    let out = repo.run_with(
        &[
            "promote",
            "billing/y",
            "1.0.0",
            "--to",
            "production",
            "--reason",
            "r",
        ],
        &[("GIT_COMMITTER_EMAIL", "alice@example.com")],
        &[],
    );
    out.refused()
        .stderr_has(&["author@example.com may not move production"]);
}

#[test]
fn rollback_enforces_the_rules_too() {
    let repo = restricted();
    promote_as(
        &repo,
        "alice@example.com",
        "billing/y",
        "1.0.0",
        "production",
    )
    .ok();
    promote_as(&repo, "alice@example.com", "billing/y", "1.1.0", "dev").ok();
    promote_as(&repo, "alice@example.com", "billing/y", "1.1.0", "staging").ok();
    promote_as(
        &repo,
        "alice@example.com",
        "billing/y",
        "1.1.0",
        "production",
    )
    .ok();
    let rollback = [
        "rollback",
        "billing/y",
        "--env",
        "production",
        "--reason",
        "r",
    ];
    let before = repo.snapshot();
    as_author(&repo, "mallory@example.com", &rollback)
        .refused()
        .stderr_has(&[
            "mallory@example.com may not move production of `billing/y`",
            "release-managers",
        ]);
    let mut to = rollback.to_vec();
    to.extend(["--to", "1.0.0"]);
    as_author(&repo, "mallory@example.com", &to)
        .refused()
        .stderr_has(&["may not move production"]);
    assert_eq!(before, repo.snapshot());
    as_author(&repo, "alice@example.com", &rollback).ok();
    assert_eq!(
        repo.git(&["log", "-1", "--format=%ae %s"]).trim(),
        "alice@example.com rollback billing/y production to 1.0.0"
    );
}

#[test]
fn promote_keeps_the_access_section_intact() {
    let repo = restricted();
    repo.release("newcomer", "1.0.0", "new");
    promote_as(&repo, "anyone@example.org", "newcomer", "1.0.0", "dev").ok();
    let text = repo.read("registry.yaml");
    let (prompts, access) = text.split_once("access:\n").expect("access kept");
    assert!(prompts.ends_with("  newcomer:\n    dev: 1.0.0\n"), "{text}");
    assert_eq!(
        format!("access:\n{access}"),
        RULES
            .split_once("access:\n")
            .map(|(_, a)| format!("access:\n{a}"))
            .expect("rules")
    );
    // Still enforced after the edit.
    promote_as(
        &repo,
        "mallory@example.com",
        "billing/y",
        "1.0.0",
        "production",
    )
    .refused();
}

/// The line number in `registry.yaml:LINE:COLUMN: …` on stderr.
fn error_line(out: &Output) -> usize {
    let rest = out
        .stderr
        .split_once("registry.yaml:")
        .unwrap_or_else(|| panic!("no position:\n{}", out.stderr))
        .1;
    rest.split(':')
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no line number:\n{}", out.stderr))
}

#[test]
fn invalid_access_sections_are_refused_with_their_position() {
    let base = "format: 1\nenvironments: [dev, staging, production]\nprompts:\n  billing/y:\n    dev: 1.0.0\naccess:\n";
    let access_line = base.lines().count(); // `access:` is the last line of `base`
    for (section, needles) in [
        (
            "  environments:\n    qa: [alice@example.com]\n",
            &[
                "access rule for `qa`",
                "not in environments [dev, staging, production]",
            ][..],
        ),
        (
            "  domains:\n    support:\n      prod: [alice@example.com]\n",
            &[
                "access rule for `prod` (domain `support`)",
                "not in environments",
            ],
        ),
        (
            "  environments:\n    production: [nobody]\n",
            &["names `nobody`", "neither an e-mail address nor a group"],
        ),
        (
            "  groups:\n    admins: [root]\n",
            &["group `admins` lists `root`"],
        ),
        ("  admins: [alice@example.com]\n", &["admins"]),
    ] {
        let repo = TestRepo::init();
        repo.release("billing/y", "1.0.0", "one");
        repo.release("billing/y", "1.1.0", "two");
        repo.commit_by_hand("registry.yaml", &format!("{base}{section}"), "bad rules");
        let before = repo.snapshot();
        let out = promote_as(&repo, "alice@example.com", "billing/y", "1.1.0", "dev");
        out.refused()
            .stderr_has(needles)
            .stderr_has(&["registry.yaml:"]);
        let line = error_line(&out);
        let last = access_line + section.lines().count();
        assert!(
            (access_line..=last).contains(&line),
            "line {line} is outside the access section ({access_line}..={last}):\n{}",
            out.stderr
        );
        assert_eq!(before, repo.snapshot(), "{section}");
        // Readers refuse the index too.
        repo.run(&["list"])
            .refused()
            .stderr_has(&["registry.yaml:"]);
    }
}
