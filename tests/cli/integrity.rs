//! Version tags made outside promptreg, and the immutability of released content: what is a
//! release, what is ignored, and what is refused (naming the offending tag).

use serde_json::Value;

use crate::support::{prompt_file, released_prompt, TestRepo};

#[track_caller]
fn json_of(repo: &TestRepo, args: &[&str]) -> Value {
    let out = repo.run(args);
    out.ok();
    out.json()
}

/// The names and rows of `list --format json`.
#[track_caller]
fn list_rows(repo: &TestRepo) -> Vec<Value> {
    let out = repo.run(&["list", "--format", "json"]);
    out.ok();
    assert_eq!(out.stderr, "", "list complained");
    out.json().as_array().expect("array").clone()
}

fn row<'a>(rows: &'a [Value], name: &str) -> Option<&'a Value> {
    rows.iter().find(|r| r["name"] == name)
}

/// x 1.0.0 released and in dev.
fn released() -> TestRepo {
    let repo = released_prompt("x", "1.0.0", "One.");
    repo.promote("x", "1.0.0", "dev");
    repo
}

#[test]
fn a_lightweight_version_tag_is_not_a_release() {
    let repo = released();
    repo.git(&["tag", "x/v2.0.0"]);
    for format in ["json", "yaml", "text"] {
        repo.run(&["fetch", "x@2.0.0", "--format", format])
            .refused()
            .stderr_has(&["x/v2.0.0", "lightweight", "annotated"]);
    }
    // The real release is still served.
    let record = json_of(&repo, &["fetch", "x@dev", "--format", "json"]);
    assert_eq!(record["version"], "1.0.0");
    assert_eq!(record["system_prompt"], "One.\n");
    // A lightweight tag is not a version: `versions` and `@latest` leave it out.
    let versions = json_of(&repo, &["versions", "x", "--format", "json"]);
    let listed: Vec<&str> = versions
        .as_array()
        .expect("array")
        .iter()
        .map(|v| v["version"].as_str().unwrap())
        .collect();
    assert_eq!(listed, ["1.0.0"]);
    let latest = json_of(&repo, &["fetch", "x@latest", "--format", "json"]);
    assert_eq!(latest["version"], "1.0.0");
}

#[test]
fn a_lightweight_version_tag_does_not_hide_or_replace_real_releases_in_list() {
    let repo = TestRepo::init();
    repo.release("x", "1.0.0", "One.");
    repo.git(&["tag", "x/v2.0.0"]);
    for promoted in [false, true] {
        if promoted {
            repo.promote("x", "1.0.0", "dev");
        }
        let rows = list_rows(&repo);
        let x = row(&rows, "x").unwrap_or_else(|| panic!("x is not listed: {rows:?}"));
        assert_eq!(x["latest"], "1.0.0", "promoted: {promoted}");
        assert_eq!(x["versions"], 1, "promoted: {promoted}");
        assert_eq!(x["summary"], "The x prompt", "promoted: {promoted}");
    }
}

#[test]
fn a_release_tag_on_a_commit_without_the_prompt_is_refused_by_fetch_only() {
    let repo = released();
    // The commit `init` made: a registry and an empty prompts/.
    let root = repo.git(&["rev-list", "--max-parents=0", "HEAD"]);
    repo.git(&["tag", "-a", "x/v3.0.0", "-m", "no prompt here", root.trim()]);
    // A commit with nothing at all in it.
    let empty_tree = repo.git(&["mktree"]);
    let empty = repo.git(&["commit-tree", empty_tree.trim(), "-m", "empty"]);
    repo.git(&["tag", "-a", "x/v4.0.0", "-m", "nothing here", empty.trim()]);
    for tag in ["x/v3.0.0", "x/v4.0.0"] {
        let selector = tag.replace("/v", "@");
        for format in ["json", "text"] {
            repo.run(&["fetch", &selector, "--format", format])
                .refused()
                .stderr_has(&[tag, "prompts/x"]);
        }
    }
    let record = json_of(&repo, &["fetch", "x@dev", "--format", "json"]);
    assert_eq!(record["version"], "1.0.0");
    let rows = list_rows(&repo);
    let x = row(&rows, "x").unwrap_or_else(|| panic!("x is not listed: {rows:?}"));
    assert_eq!(
        x["environments"],
        serde_json::json!({"dev": "1.0.0", "staging": null, "production": null})
    );
    let table = repo.run(&["list"]);
    table.ok();
    assert!(table.stdout.contains("1.0.0"), "{}", table.stdout);
}

