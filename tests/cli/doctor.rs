//! `promptreg doctor`: leftovers of killed processes are found, and cleared only when safe.

use std::path::Path;
use std::process::Command;

use crate::support::{released_prompt, TestRepo};

const REGISTRY_LOCK: &str = ".git/promptreg.lock";
const BRANCH_LOCK: &str = ".git/refs/heads/main.lock";

/// An initialised registry with `x` 1.0.0 released.
fn registry() -> TestRepo {
    released_prompt("x", "1.0.0", "one")
}

/// Sets a file's modification time to two hours ago.
#[track_caller]
fn age_two_hours(path: &Path) {
    let status = Command::new("touch")
        .args(["-d", "2 hours ago"])
        .arg(path)
        .status()
        .expect("run touch");
    assert!(status.success(), "touch -d failed for {}", path.display());
}

#[test]
fn a_clean_repository_has_no_problems() {
    let repo = registry();
    let out = repo.run(&["doctor"]);
    out.ok().stderr_has(&["no problems found"]);
    assert_eq!(out.stdout, "");
    let out = repo.run(&["doctor", "--fix", "--format", "json"]);
    out.ok().stderr_has(&["no problems found"]);
    assert_eq!(out.json(), serde_json::json!([]));
}

#[test]
fn a_registry_lock_file_alone_is_not_a_problem() {
    let repo = registry();
    // The lock is a kernel lock: a file left by a killed holder (or an older promptreg) is
    // released with its holder.
    std::fs::write(repo.path(REGISTRY_LOCK), "999999\n").expect("lock");
    repo.run(&["doctor"])
        .ok()
        .stderr_has(&["no problems found"]);
    repo.write_prompt("x", "two");
    repo.run(&["create", "x", "--bump", "minor", "-m", "after"])
        .ok();
    assert_eq!(repo.rev("x/v1.1.0^{commit}"), repo.rev("HEAD"));
}

#[test]
fn a_lock_held_by_a_running_process_is_never_removed() {
    let repo = registry();
    let file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(repo.path(REGISTRY_LOCK))
        .expect("open lock");
    file.lock().expect("lock");
    let pid = std::process::id().to_string();
    std::fs::write(repo.path(REGISTRY_LOCK), format!("{pid}\n")).expect("pid");
    // An old Git lock is left alone too while a promptreg writer holds the lock.
    age_two_hours(&{
        std::fs::write(repo.path(BRANCH_LOCK), "").expect("ref lock");
        repo.path(BRANCH_LOCK)
    });
    let out = repo.run(&["doctor", "--fix"]);
    out.code(1).stderr_has(&["2 problems left alone"]);
    for needle in [
        "live-lock",
        &pid,
        "writing now",
        "git-lock",
        "writer is running",
    ] {
        assert!(out.stdout.contains(needle), "{needle}: {}", out.stdout);
    }
    assert!(!out.stdout.contains("yes"), "{}", out.stdout);
    assert!(repo.path(BRANCH_LOCK).exists());
    drop(file);
    repo.run(&["doctor", "--fix"])
        .ok()
        .stderr_has(&["cleared 1 problem"]);
    assert!(!repo.path(BRANCH_LOCK).exists());
}

#[test]
fn an_old_branch_lock_is_removed_by_fix_and_writers_work_again() {
    let repo = registry();
    std::fs::write(repo.path(BRANCH_LOCK), "").expect("ref lock");
    age_two_hours(&repo.path(BRANCH_LOCK));
    let out = repo.run(&["doctor"]);
    out.code(1);
    for needle in ["git-lock", BRANCH_LOCK, "2 h old", "refs/heads/main"] {
        assert!(out.stdout.contains(needle), "{needle}: {}", out.stdout);
    }
    assert!(repo.path(BRANCH_LOCK).exists());

    repo.run(&["doctor", "--fix"]).ok();
    assert!(!repo.path(BRANCH_LOCK).exists());
    let before = repo.rev("HEAD");
    repo.promote("x", "1.0.0", "dev");
    assert_ne!(repo.rev("HEAD"), before);
    repo.fsck();
}

