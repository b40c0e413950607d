//! Issue 12, output and errors: tables never break identifiers at any width (driven in a
//! pseudo-terminal), one colour rule, every error ends with a `hint:`, and the hints are right.

use std::process::Command;

use crate::support::{Output, TestRepo};

const NAME: &str = "marketing/product-description";
const SUMMARY: &str = "Writes a short e-commerce product description in a chosen tone, for the \
                       catalogue team";
const EMAIL: &str = "maintainers@users.noreply.registry-seed-afccabd9.example";

/// A registry whose identifiers are long: a nested name, a long e-mail, a long summary and
/// description, versions promoted and tested.
fn fixture() -> TestRepo {
    let repo = TestRepo::init();
    repo.write(
        &format!("prompts/{NAME}/prompt.yaml"),
        &format!("summary: {SUMMARY}\nmodel: gpt-4o\nsystem_prompt: Write it.\n"),
    );
    let run = |args: &[&str]| {
        repo.run_with(
            args,
            &[("GIT_AUTHOR_EMAIL", EMAIL), ("GIT_COMMITTER_EMAIL", EMAIL)],
            &[],
        )
        .ok();
    };
    run(&[
        "create",
        NAME,
        "--version",
        "1.0.0-rc.1",
        "-m",
        "Draft product-description writer for review by the catalogue team",
    ]);
    run(&[
        "promote",
        NAME,
        "1.0.0-rc.1",
        "--to",
        "dev",
        "--reason",
        "first look at the draft by the whole catalogue team before the launch",
    ]);
    run(&[
        "results",
        "record",
        &format!("{NAME}@dev"),
        "--test",
        "golden-set",
        "--passed",
        "29",
        "--failed",
        "1",
    ]);
    repo
}

/// The identifiers of [`fixture`] a table may show: none may be broken across lines.
fn identifiers(repo: &TestRepo) -> Vec<String> {
    let mut ids = vec![
        NAME.to_owned(),
        "1.0.0-rc.1".to_owned(),
        EMAIL.to_owned(),
        "2026-01-01 00:00".to_owned(),
        "golden-set".to_owned(),
        "96.7%".to_owned(),
    ];
    let log = repo.git(&["log", "--format=%H"]);
    ids.extend(log.lines().map(|id| id[..10].to_owned()));
    ids
}

/// The table commands, each with the identifiers it shows.
const TABLES: &[&[&str]] = &[
    &["list"],
    &["versions", NAME],
    &["history"],
    &["history", NAME],
    &["results", "show", NAME],
];

fn shell_quote(arg: &str) -> String {
    format!("'{}'", arg.replace('\'', r"'\''"))
}

/// Runs promptreg in a pseudo-terminal of `cols` columns (util-linux `script`), in the
/// hermetic environment with NO_COLOR and COLUMNS as given; stdout is the terminal's output
/// with `\r` removed.
fn in_pty(repo: &TestRepo, cols: u16, args: &[&str], env: &[(&str, &str)]) -> Output {
    let script = which("script").expect("util-linux `script` is needed to test in a terminal");
    let mut line = format!(
        "stty cols {cols} rows 50 && exec {}",
        shell_quote(env!("CARGO_BIN_EXE_promptreg"))
    );
    for arg in args {
        line.push(' ');
        line.push_str(&shell_quote(arg));
    }
    let mut command = Command::new(script);
    crate::support::hermetic::apply(&mut command, &repo.home).current_dir(&repo.root);
    command.env_remove("NO_COLOR");
    for (key, value) in env {
        command.env(key, value);
    }
    command.args(["-qec", &line, "/dev/null"]);
    let mut out = Output::of(&mut command);
    out.stdout = out.stdout.replace('\r', "");
    out
}

fn which(program: &str) -> Option<std::path::PathBuf> {
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|dir| dir.join(program))
        .find(|path| path.is_file())
}

