//! promptreg writers next to plain `git commit`s and `kill -9`: no update is lost, no command
//! fails after its commit landed, nothing is left wedged, and a killed writer never needs a
//! manual step before the next write.

use std::process::{Child, Stdio};
use std::time::Duration;

use crate::support::TestRepo;

/// A registry with `x` 1.0.0 and 1.1.0 released (different content).
fn registry() -> TestRepo {
    let repo = TestRepo::init();
    repo.release("x", "1.0.0", "one");
    repo.release("x", "1.1.0", "two");
    repo
}

/// The version `dev` holds in `registry.yaml` at `revision`.
fn dev_at(repo: &TestRepo, revision: &str) -> Option<String> {
    let text = repo.git(&["show", &format!("{revision}:registry.yaml")]);
    let lines = text.lines().skip_while(|l| *l != "  x:").skip(1);
    let line = lines
        .take_while(|l| l.starts_with("    "))
        .find(|l| l.trim_start().starts_with("dev:"))?;
    Some(line.split(':').nth(1)?.trim().trim_matches('"').to_owned())
}

/// One promotion's outcome.
struct Promotion {
    version: &'static str,
    ok: bool,
    stderr: String,
}

/// Promotes `x` to dev, alternating versions, `count` times, while the caller commits.
fn promote_loop(repo: &TestRepo, count: usize) -> std::thread::JoinHandle<Vec<Promotion>> {
    let commands: Vec<_> = (0..count)
        .map(|i| {
            let version = if i % 2 == 0 { "1.0.0" } else { "1.1.0" };
            let mut command = repo.command(&[
                "promote",
                "x",
                version,
                "--to",
                "dev",
                "--force",
                "--reason",
                &format!("race {i}"),
            ]);
            command.stdout(Stdio::piped()).stderr(Stdio::piped());
            (version, command)
        })
        .collect();
    std::thread::spawn(move || {
        commands
            .into_iter()
            .map(|(version, mut command)| {
                let out = command.output().expect("run promote");
                Promotion {
                    version,
                    ok: out.status.success(),
                    stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
                }
            })
            .collect()
    })
}

/// Runs the reproduction: promotions in the background, `echo $i > n$i; git add n$i;
/// git commit -qm g$i [-- n$i]` in the foreground; then checks every guarantee.
fn race(with_pathspec: bool) {
    let repo = registry();
    let base = repo.rev("HEAD");
    let promotions = promote_loop(&repo, 16);
    let mut committed = Vec::new();
    for i in 0..40 {
        let file = format!("n{i}");
        repo.write(&file, &format!("{i}\n"));
        if repo.git_output(&["add", &file]).code != 0 {
            continue;
        }
        let message = format!("g{i}");
        let mut args = vec!["commit", "-q", "-m", &message];
        if with_pathspec {
            args.extend(["--", &file]);
        }
        let out = repo.git_output(&args);
        if out.code == 0 {
            committed.push(message);
        } else {
            // Git's own refusals, as against another git: promptreg holds the index, or the
            // branch moved after git read HEAD (it reads HEAD before locking the index).
            assert!(
                out.stderr.contains("index.lock") || out.stderr.contains("cannot lock ref 'HEAD'"),
                "{}",
                out.stderr
            );
        }
    }
    let promotions = promotions.join().expect("promote thread");
    let succeeded: Vec<&Promotion> = promotions.iter().filter(|p| p.ok).collect();
    // A commit that runs for milliseconds is waited for, not failed over.
    let failed: Vec<&str> = promotions
        .iter()
        .filter(|p| !p.ok)
        .map(|p| p.stderr.as_str())
        .collect();
    assert!(failed.is_empty(), "promotions failed: {failed:?}");

    // Every commit since the base, oldest first, with what it changed.
    let log = repo.git(&[
        "log",
        "--reverse",
        "--format=%H %s",
        &format!("{base}..HEAD"),
    ]);
    let mut promoted = Vec::new();
    let mut plain = Vec::new();
    for line in log.lines() {
        let (id, subject) = line.split_once(' ').expect("id and subject");
        let changed = repo.changed_paths(id);
        if subject.starts_with("promote ") {
            assert_eq!(changed, ["registry.yaml"], "{subject}");
            promoted.push(dev_at(&repo, id).expect("dev pointer"));
        } else {
            // A plain commit never touches registry.yaml: it cannot revert a promotion.
            assert!(
                !changed.contains(&"registry.yaml".to_owned()),
                "{subject}: {changed:?}"
            );
            plain.push(subject.to_owned());
        }
    }
    let expected: Vec<String> = succeeded.iter().map(|p| p.version.to_owned()).collect();
    assert_eq!(promoted, expected, "every successful promotion, in order");
    assert_eq!(plain, committed, "every successful plain commit");
    assert_eq!(dev_at(&repo, "HEAD"), expected.last().cloned());
    assert_eq!(
        repo.read("registry.yaml"),
        repo.git(&["show", "HEAD:registry.yaml"])
    );

    // Nothing wedged: only the plain loop's own leftovers differ, and writing still works.
    let status = repo.git(&["status", "--porcelain=v1", "-uall"]);
    for line in status.lines() {
        assert!(
            line[3..].starts_with('n'),
            "unexpected status line: {line}\n{status}"
        );
    }
    repo.run(&["doctor"])
        .ok()
        .stderr_has(&["no problems found"]);
    repo.promote("x", "1.1.0", "staging");
    repo.fsck();
}

