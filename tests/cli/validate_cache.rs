//! `validate`'s caches (`checks-*`: what a prompt directory's checks found, keyed by its files;
//! `holdings-*`: which prompt.yaml a release's tag object holds; `tagpass-*`: what the whole tag
//! side found, keyed by the refs, registry.yaml and the build; `tagrefs-*`: its tags' part, keyed
//! by the refs and the build): a warm run prints exactly what
//! a cold one printed, an edited file, a new tag or a changed index is checked again, and both
//! ways of reading an entry (read whole for many lookups, searched in place for a few) give the
//! same answers.

use std::path::PathBuf;

use crate::support::fixtures::prompt_yaml;
use crate::support::{Output, TestRepo};

/// More prompts and tags than the caches' threshold for reading an entry whole (256).
const MANY: usize = 300;

/// What validate printed and how it ended.
fn outcome(out: &Output) -> (i32, String, String) {
    (out.code, out.stdout.clone(), out.stderr.clone())
}

fn cache_dir(repo: &TestRepo) -> PathBuf {
    repo.path(".git/promptreg/cache")
}

/// The names of the cache entries of `kind`.
fn entries(repo: &TestRepo, kind: &str) -> Vec<String> {
    let Ok(listing) = std::fs::read_dir(cache_dir(repo)) else {
        return Vec::new();
    };
    listing
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .filter(|name| name.starts_with(&format!("{kind}-")))
        .collect()
}

/// A registry with `count` released prompts, and among them every kind of problem validate
/// caches or must never cache: a working-tree file reading an undeclared variable, one with
/// only a warning, a component file, a tag without its prompt, and a served release that does
/// not parse.
fn registry(count: usize) -> TestRepo {
    let repo = TestRepo::init();
    for i in 0..count {
        repo.write(
            &format!("prompts/p{i}/prompt.yaml"),
            &prompt_yaml(
                &format!("p{i}"),
                &format!("Prompt {i} greets {{{{ user_name }}}}."),
            ),
        );
    }
    repo.write(
        "prompts/parts/prompt.yaml",
        "summary: s\nmodel: gpt-4o\nsystem_prompt_file: system.md\nvariables:\n  user_name: {}\n",
    );
    repo.write("prompts/parts/system.md", "Hello {{ user_name }}.\n");
    repo.git(&["add", "-A"]);
    repo.git(&["commit", "-q", "-m", "prompts"]);
    for i in 0..count {
        repo.git(&["tag", "-a", &format!("p{i}/v1.0.0"), "-m", "release"]);
    }
    repo.git(&["tag", "-a", "parts/v1.0.0", "-m", "release"]);
    repo.git(&["tag", "-a", "ghost/v1.0.0", "-m", "no such prompt here"]);
    // p1's latest release does not parse; the working tree holds the good file again.
    let good = repo.read("prompts/p1/prompt.yaml");
    repo.commit_by_hand("prompts/p1/prompt.yaml", "system_prompt: [unclosed\n", "p1");
    repo.git(&["tag", "-a", "p1/v2.0.0", "-m", "broken"]);
    repo.commit_by_hand("prompts/p1/prompt.yaml", &good, "p1 back");
    // Problems only in the working tree.
    repo.write(
        "prompts/p2/prompt.yaml",
        "summary: s\nmodel: gpt-4o\nsystem_prompt: |\n  Hello {{ user_name }}.\n  Be {{ tone }}.\nvariables:\n  user_name: {}\n",
    );
    repo.write(
        "prompts/p3/prompt.yaml",
        "summary: s\nmodel: gpt-4o\nsystem_prompt: Hello {{ user_name }}\nvariables:\n  user_name: {}\n  locale: {}\n",
    );
    repo
}

/// Runs validate in every output form, whole and for a few paths.
fn runs(repo: &TestRepo) -> Vec<(i32, String, String)> {
    let few = [
        "validate",
        "prompts/p1/prompt.yaml",
        "prompts/p2/prompt.yaml",
        "prompts/parts/system.md",
    ];
    [
        &["validate"][..],
        &["validate", "--format", "json"],
        &["validate", "--strict"],
        &few,
        &["validate", "--staged", "--format", "json"],
    ]
    .iter()
    .map(|args| outcome(&repo.run(args)))
    .collect()
}

