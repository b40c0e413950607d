//! Reading files it must not read: every shape of symbolic link a checkout can hold (a linked
//! `prompts/`, prompt directory, component sub-directory, component file, `prompt.yaml`), FIFOs
//! where files should be, and links or submodules committed into a release. The content behind
//! a link holds a marker that must never reach stdout or stderr; nothing may hang.

use std::os::unix::fs::symlink;
use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use crate::support::{Output, TestRepo};

/// What the files outside the repository hold (think `/etc/passwd`).
const MARKER: &str = "HOST-SECRET-5f2c91";

/// The prompt released as 1.0.0: a system prompt in a component file below a sub-directory.
const PROMPT: &str = "summary: the x prompt\nsystem_prompt_file: parts/system.md\n";

/// A registry with `x` 1.0.0 released from regular files, and a directory outside the
/// repository laid out like `prompts/` whose every file carries [`MARKER`].
fn released() -> TestRepo {
    let repo = TestRepo::init();
    repo.write("prompts/x/prompt.yaml", PROMPT);
    repo.write("prompts/x/parts/system.md", "Hello from the repository.\n");
    repo.run(&["create", "x", "--version", "1.0.0", "-m", "first"])
        .ok();
    let outside = repo.tmp().join("outside/prompts/x/parts");
    std::fs::create_dir_all(&outside).unwrap();
    std::fs::write(
        repo.tmp().join("outside/prompts/x/prompt.yaml"),
        format!("summary: {MARKER}\nsystem_prompt_file: parts/system.md\n"),
    )
    .unwrap();
    std::fs::write(outside.join("system.md"), format!("root:x:0:0:{MARKER}\n")).unwrap();
    repo
}

/// Replaces `relative` (a file or directory of the working tree) by a link to the same path in
/// the outside directory.
fn link_out(repo: &TestRepo, relative: &str) {
    let path = repo.path(relative);
    if path.is_dir() {
        std::fs::remove_dir_all(&path).unwrap();
    } else {
        std::fs::remove_file(&path).unwrap();
    }
    symlink(repo.tmp().join("outside").join(relative), &path).unwrap();
}

/// Each link shape: the path replaced by a link, and the path the refusal must name.
const SHAPES: [&str; 5] = [
    "prompts",
    "prompts/x",
    "prompts/x/parts",
    "prompts/x/parts/system.md",
    "prompts/x/prompt.yaml",
];

#[track_caller]
fn no_marker(out: &Output, what: &str) {
    assert!(
        !out.stdout.contains(MARKER) && !out.stderr.contains(MARKER),
        "{what} leaked the linked content:\n--- stdout ---\n{}\n--- stderr ---\n{}",
        out.stdout,
        out.stderr
    );
}

#[test]
fn every_worktree_read_refuses_every_link_shape() {
    for shape in SHAPES {
        let repo = released();
        link_out(&repo, shape);
        for args in [
            &["render", "x", "--worktree"][..],
            &["diff", "x", "1.0.0", "worktree"],
            &["diff", "x", "1.0.0"],
        ] {
            let out = repo.run(args);
            no_marker(&out, &format!("{args:?} with {shape} linked"));
            out.refused()
                .stderr_has(&[&format!("`{shape}` is a symbolic link"), "hint:"]);
        }
        for args in [
            &["create", "x", "--bump", "patch", "-m", "m"][..],
            &["create", "x", "--bump", "auto", "-m", "m"],
        ] {
            let before = repo.snapshot();
            let out = repo.run(args);
            no_marker(&out, &format!("{args:?} with {shape} linked"));
            out.refused()
                .stderr_has(&[&format!("`{shape}` is a symbolic link")]);
            assert_eq!(before, repo.snapshot(), "{args:?} changed the repository");
        }
        let out = repo.run(&["validate", "--format", "json"]);
        no_marker(&out, &format!("validate with {shape} linked"));
        out.code(1);
        let findings = out.json();
        assert!(
            findings
                .as_array()
                .unwrap()
                .iter()
                .any(|f| f["code"] == "symlink" && f["file"] == shape),
            "validate must report {shape}: {findings}"
        );
        // The release itself is untouched by the working tree and still reads.
        repo.run(&["render", "x@1.0.0"])
            .ok()
            .stdout
            .contains("Hello from the repository.")
            .then_some(())
            .expect("the release renders");
    }
}

