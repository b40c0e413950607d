//! Every shell block of README.md and docs/*.md runs verbatim against the built binary.
//!
//! A fenced block whose info string is `sh`, `bash` or `shell` is a shell block. Each runs, as
//! written, in bash in a hermetic sandbox: HOME and TMPDIR are empty directories of the test's
//! own, the git identity is the fixed one of `support::hermetic`, PATH has the directory of the
//! built `promptreg` first, and the working directory stands for this repository's checkout
//! (`fixtures/` and `prompts.example/` are there). A `cargo` on PATH stands for the real one: it
//! answers `cargo build --release --locked` with the binary this test run built (linked as
//! `target/release/promptreg`) and refuses everything else, so a block that runs cargo for
//! anything else must be marked.
//!
//! Every command of a block must exit 0, except one directly followed by a comment that shows the
//! error it prints (`#   error: …`): it must exit 1. A block starts a new shell in the checkout;
//! the blocks of one file share the sandbox's files. The marks, on the line before the fence:
//!
//! - `<!-- not-run: REASON -->` — the block is deliberately not run (it needs a network, leaves a
//!   server running, is a script to save rather than commands to type, …);
//! - `<!-- continues -->` — the block goes on in the shell of the block before it (its working
//!   directory and variables), as a reader following along would.
//!
//! An unmarked block that fails fails the test, and so does a mark that is not on a shell block,
//! and a block without an info string that starts like a command (`promptreg …`, `cargo …`,
//! `$ …`): it must say what it is.

use std::fmt::Write as _;
use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::support::{hermetic, TestRepo};

const SHELLS: [&str; 3] = ["sh", "bash", "shell"];
/// Per shell session; every session here takes well under a second.
const SESSION_TIMEOUT: Duration = Duration::from_secs(30);

/// One fenced shell block.
#[derive(Debug)]
struct Block {
    /// 1-based line of the opening fence.
    line: usize,
    lines: Vec<String>,
    skip: Option<String>,
    continues: bool,
}

/// One command of a block: its lines (continuations and here-documents included) and the exit
/// status it must end with.
#[derive(Debug)]
struct Step {
    /// 1-based line in the markdown file.
    line: usize,
    text: String,
    expect: i32,
}

/// The shell blocks of `markdown`, and what is wrong with its marks and fences.
fn parse(markdown: &str) -> (Vec<Block>, Vec<String>) {
    let mut blocks = Vec::new();
    let mut problems = Vec::new();
    let lines: Vec<&str> = markdown.lines().collect();
    let mut mark: Option<(usize, &str)> = None;
    let mut i = 0;
    while i < lines.len() {
        let line = lines[i];
        let trimmed = line.trim_start();
        if let Some(comment) = trimmed
            .strip_prefix("<!--")
            .and_then(|c| c.trim_end().strip_suffix("-->"))
        {
            let comment = comment.trim();
            if comment.starts_with("not-run") || comment == "continues" {
                if let Some((at, _)) = mark {
                    problems.push(format!("line {}: a mark not followed by a block", at + 1));
                }
                mark = Some((i, comment));
            }
            i += 1;
            continue;
        }
        let Some(fence) = ["```", "~~~"].iter().find(|f| trimmed.starts_with(**f)) else {
            if !trimmed.is_empty() {
                if let Some((at, _)) = mark.take() {
                    problems.push(format!("line {}: a mark not followed by a block", at + 1));
                }
            }
            i += 1;
            continue;
        };
        let info = trimmed[fence.len()..].trim();
        let indent = line.len() - trimmed.len();
        let start = i;
        let mut body = Vec::new();
        i += 1;
        while i < lines.len() && !lines[i].trim_start().starts_with(fence) {
            body.push(
                lines[i]
                    .get(indent..)
                    .unwrap_or(lines[i].trim_start())
                    .to_owned(),
            );
            i += 1;
        }
        i += 1;
        let language = info.split_whitespace().next().unwrap_or("");
        let taken = mark.take();
        if SHELLS.contains(&language) {
            let mut block = Block {
                line: start + 1,
                lines: body,
                skip: None,
                continues: false,
            };
            match taken {
                Some((_, "continues")) => block.continues = true,
                Some((at, comment)) => {
                    let reason = comment["not-run".len()..].trim_start_matches(':').trim();
                    if reason.is_empty() {
                        problems.push(format!("line {}: `not-run` needs a reason", at + 1));
                    }
                    block.skip = Some(reason.to_owned());
                }
                None => {}
            }
            blocks.push(block);
        } else {
            if let Some((at, _)) = taken {
                problems.push(format!(
                    "line {}: a mark on a block that is not a shell block",
                    at + 1
                ));
            }
            let first = body.iter().map(|l| l.trim()).find(|l| !l.is_empty());
            let commandish = first.is_some_and(|l| {
                ["promptreg ", "cargo ", "$ ", "git "]
                    .iter()
                    .any(|p| l.starts_with(p))
            });
            if language.is_empty() && commandish {
                problems.push(format!(
                    "line {}: a block of commands without an info string (```sh, or ```text for a synopsis)",
                    start + 1
                ));
            }
        }
    }
    if let Some((at, _)) = mark {
        problems.push(format!("line {}: a mark not followed by a block", at + 1));
    }
    (blocks, problems)
}

