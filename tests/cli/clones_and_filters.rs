//! Clones that lack tags or history (`git clone --no-tags`, `--depth 1`), mistyped filters, and
//! prompts that have files but no release yet (issue 12).

use std::path::PathBuf;

use serde_json::{json, Value};

use crate::support::{promoted_through_pipeline, prompt_yaml, Output, TestRepo};

/// Clones `repo` with `git clone <options> file://…` (the URL, so that `--depth` works
/// locally) into a directory beside it.
fn clone(repo: &TestRepo, options: &[&str], into: &str) -> PathBuf {
    let target = repo.tmp().join(into);
    let url = format!("file://{}", repo.root.display());
    let mut args = vec!["clone", "-q"];
    args.extend_from_slice(options);
    args.extend([url.as_str(), target.to_str().expect("utf-8 path")]);
    let out = repo.git_output(&args);
    assert_eq!(out.code, 0, "git clone failed: {}", out.stderr);
    target
}

/// `x` 1.0.0 through the pipeline, 1.1.0 in dev (with a recorded run), then a hand commit that
/// touches neither the index nor results: the commit a `--depth 1` clone starts at.
fn moved_then_edited() -> TestRepo {
    let repo = promoted_through_pipeline("x", "1.0.0", "One.");
    repo.release("x", "1.1.0", "Two.");
    repo.promote("x", "1.1.0", "dev");
    repo.record_run("x@1.1.0", "golden", 9, 1);
    repo.commit_by_hand("NOTES.md", "notes\n", "Add notes");
    repo
}

fn events(out: &Output) -> Vec<Value> {
    out.ok();
    out.json().as_array().expect("an array").clone()
}

#[test]
fn fetch_in_a_clone_without_tags_names_the_missing_tag_and_the_fix() {
    let repo = moved_then_edited();
    let clone = clone(&repo, &["--no-tags"], "no-tags");
    assert_eq!(
        repo.git_in(&clone, &["tag"]).stdout,
        "",
        "the clone has no tags"
    );
    for (selector, env, version) in [
        ("x", "production", "1.0.0"),
        ("x@dev", "dev", "1.1.0"),
        ("x@1.0.0", "production", "1.0.0"),
        ("x@latest", "production", "1.0.0"),
    ] {
        let tag = format!("tag `x/v{version}` is not in this clone");
        let moved = format!("{env} of `x` points at {version}");
        repo.run_in(&clone, &["fetch", selector])
            .refused()
            .stderr_has(&[&moved, &tag, "hint:", "git fetch --tags"]);
        let out = repo.run_in(&clone, &["fetch", selector]);
        assert!(
            !out.stderr.contains("no prompt has a version yet"),
            "{}",
            out.stderr
        );
    }
    // `versions` says the same rather than "no prompt has a version yet".
    repo.run_in(&clone, &["versions", "x"])
        .refused()
        .stderr_has(&["tag `x/v1.0.0` is not in this clone", "git fetch --tags"]);
    // A prompt that is not in the index at all is still "not found".
    repo.run_in(&clone, &["fetch", "y"])
        .refused()
        .stderr_has(&["prompt `y` not found"]);
    // The fix the hint names works.
    assert_eq!(repo.git_in(&clone, &["fetch", "-q", "--tags"]).code, 0);
    let out = repo.run_in(&clone, &["fetch", "x@dev", "--format", "text"]);
    out.ok();
    assert_eq!(out.stdout, "Two.\n");
}

#[test]
fn list_in_a_clone_without_tags_warns_and_names_the_fix() {
    let repo = moved_then_edited();
    let full = repo.run(&["list"]);
    full.ok();
    assert_eq!(
        full.stderr, "",
        "a complete clone has nothing to warn about"
    );
    let clone = clone(&repo, &["--no-tags"], "no-tags");
    for format in ["table", "json"] {
        repo.run_in(&clone, &["list", "--format", format])
            .ok()
            .stderr_has(&[
                "warning: registry.yaml points at versions whose tags are not in this clone",
                "dev of `x` holds 1.1.0 and 2 more",
                "git fetch --tags",
            ]);
    }
    let rows = repo.run_in(&clone, &["list", "--format", "json"]).json();
    // What is known is still shown: the pointers.
    assert_eq!(
        rows[0]["environments"],
        json!({"dev": "1.1.0", "staging": "1.0.0", "production": "1.0.0"})
    );
    assert_eq!(rows[0]["status"], "released");
    // -q silences warnings, not data.
    let quiet = repo.run_in(&clone, &["-q", "list"]);
    quiet.ok();
    assert_eq!(quiet.stderr, "");
    assert!(quiet.stdout.contains("1.1.0"), "{}", quiet.stdout);
}

