//! `promptreg history`: created events from tags, pointer moves from every commit that changed
//! registry.yaml (promptreg's, hand edits, merges), filters, and the JSON shape.

use serde::Deserialize;

use crate::support::{
    Output, TestRepo, AUTHOR_EMAIL, AUTHOR_NAME, COMMITTER_EMAIL, COMMITTER_NAME,
};

/// One event of `history --format json`; unknown keys fail the parse.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Event {
    pub event: String,
    pub prompt: String,
    pub environment: Option<String>,
    pub from: Option<String>,
    pub to: Option<String>,
    /// The split before and after, when the environment was or is split.
    pub from_split: Option<Vec<serde_json::Value>>,
    pub to_split: Option<Vec<serde_json::Value>>,
    pub by: String,
    pub by_name: String,
    pub at: String,
    pub reason: String,
    pub commit: String,
    pub forced: bool,
    pub gate_unmet: Vec<String>,
    /// For `tested` events: the run recorded.
    pub test: Option<serde_json::Value>,
    /// The merge that brought the commit into the branch.
    pub merge: Option<serde_json::Value>,
}

impl Event {
    /// `(event, environment, from, to)` with `-` for null: compact for whole-list assertions.
    pub fn mv(&self) -> (String, String, String, String) {
        let text = |v: &Option<String>| v.clone().unwrap_or_else(|| "-".to_owned());
        (
            self.event.clone(),
            text(&self.environment),
            text(&self.from),
            text(&self.to),
        )
    }
}

/// Builds the expected value of [`Event::mv`].
pub fn mv(event: &str, env: &str, from: &str, to: &str) -> (String, String, String, String) {
    (event.into(), env.into(), from.into(), to.into())
}

/// Midnight UTC of a day in January 2026, as git and promptreg accept it.
pub fn day(n: u32) -> String {
    format!("2026-01-{n:02}T00:00:00+00:00")
}

/// Runs promptreg with author and committer dated `date`.
pub fn run_on(repo: &TestRepo, date: &str, args: &[&str]) -> Output {
    repo.run_with(
        args,
        &[("GIT_AUTHOR_DATE", date), ("GIT_COMMITTER_DATE", date)],
        &[],
    )
}

/// `history ARGS --format json`, asserting success.
#[track_caller]
pub fn history_events(repo: &TestRepo, args: &[&str]) -> Vec<Event> {
    let mut all = vec!["history"];
    all.extend_from_slice(args);
    all.extend_from_slice(&["--format", "json"]);
    let out = repo.run(&all);
    out.ok();
    serde_json::from_str(&out.stdout)
        .unwrap_or_else(|e| panic!("history JSON does not fit ({e}):\n{}", out.stdout))
}

/// A registry.yaml with the default pipeline and the given `prompts:` block lines.
pub fn registry_with(prompts: &str) -> String {
    format!("format: 1\nenvironments: [dev, staging, production]\nprompts:\n{prompts}")
}

/// Commits everything tracked by hand (no trailers), as `author` on `date`.
pub fn hand_commit(repo: &TestRepo, author: &str, date: &str, subject: &str, body: &str) {
    repo.git(&[
        "commit", "-q", "-a", "--author", author, "--date", date, "-m", subject, "-m", body,
    ]);
}

/// x 1.0.0, 1.1.0 and 1.2.0 released on day 1.
fn three_versions() -> TestRepo {
    let repo = TestRepo::init();
    for (version, text) in [("1.0.0", "one"), ("1.1.0", "two"), ("1.2.0", "three")] {
        repo.write_prompt("x", text);
        run_on(
            &repo,
            &day(1),
            &["create", "x", "--version", version, "-m", "release"],
        )
        .ok();
    }
    repo
}