/// The here-document delimiter a line opens, if any (`<<'YAML'`, `<<EOF`, `<<-X`).
fn heredoc(line: &str) -> Option<(String, bool)> {
    let at = line.find("<<")?;
    let rest = &line[at + 2..];
    if rest.starts_with('<') {
        return None; // a here-string
    }
    let (rest, dash) = match rest.strip_prefix('-') {
        Some(r) => (r, true),
        None => (rest, false),
    };
    let word: String = rest
        .trim_start()
        .trim_start_matches(['\'', '"'])
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
        .collect();
    (!word.is_empty()).then_some((word, dash))
}

/// Splits a block into its commands.
fn steps(block: &Block) -> Vec<Step> {
    let mut steps = Vec::new();
    let lines = &block.lines;
    let mut i = 0;
    while i < lines.len() {
        let first = lines[i].trim();
        if first.is_empty() || first.starts_with('#') {
            i += 1;
            continue;
        }
        let start = i;
        let mut open_heredoc: Option<(String, bool)> = None;
        loop {
            let line = &lines[i];
            if let Some((word, dash)) = &open_heredoc {
                let candidate = if *dash { line.trim_start() } else { line };
                if candidate == word {
                    open_heredoc = None;
                }
            } else if let Some(h) = heredoc(line) {
                open_heredoc = Some(h);
            }
            let code = line.split(" #").next().unwrap_or("").trim_end();
            let continued = open_heredoc.is_some()
                || code.ends_with('\\')
                || code.ends_with('|')
                || code.ends_with("&&");
            i += 1;
            if !continued || i >= lines.len() {
                break;
            }
        }
        let shows_error = lines[i..]
            .iter()
            .map(|l| l.trim())
            .find(|l| !l.is_empty())
            .and_then(|l| l.strip_prefix('#'))
            .is_some_and(|c| c.trim_start().starts_with("error:"));
        steps.push(Step {
            line: block.line + 1 + start,
            text: lines[start..i].join("\n"),
            expect: if shows_error { 1 } else { 0 },
        });
    }
    steps
}

/// The sandbox of one markdown file.
struct Sandbox {
    repo: TestRepo,
    tmpdir: PathBuf,
    bin: PathBuf,
}

