//! The read cache in `<git-common-dir>/promptreg/cache/`: entries are keyed by immutable object
//! ids, so no edit made outside promptreg can make a read stale, and a damaged, missing or
//! unwritable cache changes no output.

use std::path::PathBuf;

use crate::support::{prompt_file, TestRepo, AUTHOR_EMAIL};

/// Reads that go through every cache kind: one-prompt reads (binary search in the cached index),
/// whole-index reads (`list`), resolved releases (`fetch`), an older index (`--ref old`), and
/// parsed results files (`fetch --format json`, `versions`, `results show`).
const READS: [&[&str]; 13] = [
    &["fetch", "x", "--format", "json"],
    &["fetch", "x@staging", "--format", "yaml"],
    &["fetch", "a/b@dev", "--format", "json"],
    &["fetch", "a-b@1.0.0", "--format", "text"],
    &["fetch", "z@latest", "--format", "json"],
    &["fetch", "x@production", "--ref", "old", "--format", "json"],
    &["versions", "x", "--format", "json"],
    &["versions", "x"],
    &["versions", "a/b", "--format", "json"],
    &["list", "--format", "json"],
    &["list"],
    &["list", "--ref", "old", "--format", "json"],
    &["results", "show", "x", "--format", "json"],
];

/// Several prompts whose names sort around each other (`a-b` < `a/b` < `x` < `z`, byte-wise),
/// so the cached index has several lines to search. Branch `old` holds an earlier index.
///
/// x: 1.0.0 in production, 1.1.0 in dev and staging; a-b and a/b: 1.0.0 in dev; z: a draft.
fn registry() -> TestRepo {
    let repo = TestRepo::init();
    repo.release("a-b", "1.0.0", "Dash.");
    repo.promote("a-b", "1.0.0", "dev");
    repo.release("a/b", "1.0.0", "Slash.");
    repo.promote("a/b", "1.0.0", "dev");
    repo.release("x", "1.0.0", "One.");
    repo.promote_through_pipeline("x", "1.0.0");
    repo.git(&["branch", "old"]);
    repo.release("x", "1.1.0", "One point one.");
    repo.promote("x", "1.1.0", "dev");
    repo.promote("x", "1.1.0", "staging");
    repo.release("z", "1.0.0", "Zed.");
    repo.run(&[
        "results", "record", "x@1.1.0", "--test", "golden", "--passed", "9", "--failed", "1",
        "--score", "0.1",
    ])
    .ok();
    repo
}

/// The stdout of every read in [`READS`], asserting each succeeds.
#[track_caller]
fn reads(repo: &TestRepo) -> Vec<String> {
    READS.iter().map(|args| read(repo, args)).collect()
}

#[track_caller]
fn read(repo: &TestRepo, args: &[&str]) -> String {
    let out = repo.run(args);
    out.ok();
    assert!(!out.stdout.is_empty(), "{args:?} printed nothing");
    out.stdout.clone()
}

fn cache_dir(repo: &TestRepo) -> PathBuf {
    repo.path(".git/promptreg/cache")
}

/// The cache entries (not temporary files), sorted by name.
fn cache_files(repo: &TestRepo) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(cache_dir(repo)) else {
        return Vec::new();
    };
    let mut files: Vec<PathBuf> = entries
        .map(|e| e.expect("dir entry").path())
        .filter(|p| !file_name(p).starts_with('.'))
        .collect();
    files.sort();
    files
}

/// Removes a file or a directory tree, if there is one.
fn remove(path: &std::path::Path) {
    let result = if path.is_dir() {
        std::fs::remove_dir_all(path)
    } else {
        std::fs::remove_file(path)
    };
    match result {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => panic!("remove {path:?}: {e}"),
        _ => {}
    }
}

fn file_name(path: &std::path::Path) -> String {
    path.file_name()
        .expect("file name")
        .to_string_lossy()
        .into_owned()
}