#[test]
fn history_in_a_shallow_clone_invents_no_events_and_warns() {
    let repo = moved_then_edited();
    let complete = repo.run(&["history", "--format", "json"]);
    assert_eq!(
        complete.stderr, "",
        "a complete clone has nothing to warn about"
    );
    assert!(events(&complete).len() >= 7);

    let clone = clone(&repo, &["--depth", "1"], "shallow");
    assert!(clone.join(".git/shallow").exists());
    let root = repo
        .git_in(&clone, &["rev-parse", "HEAD"])
        .stdout
        .trim()
        .to_owned();
    for args in [
        &["history", "--format", "json"][..],
        &["history", "x", "--format", "json"],
        &["history", "x", "--env", "dev", "--format", "json"],
    ] {
        let out = repo.run_in(&clone, args);
        // Before the fix: `promoted none → 1.1.0` (and 1.0.0 twice) and a `tested` event, all
        // attributed to the shallow root, which only added NOTES.md.
        assert_eq!(events(&out), Vec::<Value>::new(), "{args:?}");
        out.stderr_has(&[
            "warning: this is a shallow clone",
            &format!("history up to commit {}", &root[..10]),
            "git fetch --unshallow",
        ]);
    }
    let table = repo.run_in(&clone, &["history"]);
    table.ok();
    assert!(!table.stdout.contains("none →"), "{}", table.stdout);
    // fetch names both fixes.
    repo.run_in(&clone, &["fetch", "x@dev"])
        .refused()
        .stderr_has(&["git fetch --tags", "git fetch --unshallow"]);
}

#[test]
fn history_of_a_deeper_shallow_clone_keeps_the_real_moves_after_the_boundary() {
    let repo = moved_then_edited();
    // HEAD (notes), the run, the promotion of 1.1.0 to dev, and the release of 1.1.0: the
    // boundary.
    let clone = clone(&repo, &["--depth", "4"], "shallow");
    let out = repo.run_in(&clone, &["history", "x", "--format", "json"]);
    let found = events(&out);
    let moves: Vec<(&str, &str, &str)> = found
        .iter()
        .filter(|e| e["event"] != "tested")
        .map(|e| {
            (
                e["event"].as_str().unwrap(),
                e["from"].as_str().unwrap_or("none"),
                e["to"].as_str().unwrap_or("none"),
            )
        })
        .collect();
    // The release of 1.1.0 is real (its tag came with the commit it tags); nothing is
    // reported as made at the boundary, which added 1.1.0 to a pipeline the clone cannot see.
    assert_eq!(
        moves,
        [("promoted", "1.0.0", "1.1.0"), ("created", "none", "1.1.0")],
        "{found:#?}"
    );
    let tested: Vec<&Value> = found.iter().filter(|e| e["event"] == "tested").collect();
    assert_eq!(tested.len(), 1, "{found:#?}");
    out.stderr_has(&["shallow clone", "git fetch --unshallow"]);
    // The fix the warning names gives the whole trail back.
    assert_eq!(
        repo.git_in(&clone, &["fetch", "-q", "--unshallow", "--tags"])
            .code,
        0
    );
    let out = repo.run_in(&clone, &["history", "x", "--format", "json"]);
    assert_eq!(out.stderr, "");
    assert_eq!(
        events(&out).len(),
        events(&repo.run(&["history", "x", "--format", "json"])).len()
    );
}

