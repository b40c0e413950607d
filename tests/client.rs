//! `promptreg_client` against a fake server: a `TcpListener` on 127.0.0.1 answering canned
//! records, counting requests, honouring `If-None-Match`, and able to go down or hang.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use promptreg_client::{Client, ClientError, Origin, Target};
use serde_json::{json, Value};

/// A canned response.
#[derive(Clone)]
struct Canned {
    status: u16,
    body: String,
    etag: Option<String>,
}

/// What a request carried.
#[derive(Clone, Debug)]
struct Seen {
    target: String,
    if_none_match: Option<String>,
}

#[derive(Default)]
struct State {
    routes: HashMap<String, Canned>,
    seen: Vec<Seen>,
    hang: bool,
}

struct FakeServer {
    addr: SocketAddr,
    state: Arc<Mutex<State>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl FakeServer {
    fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.set_nonblocking(true).expect("nonblocking");
        let addr = listener.local_addr().expect("addr");
        let state = Arc::new(Mutex::new(State::default()));
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let (state, stop) = (Arc::clone(&state), Arc::clone(&stop));
            std::thread::spawn(move || serve(listener, state, stop))
        };
        FakeServer {
            addr,
            state,
            stop,
            thread: Some(thread),
        }
    }

    fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Answers `target` (path and query) with a record and an ETag.
    fn record(&self, target: &str, record: &Value, etag: &str) {
        self.respond(target, 200, &record.to_string(), Some(etag));
    }

    fn respond(&self, target: &str, status: u16, body: &str, etag: Option<&str>) {
        self.state.lock().unwrap().routes.insert(
            target.to_owned(),
            Canned {
                status,
                body: body.to_owned(),
                etag: etag.map(str::to_owned),
            },
        );
    }

    fn hang(&self) {
        self.state.lock().unwrap().hang = true;
    }

    fn seen(&self) -> Vec<Seen> {
        self.state.lock().unwrap().seen.clone()
    }

    fn requests(&self) -> usize {
        self.state.lock().unwrap().seen.len()
    }

    /// Stops listening: later connections are refused.
    fn down(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(thread) = self.thread.take() {
            thread.join().expect("server thread");
        }
    }
}

impl Drop for FakeServer {
    fn drop(&mut self) {
        self.down();
    }
}

fn serve(listener: TcpListener, state: Arc<Mutex<State>>, stop: Arc<AtomicBool>) {
    let mut held = Vec::new(); // connections left unanswered while hanging
    while !stop.load(Ordering::SeqCst) {
        match listener.accept() {
            Ok((stream, _)) => {
                if let Some(stream) = answer(stream, &state) {
                    held.push(stream);
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                std::thread::sleep(Duration::from_millis(2));
            }
            Err(_) => break,
        }
    }
}

/// Answers one request; returns the stream when hanging instead.
fn answer(stream: TcpStream, state: &Mutex<State>) -> Option<TcpStream> {
    stream.set_nonblocking(false).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
    let mut reader = BufReader::new(stream);
    let mut line = String::new();
    reader.read_line(&mut line).ok()?;
    let target = line
        .split_whitespace()
        .nth(1)
        .unwrap_or_default()
        .to_owned();
    let mut if_none_match = None;
    loop {
        let mut header = String::new();
        if reader.read_line(&mut header).ok()? == 0 || header.trim().is_empty() {
            break;
        }
        if let Some((key, value)) = header.split_once(':') {
            if key.trim().eq_ignore_ascii_case("if-none-match") {
                if_none_match = Some(value.trim().to_owned());
            }
        }
    }
    let mut stream = reader.into_inner();
    let mut state = state.lock().unwrap();
    state.seen.push(Seen {
        target: target.clone(),
        if_none_match: if_none_match.clone(),
    });
    if state.hang {
        return Some(stream);
    }
    let canned = state.routes.get(&target).cloned().unwrap_or(Canned {
        status: 404,
        body: json!({"error": "not_found", "message": format!("no route {target}")}).to_string(),
        etag: None,
    });
    drop(state);
    let matched = canned.etag.is_some() && canned.etag == if_none_match;
    let (status, body) = if matched {
        (304, String::new())
    } else {
        (canned.status, canned.body)
    };
    let mut head = format!(
        "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n",
        body.len()
    );
    if let Some(etag) = &canned.etag {
        head.push_str(&format!("ETag: {etag}\r\n"));
    }
    head.push_str("\r\n");
    let _ = stream.write_all(head.as_bytes());
    let _ = stream.write_all(body.as_bytes());
    let _ = stream.flush();
    None
}

fn record(name: &str, version: &str, text: &str) -> Value {
    json!({
        "id": format!("{name}@{version}"),
        "name": name,
        "version": version,
        "system_prompt": text,
        "temperature": 0.3,
        "environment": "production",
        "model": "gpt-4o",
    })
}

const NAME: &str = "support/refund-agent";
const PROD: &str = "/api/prompts/support/refund-agent/latest?environment=production";

/// An address nothing listens on.
fn dead_url() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    drop(listener);
    format!("http://{addr}")
}