#[test]
fn tags_that_are_not_canonical_versions_are_ignored() {
    let repo = TestRepo::init();
    repo.release("x", "1.0.0", "One.");
    // Well-formed annotated tags on a commit that holds the prompt, and lightweight ones too;
    // only the spelling of the version is wrong. `y` has nothing but such tags.
    for tag in [
        "x/v01.0.0",
        "x/v1.0",
        "x/latest",
        "x/1.0.1",
        "x/v1.0.1+build",
    ] {
        repo.git(&["tag", "-a", tag, "-m", "not a version"]);
    }
    for tag in ["x/v1.1", "y/v1.0", "y/latest", "y/v02.0.0"] {
        repo.git(&["tag", tag]);
    }

    let out = repo.run(&["versions", "x", "--format", "json"]);
    out.ok();
    assert_eq!(out.stderr, "");
    let versions: Vec<Value> = out.json().as_array().expect("array").clone();
    let shown: Vec<&str> = versions
        .iter()
        .map(|v| v["version"].as_str().expect("version"))
        .collect();
    assert_eq!(shown, ["1.0.0"]);
    assert_eq!(versions[0]["tag"], "x/v1.0.0");
    let table = repo.run(&["versions", "x"]);
    table.ok();
    assert_eq!(table.stdout.lines().count(), 2, "{}", table.stdout);
    for needle in ["01.0.0", "latest", "1.0.1", "build"] {
        assert!(!table.stdout.contains(needle), "{needle}: {}", table.stdout);
    }

    let rows = list_rows(&repo);
    let names: Vec<&str> = rows
        .iter()
        .map(|r| r["name"].as_str().expect("name"))
        .collect();
    assert_eq!(names, ["x"]);
    assert_eq!(rows[0]["latest"], "1.0.0");
    assert_eq!(rows[0]["versions"], 1);
    let table = repo.run(&["list"]);
    table.ok();
    assert_eq!(table.stdout.lines().count(), 2, "{}", table.stdout);

    let record = json_of(&repo, &["fetch", "x@latest", "--format", "json"]);
    assert_eq!(record["version"], "1.0.0");
    repo.run(&["versions", "y"]).refused().stderr_has(&["y"]);
}

#[test]
fn released_content_ignores_later_edits_of_its_components() {
    let repo = TestRepo::init();
    repo.write(
        &prompt_file("x"),
        "summary: Components\nsystem_prompt_file: system.md\nexamples_file: examples.yaml\n",
    );
    repo.write("prompts/x/system.md", "Released words.\n");
    repo.write("prompts/x/examples.yaml", "- {input: a, output: b}\n");
    repo.run(&["create", "x", "--version", "1.0.0", "-m", "first"])
        .ok();
    let json = |repo: &TestRepo| {
        let out = repo.run(&["fetch", "x@1.0.0", "--format", "json"]);
        out.ok();
        out.stdout.clone()
    };
    let released = json(&repo);
    let record: Value = serde_json::from_str(&released).expect("json");
    assert_eq!(record["system_prompt"], "Released words.\n");
    assert_eq!(
        record["examples"],
        serde_json::json!([{"input": "a", "output": "b"}])
    );

    // Edited in the working tree only.
    repo.write("prompts/x/system.md", "Edited words.\n");
    repo.write("prompts/x/examples.yaml", "- {input: c, output: d}\n");
    assert_eq!(json(&repo), released);
    // Edited and committed, but not released.
    repo.git(&["commit", "-q", "-am", "edit components"]);
    assert_eq!(json(&repo), released);
    // Read from the release itself rather than from the cache.
    std::fs::remove_dir_all(repo.path(".git/promptreg/cache")).expect("remove cache");
    assert_eq!(json(&repo), released);
    let text = repo.run(&["fetch", "x@1.0.0", "--format", "text"]);
    text.ok();
    assert_eq!(text.stdout, "Released words.\n");

    // Releasing the edits makes a new version; the old one stays as it was.
    repo.run(&["create", "x", "--version", "1.1.0", "-m", "second"])
        .ok();
    let newer = json_of(&repo, &["fetch", "x@1.1.0", "--format", "json"]);
    assert_eq!(newer["system_prompt"], "Edited words.\n");
    assert_eq!(
        newer["examples"],
        serde_json::json!([{"input": "c", "output": "d"}])
    );
    assert_eq!(json(&repo), released);
}
