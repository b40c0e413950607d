//! `promptreg serve` under abuse: unknown query parameters, cache-busting floods (with the
//! server's RSS measured), cross-site writes, token-less writes, health of a broken registry,
//! bad version tags, and error bodies that must not leak server paths or pids.

use std::io::{Read, Write};
use std::time::Duration;

use serde_json::{json, Value};

use crate::harness::TestRepo;
use crate::serve::{agent, get, registry, reply, send, tokens_file, Reply, Server, TOKEN};

/// The server's resident set (`VmRSS`) in KiB.
fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("proc status");
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .expect("VmRSS")
}

/// One request over a raw connection (to send a `Host` header a client library would not).
fn raw(authority: &str, request: &str) -> (u16, String) {
    let mut stream = std::net::TcpStream::connect(authority).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    stream.write_all(request.as_bytes()).expect("write");
    let mut answer = String::new();
    let _ = stream.read_to_string(&mut answer);
    let status = answer
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let body = answer
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    (status, body)
}

fn post_with(url: &str, headers: &[(&str, &str)], body: &str) -> Reply {
    let mut request = agent().post(url);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    reply(request.send(body.to_owned()))
}

/// `registry()` with 1.1.0 in dev and staging, so staging and production differ.
fn staged() -> TestRepo {
    let repo = registry();
    repo.release("support/agent", "1.1.0", "Hi {{ user_name }}");
    repo.promote("support/agent", "1.1.0", "dev");
    repo.promote("support/agent", "1.1.0", "staging");
    repo
}