#[test]
fn client_is_send_and_sync() {
    fn check<T: Send + Sync>() {}
    check::<Client>();
}

#[test]
fn gets_by_environment_version_and_latest() {
    let server = FakeServer::start();
    server.record(PROD, &record(NAME, "1.0.0", "prod text"), "\"a\"");
    let mut tested = record(NAME, "1.2.0", "exact");
    tested["tests"] = json!([{
        "test": "golden-set", "passed": 19, "failed": 1, "errored": 0, "total": 20,
        "pass_rate": 0.95, "avg_score": null, "tested_at": "2026-11-24T10:00:00+00:00",
        "tested_by": "ci@example.com", "source": "promptfoo", "url": null
    }]);
    server.record(
        "/api/prompts/support/refund-agent?version=1.2.0",
        &tested,
        "\"b\"",
    );
    server.record(
        "/api/prompts/support/refund-agent?version=latest",
        &record(NAME, "2.0.0", "newest"),
        "\"c\"",
    );
    let client = Client::new(&server.url());
    let prod = client.get(NAME, Target::Environment("production")).unwrap();
    assert_eq!(
        (prod.version(), prod.system_prompt()),
        ("1.0.0", "prod text")
    );
    assert_eq!(prod.origin(), Origin::Server);
    assert_eq!(prod.model(), Some("gpt-4o"));
    assert_eq!(prod.json()["id"], "support/refund-agent@1.0.0");
    assert!(prod.tests().is_empty(), "a record without `tests`");
    let exact = client.get(NAME, Target::Version("1.2.0")).unwrap();
    assert_eq!(exact.system_prompt(), "exact");
    let tests = exact.tests();
    assert_eq!(tests.len(), 1);
    assert_eq!(
        (tests[0].test.as_str(), tests[0].passed, tests[0].pass_rate),
        ("golden-set", 19, 0.95)
    );
    let latest = client.get(NAME, Target::Latest).unwrap();
    assert_eq!(latest.version(), "2.0.0");
    let targets: Vec<String> = server.seen().into_iter().map(|s| s.target).collect();
    assert_eq!(
        targets,
        [
            PROD,
            "/api/prompts/support/refund-agent?version=1.2.0",
            "/api/prompts/support/refund-agent?version=latest",
        ]
    );
}

#[test]
fn a_fresh_hit_makes_no_request() {
    let server = FakeServer::start();
    server.record(PROD, &record(NAME, "1.0.0", "t"), "\"a\"");
    let client = Client::builder(&server.url())
        .ttl(Duration::from_secs(60))
        .build();
    client.get(NAME, Target::Environment("production")).unwrap();
    let again = client.get(NAME, Target::Environment("production")).unwrap();
    assert_eq!(again.origin(), Origin::Cache);
    assert_eq!(again.version(), "1.0.0");
    assert_eq!(server.requests(), 1);
}

