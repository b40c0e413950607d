//! `promptreg serve` under abuse: unknown query parameters, cache-busting floods (with the
//! server's RSS measured), cross-site writes, token-less writes, health of a broken registry,
//! bad version tags, and error bodies that must not leak server paths or pids.

use std::io::{Read, Write};
use std::time::Duration;

use serde_json::{json, Value};

use crate::serve::{agent, get, registry, reply, send, tokens_file, Reply, Server, TOKEN};
use crate::support::TestRepo;

/// The server's resident set (`VmRSS`) in KiB.
fn rss_kib(pid: u32) -> u64 {
    crate::support::proc_memory_kib(pid, "VmRSS")
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
    // Twice the budget (freed memory stays in the allocator's arenas) plus room for the
    // bodies in flight; measured: ~33 MB. Without the byte bound the bodies alone are ~90 MB
    // (a 1 GiB budget measured +103 MB).
    let bound = before + (2 * BUDGET_MIB + 24) * 1024;
    assert!(
        after_valid < bound,
        "valid requests grew RSS from {before} to {after_valid} KiB (bound {bound} KiB)"
    );
}

/// A release request as JSON text.
fn release_body(version: &str) -> String {
    json!({
        "name": "support/agent", "version": version, "description": "via HTTP",
        "system_prompt": format!("Hey {{{{ user_name }}}}, this is {version}\n"),
    })
    .to_string()
}

#[test]
fn cross_site_writes_are_refused_and_release_nothing() {
    let repo = registry();
    let server = Server::start(&repo, &["--allow-local-writes"]);
    let url = server.url("/api/prompts");
    let tags = repo.git(&["tag", "-l"]);
    let commits = repo.commit_count();
    let own = format!("http://{}", server.authority());

    // What a form or a simple `fetch` from any web page can send: text/plain.
    let plain = post_with(
        &url,
        &[
            ("content-type", "text/plain"),
            ("origin", "http://evil.example"),
        ],
        &release_body("2.0.0"),
    );
    assert_eq!(plain.status, 415, "{}", plain.body);
    assert_eq!(plain.json()["error"], "unsupported-media-type");
    let no_type = post_with(&url, &[], &release_body("2.0.0"));
    assert_eq!(no_type.status, 415, "{}", no_type.body);
    // JSON, but from another origin (or a sandboxed `null` one).
    for origin in ["http://evil.example", "null", "http://127.0.0.1:1"] {
        let foreign = post_with(
            &url,
            &[("content-type", "application/json"), ("origin", origin)],
            &release_body("2.0.0"),
        );
        assert_eq!(foreign.status, 403, "{origin}: {}", foreign.body);
        assert_eq!(foreign.json()["error"], "foreign-origin");
    }
    // A page whose DNS name was rebound to 127.0.0.1 is same-origin with itself.
    let body = release_body("2.0.0");
    let (status, answer) = raw(
        &server.authority(),
        &format!(
            "POST /api/prompts HTTP/1.1\r\nHost: rebound.example:{port}\r\nOrigin: \
             http://rebound.example:{port}\r\nContent-Type: application/json\r\nContent-Length: \
             {}\r\nConnection: close\r\n\r\n{body}",
            body.len(),
            port = server.authority().rsplit(':').next().unwrap_or_default(),
        ),
    );
    assert_eq!(status, 403, "{answer}");
    assert!(answer.contains("foreign-origin"), "{answer}");
    let promote = reply(
        agent()
            .patch(server.url("/api/prompts/support/agent@1.0.0/promote"))
            .header("content-type", "text/plain")
            .send(json!({"environment": "dev", "reason": "x"}).to_string()),
    );
    assert_eq!(promote.status, 415, "{}", promote.body);
    assert_eq!(repo.git(&["tag", "-l"]), tags, "nothing released");
    assert_eq!(repo.commit_count(), commits, "nothing committed");

    // The server's own origin, and a client that sends none, may write.
    let same = post_with(
        &url,
        &[("content-type", "application/json"), ("origin", &own)],
        &release_body("2.0.0"),
    );
    assert_eq!(same.status, 201, "{}", same.body);
    let scripted = post_with(
        &url,
        &[("content-type", "application/json; charset=utf-8")],
        &release_body("2.1.0"),
    );
    assert_eq!(scripted.status, 201, "{}", scripted.body);
}

#[test]
fn with_tokens_a_write_without_one_is_not_the_local_identity() {
    let repo = registry();
    let tokens = tokens_file(&repo);
    let server = Server::start(&repo, &["--tokens", &tokens, "--allow-local-writes"]);
    let url = server.url("/api/prompts");
    let body: Value = serde_json::from_str(&release_body("2.0.0")).unwrap();
    let anonymous = send("POST", &url, None, &body);
    assert_eq!(anonymous.status, 401, "{}", anonymous.body);
    assert_eq!(anonymous.json()["error"], "unauthorized");
    let promote = send(
        "PATCH",
        &server.url("/api/prompts/support/agent@1.0.0/promote"),
        None,
        &json!({"environment": "dev", "reason": "x"}),
    );
    assert_eq!(promote.status, 401, "{}", promote.body);
    assert!(repo.git(&["tag", "-l", "support/agent/v2.0.0"]).is_empty());
    let signed = send("POST", &url, Some(TOKEN), &body);
    assert_eq!(signed.status, 201, "{}", signed.body);
    assert_eq!(signed.json()["created_by"], "bot@example.com");
}