#[test]
fn a_warm_run_prints_what_a_cold_one_printed() {
    for count in [3, MANY] {
        let repo = registry(count);
        let cold = runs(&repo);
        // The findings are really there (so that equal outputs mean something).
        let json: serde_json::Value = serde_json::from_str(&cold[1].1).expect("json");
        let codes: Vec<&str> = json
            .as_array()
            .expect("array")
            .iter()
            .map(|f| f["code"].as_str().expect("code"))
            .collect();
        for code in [
            "undeclared-variable",
            "unused-variable",
            "tag-without-prompt",
            "tag-invalid-prompt",
        ] {
            assert!(codes.contains(&code), "{count}: no {code} in {codes:?}");
        }
        assert_eq!(entries(&repo, "checks").len(), 1, "{count}");
        assert_eq!(entries(&repo, "holdings").len(), 1, "{count}");
        // The whole runs share one tag pass (the staged one reads the same registry.yaml), and
        // its tags' part.
        assert_eq!(entries(&repo, "tagpass").len(), 1, "{count}");
        assert_eq!(entries(&repo, "tagrefs").len(), 1, "{count}");
        assert_eq!(runs(&repo), cold, "{count}: warm");
        std::fs::remove_dir_all(cache_dir(&repo)).expect("remove cache");
        assert_eq!(runs(&repo), cold, "{count}: cold again");
    }
}

#[test]
fn an_edited_file_is_checked_again() {
    let repo = registry(3);
    let only = |out: &Output| -> Vec<String> {
        out.json()
            .as_array()
            .expect("array")
            .iter()
            .filter(|f| {
                f["file"]
                    .as_str()
                    .is_some_and(|p| p.starts_with("prompts/parts/"))
            })
            .map(|f| f["code"].as_str().expect("code").to_owned())
            .collect()
    };
    let check = || repo.run(&["validate", "--format", "json"]);
    assert_eq!(only(&check()), Vec::<String>::new());
    assert_eq!(only(&check()), Vec::<String>::new(), "warm");
    // The component, not prompt.yaml, changes: the directory's key must change with it.
    repo.write(
        "prompts/parts/system.md",
        "Hello {{ user_name }}, in {{ city }}.\n",
    );
    assert_eq!(only(&check()), ["undeclared-variable"]);
    // The index still holds the old file: --staged reads that, and finds nothing.
    let staged = repo.run(&["validate", "--staged", "--format", "json"]);
    assert_eq!(only(&staged), Vec::<String>::new());
    repo.git(&["add", "prompts/parts/system.md"]);
    let staged = repo.run(&["validate", "--staged", "--format", "json"]);
    assert_eq!(only(&staged), ["undeclared-variable"]);
    // A new file in the directory is part of its key too.
    repo.write("prompts/parts/system.md", "Hello {{ user_name }}.\n");
    assert_eq!(only(&check()), Vec::<String>::new());
    repo.write("prompts/parts/nested/prompt.yaml", "system_prompt: hi\n");
    assert!(only(&check()).contains(&"nested-prompt".to_owned()));
}

#[test]
fn a_damaged_cache_changes_no_output() {
    let repo = registry(MANY);
    let cold = runs(&repo);
    for kind in ["checks", "holdings", "tagpass", "tagrefs"] {
        for name in entries(&repo, kind) {
            let path = cache_dir(&repo).join(&name);
            let text = std::fs::read_to_string(&path).expect("entry");
            // Cut short (no end line), then lines swapped out of order, then garbage values.
            let lines: Vec<&str> = text.lines().collect();
            let mut swapped = lines.clone();
            swapped.swap(1, lines.len() - 2);
            let garbage: Vec<String> = lines
                .iter()
                .map(|line| match line.split_once(' ') {
                    Some((key, _)) if key.len() == 40 => format!("{key} {{\"findings\":7}}"),
                    _ => (*line).to_owned(),
                })
                .collect();
            for damaged in [
                text[..text.len() / 2].to_owned(),
                swapped.join("\n") + "\n",
                garbage.join("\n") + "\n",
            ] {
                std::fs::write(&path, &damaged).expect("damage");
                assert_eq!(runs(&repo), cold, "{kind}");
            }
        }
    }
}