impl Sandbox {
    fn new() -> Self {
        let repo = TestRepo::bare_dir();
        let source = Path::new(env!("CARGO_MANIFEST_DIR"));
        for shared in ["fixtures", "prompts.example"] {
            std::os::unix::fs::symlink(source.join(shared), repo.root.join(shared))
                .expect("link into the checkout");
        }
        let tmpdir = repo.tmp().join("tmp");
        let bin = repo.tmp().join("bin");
        std::fs::create_dir_all(&tmpdir).expect("TMPDIR");
        std::fs::create_dir_all(&bin).expect("bin");
        let promptreg = env!("CARGO_BIN_EXE_promptreg");
        let cargo = format!(
            "#!/bin/sh\n# The docs test's cargo: the binary is already built.\nif [ \"$*\" = \"build --release --locked\" ]; then\n  mkdir -p target/release && ln -sf '{promptreg}' target/release/promptreg\n  exit 0\nfi\necho \"docs test: \\`cargo $*\\` cannot run here; mark the block <!-- not-run: REASON -->\" >&2\nexit 99\n"
        );
        let stub = bin.join("cargo");
        std::fs::write(&stub, cargo).expect("cargo stub");
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(&stub, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        Sandbox { repo, tmpdir, bin }
    }

    /// Runs one shell session (blocks that continue each other); returns what is wrong.
    fn session(&self, file: &str, blocks: &[&Block], number: usize) -> Vec<String> {
        let status = self.repo.tmp().join(format!("status-{number}"));
        let mut script = format!("exec 3>'{}'\n", status.display());
        let mut expected = Vec::new();
        for block in blocks {
            for step in steps(block) {
                writeln!(script, "{}\necho \"{} $?\" >&3", step.text, expected.len()).unwrap();
                expected.push(step);
            }
        }
        script.push_str("echo end >&3\n");
        let script_path = self.repo.tmp().join(format!("session-{number}.sh"));
        std::fs::write(&script_path, &script).expect("write the script");

        let promptreg = Path::new(env!("CARGO_BIN_EXE_promptreg"));
        let mut path = std::ffi::OsString::from(&self.bin);
        path.push(":");
        path.push(promptreg.parent().expect("the binary's directory"));
        path.push(":");
        path.push(std::env::var_os("PATH").unwrap_or_default());
        let mut command = Command::new("bash");
        hermetic::apply(&mut command, &self.repo.home)
            .args(["--noprofile", "--norc"])
            .arg(&script_path)
            .env("PATH", path)
            .env("TMPDIR", &self.tmpdir)
            .current_dir(&self.repo.root)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        std::os::unix::process::CommandExt::process_group(&mut command, 0);
        let mut child = command.spawn().expect("run bash");
        let (mut out, mut err) = (child.stdout.take().unwrap(), child.stderr.take().unwrap());
        let out = std::thread::spawn(move || {
            let mut s = String::new();
            out.read_to_string(&mut s).ok();
            s
        });
        let err = std::thread::spawn(move || {
            let mut s = String::new();
            err.read_to_string(&mut s).ok();
            s
        });
        let started = Instant::now();
        let mut timed_out = false;
        while child.try_wait().expect("wait").is_none() {
            if started.elapsed() > SESSION_TIMEOUT {
                timed_out = true;
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        // Whatever the session left behind (a server, a pager) goes with it.
        Command::new("kill")
            .args(["-KILL", "--", &format!("-{}", child.id())])
            .stderr(Stdio::null())
            .status()
            .ok();
        child.wait().ok();
        let (stdout, stderr) = (out.join().unwrap(), err.join().unwrap());

        let recorded = std::fs::read_to_string(&status).unwrap_or_default();
        let mut codes = vec![None; expected.len()];
        let mut ended = false;
        for line in recorded.lines() {
            if line == "end" {
                ended = true;
            } else if let Some((k, code)) = line.split_once(' ') {
                if let (Ok(k), Ok(code)) = (k.parse::<usize>(), code.parse::<i32>()) {
                    codes[k] = Some(code);
                }
            }
        }
        let mut problems = Vec::new();
        for (step, code) in expected.iter().zip(&codes) {
            if *code != Some(step.expect) {
                problems.push(format!(
                    "{file}:{}: exit {} (want {}):\n    {}",
                    step.line,
                    code.map_or("none (never ran)".to_owned(), |c| c.to_string()),
                    step.expect,
                    step.text.replace('\n', "\n    ")
                ));
            }
        }
        if timed_out {
            problems.push(format!(
                "{file}:{}: the session took over {SESSION_TIMEOUT:?}",
                blocks[0].line
            ));
        } else if !ended {
            problems.push(format!(
                "{file}:{}: the session ended before its last command",
                blocks[0].line
            ));
        }
        if !problems.is_empty() {
            let tail = |s: &str| {
                let lines: Vec<&str> = s.lines().collect();
                lines[lines.len().saturating_sub(30)..].join("\n")
            };
            problems.push(format!(
                "--- stdout (end) ---\n{}\n--- stderr (end) ---\n{}",
                tail(&stdout),
                tail(&stderr)
            ));
        }
        problems
    }
}

/// Runs every shell block of `markdown` (named `file` in messages); returns what is wrong.
fn check(file: &str, markdown: &str) -> Vec<String> {
    let (blocks, mut problems) = parse(markdown);
    for p in &mut problems {
        *p = format!("{file}: {p}");
    }
    let sandbox = Sandbox::new();
    let mut sessions: Vec<Vec<&Block>> = Vec::new();
    for block in &blocks {
        if block.skip.is_some() {
            continue;
        }
        match sessions.last_mut() {
            Some(session) if block.continues => session.push(block),
            _ if block.continues => problems.push(format!(
                "{file}:{}: `continues`, but no block runs before it",
                block.line
            )),
            _ => sessions.push(vec![block]),
        }
    }
    for (n, session) in sessions.iter().enumerate() {
        problems.extend(sandbox.session(file, session, n));
    }
    problems
}

fn check_file(relative: &str) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(relative);
    let markdown = std::fs::read_to_string(&path).expect("read the markdown");
    let problems = check(relative, &markdown);
    assert!(problems.is_empty(), "\n{}", problems.join("\n"));
}

/// The files checked here, each by its own test below.
const FILES: [&str; 8] = [
    "README.md",
    "docs/BRIDGES.md",
    "docs/CLIENT.md",
    "docs/EDITORS.md",
    "docs/FORMAT.md",
    "docs/FUZZING.md",
    "docs/SERVE.md",
    "docs/VALIDATE.md",
];

#[test]
fn every_doc_is_checked() {
    let docs = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs");
    let mut found: Vec<String> = std::fs::read_dir(docs)
        .expect("docs/")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".md"))
        .map(|name| format!("docs/{name}"))
        .collect();
    found.push("README.md".to_owned());
    found.sort();
    assert_eq!(found, FILES);
}