#[test]
fn created_events_come_from_tags() {
    let repo = TestRepo::init();
    repo.write_prompt("support/refund", "one");
    run_on(
        &repo,
        &day(3),
        &[
            "create",
            "support/refund",
            "--version",
            "1.0.0",
            "-m",
            "First release\n\nWith details.",
        ],
    )
    .ok();
    let events = history_events(&repo, &["support/refund"]);
    assert_eq!(events.len(), 1, "{events:?}");
    let e = &events[0];
    assert_eq!(e.event, "created");
    assert_eq!(e.prompt, "support/refund");
    assert_eq!(e.environment, None);
    assert_eq!(e.from, None);
    assert_eq!(e.to.as_deref(), Some("1.0.0"));
    // The tagger is the committer.
    assert_eq!(e.by, COMMITTER_EMAIL);
    assert_eq!(e.by_name, COMMITTER_NAME);
    assert_eq!(e.at, day(3));
    assert_eq!(e.reason, "First release\n\nWith details.");
    assert_eq!(e.commit, repo.rev("support/refund/v1.0.0^{commit}"));
    assert!(!e.forced);
}

#[test]
fn moves_are_listed_newest_first_with_who_why_and_commit() {
    let repo = three_versions();
    let mut commits = Vec::new();
    for (n, args) in [
        (
            2,
            &[
                "promote", "x", "1.0.0", "--to", "dev", "--reason", "try one",
            ][..],
        ),
        (
            3,
            &["promote", "x", "1.0.0", "--to", "staging", "--reason", "QA"],
        ),
        (
            4,
            &[
                "promote", "x", "1.1.0", "--to", "dev", "--reason", "try two",
            ],
        ),
        (
            5,
            &["rollback", "x", "--env", "dev", "--reason", "two is broken"],
        ),
    ] {
        run_on(&repo, &day(n), args).ok();
        commits.push(repo.rev("HEAD"));
    }
    let events = history_events(&repo, &["x"]);
    let moves: Vec<_> = events.iter().map(Event::mv).collect();
    assert_eq!(
        moves,
        [
            mv("reverted", "dev", "1.1.0", "1.0.0"),
            mv("promoted", "dev", "1.0.0", "1.1.0"),
            mv("promoted", "staging", "-", "1.0.0"),
            mv("promoted", "dev", "-", "1.0.0"),
            mv("created", "-", "-", "1.2.0"),
            mv("created", "-", "-", "1.1.0"),
            mv("created", "-", "-", "1.0.0"),
        ]
    );
    let reasons: Vec<&str> = events[..4].iter().map(|e| e.reason.as_str()).collect();
    assert_eq!(reasons, ["two is broken", "try two", "QA", "try one"]);
    let ids: Vec<&str> = events[..4].iter().map(|e| e.commit.as_str()).collect();
    let expected: Vec<&str> = commits.iter().rev().map(String::as_str).collect();
    assert_eq!(ids, expected);
    let dates: Vec<&str> = events[..4].iter().map(|e| e.at.as_str()).collect();
    assert_eq!(dates, [day(5), day(4), day(3), day(2)]);
    for e in &events[..4] {
        assert_eq!(e.by, AUTHOR_EMAIL);
        assert_eq!(e.by_name, AUTHOR_NAME);
        assert_eq!(e.prompt, "x");
        assert!(!e.forced);
    }

    // The table shows the same, with arrows.
    let table = repo.run(&["history", "x"]);
    table.ok();
    let first = table.stdout.lines().nth(1).expect("a row");
    assert!(first.contains("reverted"), "{first}");
    assert!(first.contains("1.1.0 → 1.0.0"), "{first}");
    assert!(first.contains("two is broken"), "{first}");
    assert!(first.contains(&commits[3][..10]), "{first}");
}