#[test]
fn a_fresh_branch_lock_is_reported_but_not_removed() {
    let repo = registry();
    std::fs::write(repo.path(BRANCH_LOCK), "").expect("ref lock");
    let out = repo.run(&["doctor", "--fix"]);
    out.code(1).stderr_has(&["left alone"]);
    for needle in ["git-lock", BRANCH_LOCK, "0 s old", "younger than 60 s"] {
        assert!(out.stdout.contains(needle), "{needle}: {}", out.stdout);
    }
    assert!(repo.path(BRANCH_LOCK).exists());
    // --min-age lowers the bar.
    repo.run(&["doctor", "--fix", "--min-age", "0"]).ok();
    assert!(!repo.path(BRANCH_LOCK).exists());
}

#[test]
fn a_stale_branch_lock_makes_create_fail_naming_it() {
    let repo = registry();
    std::fs::write(repo.path(BRANCH_LOCK), "").expect("ref lock");
    repo.write_prompt("x", "two");
    repo.refuses_unchanged(&["create", "x", "--bump", "minor", "-m", "blocked"])
        .stderr_has(&[BRANCH_LOCK, "promptreg doctor --fix"]);
}

#[test]
fn a_stale_branch_lock_makes_promote_fail_naming_it() {
    let repo = registry();
    std::fs::write(repo.path(BRANCH_LOCK), "").expect("ref lock");
    repo.refuses_unchanged(&[
        "promote", "x", "1.0.0", "--to", "dev", "--reason", "blocked",
    ])
    .stderr_has(&[BRANCH_LOCK, "promptreg doctor --fix"]);
}

#[test]
fn temporary_files_of_dead_processes_are_cleared() {
    let repo = registry();
    // A cache entry and a working-tree file being written, and a libgit2 temporary object.
    let cache = repo.path(".git/promptreg/cache");
    std::fs::create_dir_all(&cache).expect("cache dir");
    let cache_temp = cache.join(".registry-0123abcd.999999");
    std::fs::write(&cache_temp, "partial").expect("cache temp");
    repo.write("prompts/x/.prompt.yaml.promptreg-999999", "partial");
    repo.write(".registry.yaml.promptreg-999998", "partial");
    repo.write("results/a/.b.yaml.promptreg-999997", "partial");
    let object = repo.path(".git/objects/tmp_object_git2_AbCdEf");
    std::fs::write(&object, "partial").expect("temp object");
    age_two_hours(&object);
    // A young temporary object belongs to a write in progress: not a problem.
    std::fs::write(repo.path(".git/objects/tmp_object_git2_young"), "").expect("young");

    let out = repo.run(&["--format", "json", "doctor"]);
    out.code(1);
    let findings = out.json();
    let found: Vec<(String, String, bool)> = findings
        .as_array()
        .expect("a list")
        .iter()
        .map(|f| {
            (
                f["kind"].as_str().expect("kind").to_owned(),
                f["path"].as_str().expect("path").to_owned(),
                f["fixed"].as_bool().expect("fixed"),
            )
        })
        .collect();
    let expected = [
        ("temp-object", ".git/objects/tmp_object_git2_AbCdEf"),
        (
            "cache-temp",
            ".git/promptreg/cache/.registry-0123abcd.999999",
        ),
        ("worktree-temp", ".registry.yaml.promptreg-999998"),
        ("worktree-temp", "prompts/x/.prompt.yaml.promptreg-999999"),
        ("worktree-temp", "results/a/.b.yaml.promptreg-999997"),
    ];
    let expected: Vec<(String, String, bool)> = expected
        .iter()
        .map(|(k, p)| ((*k).to_owned(), (*p).to_owned(), false))
        .collect();
    assert_eq!(found, expected);

    repo.run(&["doctor", "--fix"]).ok();
    assert!(!cache_temp.exists());
    assert!(!object.exists());
    assert!(repo.path(".git/objects/tmp_object_git2_young").exists());
    assert_eq!(repo.git(&["status", "--porcelain=v1", "-uall"]), "");
    repo.fsck();
}