#[test]
fn a_stale_hit_revalidates_with_if_none_match() {
    let server = FakeServer::start();
    server.record(PROD, &record(NAME, "1.0.0", "t"), "\"a\"");
    let client = Client::builder(&server.url())
        .ttl(Duration::from_millis(20))
        .build();
    client.get(NAME, Target::Environment("production")).unwrap();
    std::thread::sleep(Duration::from_millis(30));
    let again = client.get(NAME, Target::Environment("production")).unwrap();
    assert_eq!(again.origin(), Origin::Revalidated);
    assert_eq!(again.version(), "1.0.0");
    let seen = server.seen();
    assert_eq!(seen.len(), 2);
    assert_eq!(seen[0].if_none_match, None);
    assert_eq!(seen[1].if_none_match.as_deref(), Some("\"a\""));
    // Revalidated means fresh again: no request within the TTL.
    client.get(NAME, Target::Environment("production")).unwrap();
    assert_eq!(server.requests(), 2);
}

#[test]
fn a_changed_record_replaces_the_stale_one() {
    let server = FakeServer::start();
    server.record(PROD, &record(NAME, "1.0.0", "old"), "\"a\"");
    let client = Client::builder(&server.url()).ttl(Duration::ZERO).build();
    client.get(NAME, Target::Environment("production")).unwrap();
    server.record(PROD, &record(NAME, "1.1.0", "new"), "\"b\"");
    let again = client.get(NAME, Target::Environment("production")).unwrap();
    assert_eq!((again.version(), again.origin()), ("1.1.0", Origin::Server));
    assert_eq!(server.seen()[1].if_none_match.as_deref(), Some("\"a\""));
}

#[test]
fn the_last_good_value_is_served_when_the_server_is_down() {
    let mut server = FakeServer::start();
    server.record(PROD, &record(NAME, "1.0.0", "t"), "\"a\"");
    let client = Client::builder(&server.url()).ttl(Duration::ZERO).build();
    client.get(NAME, Target::Environment("production")).unwrap();
    server.down();
    for _ in 0..3 {
        let stale = client.get(NAME, Target::Environment("production")).unwrap();
        assert_eq!((stale.version(), stale.origin()), ("1.0.0", Origin::Stale));
    }
}

#[test]
fn a_5xx_serves_the_last_good_value() {
    let server = FakeServer::start();
    server.record(PROD, &record(NAME, "1.0.0", "t"), "\"a\"");
    let client = Client::builder(&server.url()).ttl(Duration::ZERO).build();
    client.get(NAME, Target::Environment("production")).unwrap();
    server.respond(
        PROD,
        503,
        r#"{"error":"unavailable","message":"busy"}"#,
        None,
    );
    let stale = client.get(NAME, Target::Environment("production")).unwrap();
    assert_eq!(stale.origin(), Origin::Stale);
}

#[test]
fn a_hanging_server_times_out_to_the_last_good_value() {
    let server = FakeServer::start();
    server.record(PROD, &record(NAME, "1.0.0", "t"), "\"a\"");
    let client = Client::builder(&server.url())
        .ttl(Duration::from_millis(20))
        .timeout(Duration::from_millis(100))
        .retry_after(Duration::from_secs(60))
        .build();
    client.get(NAME, Target::Environment("production")).unwrap();
    std::thread::sleep(Duration::from_millis(30));
    server.hang();
    let started = std::time::Instant::now();
    let stale = client.get(NAME, Target::Environment("production")).unwrap();
    assert_eq!(stale.origin(), Origin::Stale);
    assert!(started.elapsed() < Duration::from_secs(2), "timed out");
    // Backed off for min(ttl, retry_after): within it, no further request.
    let requests = server.requests();
    client.get(NAME, Target::Environment("production")).unwrap();
    assert_eq!(server.requests(), requests);
}

fn write_bundle(dir: &std::path::Path) -> std::path::PathBuf {
    let bundle = json!({
        "format": 1,
        "environment": "production",
        "exported_at": "2026-01-01T00:00:00Z",
        "commit": "0123456789abcdef0123456789abcdef01234567",
        "prompts": {NAME: record(NAME, "0.9.0", "from the bundle")},
    });
    let path = dir.join("bundle.json");
    std::fs::write(&path, bundle.to_string()).unwrap();
    path
}

