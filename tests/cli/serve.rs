//! `promptreg serve`: the real binary on a loopback port, driven over HTTP.

use std::io::{BufRead, BufReader};
use std::process::{Child, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::support::{promoted_through_pipeline, TestRepo};

pub(crate) const TOKEN: &str = "tok-0123456789abcdef";

/// A running server; killed on drop.
pub(crate) struct Server {
    child: Child,
    base: String,
}

impl Server {
    pub(crate) fn start(repo: &TestRepo, extra: &[&str]) -> Server {
        let mut args = vec!["serve", "--addr", "127.0.0.1:0"];
        args.extend_from_slice(extra);
        let mut command = repo.command(&args);
        command.stdout(Stdio::null()).stderr(Stdio::piped());
        let mut child = command.spawn().expect("spawn serve");
        let stderr = child.stderr.take().expect("stderr");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Some(rest) = line.strip_prefix("listening on ") {
                    let addr = rest.split_whitespace().next().unwrap_or("").to_owned();
                    let _ = tx.send(addr);
                }
            }
        });
        let base = rx
            .recv_timeout(Duration::from_secs(20))
            .expect("the server printed its address");
        Server { child, base }
    }

    /// The server's process id (tests/cli/limits.rs reads its memory from /proc).
    pub(crate) fn pid(&self) -> u32 {
        self.child.id()
    }

    pub(crate) fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// `IP:PORT` the server listens on.
    pub(crate) fn authority(&self) -> String {
        self.base.trim_start_matches("http://").to_owned()
    }

    /// Whether the process has not exited yet.
    pub(crate) fn running(&mut self) -> bool {
        self.child.try_wait().expect("try_wait").is_none()
    }

    /// Sends SIGTERM and waits (bounded) for the exit status.
    pub(crate) fn terminate(&mut self) -> (Option<i32>, Duration) {
        let start = Instant::now();
        let pid = self.child.id().to_string();
        std::process::Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .expect("kill");
        while start.elapsed() < Duration::from_secs(10) {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                return (status.code(), start.elapsed());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        (None, start.elapsed())
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub(crate) fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(20)))
        .build()
        .new_agent()
}

pub(crate) struct Reply {
    pub(crate) status: u16,
    pub(crate) etag: Option<String>,
    cache_control: Option<String>,
    pub(crate) body: String,
}

impl Reply {
    pub(crate) fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }
}