#[test]
fn a_few_paths_read_an_entry_that_many_wrote() {
    let repo = registry(MANY);
    let few = |repo: &TestRepo| {
        outcome(&repo.run(&[
            "validate",
            "--format",
            "json",
            "prompts/p1/prompt.yaml",
            "prompts/p2/prompt.yaml",
            "prompts/p7/prompt.yaml",
        ]))
    };
    let cold = few(&repo);
    assert_eq!(cold.0, 1, "{cold:?}");
    // The whole run writes entries with hundreds of lines; the few-path run searches them.
    outcome(&repo.run(&["validate"]));
    assert_eq!(few(&repo), cold);
    let holdings = cache_dir(&repo).join(&entries(&repo, "holdings")[0]);
    let lines = std::fs::read_to_string(holdings)
        .expect("entry")
        .lines()
        .count();
    assert!(lines > MANY, "{lines} lines");
}

/// Writes `text` to `path` in `repo` and dates its mtime `when` (its ctime stays now).
fn write_dated(repo: &TestRepo, path: &str, text: &str, when: std::time::SystemTime) {
    repo.write(path, text);
    std::fs::File::options()
        .write(true)
        .open(repo.path(path))
        .and_then(|file| file.set_modified(when))
        .expect("set mtime");
}

/// The codes validate reports for `file`.
fn codes_of(repo: &TestRepo, file: &str) -> Vec<String> {
    let out = repo.run(&["validate", "--format", "json"]);
    out.json()
        .as_array()
        .expect("array")
        .iter()
        .filter(|f| f["file"] == file)
        .map(|f| f["code"].as_str().expect("code").to_owned())
        .collect()
}

const GOOD: &str =
    "summary: s\nmodel: gpt-4o\nsystem_prompt: Hello {{ user_name }}.\nvariables:\n  user_name: {}\n";

/// Commits [`GOOD`] at `file`, dated a minute ago so that the index written after it vouches
/// for it (not racily clean), and checks it cold and warm; the date.
fn commit_good(repo: &TestRepo, file: &str) -> std::time::SystemTime {
    let past = std::time::SystemTime::now() - std::time::Duration::from_secs(60);
    write_dated(repo, file, GOOD, past);
    repo.git(&["add", "-A"]);
    repo.git(&["commit", "-q", "-m", "a"]);
    assert_eq!(codes_of(repo, file), Vec::<String>::new());
    assert_eq!(codes_of(repo, file), Vec::<String>::new(), "warm");
    past
}

/// A file whose index record matches is keyed by that record, not read; the record's stat data
/// is part of the key, because git's clean filters can give two different files one blob.
#[test]
fn a_file_the_index_vouches_for_is_keyed_by_its_record_and_stat() {
    let repo = TestRepo::init();
    let file = "prompts/a/prompt.yaml";
    // A clean filter that upper-cases: `user_name` and `USER_NAME` make the same blob.
    repo.git(&["config", "filter.up.clean", "tr a-z A-Z"]);
    repo.write(".gitattributes", "prompts/a/prompt.yaml filter=up\n");
    let past = commit_good(&repo, file);
    let blob = repo.git(&["rev-parse", &format!(":{file}")]);
    // The same length, another variable; added, so the index matches the file again.
    let bad = GOOD.replacen("{{ user_name }}", "{{ USER_NAME }}", 1);
    write_dated(&repo, file, &bad, past);
    // Removed and added again: git records the new stat data even within the second (`git
    // add` alone may take the file for unchanged, and keep the old record).
    repo.git(&["rm", "-q", "--cached", file]);
    repo.git(&["add", file]);
    assert_eq!(
        repo.git(&["rev-parse", &format!(":{file}")]),
        blob,
        "the filter makes both files one blob"
    );
    let codes = codes_of(&repo, file);
    assert!(
        codes.contains(&"undeclared-variable".to_owned()),
        "{codes:?}"
    );
    assert_eq!(codes_of(&repo, file), codes, "warm");
}