#[test]
fn never_fetched_and_down_falls_back_to_the_bundle() {
    let dir = tempfile::tempdir().unwrap();
    let client = Client::builder(&dead_url())
        .fallback_bundle(write_bundle(dir.path()))
        .unwrap()
        .build();
    let prompt = client.get(NAME, Target::Environment("production")).unwrap();
    assert_eq!(
        (prompt.system_prompt(), prompt.origin()),
        ("from the bundle", Origin::Bundle)
    );
    let by_version = client.get(NAME, Target::Version("0.9.0")).unwrap();
    assert_eq!(by_version.origin(), Origin::Bundle);
    // The bundle is production's: another environment, version or @latest is not in it.
    for target in [
        Target::Environment("staging"),
        Target::Version("1.0.0"),
        Target::Latest,
    ] {
        let error = client.get(NAME, target).unwrap_err();
        assert!(
            matches!(error, ClientError::Unavailable { .. }),
            "{error:?}"
        );
    }
}

#[test]
fn the_server_wins_over_the_bundle_once_it_is_up() {
    let dir = tempfile::tempdir().unwrap();
    let server = FakeServer::start();
    server.record(PROD, &record(NAME, "1.0.0", "live"), "\"a\"");
    let client = Client::builder(&server.url())
        .fallback_bundle(write_bundle(dir.path()))
        .unwrap()
        .build();
    let prompt = client.get(NAME, Target::Environment("production")).unwrap();
    assert_eq!(prompt.system_prompt(), "live");
}

#[test]
fn no_bundle_and_down_is_unavailable() {
    let client = Client::new(&dead_url());
    let error = client
        .get(NAME, Target::Environment("production"))
        .unwrap_err();
    assert!(
        matches!(error, ClientError::Unavailable { .. }),
        "{error:?}"
    );
}

#[test]
fn a_bad_bundle_is_a_bundle_error() {
    let dir = tempfile::tempdir().unwrap();
    let missing = Client::builder("http://127.0.0.1:1").fallback_bundle(dir.path().join("nope"));
    assert!(matches!(missing, Err(ClientError::Bundle { .. })));
    let path = dir.path().join("bad.json");
    std::fs::write(&path, "{\"format\": 1}").unwrap();
    let bad = Client::builder("http://127.0.0.1:1").fallback_bundle(&path);
    assert!(matches!(bad, Err(ClientError::Bundle { .. })));
}