#[test]
fn an_index_left_behind_a_results_record_is_caught_up() {
    let repo = registry();
    repo.run(&[
        "results", "record", "x@1.0.0", "--test", "t", "--passed", "1", "--failed", "0",
    ])
    .ok();
    // A record killed after its commit, before the index and the working copy.
    repo.git(&["rm", "-q", "--cached", "results/x.yaml"]);
    std::fs::remove_file(repo.path("results/x.yaml")).expect("remove");
    let out = repo.run(&["doctor"]);
    out.code(1);
    for needle in [
        "index-behind",
        "results/x.yaml",
        "results: x 1.0.0 t 1/1 passed",
    ] {
        assert!(out.stdout.contains(needle), "{needle}: {}", out.stdout);
    }
    repo.run(&["doctor", "--fix"]).ok();
    assert_eq!(repo.git(&["status", "--porcelain"]), "");
    repo.run(&["results", "show", "x@1.0.0"]).ok();
}

#[test]
fn an_index_left_behind_a_promotion_is_caught_up() {
    let repo = registry();
    repo.promote("x", "1.0.0", "dev");
    let committed = repo.git(&["show", "HEAD:registry.yaml"]);
    // A promote killed after its commit, before the index: the index holds the old entry.
    repo.git(&["reset", "-q", "HEAD^", "--", "registry.yaml"]);
    assert_eq!(repo.git(&["status", "--porcelain"]), "MM registry.yaml\n");
    let out = repo.run(&["doctor"]);
    out.code(1);
    for needle in [
        "index-behind",
        "registry.yaml",
        "promote x 1.0.0 to dev",
        "git commit",
    ] {
        assert!(out.stdout.contains(needle), "{needle}: {}", out.stdout);
    }
    repo.run(&["doctor", "--fix"]).ok();
    assert_eq!(repo.git(&["status", "--porcelain"]), "");

    // Killed before the working file was written too: both are brought up to date.
    repo.git(&["reset", "-q", "HEAD^", "--", "registry.yaml"]);
    repo.git(&["checkout", "--", "registry.yaml"]);
    assert_eq!(repo.git(&["status", "--porcelain"]), "M  registry.yaml\n");
    repo.run(&["doctor", "--fix"]).ok();
    assert_eq!(repo.git(&["status", "--porcelain"]), "");
    assert_eq!(repo.read("registry.yaml"), committed);
    repo.run(&["doctor"])
        .ok()
        .stderr_has(&["no problems found"]);
    repo.promote("x", "1.0.0", "staging");
}

#[test]
fn an_index_left_behind_with_other_edits_is_not_touched() {
    let repo = registry();
    repo.promote("x", "1.0.0", "dev");
    repo.git(&["reset", "-q", "HEAD^", "--", "registry.yaml"]);
    let edited = format!("{}# my edit\n", repo.read("registry.yaml"));
    repo.write("registry.yaml", &edited);
    let out = repo.run(&["doctor", "--fix"]);
    out.code(1).stderr_has(&["left alone"]);
    for needle in [
        "index-behind",
        "other edits",
        "git reset -q -- registry.yaml",
    ] {
        assert!(out.stdout.contains(needle), "{needle}: {}", out.stdout);
    }
    assert_eq!(repo.read("registry.yaml"), edited);
    assert_eq!(repo.git(&["status", "--porcelain"]), "MM registry.yaml\n");
}

#[test]
fn staged_work_after_a_hand_made_commit_is_not_a_problem() {
    let repo = registry();
    // HEAD is not a promptreg commit: whatever is staged is the user's business.
    repo.write("notes.txt", "one\n");
    repo.git(&["add", "notes.txt"]);
    repo.git(&["commit", "-q", "-m", "notes"]);
    repo.git(&["reset", "-q", "HEAD^", "--", "notes.txt"]);
    repo.run(&["doctor"])
        .ok()
        .stderr_has(&["no problems found"]);
}