#[test]
fn env_filter_keeps_only_that_environment_s_moves() {
    let repo = three_versions();
    run_on(
        &repo,
        &day(2),
        &["promote", "x", "1.0.0", "--to", "dev", "--reason", "r"],
    )
    .ok();
    run_on(
        &repo,
        &day(3),
        &["promote", "x", "1.0.0", "--to", "staging", "--reason", "r"],
    )
    .ok();
    run_on(
        &repo,
        &day(4),
        &["promote", "x", "1.1.0", "--to", "dev", "--reason", "r"],
    )
    .ok();
    let dev: Vec<_> = history_events(&repo, &["x", "--env", "dev"])
        .iter()
        .map(Event::mv)
        .collect();
    assert_eq!(
        dev,
        [
            mv("promoted", "dev", "1.0.0", "1.1.0"),
            mv("promoted", "dev", "-", "1.0.0"),
        ]
    );
    let staging: Vec<_> = history_events(&repo, &["x", "--env", "staging"])
        .iter()
        .map(Event::mv)
        .collect();
    assert_eq!(staging, [mv("promoted", "staging", "-", "1.0.0")]);
    assert!(history_events(&repo, &["x", "--env", "production"]).is_empty());
}

#[test]
fn since_keeps_events_on_or_after_the_date() {
    let repo = three_versions();
    run_on(
        &repo,
        &day(2),
        &["promote", "x", "1.0.0", "--to", "dev", "--reason", "r"],
    )
    .ok();
    run_on(
        &repo,
        &day(4),
        &["promote", "x", "1.1.0", "--to", "dev", "--reason", "r"],
    )
    .ok();
    run_on(
        &repo,
        &day(6),
        &["promote", "x", "1.2.0", "--to", "dev", "--reason", "r"],
    )
    .ok();
    let recent: Vec<_> = history_events(&repo, &["x", "--since", "2026-01-04"])
        .iter()
        .map(Event::mv)
        .collect();
    assert_eq!(
        recent,
        [
            mv("promoted", "dev", "1.1.0", "1.2.0"),
            mv("promoted", "dev", "1.0.0", "1.1.0"),
        ]
    );
    // A full date and time as git accepts it.
    let later = history_events(&repo, &["--since", "2026-01-04T00:00:01+00:00"]);
    assert_eq!(later.len(), 1, "{later:?}");
    assert_eq!(later[0].to.as_deref(), Some("1.2.0"));

    // After everything: nothing, successfully.
    assert!(history_events(&repo, &["x", "--since", "2030-01-01"]).is_empty());
    let out = repo.run(&["history", "--since", "2030-01-01"]);
    out.ok();
    assert_eq!(out.stdout, "");
    assert!(out.stderr.contains("no events"), "{}", out.stderr);
    let out = repo.run(&["history", "--since", "2030-01-01", "--format", "json"]);
    out.ok();
    assert_eq!(out.json(), serde_json::json!([]));
}

#[test]
fn bad_since_or_format_is_a_usage_error() {
    let repo = three_versions();
    for args in [
        &["history", "--since", "tomorrow"][..],
        &["history", "x", "--since", "2026-13-45"],
        &["history", "x", "--since", ""],
        &["history", "x", "--format", "yaml"],
        &["history", "x", "--no-such-flag"],
    ] {
        let out = repo.run(args);
        out.usage();
        assert!(!out.stderr.is_empty(), "{args:?}");
    }
    repo.run(&["history", "--since", "tomorrow"])
        .stderr_has(&["--since `tomorrow` is not a date"]);
}