/// Asserts that the warm cache holds both kinds of entries.
#[track_caller]
fn assert_warm(repo: &TestRepo) -> Vec<PathBuf> {
    let files = cache_files(repo);
    let names: Vec<String> = files.iter().map(|p| file_name(p)).collect();
    for kind in ["registry-", "prompt-v2-", "results-v1-"] {
        assert!(
            names.iter().any(|n| n.starts_with(kind)),
            "no {kind} entry in {names:?}"
        );
    }
    files
}

/// The committed pointers of `x`, as `versions x --format json` lists them: version → status.
#[track_caller]
fn x_statuses(repo: &TestRepo) -> Vec<(String, String)> {
    let versions = repo.run(&["versions", "x", "--format", "json"]);
    versions.ok();
    statuses(&versions.json())
}

/// The committed pointers of `x` in a JSON version list: version → status.
fn statuses(versions_json: &serde_json::Value) -> Vec<(String, String)> {
    versions_json
        .as_array()
        .expect("array")
        .iter()
        .map(|row| {
            (
                row["version"].as_str().expect("version").to_owned(),
                row["status"].as_str().expect("status").to_owned(),
            )
        })
        .collect()
}

#[test]
fn a_pointer_changed_by_hand_is_seen_by_the_next_read() {
    let repo = registry();
    // Warm the cache with the current index through every read path.
    let fetched = repo.run(&["fetch", "x@production", "--format", "json"]);
    fetched.ok();
    assert_eq!(fetched.json()["version"], "1.0.0");
    assert_eq!(
        x_statuses(&repo),
        [
            ("1.0.0".to_owned(), "production".to_owned()),
            ("1.1.0".to_owned(), "staging".to_owned())
        ]
    );
    let listed = repo.run(&["list", "--format", "json"]);
    listed.ok();
    assert_eq!(listed.json()[2]["environments"]["production"], "1.0.0");
    assert_warm(&repo);

    // A plain text edit and a plain git commit: promptreg never sees the new index being written.
    let before = repo.read("registry.yaml");
    let after = before.replace("production: 1.0.0", "production: 1.1.0");
    assert_ne!(before, after, "registry.yaml:\n{before}");
    repo.commit_by_hand("registry.yaml", &after, "promote x 1.1.0 by hand");

    let fetched = repo.run(&["fetch", "x@production", "--format", "json"]);
    fetched.ok();
    let record = fetched.json();
    assert_eq!(record["version"], "1.1.0");
    assert_eq!(record["status"], "production");
    assert_eq!(
        record["environments"],
        serde_json::json!(["dev", "staging", "production"])
    );
    assert_eq!(record["updated_by"], AUTHOR_EMAIL);
    let text = repo.run(&["fetch", "x", "--format", "text"]);
    text.ok();
    assert_eq!(text.stdout, "One point one.\n");

    assert_eq!(
        x_statuses(&repo),
        [
            ("1.0.0".to_owned(), "draft".to_owned()),
            ("1.1.0".to_owned(), "production".to_owned())
        ]
    );

    let listed = repo.run(&["list", "--format", "json"]);
    listed.ok();
    let rows = listed.json();
    assert_eq!(rows[2]["name"], "x");
    assert_eq!(
        rows[2]["environments"],
        serde_json::json!({"dev": "1.1.0", "staging": "1.1.0", "production": "1.1.0"})
    );
    // The older index is still read as it was.
    let old = repo.run(&[
        "fetch",
        "x@production",
        "--ref",
        "HEAD~1",
        "--format",
        "json",
    ]);
    old.ok();
    assert_eq!(old.json()["version"], "1.0.0");
}