#[test]
fn an_unsupported_format_is_a_usage_error() {
    let repo = registry();
    repo.run(&["doctor", "--format", "yaml"]).usage();
}

/// Writes the journal a promptreg writer killed while holding `paths` (Git lock files it
/// created) would have left in the lock file.
fn dead_writer_journal(repo: &TestRepo, paths: &[&str]) {
    use std::os::unix::fs::MetadataExt;
    let mut text = String::from("999999\n");
    for path in paths {
        let full = repo.path(path);
        std::fs::create_dir_all(full.parent().expect("dir")).expect("dir");
        std::fs::write(&full, "").expect("lock file");
        let meta = std::fs::metadata(&full).expect("stat");
        text.push_str(&format!(
            "lock {} {} {} {} {}\n",
            meta.dev(),
            meta.ino(),
            meta.ctime(),
            meta.ctime_nsec(),
            full.display()
        ));
    }
    text.push_str("end\n");
    std::fs::write(repo.path(REGISTRY_LOCK), text).expect("journal");
}

#[test]
fn git_locks_of_a_dead_promptreg_are_cleared_by_the_first_fix_at_any_age() {
    let repo = registry();
    dead_writer_journal(&repo, &[".git/index.lock", BRANCH_LOCK]);
    // A fresh lock nobody recorded: its creator is unknown, it may be a running git.
    let unknown = ".git/refs/heads/other.lock";
    std::fs::write(repo.path(unknown), "").expect("unknown lock");
    let out = repo.run(&["doctor"]);
    out.code(1);
    for needle in [
        "git-lock",
        ".git/index.lock",
        BRANCH_LOCK,
        "promptreg process 999999",
    ] {
        assert!(out.stdout.contains(needle), "{needle}: {}", out.stdout);
    }
    let out = repo.run(&["--format", "json", "doctor", "--fix"]);
    out.code(1);
    let fixed: Vec<(String, bool)> = out
        .json()
        .as_array()
        .expect("a list")
        .iter()
        .map(|f| {
            (
                f["path"].as_str().expect("path").to_owned(),
                f["fixed"].as_bool().expect("fixed"),
            )
        })
        .collect();
    assert_eq!(
        fixed,
        [
            (".git/index.lock".to_owned(), true),
            (BRANCH_LOCK.to_owned(), true),
            (unknown.to_owned(), false),
        ]
    );
    assert!(!repo.path(".git/index.lock").exists());
    assert!(!repo.path(BRANCH_LOCK).exists());
    assert!(repo.path(unknown).exists());
    repo.promote("x", "1.0.0", "dev");
}

#[test]
fn the_next_write_clears_a_dead_promptregs_git_locks_by_itself() {
    let repo = registry();
    dead_writer_journal(&repo, &[".git/index.lock", BRANCH_LOCK]);
    let before = repo.rev("HEAD");
    repo.promote("x", "1.0.0", "dev");
    assert_ne!(repo.rev("HEAD"), before);
    assert!(!repo.path(".git/index.lock").exists());
    assert!(!repo.path(BRANCH_LOCK).exists());
    repo.run(&["doctor"])
        .ok()
        .stderr_has(&["no problems found"]);
}

#[test]
fn a_recorded_lock_file_replaced_by_another_is_not_removed() {
    let repo = registry();
    dead_writer_journal(&repo, &[BRANCH_LOCK]);
    // Someone else's lock now has the name: another inode (or a reused one, another ctime).
    std::fs::remove_file(repo.path(BRANCH_LOCK)).expect("rm");
    std::thread::sleep(std::time::Duration::from_millis(20));
    std::fs::write(repo.path(BRANCH_LOCK), "").expect("their lock");
    repo.run(&["doctor", "--fix"])
        .code(1)
        .stderr_has(&["left alone"]);
    assert!(repo.path(BRANCH_LOCK).exists());
}

