//! Changes pushed, not polled: `GET …/latest?wait=SECONDS` with `If-None-Match` is held until
//! the answer changes (a CLI promotion, a hand commit, a `git pull`) or the wait runs out
//! (`304`); `GET /api/events` streams the environments' changes as Server-Sent Events, resumable
//! with `Last-Event-ID`; and the Rust client's watch mode picks a rollback up without waiting
//! for its TTL.

use std::io::{BufRead, BufReader, Read};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use promptreg_client::{Client, Origin, Target};
use serde_json::Value;

use crate::serve::{agent, get, reply, Reply, Server};
use crate::support::{promoted_through_pipeline, TestRepo};

const NAME: &str = "support/agent";
const DEV: &str = "/api/prompts/support/agent/latest?environment=dev";

/// A registry with 1.0.0 everywhere and 1.1.0 released.
fn registry() -> TestRepo {
    let repo = promoted_through_pipeline(NAME, "1.0.0", "v1.0.0");
    repo.release(NAME, "1.1.0", "v1.1");
    repo
}

fn etag(server: &Server, path: &str) -> String {
    let answer = get(&server.url(path));
    assert_eq!(answer.status, 200, "{}", answer.body);
    answer.etag.expect("an ETag")
}

/// A long poll of `path` with `If-None-Match: etag`, on a thread of its own.
fn poll(server: &Server, path: &str, etag: &str, wait: u64) -> JoinHandle<(Reply, Duration)> {
    let url = server.url(&format!("{path}&wait={wait}"));
    let etag = etag.to_owned();
    std::thread::spawn(move || {
        let started = Instant::now();
        let answer = reply(agent().get(&url).header("If-None-Match", &etag).call());
        (answer, started.elapsed())
    })
}

