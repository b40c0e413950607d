//! `promptreg serve` keeps the served tip in memory and buffers its access log: a change to the
//! ref (a CLI promotion, a hand `git reset`, a `git fetch` into the ref, a new tag) still shows
//! on the next request, settled or not, and no access-log line is lost on SIGTERM.

use std::time::Duration;

use crate::serve::{agent, get, Server};
use crate::support::{promoted_through_pipeline, TestRepo};

/// Longer than the server's settle time (`SETTLE` in src/server/state.rs): the ref files are
/// then old enough for the tip to be answered from memory.
const SETTLED: Duration = Duration::from_millis(2_600);

fn dev_version(server: &Server) -> String {
    let reply = get(&server.url("/api/prompts/support/agent/latest?environment=dev"));
    assert_eq!(reply.status, 200, "{}", reply.body);
    reply.json()["version"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

/// A registry with `support/agent` 1.0.0 everywhere, a clone that pulled it (branch and
/// tags), and the path the clone fetches from.
fn mirrored() -> (TestRepo, TestRepo, String) {
    let upstream = promoted_through_pipeline("support/agent", "1.0.0", "v1.0.0");
    let mirror = TestRepo::new();
    let source = upstream.root.to_string_lossy().into_owned();
    mirror.git(&["pull", "-q", &source, "main"]);
    mirror.git(&["fetch", "-q", "--tags", &source]);
    (upstream, mirror, source)
}

#[test]
fn promotions_back_to_back_each_show_on_the_next_request() {
    let repo = promoted_through_pipeline("support/agent", "1.0.0", "v1.0.0");
    for minor in 1..=3 {
        repo.release(
            "support/agent",
            &format!("1.{minor}.0"),
            &format!("v1.{minor}"),
        );
    }
    let server = Server::start(&repo, &[]);
    assert_eq!(dev_version(&server), "1.0.0");
    // No pause between a promotion and the read after it, round after round.
    for round in 0..8 {
        let version = format!("1.{}.0", round % 4);
        repo.run(&[
            "promote",
            "support/agent",
            &version,
            "--to",
            "dev",
            "--reason",
            "again",
            "--force",
        ])
        .ok();
        assert_eq!(dev_version(&server), version, "round {round}");
    }
    // Settled: the tip is served from memory (twice), and a promotion still shows at once.
    std::thread::sleep(SETTLED);
    assert_eq!(dev_version(&server), "1.3.0");
    assert_eq!(dev_version(&server), "1.3.0");
    repo.promote("support/agent", "1.1.0", "dev");
    assert_eq!(dev_version(&server), "1.1.0");
    // A ref moved by hand, settled or not.
    std::thread::sleep(SETTLED);
    assert_eq!(dev_version(&server), "1.1.0");
    repo.git(&["reset", "-q", "--hard", "HEAD~1"]);
    assert_eq!(dev_version(&server), "1.3.0");
    repo.git(&["reset", "-q", "--hard", "HEAD@{1}"]);
    assert_eq!(dev_version(&server), "1.1.0");
}

#[test]
fn a_fetch_into_the_ref_and_a_new_tag_show_on_the_next_request() {
    let (upstream, mirror, source) = mirrored();
    let server = Server::start(&mirror, &[]);
    let versions_url = server.url("/api/prompts/support/agent/versions");
    let versions = || {
        let reply = get(&versions_url);
        assert_eq!(reply.status, 200, "{}", reply.body);
        reply.json().as_array().map(Vec::len).unwrap_or(0)
    };
    std::thread::sleep(SETTLED);
    assert_eq!(dev_version(&server), "1.0.0");
    assert_eq!(versions(), 1);

    // A new version upstream, fetched into the served branch (tags and all): the next read sees
    // both the tag and the promotion.
    upstream.release("support/agent", "1.1.0", "v1.1");
    upstream.promote("support/agent", "1.1.0", "dev");
    mirror.git(&[
        "fetch",
        "-q",
        "--update-head-ok",
        "--tags",
        &source,
        "main:main",
    ]);
    assert_eq!(dev_version(&server), "1.1.0");
    assert_eq!(versions(), 2);

    // A version tag arriving alone, the branch unchanged, once everything has settled.
    std::thread::sleep(SETTLED);
    assert_eq!(versions(), 2);
    upstream.release("support/agent", "1.2.0", "v1.2");
    mirror.git(&["fetch", "-q", "--tags", &source]);
    let before = mirror.rev("main");
    assert_eq!(versions(), 3);
    assert_eq!(mirror.rev("main"), before, "only a tag arrived");
    // And once the new tag has settled too (the tags' stamp, not a listing, keys the cache).
    std::thread::sleep(SETTLED);
    assert_eq!(versions(), 3);
}

#[test]
fn the_list_sees_a_tag_that_arrives_alone_settled_or_not() {
    let (upstream, mirror, source) = mirrored();
    let server = Server::start(&mirror, &[]);
    let list_url = server.url("/api/prompts");
    let latest = || {
        let reply = get(&list_url);
        assert_eq!(reply.status, 200, "{}", reply.body);
        reply.json()[0]["latest"]
            .as_str()
            .unwrap_or_default()
            .to_owned()
    };
    assert_eq!(latest(), "1.0.0");
    // Settled: answered from the stamps of the tag directories (twice), and a tag arriving
    // alone (the branch unchanged) shows at once.
    std::thread::sleep(SETTLED);
    assert_eq!(latest(), "1.0.0");
    assert_eq!(latest(), "1.0.0");
    upstream.release("support/agent", "1.1.0", "v1.1");
    let before = mirror.rev("main");
    mirror.git(&["fetch", "-q", "--tags", &source]);
    assert_eq!(mirror.rev("main"), before, "only a tag arrived");
    assert_eq!(latest(), "1.1.0");
    std::thread::sleep(SETTLED);
    assert_eq!(latest(), "1.1.0");
    // A loose tag deleted by hand, then all tags packed.
    mirror.git(&["tag", "-d", "support/agent/v1.1.0"]);
    assert_eq!(latest(), "1.0.0");
    std::thread::sleep(SETTLED);
    assert_eq!(latest(), "1.0.0");
    mirror.git(&["fetch", "-q", "--tags", &source]);
    mirror.git(&["pack-refs", "--all"]);
    assert_eq!(latest(), "1.1.0");
    std::thread::sleep(SETTLED);
    assert_eq!(latest(), "1.1.0");
}

#[test]
fn sigterm_right_after_many_requests_loses_no_access_log_line() {
    let repo = promoted_through_pipeline("support/agent", "1.0.0", "v1.0.0");
    let log = repo.tmp().join("access.log");
    let log_arg = log.to_string_lossy().into_owned();
    let mut server = Server::start(&repo, &["--access-log", &log_arg]);
    const THREADS: usize = 4;
    const EACH: usize = 150;
    std::thread::scope(|scope| {
        for _ in 0..THREADS {
            let url = server.url("/api/prompts/support/agent?environment=dev");
            scope.spawn(move || {
                let agent = agent();
                for _ in 0..EACH {
                    let status = agent.get(&url).call().expect("request").status();
                    assert_eq!(status, 200);
                }
            });
        }
    });
    // Every response is in; the lines may still sit in the server's buffer.
    assert_eq!(server.terminate().0, Some(0));
    let text = std::fs::read_to_string(&log).expect("the access log");
    let reads = text
        .lines()
        .map(|line| serde_json::from_str::<serde_json::Value>(line).expect("a JSON line"))
        .filter(|line| line["path"] == "/api/prompts/support/agent" && line["status"] == 200)
        .count();
    assert_eq!(reads, THREADS * EACH);
}

/// The access log on stderr, and stderr a pipe nobody reads once the server has started (a
/// stuck log collector): requests are still answered, and SIGTERM still ends the process,
/// after at most the log's drain time, instead of waiting for the pipe for ever.
#[test]
fn sigterm_ends_the_server_even_when_its_log_is_not_read() {
    use std::io::{BufRead, BufReader};
    let repo = promoted_through_pipeline("support/agent", "1.0.0", "v1.0.0");
    let mut command = repo.command(&["serve", "--addr", "127.0.0.1:0"]);
    command
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped());
    let mut child = command.spawn().expect("spawn serve");
    let mut stderr = BufReader::new(child.stderr.take().expect("stderr"));
    let mut line = String::new();
    stderr.read_line(&mut line).expect("the first line");
    let base = line
        .strip_prefix("listening on ")
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap_or_else(|| panic!("not the address: {line}"))
        .to_owned();
    // Far more log than a pipe holds (64 KiB): the log's writer blocks on it.
    let url = format!("{base}/api/prompts/support/agent?environment=dev");
    let agent = agent();
    for _ in 0..1_500 {
        let status = agent.get(&url).call().expect("request").status();
        assert_eq!(status, 200);
    }
    let started = std::time::Instant::now();
    std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill");
    let status = loop {
        if let Some(status) = child.try_wait().expect("try_wait") {
            break Some(status);
        }
        if started.elapsed() > Duration::from_secs(30) {
            break None;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let _ = child.kill();
    let status = status.expect("the server ended within 30 s of SIGTERM");
    assert_eq!(status.code(), Some(0));
    drop(stderr);
}
