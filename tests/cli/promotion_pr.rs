//! Protected environments and promotion by pull request: a direct move into a protected
//! environment is refused; `--branch` writes the move on a new branch without touching the
//! checkout; `--push` and `--pr` hand it to git and gh; after `git merge --no-ff`, `history`
//! shows the move and the merge, and `audit --base` passes it — and flags what skipped review.

use std::path::Path;
use std::process::Command;

use crate::support::{hermetic, Output, TestRepo, AUTHOR_EMAIL};

/// support/faq 1.0.0 in production, 1.1.0 in dev and staging (released before the rules).
const RULES: &str = "\
format: 1
environments: [dev, staging, production]
prompts:
  support/faq:
    dev: 1.1.0
    staging: 1.1.0
    production: 1.0.0
access:
  groups:
    support: [\"*@support.example.com\"]
    rm: [rm@example.com]
  prompts:
    \"*\":
      release: [support, rm]
      promote: {production: [rm]}
      record: [rm]
    \"support/*\":
      promote: {dev: [support], staging: [support]}
  protected: [production]
";

const RM: &str = "rm@example.com";

fn protected() -> TestRepo {
    let repo = TestRepo::init();
    repo.release("support/faq", "1.0.0", "one");
    repo.release("support/faq", "1.1.0", "two");
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

/// git as `email` (author and committer).
#[track_caller]
fn git_as(repo: &TestRepo, email: &str, args: &[&str]) -> String {
    let mut command = Command::new("git");
    hermetic::apply_as(&mut command, &repo.home, "Someone", email)
        .current_dir(&repo.root)
        .args(args);
    let out = Output::of(&mut command);
    assert_eq!(out.code, 0, "git {args:?}:\n{}", out.stderr);
    out.stdout
}

fn promote_production(branch: Option<&str>) -> Vec<String> {
    let mut args: Vec<String> = [
        "promote",
        "support/faq",
        "1.1.0",
        "--env",
        "production",
        "--reason",
        "CAB-7 approved",
    ]
    .map(String::from)
    .to_vec();
    if let Some(branch) = branch {
        args.extend(["--branch".to_owned(), branch.to_owned()]);
    }
    args
}

fn strs(args: &[String]) -> Vec<&str> {
    args.iter().map(String::as_str).collect()
}

/// The bytes of HEAD, the index, the branch ref and every file of the working tree.
fn checkout_bytes(repo: &TestRepo) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    for file in [".git/HEAD", ".git/index"] {
        out.push((
            file.to_owned(),
            std::fs::read(repo.root.join(file)).unwrap(),
        ));
    }
    out.push(("main".to_owned(), repo.rev("refs/heads/main").into_bytes()));
    fn walk(root: &Path, dir: &Path, out: &mut Vec<(String, Vec<u8>)>) {
        let mut entries: Vec<_> = std::fs::read_dir(dir).unwrap().flatten().collect();
        entries.sort_by_key(|e| e.path());
        for entry in entries {
            let path = entry.path();
            if path.file_name().is_some_and(|n| n == ".git") {
                continue;
            }
            if path.is_dir() {
                walk(root, &path, out);
            } else {
                let rel = path.strip_prefix(root).unwrap().display().to_string();
                out.push((rel, std::fs::read(&path).unwrap()));
            }
        }
    }
    walk(&repo.root, &repo.root, &mut out);
    out
}

#[test]
fn a_direct_move_into_a_protected_environment_is_refused_with_a_hint_to_branch() {
    let repo = protected();
    let out = repo.unchanged_by(|| as_author(&repo, RM, &strs(&promote_production(None))));
    out.refused().stderr_has(&[
        "production is protected: a move of `support/faq` into it must arrive through a merge, not a direct commit on `main`",
        "hint: write the move on a new branch for review: `promptreg promote … --branch NAME`",
    ]);
    let out = repo.unchanged_by(|| {
        as_author(
            &repo,
            RM,
            &[
                "split",
                "support/faq",
                "1.0.0=90",
                "1.1.0=10",
                "--env",
                "production",
                "--reason",
                "ab",
            ],
        )
    });
    out.refused().stderr_has(&[
        "production is protected",
        "`promptreg split … --branch NAME`",
    ]);
    // Access comes first: support may not move production at all, branch or not.
    let out = repo.unchanged_by(|| {
        as_author(
            &repo,
            "sam@support.example.com",
            &strs(&promote_production(Some("p"))),
        )
    });
    out.refused()
        .stderr_has(&["sam@support.example.com may not move production", "rm"]);
    // Unprotected environments still take direct moves.
    repo.write_prompt("support/faq", "three");
    as_author(
        &repo,
        "sam@support.example.com",
        &["create", "support/faq", "--version", "1.2.0", "-m", "m"],
    )
    .ok();
    as_author(
        &repo,
        "sam@support.example.com",
        &[
            "promote",
            "support/faq",
            "1.2.0",
            "--env",
            "dev",
            "--reason",
            "r",
        ],
    )
    .ok();
}

#[test]
fn branch_leaves_the_checkout_byte_for_byte_unchanged() {
    let repo = protected();
    // Work in progress elsewhere, staged and not, stays as it is.
    repo.write("notes.txt", "draft\n");
    repo.git(&["add", "notes.txt"]);
    repo.write("prompts/support/faq/prompt.yaml", "edited: true\n");
    // An edit in progress to registry.yaml does not block a move on another branch.
    repo.write("registry.yaml", &format!("{RULES}# draft\n"));
    let tip = repo.rev("HEAD");
    let before = checkout_bytes(&repo);
    let out = as_author(
        &repo,
        RM,
        &strs(&promote_production(Some("promote/faq-1.1.0"))),
    );
    out.ok().stderr_has(&[
        "on new branch `promote/faq-1.1.0`; the checkout is unchanged",
        "git push origin promote/faq-1.1.0",
    ]);
    assert_eq!(
        out.stdout, "",
        "stdout is what promote prints today: nothing"
    );
    assert!(before == checkout_bytes(&repo), "the checkout changed");
    // One commit on the new branch, parent the tip, registry.yaml alone.
    let branch = repo.rev("promote/faq-1.1.0");
    assert_eq!(repo.rev("promote/faq-1.1.0^"), tip);
    assert_eq!(repo.changed_paths(&branch), ["registry.yaml"]);
    let index = repo.git(&["show", "promote/faq-1.1.0:registry.yaml"]);
    assert_eq!(
        index,
        RULES.replace("production: 1.0.0", "production: 1.1.0")
    );
    assert_eq!(repo.git(&["log", "-1", "--format=%ae", &branch]).trim(), RM);
    // The name is taken now.
    let again = repo.unchanged_by(|| {
        as_author(
            &repo,
            RM,
            &strs(&promote_production(Some("promote/faq-1.1.0"))),
        )
    });
    again
        .refused()
        .stderr_has(&["branch `promote/faq-1.1.0`", "exists already"]);
    let bad = repo.unchanged_by(|| as_author(&repo, RM, &strs(&promote_production(Some("a..b")))));
    bad.refused().stderr_has(&["not a valid Git branch name"]);
}

#[test]
fn rollback_and_split_take_a_branch_too() {
    let repo = protected();
    let sam = "sam@support.example.com";
    repo.write_prompt("support/faq", "three");
    as_author(
        &repo,
        sam,
        &["create", "support/faq", "--version", "1.2.0", "-m", "m"],
    )
    .ok();
    for env in ["dev", "staging"] {
        as_author(
            &repo,
            sam,
            &[
                "promote",
                "support/faq",
                "1.2.0",
                "--env",
                env,
                "--reason",
                "r",
            ],
        )
        .ok();
    }
    let tip = repo.rev("HEAD");
    let before = checkout_bytes(&repo);
    as_author(
        &repo,
        sam,
        &[
            "rollback",
            "support/faq",
            "--env",
            "staging",
            "--reason",
            "r",
            "--branch",
            "rb",
        ],
    )
    .ok();
    as_author(
        &repo,
        RM,
        &[
            "split",
            "support/faq",
            "1.0.0=90",
            "1.2.0=10",
            "--env",
            "production",
            "--reason",
            "ab",
            "--branch",
            "ab",
        ],
    )
    .ok();
    assert!(before == checkout_bytes(&repo), "the checkout changed");
    assert_eq!(repo.rev("rb^"), tip);
    assert_eq!(repo.rev("ab^"), tip);
    assert!(repo
        .git(&["show", "rb:registry.yaml"])
        .contains("staging: 1.1.0"));
    assert!(repo.git(&["show", "ab:registry.yaml"]).contains("split:"));
}

#[test]
fn a_pull_request_round_trip_pushes_merges_and_shows_in_history_and_audit() {
    let repo = protected();
    let remote = repo.tmp().join("remote.git");
    repo.git(&["init", "-q", "--bare", remote.to_str().unwrap()]);
    repo.git(&["remote", "add", "origin", remote.to_str().unwrap()]);
    repo.git(&["push", "-q", "origin", "main"]);
    let base = repo.rev("HEAD");
    // A fake gh that records its arguments.
    let bin = repo.tmp().join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let log = repo.tmp().join("gh.log");
    let gh = bin.join("gh");
    std::fs::write(
        &gh,
        "#!/bin/sh\n[ \"$1\" = --version ] && exit 0\nfor a in \"$@\"; do printf '%s\\n' \"$a\"; done > \"$GH_LOG\"\n",
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&gh, std::fs::Permissions::from_mode(0o755)).unwrap();
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let mut args = promote_production(Some("promote/faq-1.1.0"));
    args.extend(["--push", "origin", "--pr", "--format", "json"].map(String::from));
    let out = repo.run_with(
        &strs(&args),
        &[
            ("GIT_AUTHOR_EMAIL", RM),
            ("PATH", &path),
            ("GH_LOG", log.to_str().unwrap()),
        ],
        &[],
    );
    out.ok().stderr_has(&[
        "pushed `promote/faq-1.1.0` to origin",
        "opened the pull request with gh",
    ]);
    let json = out.json();
    assert_eq!(json["command"], "promote");
    assert_eq!(json["move"]["to"], "1.1.0");
    let commit = json["commit"].as_str().unwrap().to_owned();
    // The remote has the branch; gh was asked for the pull request with the move and reason.
    let pushed = repo.git_in(&remote, &["rev-parse", "refs/heads/promote/faq-1.1.0"]);
    assert_eq!(pushed.stdout.trim(), commit);
    let gh_args = std::fs::read_to_string(&log).unwrap();
    let lines: Vec<&str> = gh_args.lines().collect();
    assert_eq!(
        lines[..8],
        [
            "pr",
            "create",
            "--head",
            "promote/faq-1.1.0",
            "--base",
            "main",
            "--title",
            "promote support/faq 1.1.0 to production"
        ]
    );
    for needle in [
        "--body",
        "Moves `support/faq` in **production**: 1.0.0 → 1.1.0.",
        "CAB-7 approved",
        "**Gate:**",
        "```diff",
        "-one\n+two\n",
    ] {
        assert!(gh_args.contains(needle), "{needle:?} not in:\n{gh_args}");
    }
    assert_eq!(repo.rev("HEAD"), base, "the checkout stays on the base");
    // CI on the pull request's head: its move is to arrive by the merge under review.
    repo.run(&[
        "audit",
        "--base",
        &base,
        "--ref",
        "promote/faq-1.1.0",
        "--pull-request",
    ])
    .ok();
    // Audited as if it were the registry branch itself, the same commit is a direct move.
    let out = repo.run(&["audit", "--base", &base, "--ref", "promote/faq-1.1.0"]);
    out.code(1);
    assert!(out
        .stdout
        .contains("committed directly on the branch, not merged"));
    // CI on a merge ref (what GitHub checks out for a pull request) needs nothing more.
    repo.git(&["checkout", "-q", "--detach", &base]);
    repo.git(&[
        "merge",
        "-q",
        "--no-ff",
        "promote/faq-1.1.0",
        "-m",
        "Merge into base",
    ]);
    repo.run(&["audit", "--base", &base]).ok();
    repo.git(&["checkout", "-q", "main"]);
    repo.git(&[
        "merge",
        "-q",
        "--no-ff",
        "promote/faq-1.1.0",
        "-m",
        "Merge pull request #1",
    ]);
    let merge = repo.rev("HEAD");
    let out = repo.run(&["fetch", "support/faq@production", "--format", "json"]);
    assert_eq!(out.json()["version"], "1.1.0");
    let events = crate::history::history_events(&repo, &["support/faq", "--env", "production"]);
    let newest = &events[0];
    assert_eq!(
        (
            newest.by.as_str(),
            newest.reason.as_str(),
            newest.commit.as_str()
        ),
        (RM, "CAB-7 approved", commit.as_str())
    );
    let merged = newest.merge.as_ref().expect("the merge that brought it in");
    assert_eq!(merged["commit"], merge.as_str());
    assert_eq!(merged["by"], AUTHOR_EMAIL);
    assert_eq!(merged["subject"], "Merge pull request #1");
    assert!(events[1..].iter().all(|e| e.merge.is_none()));
    let table = repo.run(&["history", "support/faq", "--env", "production"]);
    table.ok();
    assert!(
        table.stdout.contains(&format!(
            "CAB-7 approved (merged by {AUTHOR_EMAIL} in {}",
            &merge[..10]
        )),
        "{}",
        table.stdout
    );
    // audit on the merged branch: reviewed, merged, allowed.
    repo.run(&["audit", "--base", &base]).ok();
}

/// The problems `audit --base` reports, in order.
fn problems(repo: &TestRepo, base: &str) -> Vec<(String, String)> {
    let out = repo.run(&["audit", "--base", base, "--format", "json"]);
    out.code(1);
    out.json()["violations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| {
            (
                v["problem"].as_str().unwrap().to_owned(),
                v["message"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

#[test]
fn audit_flags_a_hand_made_direct_push_to_production() {
    let repo = protected();
    let base = repo.rev("HEAD");
    // rm may move production, but not by committing on main directly.
    repo.write(
        "registry.yaml",
        &RULES.replace("production: 1.0.0", "production: 1.1.0"),
    );
    git_as(&repo, RM, &["commit", "-q", "-am", "hotfix"]);
    assert_eq!(
        problems(&repo, &base),
        [(
            "unmerged-protected-move".to_owned(),
            "production is protected (access rules at the base), but this move was committed directly on the branch, not merged".to_owned()
        )]
    );
    // A fast-forward of a branch is not a merge either.
    let repo = protected();
    let base = repo.rev("HEAD");
    as_author(&repo, RM, &strs(&promote_production(Some("ff")))).ok();
    repo.git(&["merge", "-q", "--ff-only", "ff"]);
    let found = problems(&repo, &base);
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].0, "unmerged-protected-move");
}

#[test]
fn audit_catches_a_disallowed_tagger_reverter_and_recorder() {
    let repo = protected();
    let base = repo.rev("HEAD");
    let mallory = "mallory@example.com";
    // A version tagged by hand by someone who may not release.
    repo.write_prompt("support/faq", "three");
    git_as(&repo, mallory, &["add", "prompts"]);
    git_as(&repo, mallory, &["commit", "-q", "-m", "three"]);
    git_as(
        &repo,
        mallory,
        &["tag", "-a", "support/faq/v1.2.0", "-m", "three"],
    );
    // staging rolled back by hand by someone outside the support team.
    repo.write(
        "registry.yaml",
        &RULES.replace("staging: 1.1.0", "staging: 1.0.0"),
    );
    git_as(&repo, RM, &["commit", "-q", "-am", "back"]);
    // A results commit by someone who may not record.
    as_author(
        &repo,
        RM,
        &[
            "results",
            "record",
            "support/faq@1.1.0",
            "--test",
            "t",
            "--passed",
            "1",
            "--failed",
            "0",
        ],
    )
    .ok();
    repo.git(&["reset", "-q", "--soft", "HEAD~1"]);
    git_as(&repo, mallory, &["commit", "-q", "-m", "results by hand"]);
    let found: Vec<String> = problems(&repo, &base)
        .into_iter()
        .map(|(p, m)| format!("{p}: {m}"))
        .collect();
    assert_eq!(
        found,
        [
            "disallowed-tagger: mallory@example.com may not release versions of `support/faq` (access rules at the base); the tag `support/faq/v1.2.0` was made by them",
            "disallowed-author: rm@example.com may not roll back staging (access rules at the base)",
            // Without promptreg's trailers, a hand-made move back is not known as a rollback.
            "skipped-stage: dev did not hold 1.0.0",
            "disallowed-recorder: mallory@example.com may not record results for `support/faq` (access rules at the base)",
        ]
    );
}

#[test]
fn codeowners_follow_the_rules() {
    let repo = protected();
    let rules = RULES.replace(
        "  protected: [production]\n",
        "    support/faq:\n      release: [lead@example.com]\n  protected: [production]\n",
    );
    repo.commit_by_hand("registry.yaml", &rules, "owners");
    let out = repo.run(&["access", "codeowners"]);
    out.ok();
    let text = format!(
        "--- stdout ---\n{}--- stderr ---\n{}",
        out.stdout, out.stderr
    );
    insta::assert_snapshot!("codeowners", text);
    let out = repo.run(&[
        "access",
        "codeowners",
        "--teams",
        "acme",
        "--out",
        "CODEOWNERS",
    ]);
    out.ok();
    let file = repo.read("CODEOWNERS");
    assert!(
        file.contains("/prompts/ @acme/support @acme/rm\n"),
        "{file}"
    );
    assert!(file.contains("/registry.yaml @acme/rm\n"), "{file}");
    assert!(!out.stderr.contains("pattern"), "{}", out.stderr);
}

/// A directory holding only `git` (a link to the real one) and the given fake programs, each
/// recording its arguments in `<dir>/<program>.log`: a PATH where nothing else is found.
fn only_git_and(repo: &TestRepo, fakes: &[&str]) -> std::path::PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let bin = repo.tmp().join("only");
    std::fs::create_dir_all(&bin).unwrap();
    let git = Command::new("sh")
        .args(["-c", "command -v git"])
        .output()
        .unwrap();
    let git = String::from_utf8(git.stdout).unwrap();
    std::os::unix::fs::symlink(git.trim(), bin.join("git")).unwrap();
    for fake in fakes {
        let path = bin.join(fake);
        let log = bin.join(format!("{fake}.log"));
        std::fs::write(
            &path,
            format!(
                "#!/bin/sh\n[ \"$1\" = --version ] && exit 0\nfor a in \"$@\"; do printf '%s\\n' \"$a\"; done > '{}'\n",
                log.display()
            ),
        )
        .unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    bin
}

#[test]
fn pr_uses_glab_when_gh_is_missing_and_refuses_when_neither_is() {
    let repo = protected();
    let remote = repo.tmp().join("remote.git");
    repo.git(&["init", "-q", "--bare", remote.to_str().unwrap()]);
    repo.git(&["remote", "add", "origin", remote.to_str().unwrap()]);
    let bin = only_git_and(&repo, &["glab"]);
    let run = |branch: &str| {
        let mut args = promote_production(Some(branch));
        args.extend(["--push", "origin", "--pr"].map(String::from));
        repo.run_with(
            &strs(&args),
            &[("GIT_AUTHOR_EMAIL", RM), ("PATH", bin.to_str().unwrap())],
            &[],
        )
    };
    run("via-glab")
        .ok()
        .stderr_has(&["opened the pull request with glab"]);
    let log = std::fs::read_to_string(bin.join("glab.log")).unwrap();
    assert!(
        log.starts_with("mr\ncreate\n--source-branch\nvia-glab\n--target-branch\nmain\n"),
        "{log}"
    );
    std::fs::remove_file(bin.join("glab")).unwrap();
    let out = run("via-nothing");
    out.refused().stderr_has(&[
        "--pr needs the `gh` or `glab` command, and neither is installed; the branch is pushed",
        "hint:",
    ]);
    // The branch was pushed all the same.
    assert!(
        repo.git_in(
            &remote,
            &["rev-parse", "--verify", "-q", "refs/heads/via-nothing"]
        )
        .stdout
        .trim()
        .len()
            == 40
    );
}

#[test]
fn a_failed_push_says_the_branch_is_committed_locally() {
    let repo = protected();
    let mut args = promote_production(Some("promote/x"));
    args.extend(["--push", "nowhere"].map(String::from));
    let out = as_author(&repo, RM, &strs(&args));
    out.refused().stderr_has(&[
        "`git push nowhere promote/x` failed; the branch `promote/x` is committed locally",
        "hint: check the remote and your credentials",
    ]);
    assert_eq!(repo.rev("promote/x^"), repo.rev("main"));
}

#[test]
fn a_move_merged_through_another_branch_names_the_merge_on_the_main_line() {
    let repo = protected();
    as_author(&repo, RM, &strs(&promote_production(Some("p1")))).ok();
    repo.git(&["branch", "release", "main"]);
    repo.git(&["checkout", "-q", "release"]);
    repo.git(&["merge", "-q", "--no-ff", "p1", "-m", "into release"]);
    repo.git(&["checkout", "-q", "main"]);
    repo.git(&["merge", "-q", "--no-ff", "release", "-m", "release to main"]);
    let events = crate::history::history_events(&repo, &["support/faq", "--env", "production"]);
    let merge = events[0].merge.as_ref().expect("merged");
    assert_eq!(merge["commit"], repo.rev("HEAD").as_str());
    assert_eq!(merge["subject"], "release to main");
    // Read from the release branch, the same move was brought in by the merge there.
    let events = crate::history::history_events(
        &repo,
        &["support/faq", "--env", "production", "--ref", "release"],
    );
    assert_eq!(events[0].merge.as_ref().unwrap()["subject"], "into release");
}