#[test]
fn a_404_is_not_found_and_drops_the_cached_value() {
    let server = FakeServer::start();
    let client = Client::builder(&server.url()).ttl(Duration::ZERO).build();
    let error = client.get("nope", Target::Latest).unwrap_err();
    match error {
        ClientError::NotFound { name, message } => {
            assert_eq!(name, "nope");
            assert!(message.contains("no route"), "{message}");
        }
        other => panic!("{other:?}"),
    }
    // A prompt taken out of production: the 404 is authoritative, the old value is not served.
    server.record(PROD, &record(NAME, "1.0.0", "t"), "\"a\"");
    client.get(NAME, Target::Environment("production")).unwrap();
    server.respond(PROD, 404, r#"{"error":"not_found","message":"gone"}"#, None);
    let error = client
        .get(NAME, Target::Environment("production"))
        .unwrap_err();
    assert!(matches!(error, ClientError::NotFound { .. }), "{error:?}");
}

#[test]
fn other_4xx_are_http_errors_with_the_server_message() {
    let server = FakeServer::start();
    server.respond(
        "/api/prompts/support/refund-agent/latest?environment=prod",
        400,
        r#"{"error":"unknown_environment","message":"unknown environment `prod`"}"#,
        None,
    );
    let client = Client::new(&server.url());
    let error = client.get(NAME, Target::Environment("prod")).unwrap_err();
    match error {
        ClientError::Http { status, message } => {
            assert_eq!(status, 400);
            assert_eq!(message, "unknown environment `prod`");
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn an_invalid_name_makes_no_request() {
    let server = FakeServer::start();
    let client = Client::new(&server.url());
    let error = client.get("../etc?x=1", Target::Latest).unwrap_err();
    assert!(
        matches!(error, ClientError::InvalidRequest { .. }),
        "{error:?}"
    );
    assert_eq!(server.requests(), 0);
}

#[test]
fn threads_share_one_client() {
    let server = FakeServer::start();
    server.record(PROD, &record(NAME, "1.0.0", "t"), "\"a\"");
    let client = Arc::new(
        Client::builder(&server.url())
            .ttl(Duration::from_secs(60))
            .build(),
    );
    client.get(NAME, Target::Environment("production")).unwrap();
    let threads: Vec<_> = (0..4)
        .map(|_| {
            let client = Arc::clone(&client);
            std::thread::spawn(move || {
                client
                    .get(NAME, Target::Environment("production"))
                    .unwrap()
                    .version()
                    .to_owned()
            })
        })
        .collect();
    for thread in threads {
        assert_eq!(thread.join().unwrap(), "1.0.0");
    }
    assert_eq!(server.requests(), 1);
}

/// `record` with the split `1.0.0=90 1.1.0=10` of production.
fn split_record(version: &str, text: &str, canary: u32) -> Value {
    let mut record = record(NAME, version, text);
    record["split"] = json!([
        {"version": "1.0.0", "percent": 100 - canary},
        {"version": "1.1.0", "percent": canary},
    ]);
    record
}

const CANARY: &str = "/api/prompts/support/refund-agent?version=1.1.0";

// Buckets of `support/refund-agent` in production (fixtures/split-vectors.json): user-1 6300,
// user-2 2974, "tab\there" 9947.

#[test]
fn a_split_is_resolved_locally_with_one_request_per_version() {
    let server = FakeServer::start();
    server.record(PROD, &split_record("1.0.0", "stable", 10), "\"a\"");
    server.record(CANARY, &record(NAME, "1.1.0", "canary"), "\"c\"");
    let client = Client::builder(&server.url())
        .ttl(Duration::from_millis(200))
        .build();
    let stable = client
        .get_for(NAME, Target::Environment("production"), "user-1")
        .unwrap();
    assert_eq!((stable.version(), stable.bucket()), ("1.0.0", Some(6300)));
    assert_eq!(stable.split().map(<[_]>::len), Some(2));
    let canary = client
        .get_for(NAME, Target::Environment("production"), "tab\there")
        .unwrap();
    assert_eq!(
        (canary.version(), canary.system_prompt(), canary.bucket()),
        ("1.1.0", "canary", Some(9947))
    );
    assert_eq!(canary.origin(), Origin::Server);
    for i in 0..500 {
        let key = format!("user-{i}");
        client
            .get_for(NAME, Target::Environment("production"), &key)
            .unwrap();
    }
    assert_eq!(server.requests(), 2, "one per version, not per key");
    // Without a key: the first entry, which says the environment splits.
    let plain = client.get(NAME, Target::Environment("production")).unwrap();
    assert_eq!((plain.version(), plain.bucket()), ("1.0.0", None));
    assert!(plain.split().is_some());

    // Ramped to 50%: seen at the next revalidation; the canary's record is not asked again.
    server.record(PROD, &split_record("1.0.0", "stable", 50), "\"b\"");
    std::thread::sleep(Duration::from_millis(250));
    let moved = client
        .get_for(NAME, Target::Environment("production"), "user-1")
        .unwrap();
    assert_eq!((moved.version(), moved.origin()), ("1.1.0", Origin::Cache));
    let stays = client
        .get_for(NAME, Target::Environment("production"), "user-2")
        .unwrap();
    assert_eq!(stays.version(), "1.0.0");
    let targets: Vec<String> = server.seen().into_iter().map(|s| s.target).collect();
    assert_eq!(targets, [PROD, CANARY, PROD]);
}

#[test]
fn a_key_changes_nothing_without_a_split_and_a_bad_key_makes_no_request() {
    let server = FakeServer::start();
    server.record(PROD, &record(NAME, "1.0.0", "t"), "\"a\"");
    let client = Client::new(&server.url());
    let prompt = client
        .get_for(NAME, Target::Environment("production"), "user-1")
        .unwrap();
    assert_eq!((prompt.version(), prompt.bucket()), ("1.0.0", None));
    assert!(prompt.split().is_none());
    for bad in ["", "a\nb"] {
        let error = client
            .get_for(NAME, Target::Environment("production"), bad)
            .unwrap_err();
        assert!(
            matches!(error, ClientError::InvalidRequest { .. }),
            "{error:?}"
        );
    }
    assert_eq!(server.requests(), 1);
    // A record whose split is not one is not served as one.
    server.record(PROD, &split_record("1.0.0", "t", 0), "\"b\"");
    let client = Client::new(&server.url());
    let error = client
        .get(NAME, Target::Environment("production"))
        .unwrap_err();
    assert!(
        matches!(error, ClientError::Unavailable { .. }),
        "{error:?}"
    );
}

#[test]
fn a_split_entry_never_fetched_comes_from_the_bundle_while_the_server_hangs() {
    let dir = tempfile::tempdir().unwrap();
    let bundle = json!({
        "format": 1,
        "environment": "production",
        "exported_at": "2026-01-01T00:00:00Z",
        "commit": "0123456789abcdef0123456789abcdef01234567",
        "prompts": {NAME: split_record("1.0.0", "bundled stable", 10)},
        "variants": {NAME: {"1.1.0": split_record("1.1.0", "bundled canary", 10)}},
    });
    let path = dir.path().join("bundle.json");
    std::fs::write(&path, bundle.to_string()).unwrap();
    let server = FakeServer::start();
    server.record(PROD, &split_record("1.0.0", "stable", 10), "\"a\"");
    let client = Client::builder(&server.url())
        .ttl(Duration::from_secs(60))
        .timeout(Duration::from_millis(100))
        .retry_after(Duration::from_secs(60))
        .fallback_bundle(&path)
        .unwrap()
        .build();
    let stable = client
        .get_for(NAME, Target::Environment("production"), "user-1")
        .unwrap();
    assert_eq!(stable.system_prompt(), "stable");
    server.hang();
    let canary = client
        .get_for(NAME, Target::Environment("production"), "tab\there")
        .unwrap();
    assert_eq!(
        (canary.version(), canary.system_prompt(), canary.origin()),
        ("1.1.0", "bundled canary", Origin::Bundle)
    );
    // Until the next retry the bundled entry answers without another timeout.
    let requests = server.requests();
    client
        .get_for(NAME, Target::Environment("production"), "tab\there")
        .unwrap();
    assert_eq!(server.requests(), requests);
}

#[test]
fn with_the_server_down_the_bundle_assigns_keys_by_the_rule() {
    let dir = tempfile::tempdir().unwrap();
    let bundle = json!({
        "format": 1,
        "environment": "production",
        "exported_at": "2026-01-01T00:00:00Z",
        "commit": "0123456789abcdef0123456789abcdef01234567",
        "prompts": {NAME: split_record("1.0.0", "bundled stable", 10)},
        "variants": {NAME: {"1.1.0": split_record("1.1.0", "bundled canary", 10)}},
    });
    let path = dir.path().join("bundle.json");
    std::fs::write(&path, bundle.to_string()).unwrap();
    let client = Client::builder(&dead_url())
        .fallback_bundle(&path)
        .unwrap()
        .build();
    for (key, version) in [
        ("user-1", "1.0.0"),
        ("user-2", "1.0.0"),
        ("tab\there", "1.1.0"),
    ] {
        let prompt = client
            .get_for(NAME, Target::Environment("production"), key)
            .unwrap();
        assert_eq!(prompt.version(), version, "{key:?}");
    }
    let exact = client.get(NAME, Target::Version("1.1.0")).unwrap();
    assert_eq!(exact.system_prompt(), "bundled canary");
}
