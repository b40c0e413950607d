//! The bad-input corpus, `fixtures/invalid/<case>/` (see its README.md): each case's files go into
//! a fresh registry and are committed; `promptreg validate` must print exactly `expected.txt` and
//! exit with `exit`, on the working tree and on the index alike, without panicking and without
//! changing anything; and `create` of the case's prompt must be refused (create runs the same
//! checks), or, where the case says `accepts`, accepted: a warning only (`unused-required-variable`).
//!
//! `PROMPTREG_BLESS=1 cargo test --test cli invalid` rewrites `expected.txt` and `exit` from what
//! validate prints now — review the diff before committing it.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use crate::support::TestRepo;

/// Files of a case that are not registry content.
const META: [&str; 5] = ["expected.txt", "exit", "setup", "create", "README.md"];

fn corpus() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/invalid")
}

fn cases() -> Vec<PathBuf> {
    let mut cases: Vec<PathBuf> = std::fs::read_dir(corpus())
        .expect("fixtures/invalid")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.is_dir())
        .collect();
    cases.sort();
    cases
}

#[test]
fn every_case_is_reported_exactly_and_changes_nothing() {
    let cases = cases();
    assert!(cases.len() >= 40, "only {} cases", cases.len());
    let bless = std::env::var_os("PROMPTREG_BLESS").is_some();
    let next = AtomicUsize::new(0);
    let failures = Mutex::new(Vec::new());
    std::thread::scope(|scope| {
        for _ in 0..4 {
            scope.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::SeqCst);
                let Some(case) = cases.get(i) else { break };
                let name = case.file_name().unwrap().to_string_lossy().into_owned();
                let outcome = std::panic::catch_unwind(|| run_case(case, bless));
                let problem = match outcome {
                    Ok(Ok(())) => continue,
                    Ok(Err(problem)) => problem,
                    Err(panic) => panic
                        .downcast_ref::<String>()
                        .cloned()
                        .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                        .unwrap_or_default(),
                };
                failures
                    .lock()
                    .unwrap()
                    .push(format!("case {name}: {problem}"));
            });
        }
    });
    let failures = failures.into_inner().unwrap();
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