/// A file rewritten in place with its size and mtime put back differs from its index record
/// in its ctime, which nothing but the clock sets: it is read and checked again.
#[test]
fn a_file_rewritten_with_its_old_mtime_is_checked_again() {
    let repo = TestRepo::init();
    let file = "prompts/a/prompt.yaml";
    let past = commit_good(&repo, file);
    let bad = GOOD.replacen("{{ user_name }}", "{{ user_nome }}", 1);
    write_dated(&repo, file, &bad, past);
    let meta = std::fs::metadata(repo.path(file)).expect("stat");
    assert_eq!(meta.len(), GOOD.len() as u64);
    assert_eq!(meta.modified().expect("mtime"), past);
    let codes = codes_of(&repo, file);
    assert!(
        codes.contains(&"undeclared-variable".to_owned()),
        "{codes:?}"
    );
}

/// An index that cannot be read vouches for nothing: every file is read and hashed, and the
/// findings are what they were.
#[test]
fn an_unreadable_index_changes_no_finding() {
    let repo = TestRepo::init();
    let file = "prompts/a/prompt.yaml";
    let past = commit_good(&repo, file);
    let before = outcome(&repo.run(&["validate"]));
    std::fs::write(repo.path(".git/index"), b"DIRC not an index").expect("damage the index");
    assert_eq!(outcome(&repo.run(&["validate"])), before);
    let bad = GOOD.replacen("{{ user_name }}", "{{ user_nome }}", 1);
    write_dated(&repo, file, &bad, past);
    let codes = codes_of(&repo, file);
    assert!(
        codes.contains(&"undeclared-variable".to_owned()),
        "{codes:?}"
    );
}

/// The codes a whole `validate` reports, sorted.
fn whole_codes(repo: &TestRepo) -> Vec<String> {
    let out = repo.run(&["validate", "--format", "json"]);
    let mut codes: Vec<String> = out
        .json()
        .as_array()
        .expect("array")
        .iter()
        .map(|f| f["code"].as_str().expect("code").to_owned())
        .collect();
    codes.sort();
    codes
}