#[test]
fn an_unknown_environment_in_history_is_refused_with_did_you_mean() {
    let repo = moved_then_edited();
    repo.run(&["history", "--env", "prod"])
        .refused()
        .stderr_has(&[
            "unknown environment `prod`",
            "hint: did you mean `production`?",
            "dev, staging, production",
        ]);
    repo.run(&["history", "x", "--env", "qa", "--format", "json"])
        .refused()
        .stderr_has(&[
            "unknown environment `qa`",
            "the pipeline is: dev, staging, production",
        ]);
    // A known environment with no moves in the window is not an error.
    let out = repo.run(&["history", "x", "--env", "staging", "--since", "2999-01-01"]);
    out.ok();
    // The same hint everywhere an environment is named.
    repo.run(&["list", "--env", "stagng"])
        .refused()
        .stderr_has(&["unknown environment `stagng`", "did you mean `staging`?"]);
    repo.run(&["fetch", "x@prodution"])
        .refused()
        .stderr_has(&["did you mean `production`?"]);
}

#[test]
fn an_unknown_domain_in_list_is_refused_listing_the_domains() {
    let repo = promoted_through_pipeline("support/refund-agent", "1.0.0", "r");
    repo.release("marketing/copy", "1.0.0", "m");
    repo.release("plain", "1.0.0", "p");
    repo.run(&["list", "--domain", "supprt"])
        .refused()
        .stderr_has(&[
            "unknown domain `supprt`",
            "hint: the domains are: marketing, support",
        ]);
    repo.run(&["list", "--domain", "supprt", "--format", "json"])
        .refused();
    let out = repo.run(&["list", "--domain", "support", "--format", "json"]);
    out.ok();
    assert_eq!(out.json().as_array().map(Vec::len), Some(1));
    // A known domain with nothing in the environment is an empty answer, not an error.
    let out = repo.run(&["list", "--domain", "marketing", "--env", "production"]);
    out.ok();
    assert_eq!(out.stdout, "");

    let flat = promoted_through_pipeline("summarize", "1.0.0", "s");
    flat.run(&["list", "--domain", "support"])
        .refused()
        .stderr_has(&["unknown domain `support`", "no prompt has a domain yet"]);
}

#[test]
fn list_shows_prompts_with_files_but_no_release() {
    let repo = promoted_through_pipeline("summarize", "1.0.0", "s");
    repo.write_prompt("drafts/new", "Draft.");
    let out = repo.run(&["list"]);
    out.ok();
    let row = out
        .stdout
        .lines()
        .find(|l| l.contains("drafts/new"))
        .unwrap_or_else(|| panic!("drafts/new is not listed:\n{}", out.stdout));
    let cells: Vec<&str> = row.split_whitespace().collect();
    assert_eq!(
        cells,
        [
            "drafts/new",
            "-",
            "-",
            "-",
            "-",
            "(unreleased)",
            "The",
            "drafts/new",
            "prompt"
        ]
    );
    let rows = repo.run(&["list", "--format", "json"]).json();
    assert_eq!(
        rows[0],
        json!({
            "name": "drafts/new",
            "domain": "drafts",
            "latest": null,
            "versions": 0,
            "environments": {"dev": null, "staging": null, "production": null},
            "summary": "The drafts/new prompt",
            "status": "unreleased",
            "splits": {}
        })
    );
    assert_eq!(rows[1]["status"], "released");
    // Its domain is a domain; an environment filter leaves it out (it is in none).
    let out = repo.run(&["list", "--domain", "drafts", "--format", "json"]);
    out.ok();
    assert_eq!(out.json().as_array().map(Vec::len), Some(1));
    let out = repo.run(&["list", "--env", "dev", "--format", "json"]);
    assert_eq!(out.json().as_array().map(Vec::len), Some(1));
    // A file that does not parse is still a prompt being written: listed, without a summary.
    repo.write("prompts/drafts/broken/prompt.yaml", "summary: [unclosed\n");
    let rows = repo.run(&["list", "--format", "json"]).json();
    assert_eq!(rows[0]["name"], "drafts/broken");
    assert_eq!(rows[0]["summary"], Value::Null);
    assert_eq!(rows[0]["status"], "unreleased");
    // Other files under prompts/ do not make prompts.
    repo.write("prompts/drafts/new/notes.md", "n\n");
    repo.write("prompts/README.md", "r\n");
    let rows = repo.run(&["list", "--format", "json"]).json();
    assert_eq!(rows.as_array().map(Vec::len), Some(3), "{rows:#}");
}

