//! `init --example` signs the demo's own commits and tags with the demo identity (when no other
//! is configured) but never writes an identity into the demo's configuration, so what the user
//! does in the demo afterwards is attributed to the user.

use crate::support::{TestRepo, AUTHOR_EMAIL, AUTHOR_NAME, IDENTITY_VARS};

#[test]
fn the_demo_identity_signs_only_the_demos_own_commits() {
    let dir = TestRepo::bare_dir();
    let demo = dir.tmp().join("demo");
    let d = demo.to_string_lossy().into_owned();
    dir.run_with(&["init", "--example", &d], &[], &IDENTITY_VARS)
        .ok();
    let built_by = dir.git_in(&demo, &["log", "-1", "--format=%an <%ae>"]);
    assert_eq!(
        built_by.stdout.trim(),
        "promptreg demo <demo@promptreg.invalid>"
    );
    let config = dir.git_in(&demo, &["config", "--local", "--list"]);
    assert!(
        !config.stdout.lines().any(|l| l.starts_with("user.")),
        "{}",
        config.stdout
    );

    // The user's own promotion, with the user's identity: theirs, not the demo's.
    dir.run(&[
        "--repo",
        &d,
        "promote",
        "support/refund-agent",
        "1.1.0",
        "--to",
        "production",
        "--reason",
        "CAB-1",
        "--force",
    ])
    .ok();
    let promoted_by = dir.git_in(&demo, &["log", "-1", "--format=%an <%ae>"]);
    assert_eq!(
        promoted_by.stdout.trim(),
        format!("{AUTHOR_NAME} <{AUTHOR_EMAIL}>")
    );
    let history = dir.run(&[
        "--repo",
        &d,
        "history",
        "support/refund-agent",
        "--format",
        "json",
    ]);
    history.ok();
    let events = history.json();
    let mine = events
        .as_array()
        .expect("a list")
        .iter()
        .find(|e| e["reason"] == "CAB-1")
        .unwrap_or_else(|| panic!("no CAB-1 event: {events:#}"))
        .to_string();
    assert!(mine.contains(AUTHOR_EMAIL), "{mine}");
    assert!(!mine.contains("demo@promptreg.invalid"), "{mine}");
}