#[test]
fn the_tag_pass_is_made_again_for_other_tags_or_another_index() {
    let repo = registry(3);
    let cold = whole_codes(&repo);
    assert!(cold.contains(&"tag-invalid-prompt".to_owned()), "{cold:?}");
    assert_eq!(entries(&repo, "tagpass").len(), 1);
    assert_eq!(whole_codes(&repo), cold, "warm");
    // A new tag, loose: a lightweight one is reported, then gone again once deleted.
    repo.git(&["tag", "p0/v3.0.0"]);
    assert!(whole_codes(&repo).contains(&"lightweight-tag".to_owned()));
    repo.git(&["tag", "-d", "p0/v3.0.0"]);
    assert_eq!(whole_codes(&repo), cold);
    // The same refs packed: other bytes, the same findings.
    repo.git(&["pack-refs", "--all"]);
    assert_eq!(whole_codes(&repo), cold, "packed");
    // A tag moved in packed-refs alone: p1's latest, which does not parse, now names the
    // tag object (and the commit) of its good first release.
    let packed = repo.read(".git/packed-refs");
    let record = |tag: &str| -> String {
        let mut lines = packed.lines();
        let line = lines
            .find(|l| l.ends_with(&format!(" refs/tags/{tag}")))
            .expect("packed tag");
        let peeled = lines.next().expect("peeled line");
        assert!(peeled.starts_with('^'), "{peeled}");
        format!("{line}\n{peeled}\n")
    };
    let (good, broken) = (record("p1/v1.0.0"), record("p1/v2.0.0"));
    let moved = good.replace("refs/tags/p1/v1.0.0", "refs/tags/p1/v2.0.0");
    repo.write(".git/packed-refs", &packed.replacen(&broken, &moved, 1));
    let codes = whole_codes(&repo);
    assert!(
        !codes.contains(&"tag-invalid-prompt".to_owned()),
        "a moved tag must be checked again: {codes:?}"
    );
    repo.write(".git/packed-refs", &packed);
    assert_eq!(whole_codes(&repo), cold);
    // registry.yaml pointing at a version that was never released.
    let index = repo.read("registry.yaml");
    assert!(!cold.contains(&"dangling-pointer".to_owned()), "{cold:?}");
    let dangling = index.replace("prompts: {}", "prompts:\n  p0:\n    dev: 9.9.9\n");
    assert_ne!(dangling, index);
    repo.write("registry.yaml", &dangling);
    // The tags' part is read, not made again: a write would rename a new file into place.
    let inodes = || -> Vec<u64> {
        use std::os::unix::fs::MetadataExt;
        entries(&repo, "tagrefs")
            .iter()
            .map(|name| {
                std::fs::metadata(cache_dir(&repo).join(name))
                    .expect("entry")
                    .ino()
            })
            .collect()
    };
    let before = inodes();
    assert!(whole_codes(&repo).contains(&"dangling-pointer".to_owned()));
    assert_eq!(inodes(), before, "the tags' part was taken as cached");
    // What that run printed, with the tags' part from the cache, is what a cold run prints.
    let whole = |repo: &TestRepo| {
        [&["validate"][..], &["validate", "--format", "json"]]
            .iter()
            .map(|args| outcome(&repo.run(args)))
            .collect::<Vec<_>>()
    };
    repo.write(
        "registry.yaml",
        &index.replace(
            "prompts: {}",
            "prompts:\n  p1:\n    dev: 1.0.0\n    staging: 2.0.0\n  p2:\n    dev: 3.0.0\n",
        ),
    );
    let warm = whole(&repo);
    assert!(warm[1].1.contains("dangling-pointer"), "{}", warm[1].1);
    std::fs::remove_dir_all(cache_dir(&repo)).expect("remove cache");
    assert_eq!(whole(&repo), warm, "cold");
    repo.write("registry.yaml", &index);
    assert_eq!(whole_codes(&repo), cold);
}

#[test]
fn a_pass_that_rests_on_a_missing_object_is_not_cached() {
    let repo = registry(3);
    let cold = whole_codes(&repo);
    let before = entries(&repo, "tagpass");
    let tags_before = entries(&repo, "tagrefs");
    let unwritten = || {
        assert_eq!(entries(&repo, "tagpass"), before, "nothing cached");
        assert_eq!(
            entries(&repo, "tagrefs"),
            tags_before,
            "no tags' part cached"
        );
    };
    // A tag naming an object this clone does not have (as a shallow or partial fetch leaves).
    let missing = "1234567890123456789012345678901234567890";
    repo.write(".git/refs/tags/p0/v4.0.0", &format!("{missing}\n"));
    let codes = whole_codes(&repo);
    assert!(codes.contains(&"bad-tag".to_owned()), "{codes:?}");
    assert_eq!(whole_codes(&repo), codes, "the same again");
    unwritten();
    std::fs::remove_file(repo.path(".git/refs/tags/p0/v4.0.0")).expect("remove");
    assert_eq!(whole_codes(&repo), cold);
    // A tag object whose commit this clone does not have.
    let tag = format!(
        "object {missing}\ntype commit\ntag p0/v5.0.0\ntagger T <t@example.com> 1700000000 +0000\n\nrelease\n"
    );
    let object = repo.tmp().join("tag-object");
    std::fs::write(&object, tag).expect("write");
    let id = repo.git(&[
        "hash-object",
        "-t",
        "tag",
        "-w",
        "--literally",
        &object.to_string_lossy(),
    ]);
    repo.write(".git/refs/tags/p0/v5.0.0", &id);
    let codes = whole_codes(&repo);
    assert!(codes.contains(&"bad-tag".to_owned()), "{codes:?}");
    assert_eq!(whole_codes(&repo), codes, "the same again");
    unwritten();
}