#[test]
fn list_at_a_revision_reads_that_revisions_files_not_the_working_tree() {
    let repo = promoted_through_pipeline("summarize", "1.0.0", "s");
    repo.write_prompt("drafts/new", "Draft.");
    let names = |args: &[&str]| -> Vec<String> {
        let mut full = vec!["list", "--format", "json"];
        full.extend_from_slice(args);
        let out = repo.run(&full);
        out.ok();
        out.json()
            .as_array()
            .expect("array")
            .iter()
            .map(|r| r["name"].as_str().expect("name").to_owned())
            .collect()
    };
    assert_eq!(names(&[]), ["drafts/new", "summarize"]);
    assert_eq!(names(&["--ref", "HEAD"]), ["summarize"]);
    repo.git(&["add", "prompts/drafts/new"]);
    repo.git(&["commit", "-q", "-m", "Draft a prompt"]);
    std::fs::remove_dir_all(repo.path("prompts/drafts")).expect("remove the draft");
    assert_eq!(names(&[]), ["summarize"]);
    let at_head = repo
        .run(&["--ref", "HEAD", "list", "--format", "json"])
        .json();
    assert_eq!(at_head[0]["name"], "drafts/new");
    assert_eq!(at_head[0]["summary"], "The drafts/new prompt");
    assert_eq!(at_head[0]["status"], "unreleased");
    assert_eq!(names(&["--ref", "HEAD~1"]), ["summarize"]);
    // Committed content, not the working tree's: an edit since is not what HEAD has.
    repo.write(
        "prompts/drafts/new/prompt.yaml",
        &prompt_yaml("other", "Changed."),
    );
    let at_head = repo
        .run(&["--ref", "HEAD", "list", "--format", "json"])
        .json();
    assert_eq!(at_head[0]["summary"], "The drafts/new prompt");
}

#[test]
fn the_http_api_answers_the_same_errors() {
    use crate::serve::{get, Server};
    let repo = moved_then_edited();
    let server = Server::start(&repo, &[]);
    let unknown = get(&server.url("/api/prompts/x/history?environment=prod"));
    assert_eq!(unknown.status, 404, "{}", unknown.body);
    assert_eq!(unknown.json()["error"], "unknown-environment");
    let known = get(&server.url("/api/prompts/x/history?environment=staging"));
    assert_eq!(known.status, 200, "{}", known.body);
    drop(server);

    let clone = clone(&repo, &["--no-tags"], "no-tags");
    let server = Server::start(&repo, &["--repo", clone.to_str().expect("utf-8 path")]);
    let missing = get(&server.url("/api/prompts/x/latest?environment=dev"));
    assert_eq!(missing.status, 503, "{}", missing.body);
    assert_eq!(missing.json()["error"], "tag-missing");
}

/// Who last moved a version, read in a shallow clone whose boundary cuts the walk short, is not
/// kept: once the clone is deepened, the same commit gives the real answer.
#[test]
fn updated_by_cut_short_at_a_shallow_boundary_is_not_cached() {
    let repo = moved_then_edited();
    let clone = clone(&repo, &["--depth", "2"], "shallow");
    let fetched = repo.git_in(
        &clone,
        &[
            "fetch",
            "-q",
            "--depth",
            "1",
            "origin",
            "refs/tags/x/v1.0.0:refs/tags/x/v1.0.0",
        ],
    );
    assert_eq!(fetched.code, 0, "{}", fetched.stderr);
    let updated_by = |dir: &std::path::Path| {
        let out = repo.run_in(dir, &["fetch", "x@1.0.0", "--format", "json"]);
        out.ok();
        out.json()["updated_by"].clone()
    };
    assert_eq!(
        updated_by(&clone),
        Value::Null,
        "the move is beyond the boundary"
    );
    let deepened = repo.git_in(&clone, &["fetch", "-q", "--unshallow", "--tags"]);
    assert_eq!(deepened.code, 0, "{}", deepened.stderr);
    let whole = updated_by(&repo.root);
    assert_ne!(whole, Value::Null);
    assert_eq!(updated_by(&clone), whole);
}