/// A response header as text, `None` when it is missing or not text.
pub(crate) fn header(response: &ureq::http::Response<ureq::Body>, name: &str) -> Option<String> {
    response
        .headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

pub(crate) fn reply(result: Result<ureq::http::Response<ureq::Body>, ureq::Error>) -> Reply {
    let mut response = result.expect("request");
    let (etag, cache_control) = (
        header(&response, "etag"),
        header(&response, "cache-control"),
    );
    Reply {
        status: response.status().as_u16(),
        etag,
        cache_control,
        body: response.body_mut().read_to_string().unwrap_or_default(),
    }
}

pub(crate) fn get(url: &str) -> Reply {
    reply(agent().get(url).call())
}

pub(crate) fn send(method: &str, url: &str, token: Option<&str>, body: &Value) -> Reply {
    let agent = agent();
    let mut request = match method {
        "POST" => agent.post(url),
        _ => agent.patch(url),
    };
    request = request.header("content-type", "application/json");
    if let Some(token) = token {
        request = request.header("authorization", &format!("Bearer {token}"));
    }
    reply(request.send(body.to_string()))
}

/// A registry with `support/agent` 1.0.0 in production.
pub(crate) fn registry() -> TestRepo {
    promoted_through_pipeline("support/agent", "1.0.0", "Hello {{ user_name }}")
}

pub(crate) fn tokens_file(repo: &TestRepo) -> String {
    let path = repo.tmp().join("tokens.yaml");
    std::fs::write(
        &path,
        format!("{TOKEN}: {{name: Release Bot, email: bot@example.com}}\n"),
    )
    .expect("write tokens");
    path.to_string_lossy().into_owned()
}

#[test]
fn reads_match_the_cli_and_revalidate_with_etags() {
    let repo = registry();
    let server = Server::start(&repo, &[]);
    let latest = get(&server.url("/api/prompts/support/agent/latest?environment=production"));
    assert_eq!(latest.status, 200, "{}", latest.body);
    let cli = repo.run(&["fetch", "support/agent@production", "--format", "json"]);
    assert_eq!(
        latest.body, cli.stdout,
        "the body is exactly fetch --format json"
    );
    assert_eq!(latest.cache_control.as_deref(), Some("no-cache"));
    let bare = get(&server.url("/api/prompts/support/agent"));
    assert_eq!(bare.json()["version"], "1.0.0");
    let pinned = get(&server.url("/api/prompts/support/agent?version=1.0.0"));
    assert_eq!(pinned.json()["status"], "production");

    let etag = latest.etag.clone().expect("an ETag");
    let again = reply(
        agent()
            .get(server.url("/api/prompts/support/agent/latest?environment=production"))
            .header("if-none-match", &etag)
            .call(),
    );
    assert_eq!(again.status, 304);
    assert_eq!(again.body, "");

    let versions = get(&server.url("/api/prompts/support/agent/versions"));
    let cli = repo.run(&["versions", "support/agent", "--format", "json"]);
    assert_eq!(versions.body, cli.stdout);
    let history = get(&server.url("/api/prompts/support/agent/history"));
    let cli = repo.run(&["history", "support/agent", "--format", "json"]);
    assert_eq!(history.body, cli.stdout);
    assert_eq!(history.json().as_array().map(Vec::len), Some(4));

    let missing = get(&server.url("/api/prompts/nope/latest"));
    assert_eq!(missing.status, 404);
    assert_eq!(missing.json()["error"], "prompt-not-found");
    let no_version = get(&server.url("/api/prompts/support/agent?version=9.9.9"));
    assert_eq!(no_version.status, 404);
    assert_eq!(no_version.json()["error"], "version-not-found");
    let no_env = get(&server.url("/api/prompts/support/agent/latest?environment=qa"));
    assert_eq!(no_env.status, 404);
    let bad = get(&server.url("/api/prompts/Bad..Name"));
    assert_eq!(bad.status, 400);
    assert_eq!(bad.json()["error"], "invalid-name");
    assert_eq!(get(&server.url("/healthz")).json()["status"], "ok");

    // A promotion by the CLI shows on the next request; the old ETag no longer matches.
    repo.release("support/agent", "1.1.0", "Hi {{ user_name }}");
    repo.promote_through_pipeline("support/agent", "1.1.0");
    let moved = reply(
        agent()
            .get(server.url("/api/prompts/support/agent/latest?environment=production"))
            .header("if-none-match", &etag)
            .call(),
    );
    assert_eq!(moved.status, 200);
    assert_eq!(moved.json()["version"], "1.1.0");
}

#[test]
fn writes_need_a_token_and_use_its_identity() {
    let repo = registry();
    let body = serde_json::json!({
        "name": "support/agent", "version": "2.0.0", "description": "Shorter",
        "system_prompt": "Bye {{ user_name }}\n",
    });
    {
        let server = Server::start(&repo, &[]);
        let refused = send("POST", &server.url("/api/prompts"), Some(TOKEN), &body);
        assert_eq!(refused.status, 403);
        assert_eq!(refused.json()["error"], "writes-disabled");
        assert!(refused.body.contains("--tokens FILE"), "{}", refused.body);
    }
    let tokens = tokens_file(&repo);
    let server = Server::start(&repo, &["--tokens", &tokens]);
    let url = server.url("/api/prompts");
    assert_eq!(send("POST", &url, None, &body).status, 401);
    assert_eq!(
        send("POST", &url, Some("wrong-token-000000"), &body).status,
        401
    );

    let created = send("POST", &url, Some(TOKEN), &body);
    assert_eq!(created.status, 201, "{}", created.body);
    let record = created.json();
    assert_eq!(record["version"], "2.0.0");
    assert_eq!(record["created_by"], "bot@example.com");
    assert_eq!(record["system_prompt"], "Bye {{ user_name }}\n");
    // Fields not given keep the file's values.
    assert_eq!(record["model"], "gpt-4o");
    assert_eq!(
        repo.git(&["log", "-1", "--format=%an <%ae>"]).trim(),
        "Release Bot <bot@example.com>"
    );
    let again = send("POST", &url, Some(TOKEN), &body);
    assert_eq!(again.status, 409);
    assert_eq!(again.json()["error"], "version-exists");
    let invalid = send(
        "POST",
        &url,
        Some(TOKEN),
        &serde_json::json!({"name": "x", "version": "1.0.0", "description": "d", "temperature": 9}),
    );
    assert_eq!(invalid.status, 422, "{}", invalid.body);

    let promote = server.url("/api/prompts/support/agent@2.0.0/promote");
    let reason = serde_json::json!({"environment": "dev", "reason": "try it"});
    assert_eq!(
        send("PATCH", &promote, Some("nope-nope-nope-nope"), &reason).status,
        401
    );
    let moved = send("PATCH", &promote, Some(TOKEN), &reason);
    assert_eq!(moved.status, 200, "{}", moved.body);
    assert_eq!(moved.json()["environment"], "dev");
    let skip = send(
        "PATCH",
        &promote,
        Some(TOKEN),
        &serde_json::json!({"environment": "production", "reason": "skip"}),
    );
    assert_eq!(skip.status, 409);
    assert_eq!(skip.json()["error"], "pipeline-skipped");
    let dev = get(&server.url("/api/prompts/support/agent/latest?environment=dev"));
    assert_eq!(dev.json()["version"], "2.0.0");
    assert_eq!(dev.json()["updated_by"], "bot@example.com");
    repo.fsck();
}

#[test]
fn access_rules_apply_to_token_identities() {
    let repo = registry();
    let index = repo.read("registry.yaml");
    repo.write(
        "registry.yaml",
        &format!("{index}access:\n  environments:\n    dev: [someone@example.com]\n"),
    );
    repo.git(&["commit", "-qam", "access rules"]);
    let tokens = tokens_file(&repo);
    let server = Server::start(&repo, &["--tokens", &tokens]);
    repo.release("support/agent", "1.1.0", "Hi");
    let denied = send(
        "PATCH",
        &server.url("/api/prompts/support/agent@1.1.0/promote"),
        Some(TOKEN),
        &serde_json::json!({"environment": "dev", "reason": "x"}),
    );
    assert_eq!(denied.status, 403, "{}", denied.body);
    assert_eq!(denied.json()["error"], "access-denied");
}

#[test]
fn concurrent_readers_during_promotions_all_succeed() {
    let repo = registry();
    for (version, text) in [("1.1.0", "b"), ("1.2.0", "c")] {
        repo.release("support/agent", version, text);
    }
    let server = Server::start(&repo, &[]);
    let url = server.url("/api/prompts/support/agent/latest?environment=dev");
    let readers: Vec<_> = (0..4)
        .map(|_| {
            let url = url.clone();
            std::thread::spawn(move || {
                let mut statuses = Vec::new();
                for _ in 0..40 {
                    statuses.push(get(&url).status);
                }
                statuses
            })
        })
        .collect();
    for version in ["1.1.0", "1.2.0", "1.0.0", "1.2.0"] {
        repo.promote("support/agent", version, "dev");
    }
    for reader in readers {
        let statuses = reader.join().expect("reader");
        assert!(statuses.iter().all(|s| *s == 200), "{statuses:?}");
    }
    assert_eq!(get(&url).json()["version"], "1.2.0");
}

#[test]
fn sigterm_shuts_down_gracefully() {
    let repo = registry();
    let mut server = Server::start(&repo, &[]);
    assert_eq!(get(&server.url("/healthz")).status, 200);
    let (code, took) = server.terminate();
    assert_eq!(code, Some(0));
    assert!(took < Duration::from_secs(5), "took {took:?}");
}

#[test]
fn local_writes_need_a_loopback_address() {
    let repo = registry();
    repo.run(&["serve", "--addr", "0.0.0.0:0", "--allow-local-writes"])
        .usage()
        .stderr_has(&["loopback"]);
}

#[test]
fn local_writes_on_loopback_use_the_git_identity() {
    let repo = registry();
    repo.release("support/agent", "1.1.0", "b");
    let server = Server::start(&repo, &["--allow-local-writes"]);
    let moved = send(
        "PATCH",
        &server.url("/api/prompts/support/agent@1.1.0/promote"),
        None,
        &serde_json::json!({"environment": "dev", "reason": "local"}),
    );
    assert_eq!(moved.status, 200, "{}", moved.body);
    assert_eq!(
        repo.git(&["log", "-1", "--format=%ae"]).trim(),
        crate::support::AUTHOR_EMAIL
    );
}

#[test]
fn python_standard_library_reads_by_environment_and_version() {
    if std::process::Command::new("python3")
        .arg("--version")
        .output()
        .is_err()
    {
        eprintln!("python3 not found; skipped");
        return;
    }
    let repo = registry();
    let server = Server::start(&repo, &[]);
    let script = format!(
        "import json, urllib.request\n\
         base = '{}/api/prompts/support/agent'\n\
         a = json.load(urllib.request.urlopen(base + '/latest?environment=production', timeout=10))\n\
         b = json.load(urllib.request.urlopen(base + '?version=1.0.0', timeout=10))\n\
         print(a['version'], a['status'], b['id'])\n",
        server.base
    );
    let out = std::process::Command::new("python3")
        .args(["-c", &script])
        .output()
        .expect("python3");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "1.0.0 production support/agent@1.0.0\n"
    );
}