#[test]
fn a_link_to_an_absolute_host_file_is_not_read() {
    let repo = released();
    let component = repo.path("prompts/x/parts/system.md");
    std::fs::remove_file(&component).unwrap();
    symlink("/etc/passwd", &component).unwrap();
    let out = repo.run(&["render", "x", "--worktree"]);
    assert!(!out.stdout.contains("root:") && !out.stderr.contains("root:"));
    out.refused().stderr_has(&[
        "`prompts/x/parts/system.md` is a symbolic link",
        "regular files",
    ]);
}

/// Runs promptreg, killing it and failing when it runs longer than `limit`.
#[track_caller]
fn run_bounded(repo: &TestRepo, args: &[&str], limit: Duration) -> Output {
    let mut command = repo.command(args);
    command.stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = command.spawn().expect("spawn");
    let start = Instant::now();
    loop {
        if child.try_wait().expect("try_wait").is_some() {
            break;
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{args:?} hung for more than {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    let out = child.wait_with_output().expect("output");
    Output {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

fn mkfifo(path: &Path) {
    let _ = std::fs::remove_file(path);
    let status = std::process::Command::new("mkfifo")
        .arg(path)
        .status()
        .expect("mkfifo");
    assert!(status.success());
}

/// The state a refused write must leave as it was (`TestRepo::snapshot` would block on
/// the FIFO itself, so the FIFO is compared by what git sees).
fn git_state(repo: &TestRepo) -> (String, String, String, String) {
    (
        repo.rev("HEAD"),
        repo.git(&["for-each-ref", "--format=%(refname) %(objectname)"]),
        repo.git(&["ls-files", "-s", "--debug"]),
        repo.git(&["status", "--porcelain=v1"]),
    )
}

#[test]
fn a_fifo_is_refused_without_hanging_anything() {
    let limit = Duration::from_secs(15);
    for fifo in ["prompts/x/parts/system.md", "prompts/x/prompt.yaml"] {
        let repo = released();
        repo.write("prompts/x/parts/system.md", "Changed.\n");
        mkfifo(&repo.path(fifo));
        for args in [
            &["render", "x", "--worktree"][..],
            &["diff", "x", "1.0.0", "worktree"],
        ] {
            run_bounded(&repo, args, limit)
                .refused()
                .stderr_has(&[&format!("`{fifo}` is a FIFO"), "hint:"]);
        }
        let before = git_state(&repo);
        for args in [
            &["create", "x", "--bump", "patch", "-m", "m"][..],
            &["create", "x", "--bump", "auto", "-m", "m"],
        ] {
            run_bounded(&repo, args, limit)
                .refused()
                .stderr_has(&[&format!("`{fifo}` is a FIFO")]);
            assert_eq!(before, git_state(&repo), "{args:?} changed the repository");
        }
        let out = run_bounded(&repo, &["validate", "--format", "json"], limit);
        out.code(1);
        assert!(
            out.json()
                .as_array()
                .unwrap()
                .iter()
                .any(|f| f["code"] == "not-a-file" && f["file"] == fifo),
            "{}",
            out.stdout
        );
        // Nothing was left locked: with the FIFO gone, the next write goes through at once.
        std::fs::remove_file(repo.path(fifo)).unwrap();
        repo.write(
            fifo,
            if fifo.ends_with("prompt.yaml") {
                PROMPT
            } else {
                "Changed.\n"
            },
        );
        run_bounded(&repo, &["create", "x", "--bump", "patch", "-m", "m"], limit).ok();
        repo.fsck();
    }
}

#[test]
fn a_fifo_registry_yaml_does_not_hang_a_promotion() {
    let repo = released();
    mkfifo(&repo.path("registry.yaml"));
    run_bounded(
        &repo,
        &["promote", "x", "1.0.0", "--to", "dev", "--reason", "r"],
        Duration::from_secs(15),
    )
    .refused()
    .stderr_has(&["registry.yaml"]);
}

#[test]
fn create_file_must_be_a_regular_file() {
    let repo = released();
    let fifo = repo.tmp().join("draft.yaml");
    mkfifo(&fifo);
    let before = git_state(&repo);
    run_bounded(
        &repo,
        &[
            "create",
            "x",
            "--bump",
            "patch",
            "-m",
            "m",
            "--file",
            fifo.to_str().unwrap(),
        ],
        Duration::from_secs(15),
    )
    .refused()
    .stderr_has(&["is a FIFO"]);
    assert_eq!(before, git_state(&repo));
}

/// Commits `prompts/x` with `system.md` as a link whose text is `target`, tagged by hand.
fn committed_link(repo: &TestRepo, link: &str, target: &str) {
    repo.write("prompts/x/prompt.yaml", "system_prompt_file: system.md\n");
    let path = repo.path(link);
    let _ = std::fs::remove_file(&path);
    symlink(target, &path).unwrap();
    repo.git(&["add", "prompts"]);
    repo.git(&["commit", "-qm", "a link"]);
    repo.git(&["tag", "-a", "x/v1.0.0", "-m", "by hand"]);
}

#[test]
fn a_committed_symlink_component_is_refused_and_reported() {
    let repo = TestRepo::init();
    let target = format!("/etc/{MARKER}");
    committed_link(&repo, "prompts/x/system.md", &target);
    // git is the oracle: the release really holds a link.
    assert!(repo
        .git(&["ls-tree", "-r", "x/v1.0.0", "prompts/x/system.md"])
        .starts_with("120000 "));
    for args in [
        &["fetch", "x@1.0.0"][..],
        &["fetch", "x@latest", "--format", "json"],
        &["render", "x@1.0.0"],
        &["diff", "x", "1.0.0", "1.0.0"],
    ] {
        let out = repo.run(args);
        no_marker(&out, &format!("{args:?}"));
        out.refused().stderr_has(&[
            "`prompts/x/system.md` is a symbolic link in the committed tree",
            "tag-symlink",
        ]);
    }
    // promote will not point an environment at it; a hand edit can, and export refuses then.
    let out = repo.run(&["promote", "x", "1.0.0", "--to", "dev", "--reason", "r"]);
    no_marker(&out, "promote");
    out.refused().stderr_has(&[
        "cannot be served",
        "is a symbolic link in the committed tree",
    ]);
    let index = std::fs::read_to_string(repo.path("registry.yaml")).unwrap();
    repo.write(
        "registry.yaml",
        &index.replace("prompts: {}", "prompts:\n  x:\n    dev: 1.0.0"),
    );
    repo.git(&["commit", "-qam", "dev serves x 1.0.0, by hand"]);
    let out = repo.run(&["export", "--env", "dev"]);
    no_marker(&out, "export");
    out.refused().stderr_has(&["symbolic link"]);

    let out = repo.run(&["validate", "--format", "json"]);
    out.code(1);
    let findings = out.json();
    let finding = findings
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["code"] == "tag-symlink")
        .unwrap_or_else(|| panic!("no tag-symlink finding: {findings}"));
    assert_eq!(finding["file"], "refs/tags/x/v1.0.0");
    assert!(finding["message"]
        .as_str()
        .unwrap()
        .contains("`prompts/x/system.md` as a symbolic link"));
    // Only the tags named are checked with paths, and the tag check still runs.
    repo.run(&["validate", "prompts/x/prompt.yaml"])
        .code(1)
        .stdout
        .contains("[tag-symlink]")
        .then_some(())
        .expect("reported for the prompt's own tags");
}

#[test]
fn a_committed_symlink_prompt_yaml_is_refused_and_reported() {
    let repo = TestRepo::init();
    repo.write("prompts/x/real.yaml", "system_prompt: hi\n");
    committed_link(&repo, "prompts/x/prompt.yaml", "real.yaml");
    repo.run(&["fetch", "x@1.0.0"]).refused();
    let out = repo.run(&["validate"]);
    out.code(1);
    assert!(
        out.stdout.contains("refs/tags/x/v1.0.0")
            && out
                .stdout
                .contains("`prompts/x/prompt.yaml` as a symbolic link")
            && out.stdout.contains("[tag-symlink]"),
        "{}",
        out.stdout
    );
}

#[test]
fn a_committed_submodule_is_reported() {
    let repo = TestRepo::init();
    repo.write("prompts/x/prompt.yaml", "system_prompt: hi\n");
    repo.git(&["add", "prompts"]);
    let head = repo.rev("HEAD");
    repo.git(&[
        "update-index",
        "--add",
        "--cacheinfo",
        &format!("160000,{head},prompts/x/vendor"),
    ]);
    repo.git(&["commit", "-qm", "a gitlink"]);
    repo.git(&["tag", "-a", "x/v1.0.0", "-m", "by hand"]);
    let out = repo.run(&["validate"]);
    out.code(1);
    assert!(
        out.stdout
            .contains("`prompts/x/vendor` as a submodule (gitlink)")
            && out.stdout.contains("[tag-symlink]"),
        "{}",
        out.stdout
    );
}

#[test]
fn the_server_never_reads_a_linked_prompt_yaml() {
    let repo = TestRepo::init();
    repo.release("support/agent", "1.0.0", "Hello {{ user_name }}");
    let tokens = repo.tmp().join("tokens.yaml");
    let low = "tok-low-0123456789abcdef";
    let high = format!("tok-{MARKER}-admin");
    std::fs::write(
        &tokens,
        format!(
            "{low}: {{name: Low, email: low@example.com}}\n{high}: {{name: Admin, email: admin@example.com}}\n"
        ),
    )
    .unwrap();
    let file = repo.path("prompts/support/agent/prompt.yaml");
    std::fs::remove_file(&file).unwrap();
    symlink(&tokens, &file).unwrap();
    let refs = repo.git(&["for-each-ref"]);
    let server = crate::serve::Server::start(&repo, &["--tokens", tokens.to_str().unwrap()]);
    for body in [
        serde_json::json!({"name": "support/agent", "version": "2.0.0", "description": "d"}),
        serde_json::json!({"name": "support/agent", "version": "2.0.0", "description": "d",
                           "system_prompt": "Bye", "colour": "red"}),
    ] {
        let reply = crate::serve::send("POST", &server.url("/api/prompts"), Some(low), &body);
        assert!(
            (400..500).contains(&reply.status),
            "status {}",
            reply.status
        );
        let text = reply.json().to_string();
        assert!(!text.contains(MARKER), "the reply leaked a token: {text}");
        assert!(!text.contains("tok-"), "the reply leaked a token: {text}");
    }
    assert_eq!(refs, repo.git(&["for-each-ref"]), "nothing was released");
}

#[test]
fn a_link_text_cached_by_an_earlier_promptreg_is_not_served() {
    let repo = TestRepo::init();
    committed_link(&repo, "prompts/x/system.md", "/etc/hostname");
    // What promptreg 0.1.0 cached after serving the link text as the system prompt.
    let cache = repo.path(".git/promptreg/cache");
    std::fs::create_dir_all(&cache).unwrap();
    let tag = repo.rev("refs/tags/x/v1.0.0");
    let old = serde_json::json!({
        "summary": null, "system_prompt": MARKER, "messages": [], "examples": [],
        "model": null, "temperature": 0.7, "token_budget": 4096, "variables": {},
        "tags": [], "metadata": {},
    });
    std::fs::write(cache.join(format!("prompt-v1-{tag}")), old.to_string()).unwrap();
    let out = repo.run(&["fetch", "x@1.0.0"]);
    no_marker(&out, "fetch over an old cache entry");
    out.refused()
        .stderr_has(&["symbolic link in the committed tree"]);
}

#[test]
fn validate_walks_many_prompts_with_few_file_descriptors() {
    let repo = TestRepo::init();
    for i in 0..200 {
        repo.write(&format!("prompts/p{i}/prompt.yaml"), "system_prompt: hi\n");
    }
    // The walk opens each directory from its parent; it must not keep them all open.
    let hermetic = repo.command(&[]);
    let mut command = std::process::Command::new("sh");
    command
        .env_clear()
        .envs(hermetic.get_envs().filter_map(|(k, v)| Some((k, v?))))
        .env("PROMPTREG_BIN", env!("CARGO_BIN_EXE_promptreg"))
        .current_dir(&repo.root)
        .args(["-c", "ulimit -n 48 && exec \"$PROMPTREG_BIN\" validate"]);
    let out = command.output().expect("sh");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("200 prompts"), "{stderr}");
}

#[test]
fn a_committed_symlink_prompt_directory_is_refused_and_reported() {
    let repo = TestRepo::init();
    repo.write(
        "elsewhere/prompt.yaml",
        &format!("system_prompt: {MARKER}\n"),
    );
    std::fs::create_dir_all(repo.path("prompts")).unwrap();
    symlink("../elsewhere", repo.path("prompts/x")).unwrap();
    repo.git(&["add", "prompts", "elsewhere"]);
    repo.git(&["commit", "-qm", "a linked directory"]);
    repo.git(&["tag", "-a", "x/v1.0.0", "-m", "by hand"]);
    let out = repo.run(&["fetch", "x@1.0.0"]);
    no_marker(&out, "fetch");
    out.refused()
        .stderr_has(&["`prompts/x` is a symbolic link in the committed tree"]);
    let out = repo.run(&["validate"]);
    no_marker(&out, "validate");
    out.code(1);
    assert!(
        out.stdout
            .contains("the release holds `prompts/x` as a symbolic link")
            && out.stdout.contains("[tag-symlink]"),
        "{}",
        out.stdout
    );
}

#[test]
fn a_link_deep_in_a_nested_prompt_release_is_reported() {
    let repo = TestRepo::init();
    repo.write(
        "prompts/team/x/prompt.yaml",
        "system_prompt_file: parts/deep/system.md\n",
    );
    std::fs::create_dir_all(repo.path("prompts/team/x/parts/deep")).unwrap();
    symlink(
        format!("/etc/{MARKER}"),
        repo.path("prompts/team/x/parts/deep/system.md"),
    )
    .unwrap();
    repo.git(&["add", "prompts"]);
    repo.git(&["commit", "-qm", "a deep link"]);
    repo.git(&["tag", "-a", "team/x/v1.0.0", "-m", "by hand"]);
    let out = repo.run(&["render", "team/x@1.0.0"]);
    no_marker(&out, "render");
    out.refused().stderr_has(&[
        "`prompts/team/x/parts/deep/system.md` is a symbolic link in the committed tree",
    ]);
    let out = repo.run(&["validate", "prompts/team/x/prompt.yaml"]);
    out.code(1);
    assert!(
        out.stdout.contains(
            "refs/tags/team/x/v1.0.0: error: the release holds `prompts/team/x/parts/deep/system.md` as a symbolic link"
        ),
        "{}",
        out.stdout
    );
}

#[test]
fn init_refuses_a_linked_prompts_directory() {
    let repo = TestRepo::new();
    let outside = repo.tmp().join("outside-empty");
    std::fs::create_dir_all(&outside).unwrap();
    symlink(&outside, repo.path("prompts")).unwrap();
    repo.run(&["init"])
        .refused()
        .stderr_has(&["`prompts` is a symbolic link"]);
    assert_eq!(
        std::fs::read_dir(&outside).unwrap().count(),
        0,
        "wrote outside"
    );
    assert!(!repo.path("registry.yaml").exists());
}