/// A one-prompt read of an index no cache holds (as after a pull) keeps that prompt's entry,
/// keyed by the index's blob id and the name: the next read of the prompt takes it instead of
/// the whole index, and the next change to `registry.yaml` is a new blob, read afresh.
#[test]
fn a_one_prompt_read_keeps_its_entry_for_the_next_one() {
    let repo = registry();
    let entries = |repo: &TestRepo| -> Vec<PathBuf> {
        cache_files(repo)
            .into_iter()
            .filter(|p| file_name(p).starts_with("entry-"))
            .collect()
    };
    let index = repo.read("registry.yaml");
    let moved = index.replace("production: 1.0.0", "production: 1.1.0");
    assert_ne!(moved, index, "registry.yaml:\n{index}");
    repo.commit_by_hand("registry.yaml", &moved, "x 1.1.0 to production by hand");
    let known = entries(&repo);

    assert_eq!(
        read(&repo, &["fetch", "x@production", "--format", "text"]),
        "One point one.\n"
    );
    let kept: Vec<PathBuf> = entries(&repo)
        .into_iter()
        .filter(|p| !known.contains(p))
        .collect();
    assert_eq!(kept.len(), 1, "{kept:?}");
    let text = std::fs::read_to_string(&kept[0]).unwrap();
    assert!(text.contains("\tproduction=1.1.0"), "{text}");

    // The next read of this prompt believes the entry (one that said otherwise is read)...
    std::fs::write(
        &kept[0],
        text.replace("production=1.1.0", "production=1.0.0"),
    )
    .unwrap();
    assert_eq!(
        read(&repo, &["fetch", "x@production", "--format", "text"]),
        "One.\n"
    );
    // ...and only by reads of this prompt: another prompt's read has a key of its own.
    assert_eq!(
        read(&repo, &["fetch", "a/b@dev", "--format", "text"]),
        "Slash.\n"
    );
    // A damaged entry is not believed.
    for how in [Damage::Garbage, Damage::CutAtLine, Damage::Emptied] {
        std::fs::write(&kept[0], &text).unwrap();
        damage(&kept[0], how);
        assert_eq!(
            read(&repo, &["fetch", "x@production", "--format", "text"]),
            "One point one.\n",
            "{how:?}"
        );
    }

    // Moved back by hand: a new index (with a comment, so not the first one's blob, which
    // `promote` cached whole), read afresh, with an entry of its own.
    let back = format!("# moved back\n{index}");
    repo.commit_by_hand("registry.yaml", &back, "x 1.0.0 back to production by hand");
    assert_eq!(
        read(&repo, &["fetch", "x@production", "--format", "text"]),
        "One.\n"
    );
    assert_eq!(
        x_statuses(&repo),
        [
            ("1.0.0".to_owned(), "production".to_owned()),
            ("1.1.0".to_owned(), "staging".to_owned())
        ]
    );
    assert_eq!(entries(&repo).len(), known.len() + 3);
}

/// How a test damages a cache entry.
#[derive(Clone, Copy, Debug)]
enum Damage {
    Garbage,
    HalfTruncated,
    /// Cut after the last whole line of its first half: every line left looks complete.
    CutAtLine,
    Emptied,
}

fn damage(path: &std::path::Path, how: Damage) {
    match how {
        Damage::Garbage => std::fs::write(path, "garbage\n").expect("overwrite entry"),
        Damage::HalfTruncated | Damage::CutAtLine | Damage::Emptied => {
            let bytes = std::fs::read(path).expect("read entry");
            let half = bytes.len() / 2;
            let keep = match how {
                Damage::HalfTruncated => half,
                Damage::CutAtLine => bytes[..half]
                    .iter()
                    .rposition(|&b| b == b'\n')
                    .map_or(0, |i| i + 1),
                _ => 0,
            };
            std::fs::OpenOptions::new()
                .write(true)
                .open(path)
                .expect("open entry")
                .set_len(keep as u64)
                .expect("truncate entry");
        }
    }
}

