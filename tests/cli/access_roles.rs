//! Access rules per action (docs/FORMAT.md §3.1): who may release, promote, roll back and
//! record results, by address, `*@domain` pattern and group, at the prompt, domain and default
//! scope; each refusal names the rule and who may; `access check` says the same.

use serde::Deserialize;

use crate::support::{Output, TestRepo};

/// Everything released (by the default identity) before the rules; then the rules.
const RULES: &str = "\
format: 1
environments: [dev, staging, production]
prompts:
  support/faq:
    dev: 1.0.0
    staging: 1.0.0
  billing/y:
    dev: 1.0.0
access:
  groups:
    support: [\"*@support.example.com\"]
    rm: [rm@example.com]
  prompts:
    \"*\":
      release: [rm]
      promote: {production: [rm]}
      record: [rm, qa@example.com]
    \"support/*\":
      release: [support, rm]
      promote: {dev: [support], staging: [support]}
      rollback: {staging: [oncall@example.com, support]}
    support/refund:
      release: [owner@example.com]
      promote: {dev: [owner@example.com]}
      record: [owner@example.com]
";

fn roles() -> TestRepo {
    let repo = TestRepo::init();
    repo.release("support/faq", "1.0.0", "one");
    repo.release("support/faq", "1.1.0", "two");
    repo.release("support/refund", "1.0.0", "one");
    repo.release("billing/y", "1.0.0", "one");
    repo.commit_by_hand("registry.yaml", RULES, "access rules");
    repo
}

/// Runs promptreg as `email`: the author (checked for moves and results) and the committer
/// (the tagger, checked for releases).
fn as_author(repo: &TestRepo, email: &str, args: &[&str]) -> Output {
    repo.run_with(
        args,
        &[("GIT_AUTHOR_EMAIL", email), ("GIT_COMMITTER_EMAIL", email)],
        &[],
    )
}

/// Runs as `email` and asserts a refusal that changed nothing and names `needles`.
#[track_caller]
fn refused_as(repo: &TestRepo, email: &str, args: &[&str], needles: &[&str]) {
    let out = repo.unchanged_by(|| as_author(repo, email, args));
    out.refused().stderr_has(needles).stderr_has(&["hint:"]);
}

fn release_as(repo: &TestRepo, email: &str, name: &str, text: &str) -> Output {
    repo.write_prompt(name, text);
    as_author(repo, email, &["create", name, "--bump", "minor", "-m", "m"])
}

#[test]
fn release_follows_prompt_then_domain_then_default() {
    let repo = roles();
    // Pattern through a group, at the domain scope.
    release_as(&repo, "sam@support.example.com", "support/faq", "three").ok();
    // A group at the domain scope (rm is listed there too).
    release_as(&repo, "rm@example.com", "support/faq", "four").ok();
    // The prompt's own rule beats the domain's: support may not release support/refund.
    repo.write_prompt("support/refund", "changed");
    refused_as(
        &repo,
        "sam@support.example.com",
        &["create", "support/refund", "--bump", "minor", "-m", "m"],
        &[
            "sam@support.example.com may not release versions of `support/refund`",
            "access.prompts.support/refund.release",
            "owner@example.com",
        ],
    );
    // An address at the prompt scope.
    as_author(
        &repo,
        "owner@example.com",
        &["create", "support/refund", "--bump", "minor", "-m", "m"],
    )
    .ok();
    // The default scope: only rm releases billing/y.
    repo.write_prompt("billing/y", "changed");
    refused_as(
        &repo,
        "sam@support.example.com",
        &["create", "billing/y", "--bump", "minor", "-m", "m"],
        &[
            "may not release versions of `billing/y`",
            "access.prompts.\"*\".release",
            "rm",
        ],
    );
    as_author(
        &repo,
        "rm@example.com",
        &["create", "billing/y", "--bump", "minor", "-m", "m"],
    )
    .ok();
    assert_eq!(
        repo.git(&["tag", "-l", "--sort=refname"]),
        "billing/y/v1.0.0\nbilling/y/v1.1.0\nsupport/faq/v1.0.0\nsupport/faq/v1.1.0\nsupport/faq/v1.2.0\nsupport/faq/v1.3.0\nsupport/refund/v1.0.0\nsupport/refund/v1.1.0\n"
    );
}

#[test]
fn promote_by_domain_rule_and_default_rule() {
    let repo = roles();
    let promote = |email: &str, name: &str, version: &str, env: &str| {
        as_author(
            &repo,
            email,
            &["promote", name, version, "--env", env, "--reason", "r"],
        )
    };
    promote("sam@support.example.com", "support/faq", "1.1.0", "dev").ok();
    promote("sam@support.example.com", "support/faq", "1.1.0", "staging").ok();
    refused_as(
        &repo,
        "sam@support.example.com",
        &[
            "promote",
            "support/faq",
            "1.1.0",
            "--env",
            "production",
            "--reason",
            "r",
        ],
        &[
            "sam@support.example.com may not move production of `support/faq`",
            "access.prompts.\"*\".promote.production",
            "rm",
        ],
    );
    // Not in the support group: the domain rule for staging refuses rm.
    promote("rm@example.com", "billing/y", "1.0.0", "staging").ok();
    refused_as(
        &repo,
        "rm@example.com",
        &[
            "promote",
            "support/faq",
            "1.0.0",
            "--env",
            "dev",
            "--reason",
            "r",
        ],
        &["access.prompts.\"support/*\".promote.dev"],
    );
    promote("rm@example.com", "support/faq", "1.1.0", "production").ok();
    // A prompt's own rule replaces its domain's: the support group may not move its dev.
    refused_as(
        &repo,
        "sam@support.example.com",
        &[
            "promote",
            "support/refund",
            "1.0.0",
            "--env",
            "dev",
            "--reason",
            "r",
        ],
        &[
            "access.prompts.support/refund.promote.dev",
            "owner@example.com",
        ],
    );
    promote("owner@example.com", "support/refund", "1.0.0", "dev").ok();
    // split asks the promote rule too.
    let split = [
        "split",
        "support/faq",
        "1.1.0=50",
        "1.0.0=50",
        "--env",
        "dev",
        "--reason",
        "ab",
    ];
    refused_as(
        &repo,
        "rm@example.com",
        &split,
        &[
            "rm@example.com may not move dev of `support/faq`",
            "access.prompts.\"support/*\".promote.dev",
        ],
    );
    as_author(&repo, "sam@support.example.com", &split).ok();
    // No rule for billing/y in dev: anyone.
    release_as(&repo, "rm@example.com", "billing/y", "two").ok();
    promote("anyone@else.org", "billing/y", "1.1.0", "dev").ok();
}

#[test]
fn rollback_has_its_own_rule_and_falls_back_to_promote() {
    let repo = roles();
    let run = |email: &str, args: &[&str]| as_author(&repo, email, args);
    run(
        "rm@example.com",
        &[
            "promote",
            "support/faq",
            "1.0.0",
            "--env",
            "production",
            "--reason",
            "r",
        ],
    )
    .ok();
    run(
        "sam@support.example.com",
        &[
            "promote",
            "support/faq",
            "1.1.0",
            "--env",
            "dev",
            "--reason",
            "r",
        ],
    )
    .ok();
    run(
        "sam@support.example.com",
        &[
            "promote",
            "support/faq",
            "1.1.0",
            "--env",
            "staging",
            "--reason",
            "r",
        ],
    )
    .ok();
    run(
        "rm@example.com",
        &[
            "promote",
            "support/faq",
            "1.1.0",
            "--env",
            "production",
            "--reason",
            "r",
        ],
    )
    .ok();
    // staging has a rollback rule: oncall may roll back, although it may not promote there.
    let rollback_staging = [
        "rollback",
        "support/faq",
        "--env",
        "staging",
        "--reason",
        "bad",
    ];
    refused_as(
        &repo,
        "rm@example.com",
        &rollback_staging,
        &[
            "access.prompts.\"support/*\".rollback.staging",
            "oncall@example.com",
        ],
    );
    run("oncall@example.com", &rollback_staging).ok();
    // production has none: the promote rule applies.
    let rollback_production = [
        "rollback",
        "support/faq",
        "--env",
        "production",
        "--reason",
        "bad",
    ];
    refused_as(
        &repo,
        "oncall@example.com",
        &rollback_production,
        &["access.prompts.\"*\".promote.production"],
    );
    run("rm@example.com", &rollback_production).ok();
}

#[test]
fn record_and_import_follow_the_record_rule() {
    let repo = roles();
    let record = [
        "results",
        "record",
        "support/refund@1.0.0",
        "--test",
        "t",
        "--passed",
        "1",
        "--failed",
        "0",
    ];
    refused_as(
        &repo,
        "qa@example.com",
        &record,
        &[
            "qa@example.com may not record results for `support/refund`",
            "access.prompts.support/refund.record",
        ],
    );
    as_author(&repo, "owner@example.com", &record).ok();
    as_author(
        &repo,
        "qa@example.com",
        &[
            "results",
            "record",
            "billing/y@1.0.0",
            "--test",
            "t",
            "--passed",
            "1",
            "--failed",
            "0",
        ],
    )
    .ok();
    repo.write(
        "report.xml",
        "<testsuite tests=\"1\" failures=\"0\" errors=\"0\"><testcase name=\"a\"/></testsuite>",
    );
    refused_as(
        &repo,
        "sam@support.example.com",
        &[
            "results",
            "import",
            "billing/y@1.0.0",
            "--from",
            "junit",
            "report.xml",
            "--test",
            "j",
        ],
        &["may not record results for `billing/y`"],
    );
}

/// One row of `access check --format json`; unknown keys fail the parse.
#[derive(Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
struct Permission {
    prompt: String,
    action: String,
    environment: Option<String>,
    allowed: bool,
    rule: Option<String>,
    members: Vec<String>,
    protected: bool,
}

#[test]
fn access_check_lists_what_an_identity_may_do() {
    let repo = roles();
    let out = repo.run(&[
        "access",
        "check",
        "sam@support.example.com",
        "support/faq",
        "--format",
        "json",
    ]);
    out.ok();
    let rows: Vec<Permission> = serde_json::from_str(&out.stdout).unwrap();
    let brief: Vec<(String, Option<String>, bool)> = rows
        .iter()
        .map(|r| (r.action.clone(), r.environment.clone(), r.allowed))
        .collect();
    let s = |x: &str| Some(x.to_owned());
    assert_eq!(
        brief,
        [
            ("release".into(), None, true),
            ("promote".into(), s("dev"), true),
            ("promote".into(), s("staging"), true),
            ("promote".into(), s("production"), false),
            ("rollback".into(), s("dev"), true),
            ("rollback".into(), s("staging"), true),
            ("rollback".into(), s("production"), false),
            ("record".into(), None, false),
        ]
    );
    assert_eq!(
        rows[3].rule.as_deref(),
        Some("access.prompts.\"*\".promote.production")
    );
    assert_eq!(rows[3].members, ["rm"]);
    // Every prompt, as a table.
    let out = repo.run(&["access", "check", "rm@example.com"]);
    out.ok();
    for name in ["billing/y", "support/faq", "support/refund"] {
        assert!(out.stdout.contains(name), "{}", out.stdout);
    }
    assert!(out.stdout.contains("access.prompts.support/refund.release"));
}

#[test]
fn a_bad_rule_is_a_validate_finding_and_refuses_writes() {
    let repo = roles();
    let bad = RULES.replace("    \"support/*\":\n", "    \"Support/*\":\n");
    repo.commit_by_hand("registry.yaml", &bad, "bad scope");
    let out = repo.run(&["validate"]);
    out.code(1);
    assert!(
        out.stdout
            .lines()
            .any(|l| l.starts_with("registry.yaml:10:3: error: ")
                && l.contains("scope `Support/*`")
                && l.ends_with("[registry-invalid]")),
        "{}",
        out.stdout
    );
    let unknown_env = RULES.replace("promote: {production: [rm]}", "promote: {prod: [rm]}");
    repo.commit_by_hand("registry.yaml", &unknown_env, "bad env");
    repo.refuses_unchanged(&[
        "promote",
        "billing/y",
        "1.0.0",
        "--env",
        "staging",
        "--reason",
        "r",
    ])
    .stderr_has(&[
        "registry.yaml:",
        "access.prompts.\"*\".promote",
        "not in environments",
    ]);
}

#[test]
fn http_writes_follow_the_same_rules() {
    use crate::serve::{registry, send, tokens_file, Server, TOKEN};
    use serde_json::json;
    // The token's identity is bot@example.com; only rm may release.
    let repo = registry();
    let index = repo.read("registry.yaml");
    repo.write(
        "registry.yaml",
        &format!(
            "{index}access:\n  prompts:\n    \"*\":\n      release: [rm@example.com]\n      record: [rm@example.com]\n"
        ),
    );
    repo.git(&["commit", "-qam", "access rules"]);
    let tokens = tokens_file(&repo);
    let server = Server::start(&repo, &["--tokens", &tokens]);
    let before = repo.snapshot();
    let created = send(
        "POST",
        &server.url("/api/prompts"),
        Some(TOKEN),
        &json!({"name": "support/agent", "version": "2.0.0", "description": "d", "system_prompt": "Hi {{ user_name }}"}),
    );
    assert_eq!(created.status, 403, "{}", created.body);
    assert_eq!(created.json()["error"], "access-denied");
    let message = created.json()["message"].as_str().unwrap().to_owned();
    assert!(
        message.contains("bot@example.com may not release versions of `support/agent`"),
        "{message}"
    );
    assert!(
        before == repo.snapshot(),
        "a refused HTTP write changed the repository"
    );
}