#[test]
fn json_shape_is_pinned() {
    let repo = three_versions();
    run_on(
        &repo,
        &day(2),
        &[
            "promote",
            "x",
            "1.0.0",
            "--to",
            "production",
            "--reason",
            "hotfix",
            "--force",
        ],
    )
    .ok();
    let out = repo.run(&["history", "x", "--format", "json"]);
    out.ok();
    let value = out.json();
    let list = value.as_array().expect("a JSON array");
    assert_eq!(list.len(), 4);
    for object in list {
        let keys: Vec<&str> = object
            .as_object()
            .expect("an object")
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(
            keys,
            [
                "event",
                "prompt",
                "environment",
                "from",
                "to",
                "from_split",
                "to_split",
                "by",
                "by_name",
                "at",
                "reason",
                "commit",
                "forced",
                "gate_unmet",
                "test",
                "merge"
            ]
        );
    }
    assert_eq!(
        list[0],
        serde_json::json!({
            "event": "promoted",
            "prompt": "x",
            "environment": "production",
            "from": null,
            "to": "1.0.0",
            "from_split": null,
            "to_split": null,
            "by": AUTHOR_EMAIL,
            "by_name": AUTHOR_NAME,
            "at": day(2),
            "reason": "hotfix",
            "commit": repo.rev("HEAD"),
            "forced": true,
            "gate_unmet": [],
            "test": null,
            "merge": null,
        })
    );
    // The typed parse (deny_unknown_fields) accepts it too; no gate, no test runs here.
    let events = history_events(&repo, &["x"]);
    assert_eq!(events.len(), 4);
    assert!(events
        .iter()
        .all(|e| e.gate_unmet.is_empty() && e.test.is_none() && e.merge.is_none()));
}

#[test]
fn a_hand_edit_committed_with_git_is_attributed_to_its_author() {
    let repo = three_versions();
    run_on(
        &repo,
        &day(2),
        &["promote", "x", "1.0.0", "--to", "dev", "--reason", "r"],
    )
    .ok();
    repo.write("registry.yaml", &registry_with("  x:\n    dev: 1.2.0\n"));
    hand_commit(
        &repo,
        "Hand Editor <hand@example.com>",
        &day(3),
        "bump x by hand",
        "because reasons",
    );
    let events = history_events(&repo, &["x", "--env", "dev"]);
    assert_eq!(events.len(), 2, "{events:?}");
    let e = &events[0];
    assert_eq!(e.mv(), mv("promoted", "dev", "1.0.0", "1.2.0"));
    assert_eq!(e.by, "hand@example.com");
    assert_eq!(e.by_name, "Hand Editor");
    assert_eq!(e.at, day(3));
    assert_eq!(e.reason, "because reasons");
    assert_eq!(e.commit, repo.rev("HEAD"));
    assert!(!e.forced);
    assert_eq!(events[1].by, AUTHOR_EMAIL);
}

#[test]
fn a_pointer_removed_by_hand_is_demoted() {
    let repo = three_versions();
    run_on(
        &repo,
        &day(2),
        &["promote", "x", "1.0.0", "--to", "dev", "--reason", "r"],
    )
    .ok();
    run_on(
        &repo,
        &day(3),
        &["promote", "x", "1.0.0", "--to", "staging", "--reason", "r"],
    )
    .ok();
    repo.write("registry.yaml", &registry_with("  x:\n    dev: 1.0.0\n"));
    hand_commit(
        &repo,
        "Hand <hand@example.com>",
        &day(4),
        "pull x from staging",
        "bad",
    );
    let events = history_events(&repo, &["x", "--env", "staging"]);
    let moves: Vec<_> = events.iter().map(Event::mv).collect();
    assert_eq!(
        moves,
        [
            mv("demoted", "staging", "1.0.0", "-"),
            mv("promoted", "staging", "-", "1.0.0"),
        ]
    );
    assert_eq!(events[0].by, "hand@example.com");
    // Removing the whole entry demotes every environment it held.
    repo.write(
        "registry.yaml",
        "format: 1\nenvironments: [dev, staging, production]\nprompts: {}\n",
    );
    hand_commit(&repo, "Hand <hand@example.com>", &day(5), "drop x", "gone");
    let latest: Vec<_> = history_events(&repo, &["x", "--since", "2026-01-05"])
        .iter()
        .map(Event::mv)
        .collect();
    assert_eq!(latest, [mv("demoted", "dev", "1.0.0", "-")]);
}