#[test]
fn sync_fast_forwards_from_a_remote() {
    let upstream = registry();
    let mirror = TestRepo::new();
    let source = upstream.root.to_string_lossy().into_owned();
    mirror.git(&["pull", "-q", &source, "main"]);
    mirror.git(&["fetch", "-q", "--tags", &source]);
    let server = Server::start(&mirror, &["--sync", &source, "--interval", "200ms"]);
    let url = server.url("/api/prompts/support/agent/latest?environment=dev");
    assert_eq!(get(&url).json()["version"], "1.0.0");
    upstream.release("support/agent", "1.1.0", "b");
    upstream.promote("support/agent", "1.1.0", "dev");
    let start = Instant::now();
    loop {
        let seen = get(&url).json()["version"].clone();
        if seen == "1.1.0" {
            break;
        }
        assert!(start.elapsed() < Duration::from_secs(15), "never synced");
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn a_client_trickling_its_headers_is_cut_off() {
    use std::io::{Read, Write};
    let repo = registry();
    let server = Server::start(&repo, &[]);
    let addr = server
        .base
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .to_owned();
    let mut slow = std::net::TcpStream::connect(&addr).expect("connect");
    slow.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        .expect("write");
    slow.set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    let started = Instant::now();
    let mut buf = [0u8; 256];
    // The server closes the connection (or answers 408) once the header timeout passes.
    let read = slow.read(&mut buf).unwrap_or(0);
    let waited = started.elapsed();
    assert!(
        waited >= Duration::from_secs(8),
        "cut off too early: {waited:?}"
    );
    assert!(waited < Duration::from_secs(15), "not cut off: {waited:?}");
    assert!(
        read == 0 || buf.starts_with(b"HTTP/1.1 408"),
        "{:?}",
        &buf[..read]
    );
    // Other clients were served all along.
    assert_eq!(get(&server.url("/healthz")).status, 200);
}

/// `registry()` with three runs of 1.0.0 (golden-set twice, safety once) and 1.1.0 released and
/// tested once.
fn tested_registry() -> TestRepo {
    let repo = registry();
    for extra in [
        &["--test", "golden-set", "--passed", "8", "--failed", "2"][..],
        &[
            "--test", "safety", "--passed", "5", "--failed", "0", "--score", "0.9",
        ],
        &["--test", "golden-set", "--passed", "19", "--failed", "1"],
    ] {
        let mut args = vec!["results", "record", "support/agent@1.0.0"];
        args.extend_from_slice(extra);
        repo.run(&args).ok();
    }
    repo.release("support/agent", "1.1.0", "Hi {{ user_name }}");
    repo.run(&[
        "results",
        "record",
        "support/agent@1.1.0",
        "--test",
        "golden-set",
        "--passed",
        "1",
        "--failed",
        "1",
    ])
    .ok();
    repo
}

#[test]
fn tests_endpoint_lists_the_runs_exactly_as_results_show() {
    let repo = tested_registry();
    let server = Server::start(&repo, &[]);
    let url = |query: &str| server.url(&format!("/api/prompts/support/agent/tests{query}"));
    let show = |selector: &str| {
        let out = repo.run(&["results", "show", selector, "--format", "json"]);
        out.ok();
        out.stdout
    };

    let every_run = get(&url("?version=1.0.0"));
    assert_eq!(every_run.status, 200, "{}", every_run.body);
    assert_eq!(every_run.body, show("support/agent@1.0.0"));
    let latest: Vec<Value> = every_run
        .json()
        .as_array()
        .expect("rows")
        .iter()
        .map(|r| r["latest"].clone())
        .collect();
    assert_eq!(latest, [false, true, true]);
    assert_eq!(every_run.cache_control.as_deref(), Some("no-cache"));

    // An environment means the version it holds; no parameter, the latest of every version.
    let production = get(&url("?environment=production"));
    assert_eq!(production.status, 200, "{}", production.body);
    assert_eq!(production.body, show("support/agent@1.0.0"));
    let all = get(&url(""));
    assert_eq!(all.status, 200, "{}", all.body);
    assert_eq!(all.body, show("support/agent"));
    assert_eq!(all.json().as_array().map(Vec::len), Some(3));

    // A run recorded while the server runs shows on the next request.
    repo.run(&[
        "results",
        "record",
        "support/agent@1.0.0",
        "--test",
        "safety",
        "--passed",
        "4",
        "--failed",
        "1",
    ])
    .ok();
    let after = get(&url("?version=1.0.0"));
    assert_eq!(after.body, show("support/agent@1.0.0"));
    assert_eq!(after.json().as_array().map(Vec::len), Some(4));
    assert_ne!(after.etag, every_run.etag);
}

#[test]
fn tests_endpoint_refuses_unknown_prompts_versions_and_environments() {
    let repo = tested_registry();
    let server = Server::start(&repo, &[]);
    let no_version = get(&server.url("/api/prompts/support/agent/tests?version=9.9.9"));
    assert_eq!(no_version.status, 404, "{}", no_version.body);
    assert_eq!(no_version.json()["error"], "version-not-found");
    let no_prompt = get(&server.url("/api/prompts/nope/tests"));
    assert_eq!(no_prompt.status, 404, "{}", no_prompt.body);
    assert_eq!(no_prompt.json()["error"], "prompt-not-found");
    let no_env = get(&server.url("/api/prompts/support/agent/tests?environment=qa"));
    assert_eq!(no_env.status, 404, "{}", no_env.body);
    let both =
        get(&server.url("/api/prompts/support/agent/tests?version=1.0.0&environment=production"));
    assert_eq!(both.status, 400, "{}", both.body);
    let bad = get(&server.url("/api/prompts/support/agent/tests?version=1.0"));
    assert_eq!(bad.status, 400, "{}", bad.body);
}

#[test]
fn prompt_json_carries_the_latest_run_of_each_test() {
    let repo = tested_registry();
    let server = Server::start(&repo, &[]);
    let pinned = get(&server.url("/api/prompts/support/agent?version=1.0.0"));
    assert_eq!(pinned.status, 200, "{}", pinned.body);
    let cli = repo.run(&["fetch", "support/agent@1.0.0", "--format", "json"]);
    cli.ok();
    assert_eq!(pinned.json()["tests"], cli.json()["tests"]);
    let tests: Vec<(Value, Value)> = pinned.json()["tests"]
        .as_array()
        .expect("tests")
        .iter()
        .map(|t| (t["test"].clone(), t["passed"].clone()))
        .collect();
    assert_eq!(
        tests,
        [
            (Value::from("golden-set"), Value::from(19)),
            (Value::from("safety"), Value::from(5)),
        ]
    );
    let latest = get(&server.url("/api/prompts/support/agent/latest?environment=production"));
    assert_eq!(latest.json()["tests"], pinned.json()["tests"]);
    let newer = get(&server.url("/api/prompts/support/agent?version=1.1.0"));
    assert_eq!(newer.json()["tests"][0]["pass_rate"], Value::from(0.5));
}