#[test]
fn readme_blocks_run() {
    check_file("README.md");
}

#[test]
fn bridges_md_blocks_run() {
    check_file("docs/BRIDGES.md");
}

#[test]
fn client_md_blocks_run() {
    check_file("docs/CLIENT.md");
}

#[test]
fn editors_md_blocks_run() {
    check_file("docs/EDITORS.md");
}

#[test]
fn format_md_blocks_run() {
    check_file("docs/FORMAT.md");
}

#[test]
fn fuzzing_md_blocks_run() {
    check_file("docs/FUZZING.md");
}

#[test]
fn serve_md_blocks_run() {
    check_file("docs/SERVE.md");
}

#[test]
fn validate_md_blocks_run() {
    check_file("docs/VALIDATE.md");
}

/// The checker itself: it catches a failing block, a command that should fail and does not, a
/// mark that marks nothing and an unlabelled block of commands; it skips what is marked, and
/// carries the shell across `continues`.
#[test]
fn the_checker_catches_what_it_should() {
    let markdown = "\
```sh
promptreg --version
cd \"$(mktemp -d)\" && X=kept
```

<!-- continues -->
```sh
test \"$X\" = kept
promptreg fetch nothing
#   error: …
```

```sh
false
```

<!-- not-run: deliberately skipped -->
```bash
false
```

```sh
true
#   error: it should have failed
cat > f <<'EOF'
false
EOF
```

<!-- not-run: nothing -->
```yaml
a: 1
```

```
promptreg list
```
";
    let problems = check("t.md", markdown);
    let text = problems.join("\n");
    let located: Vec<&str> = problems
        .iter()
        .filter(|p| p.starts_with("t.md"))
        .map(|p| p.lines().next().unwrap_or(""))
        .collect();
    assert_eq!(
        located,
        [
            "t.md: line 30: a mark on a block that is not a shell block",
            "t.md: line 35: a block of commands without an info string (```sh, or ```text for a synopsis)",
            "t.md:14: exit 1 (want 0):",
            "t.md:23: exit 0 (want 1):",
        ],
        "{text}"
    );
}