#[test]
fn a_hand_edit_to_a_lower_version_is_reverted() {
    let repo = three_versions();
    run_on(
        &repo,
        &day(2),
        &["promote", "x", "1.2.0", "--to", "dev", "--reason", "r"],
    )
    .ok();
    repo.write("registry.yaml", &registry_with("  x:\n    dev: 1.0.0\n"));
    hand_commit(
        &repo,
        "Hand <hand@example.com>",
        &day(3),
        "back to one",
        "1.2 broke",
    );
    let events = history_events(&repo, &["x", "--env", "dev"]);
    assert_eq!(events[0].mv(), mv("reverted", "dev", "1.2.0", "1.0.0"));
    assert_eq!(events[0].by, "hand@example.com");
    assert_eq!(events[0].reason, "1.2 broke");
}

/// `  x:\n    dev:` followed by a split of `entries` (version, percent), in block style.
fn dev_split(entries: &[(&str, u32)]) -> String {
    let mut text = "  x:\n    dev:\n      split:\n".to_owned();
    for (version, percent) in entries {
        text.push_str(&format!(
            "        - {{version: {version}, percent: {percent}}}\n"
        ));
    }
    text
}

fn wire(entries: &[(&str, u32)]) -> Option<Vec<serde_json::Value>> {
    Some(
        entries
            .iter()
            .map(|(v, p)| serde_json::json!({"version": v, "percent": p}))
            .collect(),
    )
}

#[test]
fn hand_edited_splits_are_classified_with_their_weights() {
    let repo = three_versions();
    run_on(
        &repo,
        &day(2),
        &["promote", "x", "1.0.0", "--to", "dev", "--reason", "r"],
    )
    .ok();
    let canary = [("1.0.0", 90), ("1.1.0", 10)];
    let ramp = [("1.0.0", 50), ("1.1.0", 50)];
    let next = [("1.1.0", 80), ("1.2.0", 20)];
    let steps: [(String, &str); 6] = [
        (dev_split(&canary), "canary"),
        (dev_split(&ramp), "ramp"),
        ("  x:\n    dev: 1.1.0\n".to_owned(), "complete"),
        (dev_split(&next), "next canary"),
        ("  x:\n    dev: 1.1.0\n".to_owned(), "back to stable"),
        ("  x:\n    dev: 1.0.0\n".to_owned(), "further back"),
    ];
    for (n, (prompts, subject)) in steps.iter().enumerate() {
        repo.write("registry.yaml", &registry_with(prompts));
        hand_commit(
            &repo,
            "Hand <hand@example.com>",
            &day(3 + n as u32),
            subject,
            subject,
        );
    }
    // The same events for the prompt alone and for the whole registry.
    for args in [&["x", "--env", "dev"][..], &["--env", "dev"]] {
        let events = history_events(&repo, args);
        let seen: Vec<_> = events
            .iter()
            .map(|e| (e.mv(), e.from_split.clone(), e.to_split.clone()))
            .collect();
        assert_eq!(
            seen,
            [
                (mv("reverted", "dev", "1.1.0", "1.0.0"), None, None),
                (mv("reverted", "dev", "1.1.0", "1.1.0"), wire(&next), None),
                (mv("split", "dev", "1.1.0", "1.1.0"), None, wire(&next)),
                (mv("promoted", "dev", "1.0.0", "1.1.0"), wire(&ramp), None),
                (
                    mv("split", "dev", "1.0.0", "1.0.0"),
                    wire(&canary),
                    wire(&ramp)
                ),
                (mv("split", "dev", "1.0.0", "1.0.0"), None, wire(&canary)),
                (mv("promoted", "dev", "-", "1.0.0"), None, None),
            ],
            "{args:?}"
        );
        assert!(events[..6].iter().all(|e| e.by == "hand@example.com"));
    }
    // The table shows the weights on both sides.
    let out = repo.run(&["history", "--env", "dev"]);
    out.ok();
    for movement in [
        "1.0.0 → 1.0.0 90% / 1.1.0 10%",
        "1.0.0 90% / 1.1.0 10% → 1.0.0 50% / 1.1.0 50%",
        "1.0.0 50% / 1.1.0 50% → 1.1.0",
        "1.1.0 80% / 1.2.0 20% → 1.1.0",
    ] {
        assert!(out.stdout.contains(movement), "{movement}:\n{}", out.stdout);
    }
}