/// `text` without ANSI escape sequences.
fn plain(text: &str) -> String {
    let mut out = String::new();
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\x1b' && chars.peek() == Some(&'[') {
            for c in chars.by_ref() {
                if c.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

#[track_caller]
fn assert_whole(stdout: &str, ids: &[String], what: &str) {
    let text = plain(stdout);
    for id in ids {
        let anywhere = text.replace(['\n', ' '], "").contains(&id.replace(' ', ""));
        let whole = text.lines().any(|line| line.contains(id.as_str()));
        assert!(
            !anywhere || whole,
            "{what}: `{id}` is broken across lines:\n{text}"
        );
    }
}

#[test]
fn tables_in_a_terminal_never_break_identifiers() {
    let repo = fixture();
    let ids = identifiers(&repo);
    for cols in [60, 80, 120] {
        for args in TABLES {
            let out = in_pty(&repo, cols, args, &[]);
            out.ok();
            let what = format!("{args:?} at {cols} columns");
            assert!(out.stdout.contains("1.0.0-rc.1"), "{what}:\n{}", out.stdout);
            assert_whole(&out.stdout, &ids, &what);
        }
        // The free text wraps to fit instead; the summary is too long for one line.
        let out = in_pty(&repo, cols, &["list"], &[]);
        let text = plain(&out.stdout);
        if cols < 120 {
            assert!(!text.contains(SUMMARY), "not wrapped at {cols}:\n{text}");
        }
        assert!(text.contains("catalogue"), "{text}");
    }
    // Where the identifiers leave room, the table fits the terminal: no line is wider. (Where
    // they do not — the 57-character e-mail — the table is wider rather than break them.)
    for cols in [120u16] {
        let out = in_pty(&repo, cols, &["list"], &[]);
        for line in plain(&out.stdout).lines() {
            assert!(
                line.trim_end().chars().count() <= usize::from(cols),
                "list: line wider than {cols}:\n{line}"
            );
        }
    }
}

#[test]
fn a_terminal_of_size_zero_gets_no_limit_not_one_character_columns() {
    let repo = fixture();
    let out = in_pty(&repo, 0, &["list"], &[]);
    out.ok();
    let text = plain(&out.stdout);
    assert!(text.contains(SUMMARY), "{text}");
    assert_eq!(text.lines().count(), 2, "{text}");
    // …and COLUMNS is the fallback when the terminal reports no size.
    let out = in_pty(&repo, 0, &["list"], &[("COLUMNS", "60")]);
    let text = plain(&out.stdout);
    assert!(
        !text.contains(SUMMARY) && text.contains("catalogue"),
        "{text}"
    );
    assert_whole(&out.stdout, &identifiers(&repo), "size 0, COLUMNS=60");
}

#[test]
fn columns_sets_the_width_without_a_terminal_whatever_the_colour() {
    let repo = fixture();
    let ids = identifiers(&repo);
    for colour in [
        &[][..],
        &["--color", "never"][..],
        &["--color", "always"][..],
    ] {
        for args in TABLES {
            let mut all: Vec<&str> = colour.to_vec();
            all.extend_from_slice(args);
            let out = repo.run_with(&all, &[("COLUMNS", "60")], &[]);
            out.ok();
            assert_whole(&out.stdout, &ids, &format!("COLUMNS=60 {all:?}"));
        }
        let mut all: Vec<&str> = colour.to_vec();
        all.push("list");
        let out = repo.run_with(&all, &[("COLUMNS", "60")], &[]);
        let text = plain(&out.stdout);
        assert!(
            !text.contains(SUMMARY),
            "{colour:?} ignores COLUMNS:\n{text}"
        );
    }
    // No terminal and no COLUMNS: no limit, one line a row.
    let out = repo.run(&["list"]);
    assert!(out.stdout.contains(SUMMARY), "{}", out.stdout);
    // A COLUMNS that is not a positive number is no width.
    for bad in ["0", "wide", ""] {
        let out = repo.run_with(&["list"], &[("COLUMNS", bad)], &[]);
        assert!(
            out.stdout.contains(SUMMARY),
            "COLUMNS={bad}:\n{}",
            out.stdout
        );
    }
}

/// `\x1b[38;5;…m` / `\x1b[3Xm`: a foreground colour (not just bold).
fn has_colour(text: &str) -> bool {
    text.contains("\x1b[38;5;") || (30..=37).any(|c| text.contains(&format!("\x1b[{c}m")))
}

#[test]
fn colour_follows_one_rule_flag_then_no_color_then_the_terminal() {
    let repo = fixture();
    let versions = ["versions", NAME];
    // --color always beats NO_COLOR, and colours everything: the cells, not just the header.
    let out = repo.run_with(
        &["--color", "always", "versions", NAME],
        &[("NO_COLOR", "1")],
        &[],
    );
    out.ok();
    assert!(has_colour(&out.stdout), "{:?}", out.stdout);
    assert!(out.stdout.contains("\x1b[1m"), "{:?}", out.stdout);
    let out = repo.run_with(
        &["--color", "always", "fetch", "nosuch"],
        &[("NO_COLOR", "1")],
        &[],
    );
    assert!(
        out.stderr.contains("\x1b[1;31merror\x1b[0m:"),
        "{:?}",
        out.stderr
    );
    assert!(
        out.stderr.contains("\x1b[1;33mhint\x1b[0m:"),
        "{:?}",
        out.stderr
    );
    // In a terminal: auto colours, NO_COLOR turns it off, --color never turns it off.
    let auto = in_pty(&repo, 120, &versions, &[]);
    assert!(has_colour(&auto.stdout), "{:?}", auto.stdout);
    let no_color = in_pty(&repo, 120, &versions, &[("NO_COLOR", "1")]);
    assert!(!no_color.stdout.contains('\x1b'), "{:?}", no_color.stdout);
    let never = in_pty(&repo, 120, &["--color", "never", "versions", NAME], &[]);
    assert!(!never.stdout.contains('\x1b'), "{:?}", never.stdout);
    // Without a terminal, auto is plain and --color never is plain.
    for args in [&versions[..], &["--color", "never", "versions", NAME][..]] {
        let out = repo.run_with(args, &[], &["NO_COLOR"]);
        assert!(!out.stdout.contains('\x1b'), "{args:?}: {:?}", out.stdout);
    }
}

/// Asserts a refusal (or usage error) that ends with a `hint:` line and changed nothing.
#[track_caller]
fn ends_with_hint(out: &Output, hint_has: &str) {
    assert!(out.code == 1 || out.code == 2, "{out:?}");
    assert_eq!(out.stdout, "", "{out:?}");
    let last = out.stderr.trim_end().lines().last().unwrap_or("");
    assert!(
        last.starts_with("hint: "),
        "no hint: line last:\n{}",
        out.stderr
    );
    assert!(
        last.contains(hint_has),
        "hint lacks {hint_has:?}:\n{}",
        out.stderr
    );
}

fn released() -> TestRepo {
    let repo = TestRepo::init();
    repo.write(
        "prompts/p/prompt.yaml",
        "summary: s\nmodel: m\nsystem_prompt: \"hi {{ who }}\"\nvariables:\n  who:\n    description: who\n",
    );
    repo.run(&["create", "p", "--version", "1.0.0", "-m", "first"])
        .ok();
    repo.run(&["promote", "p", "1.0.0", "--to", "dev", "--reason", "try"])
        .ok();
    repo
}

#[test]
fn every_error_kind_ends_with_a_hint() {
    let repo = released();
    // Unreadable input files.
    let out = repo.run(&["render", "p@1.0.0", "--vars-file", "no-such.yaml"]);
    ends_with_hint(&out, "check the path");
    let out = repo.run(&[
        "results",
        "import",
        "p@1.0.0",
        "--from",
        "junit",
        "no-such.xml",
    ]);
    ends_with_hint(&out, "check the path");
    // render: a missing variable, an extra one.
    let out = repo.run(&["render", "p@1.0.0"]);
    ends_with_hint(&out, "promptreg fetch p@1.0.0 --format json");
    let out = repo.run(&["render", "p@1.0.0", "--var", "who=x", "--var", "extra=y"]);
    ends_with_hint(&out, "promptreg fetch p@1.0.0");
    let out = repo.run(&[
        "render",
        "p",
        "--worktree",
        "--var",
        "extra=y",
        "--var",
        "who=x",
    ]);
    ends_with_hint(&out, "prompts/p/prompt.yaml");
    // --format X is not available here.
    let out = repo.run(&["list", "--format", "github"]);
    out.usage();
    ends_with_hint(&out, "drop --format");
    // A YAML syntax error in create.
    repo.write("prompts/q/prompt.yaml", "summary: \"never closed\n");
    let before = repo.commit_count();
    let out = repo.run(&["create", "q", "--version", "1.0.0", "-m", "x"]);
    ends_with_hint(&out, "fix the YAML at that line and column");
    assert_eq!(repo.commit_count(), before);
    // init --example into a non-empty directory.
    let out = repo.run(&["init", "--example", repo.root.to_str().unwrap()]);
    ends_with_hint(&out, "choose a directory that does not exist yet");
    // serve usage errors, and serve on a detached HEAD.
    for args in [
        &["serve", "--cache-size", "lots"][..],
        &["serve", "--sync", "origin", "--interval", "soon"][..],
        &["serve", "--allow-local-writes", "--addr", "0.0.0.0:0"][..],
    ] {
        let out = repo.run(args);
        out.usage();
        ends_with_hint(&out, "");
    }
    repo.git(&["checkout", "-q", "--detach"]);
    let out = repo.run(&["serve", "--addr", "127.0.0.1:0"]);
    ends_with_hint(&out, "git switch main");
    repo.git(&["checkout", "-q", "main"]);
    // The flow-style refusal.
    let registry = repo.read("registry.yaml");
    let flow = registry.replace(
        "prompts:\n  p:\n    dev: 1.0.0",
        "prompts: {p: {dev: 1.0.0}}",
    );
    assert_ne!(flow, registry, "{registry}");
    repo.commit_by_hand("registry.yaml", &flow, "flow style");
    let before = repo.commit_count();
    let out = repo.run(&["promote", "p", "1.0.0", "--to", "staging", "--reason", "x"]);
    ends_with_hint(&out, "block style");
    assert_eq!(repo.commit_count(), before);
}

#[test]
fn rollback_of_an_empty_environment_says_which_environments_hold_versions() {
    let repo = released();
    let out = repo.run(&["rollback", "p", "--env", "production", "--reason", "x"]);
    ends_with_hint(&out, "dev holds 1.0.0");
    assert!(
        !out.stderr.contains("no environment holds"),
        "{}",
        out.stderr
    );
}

/// A bare clone of [`released`], and the repo it came from.
fn bare_clone() -> (TestRepo, std::path::PathBuf) {
    let repo = released();
    let bare = repo.tmp().join("bare.git");
    repo.git(&["clone", "-q", "--bare", ".", bare.to_str().unwrap()]);
    (repo, bare)
}

#[test]
fn in_a_bare_repository_the_bareness_is_reported_first() {
    let (repo, bare) = bare_clone();
    let repo_arg = bare.to_str().unwrap();
    let out = repo.run(&["--repo", repo_arg, "validate", "--staged"]);
    out.refused();
    assert!(out.stderr.contains("bare"), "{}", out.stderr);
    assert!(!out.stderr.contains("no registry.yaml"), "{}", out.stderr);
    ends_with_hint(&out, "working tree");
    // No identity either: the bare repository is still the first thing said.
    let no_identity = [
        "GIT_AUTHOR_NAME",
        "GIT_AUTHOR_EMAIL",
        "GIT_COMMITTER_NAME",
        "GIT_COMMITTER_EMAIL",
    ];
    for args in [
        &["promote", "p", "1.0.0", "--to", "staging", "--reason", "x"][..],
        &["rollback", "p", "--env", "dev", "--reason", "x"][..],
        &["create", "p", "--bump", "patch", "-m", "x"][..],
        &[
            "results", "record", "p@1.0.0", "--test", "t", "--passed", "1", "--failed", "0",
        ][..],
    ] {
        let mut all = vec!["--repo", repo_arg];
        all.extend_from_slice(args);
        let out = repo.run_with(&all, &[], &no_identity);
        out.refused();
        assert!(out.stderr.contains("bare"), "{args:?}: {}", out.stderr);
        assert!(!out.stderr.contains("identity"), "{args:?}: {}", out.stderr);
        ends_with_hint(&out, "working tree");
    }
}

#[test]
fn the_missing_identity_is_named_author_or_committer() {
    let repo = released();
    let out = repo.run_with(
        &["promote", "p", "1.0.0", "--to", "staging", "--reason", "x"],
        &[],
        &["GIT_COMMITTER_NAME", "GIT_COMMITTER_EMAIL"],
    );
    out.refused();
    assert!(
        out.stderr.contains("the committer's name and e-mail"),
        "{}",
        out.stderr
    );
    ends_with_hint(&out, "git config");
    let out = repo.run_with(
        &["promote", "p", "1.0.0", "--to", "staging", "--reason", "x"],
        &[],
        &["GIT_AUTHOR_EMAIL"],
    );
    assert!(out.stderr.contains("the author's e-mail"), "{}", out.stderr);
}

#[test]
fn a_left_behind_branch_lock_points_at_doctor_fix() {
    let repo = released();
    repo.write(".git/refs/heads/main.lock", "");
    let out = repo.run(&["promote", "p", "1.0.0", "--to", "staging", "--reason", "x"]);
    ends_with_hint(&out, "promptreg doctor --fix");
    assert!(!out.stderr.contains("rm "), "{}", out.stderr);
}