#[test]
fn damaged_entries_are_ignored() {
    let repo = registry();
    let baseline = reads(&repo);
    assert_warm(&repo);
    for how in [
        Damage::Garbage,
        Damage::HalfTruncated,
        Damage::CutAtLine,
        Damage::Emptied,
    ] {
        for (args, expected) in READS.iter().zip(&baseline) {
            // Damage every entry before each read: a read may rewrite the entry it falls back from.
            let files = assert_warm(&repo);
            for file in &files {
                damage(file, how);
            }
            assert_eq!(
                &read(&repo, args),
                expected,
                "{args:?} after {how:?} in {files:?}"
            );
        }
    }
}

#[test]
fn deleting_the_cache_changes_no_output() {
    let repo = registry();
    let baseline = reads(&repo);
    assert_warm(&repo);
    // Warm reads give what the first reads gave.
    assert_eq!(reads(&repo), baseline);
    // Every read, each from an empty cache.
    for (args, expected) in READS.iter().zip(&baseline) {
        std::fs::remove_dir_all(cache_dir(&repo)).expect("remove cache");
        assert_eq!(&read(&repo, args), expected, "{args:?} with no cache");
    }
    std::fs::remove_dir_all(repo.path(".git/promptreg")).expect("remove promptreg dir");
    assert_eq!(reads(&repo), baseline);
}

#[test]
fn a_warm_fetch_prints_exactly_what_a_cold_one_printed() {
    let repo = TestRepo::init();
    repo.write(
        &prompt_file("x"),
        "system_prompt: Hi.\ntemperature: 1.7815320455759613\nmetadata:\n  score: 0.9636758504022105\nexamples:\n  - {weight: 1.2489874495709823}\n",
    );
    repo.run(&["create", "x", "--version", "1.0.0", "-m", "floats"])
        .ok();
    for format in ["json", "yaml"] {
        remove(&repo.path(".git/promptreg"));
        let cold = read(&repo, &["fetch", "x@1.0.0", "--format", format]);
        assert!(cold.contains("1.7815320455759613"), "{cold}");
        assert!(cold.contains("0.9636758504022105"), "{cold}");
        assert!(cold.contains("1.2489874495709823"), "{cold}");
        assert_warm_prompt(&repo);
        let warm = read(&repo, &["fetch", "x@1.0.0", "--format", format]);
        assert_eq!(warm, cold, "--format {format}");
    }
}

#[track_caller]
fn assert_warm_prompt(repo: &TestRepo) {
    let names: Vec<String> = cache_files(repo).iter().map(|p| file_name(p)).collect();
    assert!(
        names.iter().any(|n| n.starts_with("prompt-v2-")),
        "no cached release in {names:?}"
    );
}

#[test]
fn reads_work_when_the_cache_cannot_be_written() {
    let repo = registry();
    let baseline = reads(&repo);
    // The cache directory cannot be created: something else holds its name.
    for blocker in [".git/promptreg", ".git/promptreg/cache"] {
        remove(&repo.path(".git/promptreg"));
        repo.write(blocker, "not a directory\n");
        assert_eq!(reads(&repo), baseline, "with a file at {blocker}");
        assert_eq!(repo.read(blocker), "not a directory\n", "{blocker}");
        // Writes do not depend on the cache either.
        let out = repo.run(&["promote", "z", "1.0.0", "--to", "dev", "--reason", "t"]);
        out.ok();
        let fetched = repo.run(&["fetch", "z@dev", "--format", "json"]);
        fetched.ok();
        assert_eq!(fetched.json()["version"], "1.0.0");
        assert_eq!(repo.read(blocker), "not a directory\n", "{blocker}");
        repo.git(&["reset", "-q", "--hard", "HEAD~1"]);
    }
}