#[test]
fn an_index_left_behind_an_older_promptreg_commit_is_found_and_caught_up() {
    let repo = registry();
    repo.promote("x", "1.0.0", "dev");
    let promoted = repo.git(&["show", "HEAD:registry.yaml"]);
    // Killed before the index was updated; then the user committed something else with a
    // pathspec (a temporary index), so HEAD is not the promptreg commit any more.
    repo.git(&["reset", "-q", "HEAD^", "--", "registry.yaml"]);
    repo.write("notes.txt", "notes\n");
    repo.git(&["add", "notes.txt"]);
    repo.git(&["commit", "-q", "-m", "notes", "--", "notes.txt"]);
    assert_eq!(repo.git(&["show", "HEAD:registry.yaml"]), promoted);
    assert_eq!(repo.git(&["status", "--porcelain"]), "MM registry.yaml\n");
    let out = repo.run(&["doctor"]);
    out.code(1);
    for needle in ["index-behind", "registry.yaml", "promote x 1.0.0 to dev"] {
        assert!(out.stdout.contains(needle), "{needle}: {}", out.stdout);
    }
    repo.run(&["doctor", "--fix"])
        .ok()
        .stderr_has(&["cleared 1 problem"]);
    assert_eq!(repo.git(&["status", "--porcelain"]), "");
    assert_eq!(repo.read("registry.yaml"), promoted);
    repo.run(&["doctor"])
        .ok()
        .stderr_has(&["no problems found"]);
    repo.promote("x", "1.0.0", "staging");
}

#[test]
fn a_landed_commit_that_cannot_be_caught_up_does_not_wedge_later_writes() {
    let repo = registry();
    repo.run(&[
        "results", "record", "x@1.0.0", "--test", "t", "--passed", "1", "--failed", "0",
    ])
    .ok();
    let landed = repo.rev("HEAD");
    // As if the writer was killed after the branch moved and before the index followed, and
    // then a plain file took the place of `results/`: the catch-up cannot write there.
    repo.git(&["rm", "-q", "--cached", "results/x.yaml"]);
    std::fs::remove_dir_all(repo.path("results")).expect("rm results/");
    std::fs::write(repo.path("results"), "not a directory\n").expect("results file");
    std::fs::write(
        repo.path(REGISTRY_LOCK),
        format!("999999\nlanded {landed}\nend\n"),
    )
    .expect("journal");
    repo.promote("x", "1.0.0", "dev");
    repo.promote("x", "1.0.0", "staging");
    // What could not be caught up is reported, not silently lost.
    let out = repo.run(&["doctor"]);
    assert!(out.stdout.contains("results/x.yaml"), "{}", out.stdout);
}

#[test]
fn catching_up_never_writes_through_a_linked_directory() {
    let repo = registry();
    repo.run(&[
        "results", "record", "x@1.0.0", "--test", "t", "--passed", "1", "--failed", "0",
    ])
    .ok();
    let landed = repo.rev("HEAD");
    // The index left behind the landed commit, and `results/` now a link to a directory
    // outside the repository: the catch-up must not put the file there.
    repo.git(&["rm", "-q", "--cached", "results/x.yaml"]);
    std::fs::remove_dir_all(repo.path("results")).expect("rm results/");
    let outside = repo.tmp().join("outside");
    std::fs::create_dir_all(&outside).expect("outside dir");
    std::os::unix::fs::symlink(&outside, repo.path("results")).expect("link");
    std::fs::write(
        repo.path(REGISTRY_LOCK),
        format!("999999\nlanded {landed}\nend\n"),
    )
    .expect("journal");
    repo.promote("x", "1.0.0", "dev");
    assert!(
        std::fs::read_dir(&outside)
            .expect("outside")
            .next()
            .is_none(),
        "nothing may be written behind the link"
    );
}
