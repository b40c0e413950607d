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