#[test]
fn a_release_retagged_by_hand_shows_its_new_content() {
    let repo = TestRepo::init();
    repo.release("x", "1.0.0", "Old words.");
    let old_tag = repo.rev("refs/tags/x/v1.0.0");
    let out = repo.run(&["fetch", "x@1.0.0", "--format", "text"]);
    out.ok();
    assert_eq!(out.stdout, "Old words.\n");
    assert!(
        cache_dir(&repo)
            .join(format!("prompt-v2-{old_tag}"))
            .exists(),
        "the release was not cached under its tag id"
    );

    repo.write_prompt("x", "New words.");
    repo.git(&["commit", "-q", "-am", "new words"]);
    repo.git(&["tag", "-d", "x/v1.0.0"]);
    repo.git(&["tag", "-a", "x/v1.0.0", "-m", "retagged"]);
    assert_ne!(repo.rev("refs/tags/x/v1.0.0"), old_tag);

    let out = repo.run(&["fetch", "x@1.0.0", "--format", "text"]);
    out.ok();
    assert_eq!(out.stdout, "New words.\n");
    let out = repo.run(&["fetch", "x@1.0.0", "--format", "json"]);
    out.ok();
    let record = out.json();
    assert_eq!(record["system_prompt"], "New words.\n");
    assert_eq!(record["description"], "retagged");
    assert_eq!(record["commit"], repo.rev("HEAD").as_str());
}

#[test]
fn promote_caches_the_index_it_commits() {
    let repo = TestRepo::init();
    repo.release("x", "1.0.0", "One.");
    repo.release("y", "1.0.0", "Why.");
    repo.promote("y", "1.0.0", "dev");
    repo.promote("x", "1.0.0", "dev");
    let blob = repo.rev("HEAD:registry.yaml");
    let entry = cache_dir(&repo).join(format!("registry-{blob}"));
    let written = std::fs::read(&entry)
        .unwrap_or_else(|e| panic!("no cache entry for registry.yaml {blob}: {e}"));
    // It is what a read derives from the committed index itself.
    std::fs::remove_file(&entry).expect("remove entry");
    let out = repo.run(&["list", "--format", "json"]);
    out.ok();
    assert_eq!(out.json()[0]["environments"]["dev"], "1.0.0");
    let derived = std::fs::read(&entry).expect("a read caches the index");
    assert_eq!(
        String::from_utf8_lossy(&written),
        String::from_utf8_lossy(&derived)
    );
}

/// The server keeps parsed indexes in memory by blob id (from the second read of one on) and
/// the entries of large trees by tree id: a `registry.yaml` changed by a plain commit is a new
/// blob, read afresh, and every version read gives what the CLI gives.
#[test]
fn the_server_sees_an_index_changed_by_hand_after_keeping_the_old_one() {
    use crate::serve::{get, Server};
    let repo = TestRepo::init();
    repo.release("x", "1.0.0", "One.");
    repo.promote_through_pipeline("x", "1.0.0");
    repo.release("x", "1.1.0", "One point one.");
    repo.promote("x", "1.1.0", "dev");
    let server = Server::start(&repo, &[]);
    let read = |version: &str| {
        let reply = get(&server.url(&format!("/api/prompts/x?version={version}")));
        assert_eq!(reply.status, 200, "{}", reply.body);
        reply.json()
    };
    // Two reads of one index: the second is answered from the index kept in memory.
    assert_eq!(
        read("1.0.0")["environments"],
        serde_json::json!(["staging", "production"])
    );
    assert_eq!(read("1.1.0")["environments"], serde_json::json!(["dev"]));

    let before = repo.read("registry.yaml");
    let after = before.replace("production: 1.0.0", "production: 1.1.0");
    assert_ne!(before, after, "registry.yaml:\n{before}");
    repo.commit_by_hand("registry.yaml", &after, "promote x 1.1.0 by hand");
    for (version, held) in [
        ("1.0.0", serde_json::json!(["staging"])),
        ("1.1.0", serde_json::json!(["dev", "production"])),
    ] {
        let served = read(version);
        assert_eq!(served["environments"], held, "{version}");
        let cli = repo.run(&["fetch", &format!("x@{version}"), "--format", "json"]);
        cli.ok();
        assert_eq!(
            served,
            cli.json(),
            "{version}: the server and the CLI disagree"
        );
    }
}