#[test]
fn healthz_reports_a_broken_index_and_a_deleted_branch() {
    let repo = registry();
    let server = Server::start(&repo, &[]);
    let health = get(&server.url("/healthz"));
    assert_eq!(health.status, 200, "{}", health.body);
    assert_eq!(health.json()["status"], "ok");
    assert_eq!(health.json()["commit"], repo.rev("HEAD"));

    let index = repo.read("registry.yaml");
    repo.commit_by_hand(
        "registry.yaml",
        "environments: [dev\nprompts: {\n",
        "break the index",
    );
    let broken = get(&server.url("/healthz"));
    assert_eq!(broken.status, 503, "{}", broken.body);
    assert_eq!(broken.json()["status"], "unavailable");
    assert_eq!(broken.json()["error"], "registry-invalid");
    let message = broken.json()["message"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(message.contains("registry.yaml"), "{message}");
    let root = repo.root.to_string_lossy().into_owned();
    assert!(!broken.body.contains(&root), "{}", broken.body);
    // The reads fail too, with the same reason.
    let read = get(&server.url("/api/prompts/support/agent"));
    assert_eq!(read.status, 503, "{}", read.body);
    assert_eq!(read.json()["error"], "registry-invalid");

    repo.commit_by_hand("registry.yaml", &index, "mend the index");
    assert_eq!(get(&server.url("/healthz")).status, 200);

    repo.git(&["rm", "-q", "registry.yaml"]);
    repo.git(&["commit", "-qm", "drop the index"]);
    let missing = get(&server.url("/healthz"));
    assert_eq!(missing.status, 503, "{}", missing.body);
    assert_eq!(missing.json()["error"], "registry-missing");

    // A served branch that is deleted.
    repo.git(&["revert", "--no-edit", "HEAD"]);
    repo.git(&["branch", "served"]);
    let served = Server::start(&repo, &["--ref", "served"]);
    assert_eq!(get(&served.url("/healthz")).status, 200);
    repo.git(&["branch", "-D", "served"]);
    let gone = get(&served.url("/healthz"));
    assert_eq!(gone.status, 503, "{}", gone.body);
    assert_eq!(gone.json()["error"], "ref-missing");
    assert!(gone.json()["message"]
        .as_str()
        .unwrap_or_default()
        .contains("refs/heads/served"));
    let read = get(&served.url("/api/prompts/support/agent"));
    assert_eq!(read.status, 503, "{}", read.body);
}

/// `registry()` with 1.1.0 released, plus three bad tags above it: an annotated tag of a tree,
/// one of a blob, and a lightweight tag of a blob.
fn with_bad_tags() -> TestRepo {
    let repo = registry();
    repo.release("support/agent", "1.1.0", "Hi {{ user_name }}");
    let tree = repo.rev("HEAD^{tree}");
    repo.git(&["tag", "-a", "-m", "tree", "support/agent/v9.0.0", &tree]);
    let blob = repo
        .git(&["rev-parse", "HEAD:registry.yaml"])
        .trim()
        .to_owned();
    repo.git(&["tag", "-a", "-m", "blob", "support/agent/v9.1.0", &blob]);
    repo.git(&["tag", "support/agent/v9.2.0", &blob]);
    repo
}

#[test]
fn a_bad_tag_is_skipped_with_a_warning_in_versions_and_latest() {
    let repo = with_bad_tags();
    let versions = repo.run(&["versions", "support/agent", "--format", "json"]);
    versions.ok();
    let listed: Vec<Value> = versions
        .json()
        .as_array()
        .expect("rows")
        .iter()
        .map(|r| r["version"].clone())
        .collect();
    assert_eq!(listed, ["1.0.0", "1.1.0"]);
    versions.stderr_has(&[
        "warning: skipped tag `support/agent/v9.0.0`",
        "warning: skipped tag `support/agent/v9.1.0`",
        "warning: skipped tag `support/agent/v9.2.0`",
        "promptreg validate",
    ]);
    let latest = repo.run(&["fetch", "support/agent@latest", "--format", "json"]);
    latest.ok();
    assert_eq!(latest.json()["version"], "1.1.0");
    latest.stderr_has(&["warning: skipped tag `support/agent/v9.1.0`"]);
    // Asked for by name, a bad tag is still an error; `validate` reports each one.
    repo.run(&["fetch", "support/agent@9.0.0"]).refused();
    let validate = repo.run(&["validate"]);
    validate.code(1);
    for tag in ["v9.0.0: error", "v9.1.0: error", "v9.2.0: error"] {
        assert!(validate.stdout.contains(tag), "{}", validate.stdout);
    }

    let server = Server::start(&repo, &[]);
    let listing = get(&server.url("/api/prompts/support/agent/versions"));
    assert_eq!(listing.status, 200, "{}", listing.body);
    assert_eq!(listing.body, versions.stdout);
    let newest = get(&server.url("/api/prompts/support/agent?version=latest"));
    assert_eq!(newest.status, 200, "{}", newest.body);
    assert_eq!(newest.json()["version"], "1.1.0");
    assert_eq!(
        get(&server.url("/api/prompts/support/agent")).json()["version"],
        "1.0.0"
    );
}

#[test]
fn write_errors_name_the_field_and_never_a_server_path_or_pid() {
    let repo = registry();
    let tokens = tokens_file(&repo);
    let server = Server::start(&repo, &["--tokens", &tokens]);
    let pid = server.pid().to_string();
    let url = server.url("/api/prompts");
    let root = repo.root.to_string_lossy().into_owned();
    let tmp = repo.tmp().to_string_lossy().into_owned();
    let clean = |reply: &Reply| {
        for leak in [&root, &tmp, "promptreg-serve-", ".git/"] {
            assert!(!reply.body.contains(leak), "`{leak}` in {}", reply.body);
        }
        let pid_shown = reply
            .body
            .split(|c: char| !c.is_ascii_digit())
            .any(|n| n == pid);
        assert!(!pid_shown, "the pid in {}", reply.body);
    };

    let typo = send(
        "POST",
        &url,
        Some(TOKEN),
        &json!({"name": "support/agent", "version": "2.0.0", "description": "d", "modle": "gpt-4o"}),
    );
    assert_eq!(typo.status, 400, "{}", typo.body);
    assert_eq!(typo.json()["error"], "bad-request");
    assert!(
        typo.body
            .contains("unknown field `modle` (did you mean `model`?)"),
        "{}",
        typo.body
    );
    clean(&typo);

    // Rules broken by the merged file are reported against the prompt's own file name.
    let invalid = send(
        "POST",
        &url,
        Some(TOKEN),
        &json!({"name": "support/agent", "version": "2.0.0", "description": "d", "temperature": 9}),
    );
    assert_eq!(invalid.status, 422, "{}", invalid.body);
    assert!(
        invalid.body.contains("prompts/support/agent/prompt.yaml"),
        "{}",
        invalid.body
    );
    clean(&invalid);

    // A field the server's working copy holds (not the client's) is not echoed.
    let file = repo.read("prompts/support/agent/prompt.yaml");
    repo.write(
        "prompts/support/agent/prompt.yaml",
        &format!("{file}secret-7f3a9c: hunter2\n"),
    );
    let foreign = send(
        "POST",
        &url,
        Some(TOKEN),
        &json!({"name": "support/agent", "version": "2.0.0", "description": "d"}),
    );
    assert_eq!(foreign.status, 422, "{}", foreign.body);
    assert!(!foreign.body.contains("secret-7f3a9c"), "{}", foreign.body);
    assert!(!foreign.body.contains("hunter2"), "{}", foreign.body);
    clean(&foreign);
    repo.write("prompts/support/agent/prompt.yaml", &file);

    for reply in [
        get(&server.url("/api/prompts/support/agent?version=9.9.9")),
        get(&server.url("/api/prompts/nope")),
        send("POST", &url, None, &json!({})),
    ] {
        assert!(reply.status >= 400, "{}", reply.body);
        clean(&reply);
    }
    assert!(repo.git(&["tag", "-l", "support/agent/v2.0.0"]).is_empty());
}

#[test]
fn shutdown_during_a_long_request_is_bounded() {
    let repo = registry();
    let mut server = Server::start(&repo, &["--allow-local-writes"]);
    // A write whose body never finishes arriving: in flight until its 30 s timeout.
    let mut slow = std::net::TcpStream::connect(server.authority()).expect("connect");
    slow.write_all(
        format!(
            "POST /api/prompts HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\n\
             Content-Length: 1000\r\n\r\n{{\"name\":",
            server.authority()
        )
        .as_bytes(),
    )
    .expect("write");
    std::thread::sleep(Duration::from_millis(300));
    let pid = server.pid().to_string();
    let signal = || {
        std::process::Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .expect("kill")
    };
    signal();
    // The first signal lets in-flight requests finish (for at most 30 s) ...
    std::thread::sleep(Duration::from_millis(1000));
    assert!(
        server.running(),
        "the server did not wait for the request in flight"
    );
    // ... and a second one stops waiting.
    let (code, took) = server.terminate();
    assert_eq!(code, Some(0));
    assert!(took < Duration::from_secs(5), "took {took:?}");
    drop(slow);
}