#[test]
fn a_change_merged_with_no_ff_shows_once_as_the_branch_author_s() {
    let repo = three_versions();
    run_on(
        &repo,
        &day(2),
        &["promote", "x", "1.0.0", "--to", "dev", "--reason", "r"],
    )
    .ok();
    repo.git(&["checkout", "-q", "-b", "feature"]);
    repo.write(
        "registry.yaml",
        &registry_with("  x:\n    dev: 1.0.0\n    staging: 1.0.0\n"),
    );
    hand_commit(
        &repo,
        "Brancher <branch@example.com>",
        &day(3),
        "x to staging",
        "PR #1",
    );
    let branch_commit = repo.rev("HEAD");
    repo.git(&["checkout", "-q", "main"]);
    repo.git(&["merge", "-q", "--no-ff", "feature", "-m", "Merge feature"]);
    assert_ne!(repo.rev("HEAD"), branch_commit);
    let events = history_events(&repo, &["x", "--env", "staging"]);
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(events[0].mv(), mv("promoted", "staging", "-", "1.0.0"));
    assert_eq!(events[0].by, "branch@example.com");
    assert_eq!(events[0].commit, branch_commit);
    assert_eq!(events[0].reason, "PR #1");
    // Without a name too.
    let all: Vec<_> = events_without_created(&repo, &[]);
    assert_eq!(
        all.iter()
            .filter(|e| e.environment.as_deref() == Some("staging"))
            .count(),
        1
    );
}

/// A registry where x and y sit far enough apart for git to merge edits to both.
const SPACED: &str = "  x:\n    dev: 1.0.0\n  # --------\n  # spacer so\n  # that x and y\n  # merge cleanly\n  # --------\n  y:\n    dev: 1.0.0\n";

#[test]
fn a_change_merged_after_main_moved_too_shows_once() {
    let repo = TestRepo::init();
    for name in ["x", "y"] {
        repo.release(name, "1.0.0", name);
    }
    repo.write("registry.yaml", &registry_with(SPACED));
    hand_commit(
        &repo,
        "Setup <setup@example.com>",
        &day(2),
        "both to dev",
        "setup",
    );
    repo.git(&["checkout", "-q", "-b", "feature"]);
    repo.write(
        "registry.yaml",
        &registry_with(&SPACED.replacen(
            "    dev: 1.0.0\n",
            "    dev: 1.0.0\n    staging: 1.0.0\n",
            1,
        )),
    );
    hand_commit(
        &repo,
        "Brancher <branch@example.com>",
        &day(3),
        "x to staging",
        "PR #1",
    );
    let branch_commit = repo.rev("HEAD");
    repo.git(&["checkout", "-q", "main"]);
    run_on(
        &repo,
        &day(4),
        &["promote", "y", "1.0.0", "--to", "staging", "--reason", "r"],
    )
    .ok();
    repo.git(&["merge", "-q", "--no-ff", "feature", "-m", "Merge feature"]);
    let staged = repo.git(&["show", "HEAD:registry.yaml"]);
    assert_eq!(staged.matches("staging: 1.0.0").count(), 2, "{staged}");
    let events = history_events(&repo, &["x", "--env", "staging"]);
    // Observed: two events, the second by the merger (author@example.com) with the merge commit.
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(events[0].by, "branch@example.com");
    assert_eq!(events[0].commit, branch_commit);
}

/// `history ARGS` without the `created` events.
fn events_without_created(repo: &TestRepo, args: &[&str]) -> Vec<Event> {
    history_events(repo, args)
        .into_iter()
        .filter(|e| e.event != "created")
        .collect()
}