#[test]
fn unknown_query_parameters_are_refused_not_ignored() {
    let repo = staged();
    let server = Server::start(&repo, &[]);
    let url = |q: &str| server.url(&format!("/api/prompts/support/agent{q}"));

    // The typo used to serve production (1.0.0) silently.
    let typo = get(&url("/latest?env=staging"));
    assert_eq!(typo.status, 400, "{}", typo.body);
    assert_eq!(typo.json()["error"], "unknown-parameter");
    let message = typo.json()["message"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(message.contains("`env`"), "{message}");
    assert!(message.contains("did you mean `environment`"), "{message}");
    assert!(message.contains("takes: environment"), "{message}");
    assert_eq!(
        get(&url("/latest?environment=staging")).json()["version"],
        "1.1.0"
    );

    for query in [
        "?cachebuster=1",
        "?version=1.0.0&x=",
        "/versions?version=1.0.0",
    ] {
        let refused = get(&url(query));
        assert_eq!(refused.status, 400, "{query}: {}", refused.body);
        assert_eq!(refused.json()["error"], "unknown-parameter", "{query}");
    }
    for query in ["?version=1.0.0&version=1.1.0", "?environment="] {
        let refused = get(&url(query));
        assert_eq!(refused.status, 400, "{query}: {}", refused.body);
        assert_eq!(refused.json()["error"], "bad-request", "{query}");
    }
}

#[test]
fn the_cache_key_is_the_parsed_request() {
    let repo = staged();
    let server = Server::start(&repo, &[]);
    let url = |q: &str| server.url(&format!("/api/prompts/support/agent{q}"));
    // Spellings of one request: one answer, one entity tag.
    let plain = get(&url("?version=1.0.0"));
    assert_eq!(plain.status, 200, "{}", plain.body);
    for same in ["?version=v1.0.0", "?%76ersion=1.0.0", "?version=1.0.0&"] {
        let other = get(&url(same));
        assert_eq!(other.status, 200, "{same}: {}", other.body);
        assert_eq!(
            (&other.body, &other.etag),
            (&plain.body, &plain.etag),
            "{same}"
        );
    }
    let env = get(&url("?environment=dev"));
    let latest = get(&url("/latest?environment=dev"));
    assert_eq!((&latest.body, &latest.etag), (&env.body, &env.etag));
    assert_eq!(env.json()["version"], "1.1.0");
    // Both orders of a pair that may not be combined are refused alike.
    let a = get(&url("/tests?version=1.0.0&environment=dev"));
    let b = get(&url("/tests?environment=dev&version=1.0.0"));
    assert_eq!((a.status, &a.body), (400, &b.body));
}

/// Megabytes of a single-line system prompt (so its JSON body is about as large).
const BIG_PROMPT_BYTES: usize = 600 << 10;
/// Releases of the big prompt requested by distinct valid URLs: ~90 MB of distinct bodies.
const BIG_VERSIONS: usize = 150;
/// The cache budget the flood runs against (`--cache-size`): under a sixth of those bodies.
const BUDGET_MIB: u64 = 16;

#[test]
fn a_cache_busting_flood_keeps_memory_bounded() {
    let repo = registry();
    let text: String = "refund policy words ".repeat(BIG_PROMPT_BYTES / 20);
    repo.write(
        "prompts/big/prompt.yaml",
        &format!("model: gpt-4o\ntoken_budget: 1000000\nsystem_prompt: \"{text}\"\n"),
    );
    repo.run(&["create", "big", "--version", "1.0.0", "-m", "big"])
        .ok();
    // More releases of the same content: annotated tags of the release commit.
    let commit = repo.rev("big/v1.0.0^{commit}");
    for n in 1..BIG_VERSIONS {
        repo.git(&[
            "tag",
            "-a",
            "-m",
            "again",
            &format!("big/v1.0.{n}"),
            &commit,
        ]);
    }
    let budget = format!("{BUDGET_MIB}MiB");
    let server = Server::start(&repo, &["--cache-size", &budget]);
    let pid = server.pid();
    let base = server.url("/api/prompts/big");
    assert_eq!(get(&format!("{base}?version=1.0.0")).status, 200);
    let before = rss_kib(pid);

    // 3,000 cache-busting requests, from 4 clients at once.
    let busters: Vec<_> = (0..4)
        .map(|client| {
            let base = base.clone();
            std::thread::spawn(move || {
                let agent = agent();
                (0..750)
                    .map(|i| {
                        let url = format!("{base}?version=1.0.0&cachebuster={}", client * 750 + i);
                        reply(agent.get(&url).call()).status
                    })
                    .filter(|s| *s != 400)
                    .count()
            })
        })
        .collect();
    let not_refused: usize = busters.into_iter().map(|t| t.join().unwrap()).sum();
    assert_eq!(not_refused, 0, "every cache buster is a 400");
    let after_busters = rss_kib(pid);

    // Every distinct valid request on the big prompt, twice, from 4 clients at once.
    let valid: Vec<_> = (0..4)
        .map(|client| {
            let base = base.clone();
            std::thread::spawn(move || {
                let agent = agent();
                let mut failed = 0;
                for round in 0..2 {
                    for n in (client..BIG_VERSIONS).step_by(4) {
                        let n = if round == 0 { n } else { BIG_VERSIONS - 1 - n };
                        let url = format!("{base}?version=1.0.{n}");
                        if reply(agent.get(&url).call()).status != 200 {
                            failed += 1;
                        }
                    }
                }
                failed
            })
        })
        .collect();
    let failed: usize = valid.into_iter().map(|t| t.join().unwrap()).sum();
    assert_eq!(failed, 0);
    let after_valid = rss_kib(pid);
    eprintln!(
        "serve RSS: {before} KiB after start, {after_busters} KiB after 3,000 cache busters, \
         {after_valid} KiB after {} distinct valid requests of ~{} KiB each",
        2 * BIG_VERSIONS,
        BIG_PROMPT_BYTES >> 10
    );
    assert!(
        after_busters < before + 20 * 1024,
        "cache busters grew RSS from {before} to {after_busters} KiB"
    );
    // Twice the budget (freed bodies stay in the allocator's arenas: measured ~1.8x) plus
    // room for in-flight bodies; without the byte bound the bodies alone would be ~90 MB.
    let bound = before + (2 * BUDGET_MIB + 24) * 1024;
    assert!(
        after_valid < bound,
        "valid requests grew RSS from {before} to {after_valid} KiB (bound {bound} KiB)"
    );
}