fn run_case(case: &Path, bless: bool) -> Result<(), String> {
    let repo = TestRepo::init();
    copy_tree(case, case, &repo.root);
    let setup = std::fs::read_to_string(case.join("setup")).unwrap_or_default();
    let steps: Vec<Vec<&str>> = setup
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .map(|l| l.split_whitespace().collect())
        .collect();
    for step in &steps {
        match step.as_slice() {
            ["symlink", link, target] => {
                let link = repo.path(link);
                std::fs::create_dir_all(link.parent().unwrap()).unwrap();
                std::os::unix::fs::symlink(target, link).unwrap();
            }
            ["big", path, bytes] => {
                let bytes: usize = bytes.parse().unwrap();
                let mut content = "All work and no play. ".repeat(bytes / 22 + 1).into_bytes();
                content.truncate(bytes);
                let path = repo.path(path);
                std::fs::create_dir_all(path.parent().unwrap()).unwrap();
                std::fs::write(path, content).unwrap();
            }
            ["lightweight-tag", _] | ["annotated-tag", _] => {}
            other => return Err(format!("unknown setup step {other:?}")),
        }
    }
    repo.git(&["add", "-A"]);
    repo.git(&["commit", "-q", "-m", "case"]);
    for step in &steps {
        match step.as_slice() {
            ["lightweight-tag", tag] => {
                repo.git(&["tag", tag]);
            }
            ["annotated-tag", tag] => {
                repo.git(&["tag", "-a", "-m", "hand-made", tag]);
            }
            _ => {}
        }
    }

    let before = repo.snapshot();
    let work_tree = repo.run(&["validate", "--format", "text"]);
    let staged = repo.run(&["validate", "--staged", "--format", "text"]);
    for out in [&work_tree, &staged] {
        if out.stderr.contains("panicked") {
            return Err(format!("panicked:\n{}", out.stderr));
        }
    }
    if bless {
        std::fs::write(case.join("expected.txt"), &work_tree.stdout).unwrap();
        std::fs::write(case.join("exit"), format!("{}\n", work_tree.code)).unwrap();
    }
    let expected = std::fs::read_to_string(case.join("expected.txt"))
        .map_err(|e| format!("no expected.txt ({e})"))?;
    let code: i32 = std::fs::read_to_string(case.join("exit"))
        .map_err(|e| format!("no exit ({e})"))?
        .trim()
        .parse()
        .map_err(|e| format!("bad exit file ({e})"))?;
    for (what, out) in [("validate", &work_tree), ("validate --staged", &staged)] {
        if out.stdout != expected || out.code != code {
            return Err(format!(
                "{what}: exit {} (expected {code})\n--- stdout ---\n{}--- expected ---\n{expected}--- stderr ---\n{}",
                out.code, out.stdout, out.stderr
            ));
        }
    }
    if code != 0 && !work_tree.stderr.contains("error") {
        return Err(format!("no summary on stderr: {}", work_tree.stderr));
    }
    if repo.snapshot() != before {
        return Err("validate changed the repository".into());
    }

    // `create` of the case's prompt.
    let mode = std::fs::read_to_string(case.join("create")).unwrap_or_else(|_| "refuses".into());
    let Some(name) = first_prompt(case) else {
        return Ok(());
    };
    match mode.trim() {
        "skip" => {}
        "refuses" => {
            let out = repo.run(&["create", "--version", "1.0.0", "-m", "try", "--", &name]);
            if out.code != 1 || out.stderr.contains("panicked") {
                return Err(format!(
                    "create {name}: exit {} (expected a refusal, exit 1)\n{}{}",
                    out.code, out.stdout, out.stderr
                ));
            }
            if repo.snapshot() != before {
                return Err(format!("the refused create {name} changed the repository"));
            }
        }
        "accepts" => {
            let out = repo.run(&["create", "--version", "1.0.0", "-m", "try", "--", &name]);
            if out.code != 0 {
                return Err(format!(
                    "create {name} was expected to accept a prompt with warnings only, but: exit {}\n{}",
                    out.code, out.stderr
                ));
            }
        }
        other => return Err(format!("unknown create mode {other:?}")),
    }
    Ok(())
}

/// The name of the case's outermost prompt (`prompts/<name>/prompt.yaml`), if it has one.
fn first_prompt(case: &Path) -> Option<String> {
    let mut found = Vec::new();
    find_prompts(&case.join("prompts"), "", &mut found);
    found.sort_by_key(|n: &String| (n.matches('/').count(), n.clone()));
    found.into_iter().next()
}

fn find_prompts(dir: &Path, name: &str, out: &mut Vec<String>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries {
        let entry = entry.unwrap();
        let file = entry.file_name().to_string_lossy().into_owned();
        if entry.path().is_dir() {
            let child = if name.is_empty() {
                file
            } else {
                format!("{name}/{file}")
            };
            find_prompts(&entry.path(), &child, out);
        } else if file == "prompt.yaml" && !name.is_empty() {
            out.push(name.to_owned());
        }
    }
}

/// Copies the case's registry files (everything but its meta files) into the repository.
fn copy_tree(case: &Path, from: &Path, to: &Path) {
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let name = entry.file_name();
        if from == case && META.iter().any(|m| name == *m) {
            continue;
        }
        let target = to.join(&name);
        if entry.path().is_dir() {
            std::fs::create_dir_all(&target).unwrap();
            copy_tree(case, &entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

#[test]
fn the_corpus_readme_names_every_setup_step() {
    let readme = std::fs::read_to_string(corpus().join("README.md")).unwrap();
    for step in ["symlink", "big", "lightweight-tag", "annotated-tag"] {
        assert!(
            readme.contains(&format!("`{step}")),
            "README.md lacks {step}"
        );
    }
}