#[test]
fn promotions_next_to_a_git_commit_loop_lose_nothing_and_wedge_nothing() {
    race(false);
}

#[test]
fn promotions_next_to_git_commit_with_a_pathspec_lose_nothing() {
    race(true);
}

/// A small deterministic sequence of delays (no randomness in tests).
fn delays(count: usize) -> impl Iterator<Item = Duration> {
    let mut state: u64 = 0x2545_f491_4f6c_dd1d;
    (0..count).map(move |_| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        Duration::from_micros(state % 40_000)
    })
}

fn kill(mut child: Child) {
    let _ = child.kill();
    let _ = child.wait();
}

#[test]
fn after_a_kill_9_the_next_write_needs_no_manual_step() {
    let repo = registry();
    repo.write_prompt("y", "first");
    repo.run(&["create", "y", "--version", "1.0.0", "-m", "y"])
        .ok();
    for (i, delay) in delays(24).enumerate() {
        let version = if i % 2 == 0 { "1.0.0" } else { "1.1.0" };
        let args: Vec<String> = if i % 3 == 2 {
            repo.write_prompt("y", &format!("edit {i}"));
            ["create", "y", "--bump", "patch", "-m", "killed"]
                .map(str::to_owned)
                .to_vec()
        } else {
            [
                "promote", "x", version, "--to", "dev", "--force", "--reason", "k",
            ]
            .map(str::to_owned)
            .to_vec()
        };
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let child = repo
            .command(&args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn");
        std::thread::sleep(delay);
        kill(child);
        // The very next write, with no doctor and no manual step in between.
        let next = if i % 2 == 0 { "1.1.0" } else { "1.0.0" };
        let out = repo.run(&[
            "promote", "x", next, "--to", "dev", "--force", "--reason", "next",
        ]);
        assert_eq!(out.code, 0, "kill {i} after {delay:?}: {}", out.stderr);
        assert_eq!(dev_at(&repo, "HEAD").as_deref(), Some(next));
        let status = repo.git(&["status", "--porcelain=v1", "-uall"]);
        let stray: Vec<&str> = status
            .lines()
            .filter(|l| !l.ends_with("prompts/y/prompt.yaml"))
            .collect();
        assert!(stray.is_empty(), "kill {i} after {delay:?}: {status}");
    }
    repo.git(&["checkout", "-q", "--", "prompts/y/prompt.yaml"]);
    let out = repo.run(&["doctor", "--fix"]);
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    repo.run(&["validate"]).ok();
    repo.fsck();
}