#[test]
fn history_without_a_name_covers_every_prompt() {
    let repo = TestRepo::init();
    for (n, name) in ["summarize", "support/refund"].into_iter().enumerate() {
        repo.write_prompt(name, name);
        run_on(
            &repo,
            &day(1),
            &["create", name, "--version", "1.0.0", "-m", "m"],
        )
        .ok();
        let d = day(2 + n as u32);
        run_on(
            &repo,
            &d,
            &["promote", name, "1.0.0", "--to", "dev", "--reason", "r"],
        )
        .ok();
    }
    let all = history_events(&repo, &[]);
    let seen: Vec<(String, String, String)> = all
        .iter()
        .map(|e| (e.event.clone(), e.prompt.clone(), e.at.clone()))
        .collect();
    let row = |event: &str, prompt: &str, at: String| (event.to_owned(), prompt.to_owned(), at);
    assert_eq!(
        seen,
        [
            row("promoted", "support/refund", day(3)),
            row("promoted", "summarize", day(2)),
            row("created", "support/refund", day(1)),
            row("created", "summarize", day(1)),
        ]
    );
    // The table names the prompt in its own column.
    let table = repo.run(&["history"]);
    table.ok();
    assert!(table
        .stdout
        .lines()
        .next()
        .expect("header")
        .contains("PROMPT"));
    let named = repo.run(&["history", "summarize"]);
    assert!(!named
        .stdout
        .lines()
        .next()
        .expect("header")
        .contains("PROMPT"));
}

#[test]
fn ref_reads_the_history_of_another_revision() {
    let repo = three_versions();
    run_on(
        &repo,
        &day(2),
        &["promote", "x", "1.0.0", "--to", "dev", "--reason", "r"],
    )
    .ok();
    let before = repo.rev("HEAD");
    repo.git(&["branch", "old"]);
    run_on(
        &repo,
        &day(3),
        &["promote", "x", "1.1.0", "--to", "dev", "--reason", "r"],
    )
    .ok();
    for revision in ["old", "HEAD~1", before.as_str()] {
        let moves: Vec<_> = history_events(&repo, &["--ref", revision, "x", "--env", "dev"])
            .iter()
            .map(Event::mv)
            .collect();
        assert_eq!(moves, [mv("promoted", "dev", "-", "1.0.0")], "{revision}");
    }
    assert_eq!(history_events(&repo, &["x", "--env", "dev"]).len(), 2);
    repo.run(&["--ref", "no-such-branch", "history", "x"])
        .refused()
        .stderr_has(&["revision `no-such-branch` not found"]);
}

#[test]
fn an_unknown_prompt_is_not_found() {
    // Like `versions`: a name nothing ever happened to is most likely a typo.
    let repo = three_versions();
    let out = repo.run(&["history", "nope"]);
    out.refused().stderr_has(&["`nope` not found"]);
    assert_eq!(out.stdout, "");
    // A known prompt with nothing in the window is not an error.
    let out = repo.run(&["history", "x", "--since", "2999-01-01"]);
    out.ok();
    assert!(out.stderr.contains("no events"), "{}", out.stderr);
    repo.run(&["history", "Not/A/Name!"])
        .refused()
        .stderr_has(&["invalid prompt name"]);
}

#[test]
fn forced_only_when_the_pipeline_rule_was_overridden() {
    let repo = three_versions();
    let force = |version: &str, env: &str| {
        repo.run(&[
            "promote", "x", version, "--to", env, "--reason", "r", "--force",
        ])
        .ok();
    };
    force("1.0.0", "dev"); // the first environment takes any version
    force("1.0.0", "staging"); // dev holds 1.0.0: the rule is kept
    force("1.1.0", "production"); // staging holds 1.0.0: overridden
    let flags: Vec<(String, bool)> = events_without_created(&repo, &["x"])
        .iter()
        .map(|e| (e.environment.clone().unwrap_or_default(), e.forced))
        .collect();
    assert_eq!(
        flags,
        [
            ("production".to_owned(), true),
            ("staging".to_owned(), false),
            ("dev".to_owned(), false),
        ]
    );
}