fn version(reply: &Reply) -> String {
    reply.json()["version"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

/// Long enough for a poll sent on another thread to be waiting at the server.
fn settle_poll() {
    std::thread::sleep(Duration::from_millis(400));
}

#[test]
fn a_long_poll_answers_at_once_when_the_answer_differs_and_304_when_the_wait_runs_out() {
    let repo = registry();
    let server = Server::start(&repo, &[]);
    let current = etag(&server, DEV);

    let (answer, took) = poll(&server, DEV, &current, 1).join().unwrap();
    assert_eq!(answer.status, 304, "{}", answer.body);
    assert_eq!(answer.etag.as_deref(), Some(current.as_str()));
    assert!(
        took >= Duration::from_millis(900) && took < Duration::from_secs(5),
        "{took:?}"
    );

    let (answer, took) = poll(&server, DEV, "\"another\"", 30).join().unwrap();
    assert_eq!((answer.status, version(&answer)), (200, "1.0.0".into()));
    assert!(took < Duration::from_secs(5), "{took:?}");

    // `wait` without `If-None-Match` is a plain read.
    let started = Instant::now();
    let answer = get(&server.url(&format!("{DEV}&wait=30")));
    assert_eq!(answer.status, 200);
    assert!(started.elapsed() < Duration::from_secs(5));

    for (query, code) in [
        ("&wait=61", "bad-request"),
        ("&wait=-1", "bad-request"),
        ("&wait=1.5", "bad-request"),
        ("&wait=1&wait=2", "bad-request"),
    ] {
        let answer = get(&server.url(&format!("{DEV}{query}")));
        assert_eq!(answer.status, 400, "{query}");
        assert_eq!(answer.json()["error"], code, "{query}");
    }
    // Only `/latest` waits.
    let answer = get(&server.url("/api/prompts/support/agent/versions?wait=5"));
    assert_eq!(answer.json()["error"], "unknown-parameter");
}

#[test]
fn a_long_poll_wakes_on_a_promotion_and_on_a_hand_commit() {
    let repo = registry();
    let server = Server::start(&repo, &[]);

    let waiting = poll(&server, DEV, &etag(&server, DEV), 30);
    settle_poll();
    repo.promote(NAME, "1.1.0", "dev");
    let (answer, took) = waiting.join().unwrap();
    assert_eq!((answer.status, version(&answer)), (200, "1.1.0".into()));
    assert!(
        took < Duration::from_secs(10),
        "woken, not timed out: {took:?}"
    );

    // A keyed poll of another prompt is woken by the hand commit below (the tip moves) but
    // finds its answer as it was, and goes on waiting until its wait runs out.
    repo.release("support/other", "1.0.0", "other");
    repo.promote("support/other", "1.0.0", "dev");
    let other = "/api/prompts/support/other/latest?environment=dev&key=user-1";
    let unmoved = poll(&server, other, &etag(&server, other), 6);

    let waiting = poll(&server, DEV, &etag(&server, DEV), 30);
    settle_poll();
    let index = repo
        .read("registry.yaml")
        .replace("dev: 1.1.0", "dev: 1.0.0");
    assert!(index.contains("dev: 1.0.0"), "{index}");
    repo.commit_by_hand("registry.yaml", &index, "back by hand");
    let (answer, took) = waiting.join().unwrap();
    assert_eq!((answer.status, version(&answer)), (200, "1.0.0".into()));
    assert!(took < Duration::from_secs(10), "{took:?}");

    let (answer, took) = unmoved.join().unwrap();
    assert_eq!(answer.status, 304, "{}", answer.body);
    assert!(took >= Duration::from_millis(5_900), "{took:?}");
}

#[test]
fn a_long_poll_wakes_on_a_git_pull() {
    let upstream = registry();
    let mirror = TestRepo::new();
    let source = upstream.root.to_string_lossy().into_owned();
    mirror.git(&["pull", "-q", &source, "main"]);
    mirror.git(&["fetch", "-q", "--tags", &source]);
    let server = Server::start(&mirror, &[]);

    let waiting = poll(&server, DEV, &etag(&server, DEV), 30);
    settle_poll();
    upstream.promote(NAME, "1.1.0", "dev");
    mirror.git(&["pull", "-q", &source, "main"]);
    let (answer, took) = waiting.join().unwrap();
    assert_eq!((answer.status, version(&answer)), (200, "1.1.0".into()));
    assert!(took < Duration::from_secs(10), "{took:?}");
}

#[test]
fn many_waiters_all_wake_and_shutdown_answers_those_still_waiting() {
    let repo = registry();
    let mut server = Server::start(&repo, &[]);
    let current = etag(&server, DEV);
    let waiters: Vec<_> = (0..150).map(|_| poll(&server, DEV, &current, 30)).collect();
    std::thread::sleep(Duration::from_millis(1_500));
    repo.promote(NAME, "1.1.0", "dev");
    for waiter in waiters {
        let (answer, took) = waiter.join().unwrap();
        assert_eq!((answer.status, version(&answer)), (200, "1.1.0".into()));
        assert!(took < Duration::from_secs(15), "{took:?}");
    }

    // SIGTERM with polls open: each is answered 304 (nothing changed) and the server exits at
    // once rather than after their 30 s.
    let current = etag(&server, DEV);
    let waiters: Vec<_> = (0..40).map(|_| poll(&server, DEV, &current, 30)).collect();
    std::thread::sleep(Duration::from_millis(1_000));
    let (code, took) = server.terminate();
    assert_eq!(code, Some(0));
    assert!(took < Duration::from_secs(5), "{took:?}");
    for waiter in waiters {
        let (answer, took) = waiter.join().unwrap();
        assert_eq!(answer.status, 304);
        assert!(took < Duration::from_secs(10), "{took:?}");
    }
}

/// One Server-Sent Event.
#[derive(Debug)]
struct Event {
    kind: String,
    id: Option<String>,
    data: Value,
}

/// An open `GET /api/events` stream.
struct Events {
    lines: Box<dyn BufRead>,
}

impl Events {
    fn open(server: &Server, query: &str, last_id: Option<&str>) -> Events {
        let mut request = agent().get(&server.url(&format!("/api/events{query}")));
        if let Some(id) = last_id {
            request = request.header("Last-Event-ID", id);
        }
        let response = request.call().expect("the stream");
        assert_eq!(response.status(), 200);
        let kind = response
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        assert!(kind.starts_with("text/event-stream"), "{kind}");
        let reader: Box<dyn Read> = Box::new(response.into_body().into_reader());
        Events {
            lines: Box::new(BufReader::new(reader)),
        }
    }

    /// The next event (comments skipped).
    fn next(&mut self) -> Event {
        let (mut kind, mut id, mut data) = (String::from("message"), None, String::new());
        loop {
            let mut line = String::new();
            let read = self
                .lines
                .read_line(&mut line)
                .expect("a line of the stream");
            assert!(read > 0, "the stream ended");
            let line = line.trim_end_matches(['\r', '\n']);
            if line.is_empty() {
                if data.is_empty() {
                    continue;
                }
                let data = serde_json::from_str(&data).expect("JSON data");
                return Event { kind, id, data };
            }
            if line.starts_with(':') {
                continue;
            }
            let (field, value) = line.split_once(':').unwrap_or((line, ""));
            let value = value.strip_prefix(' ').unwrap_or(value);
            match field {
                "event" => kind = value.to_owned(),
                "id" => id = Some(value.to_owned()),
                "data" => data.push_str(value),
                _ => {}
            }
        }
    }
}

/// `(environment, version, previous version)` of an `environment` event.
fn moved(event: &Event) -> (String, String, String) {
    assert_eq!(event.kind, "environment", "{event:?}");
    assert_eq!(event.data["prompt"], NAME);
    assert_eq!(
        event.id.as_deref(),
        event.data["commit"].as_str(),
        "the id is the commit"
    );
    let text = |v: &Value| v.as_str().unwrap_or("-").to_owned();
    (
        text(&event.data["environment"]),
        text(&event.data["version"]),
        text(&event.data["previous"]["version"]),
    )
}

fn triple(environment: &str, version: &str, previous: &str) -> (String, String, String) {
    (environment.into(), version.into(), previous.into())
}

#[test]
fn events_come_in_order_and_resume_from_the_last_event_id() {
    let repo = registry();
    let server = Server::start(&repo, &[]);
    let mut all = Events::open(&server, "", None);
    let mut staging_only = Events::open(&server, "?environment=staging", None);
    let ready = all.next();
    assert_eq!(ready.kind, "ready");
    let start = repo.rev("main");
    assert_eq!(ready.id.as_deref(), Some(start.as_str()));
    assert_eq!(staging_only.next().kind, "ready");

    // Each move is read before the next is made: moves that land together are one batch.
    repo.promote(NAME, "1.1.0", "dev");
    let first = repo.rev("main");
    let one = all.next();
    assert_eq!(moved(&one), triple("dev", "1.1.0", "1.0.0"));
    assert_eq!(one.id.as_deref(), Some(first.as_str()));
    repo.promote(NAME, "1.1.0", "staging");
    assert_eq!(moved(&all.next()), triple("staging", "1.1.0", "1.0.0"));
    repo.run(&["rollback", NAME, "--env", "dev", "--reason", "flaky"])
        .ok();
    let three = all.next();
    assert_eq!(moved(&three), triple("dev", "1.0.0", "1.1.0"));
    assert_eq!(three.id, Some(repo.rev("main")));
    assert_eq!(
        moved(&staging_only.next()),
        triple("staging", "1.1.0", "1.0.0")
    );

    // Reconnecting after the first event: what changed since, as one catch-up (dev is back
    // where it was at that commit's parent, so only its move back and staging remain).
    let mut resumed = Events::open(&server, "", Some(&first));
    assert_eq!(moved(&resumed.next()), triple("dev", "1.0.0", "1.1.0"));
    assert_eq!(moved(&resumed.next()), triple("staging", "1.1.0", "1.0.0"));
    // From the start: dev is where it was, only staging moved.
    let mut resumed = Events::open(&server, "", Some(&start));
    let only = resumed.next();
    assert_eq!(moved(&only), triple("staging", "1.1.0", "1.0.0"));
    assert_eq!(only.id, Some(repo.rev("main")));
    // Live events follow a catch-up.
    repo.promote(NAME, "1.1.0", "production");
    assert_eq!(
        moved(&resumed.next()),
        triple("production", "1.1.0", "1.0.0")
    );

    // An id that is not a commit here: `reset`, read afresh.
    let mut lost = Events::open(&server, "", Some("not-a-commit"));
    let reset = lost.next();
    assert_eq!(reset.kind, "reset");
    assert_eq!(
        reset.data["commit"].as_str(),
        Some(repo.rev("main").as_str())
    );

    for bad in ["?prompt=Bad", "?env=dev", "?prompt=a&prompt=b"] {
        let answer = get(&server.url(&format!("/api/events{bad}")));
        assert_eq!(answer.status, 400, "{bad}: {}", answer.body);
    }
    // Another method: the JSON 405 with the route's `Allow`.
    let refused = agent()
        .post(&server.url("/api/events"))
        .header("content-type", "application/json")
        .send("{}")
        .expect("an answer");
    assert_eq!(refused.status(), 405);
    assert_eq!(
        refused.headers().get("allow").and_then(|v| v.to_str().ok()),
        Some("GET, HEAD")
    );
    // HEAD answers the stream's headers and ends.
    let head = agent()
        .head(&server.url("/api/events"))
        .call()
        .expect("an answer");
    assert_eq!(head.status(), 200);
}

#[test]
fn the_rust_client_in_watch_mode_sees_a_rollback_before_its_ttl() {
    let repo = registry();
    repo.promote(NAME, "1.1.0", "dev");
    let server = Server::start(&repo, &[]);
    let client = Client::builder(&server.url(""))
        .ttl(Duration::from_secs(300))
        .watch(true)
        .build();
    let prompt = client.get(NAME, Target::Environment("dev")).unwrap();
    assert_eq!(
        (prompt.version(), prompt.origin()),
        ("1.1.0", Origin::Server)
    );
    assert_eq!(client.watching(), 1);
    // Without watching, the next five minutes would answer 1.1.0 from the cache.
    let plain = Client::builder(&server.url(""))
        .ttl(Duration::from_secs(300))
        .build();
    plain.get(NAME, Target::Environment("dev")).unwrap();
    settle_poll();

    repo.run(&["rollback", NAME, "--env", "dev", "--reason", "bad"])
        .ok();
    let rolled_back = Instant::now();
    loop {
        let prompt = client.get(NAME, Target::Environment("dev")).unwrap();
        if prompt.version() == "1.0.0" {
            // From the cache the watch refilled: no request of the caller's.
            assert_eq!(prompt.origin(), Origin::Cache);
            break;
        }
        assert!(
            rolled_back.elapsed() < Duration::from_secs(10),
            "the watch did not pick the rollback up"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    let stale = plain.get(NAME, Target::Environment("dev")).unwrap();
    assert_eq!(
        (stale.version(), stale.origin()),
        ("1.1.0", Origin::Cache),
        "the unwatched client holds the old version until its TTL"
    );
}