/// The `history` output and every cache entry of it, as text.
fn history_json(repo: &TestRepo, args: &[&str]) -> String {
    let mut all = vec!["history"];
    all.extend_from_slice(args);
    all.extend_from_slice(&["--format", "json"]);
    let out = repo.run(&all);
    out.ok();
    out.stdout.clone()
}

fn history_cache_entries(repo: &TestRepo) -> usize {
    std::fs::read_dir(repo.path(".git/promptreg/cache"))
        .map(|dir| {
            dir.filter_map(|e| e.ok())
                .filter(|e| e.file_name().to_string_lossy().starts_with("history-"))
                .count()
        })
        .unwrap_or(0)
}

#[test]
fn cached_events_give_what_a_cold_walk_gives() {
    let repo = TestRepo::init();
    for name in ["x", "y"] {
        repo.release(name, "1.0.0", name);
        repo.release(name, "1.1.0", &format!("{name} two"));
    }
    repo.write("registry.yaml", &registry_with(SPACED));
    hand_commit(
        &repo,
        "Setup <setup@example.com>",
        &day(2),
        "both to dev",
        "setup",
    );
    repo.git(&["checkout", "-q", "-b", "feature"]);
    repo.write(
        "registry.yaml",
        &registry_with(&SPACED.replacen("    dev: 1.0.0\n", "    dev: 1.1.0\n", 1)),
    );
    hand_commit(
        &repo,
        "Brancher <branch@example.com>",
        &day(3),
        "x up",
        "PR #1",
    );
    repo.git(&["checkout", "-q", "main"]);
    run_on(
        &repo,
        &day(4),
        &["promote", "y", "1.0.0", "--to", "staging", "--reason", "r"],
    )
    .ok();
    repo.git(&["merge", "-q", "--no-ff", "feature", "-m", "Merge feature"]);
    repo.record_run("y@1.0.0", "smoke", 3, 0);
    let queries: [&[&str]; 3] = [&[], &["x"], &["y", "--env", "staging"]];
    let cold: Vec<String> = queries.iter().map(|q| history_json(&repo, q)).collect();
    assert!(history_cache_entries(&repo) >= 1);
    assert!(cold[1].contains("branch@example.com"), "{}", cold[1]);
    // Again, from the cache: the same bytes.
    for (query, expected) in queries.iter().zip(&cold) {
        assert_eq!(&history_json(&repo, query), expected, "{query:?}");
    }
    // A new commit: the walk reads the earlier entry and computes only the new commit, which
    // must give what a walk without any cache gives.
    repo.write(
        "registry.yaml",
        &repo
            .read("registry.yaml")
            .replacen("staging: 1.0.0", "staging: 1.1.0", 1),
    );
    hand_commit(&repo, "Late <late@example.com>", &day(6), "y up", "by hand");
    let warm: Vec<String> = queries.iter().map(|q| history_json(&repo, q)).collect();
    assert!(warm[2].contains("late@example.com"), "{}", warm[2]);
    std::fs::remove_dir_all(repo.path(".git/promptreg")).unwrap();
    for (query, expected) in queries.iter().zip(&warm) {
        assert_eq!(&history_json(&repo, query), expected, "{query:?}");
    }
    // A cache entry that is not ours is ignored, not trusted.
    for entry in std::fs::read_dir(repo.path(".git/promptreg/cache")).unwrap() {
        let path = entry.unwrap().path();
        if path
            .file_name()
            .unwrap()
            .to_string_lossy()
            .starts_with("history-")
        {
            std::fs::write(&path, "something else\n").unwrap();
        }
    }
    assert_eq!(history_json(&repo, &[]), warm[0]);
}
