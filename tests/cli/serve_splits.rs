//! `serve` and `promptreg-client` on split environments (canaries, A/B tests): keyed reads over
//! HTTP and through the client agree with `fixtures/split-vectors.json`, the client makes one
//! request per version of a split rather than one per key, the bundle assigns keys offline the
//! same way, the access log never holds a key, and the split writes over HTTP move pointers
//! exactly as the CLI does, refusing what it refuses without committing anything.

use std::time::Duration;

use promptreg_client::{Client, Origin, Target};
use serde_json::{json, Value};

use crate::serve::{agent, get, reply, send, tokens_file, Reply, Server, TOKEN};
use crate::support::{promoted_through_pipeline, TestRepo};

const NAME: &str = "support/refund-agent";

fn vectors() -> Value {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/split-vectors.json");
    serde_json::from_str(&std::fs::read_to_string(path).expect("the vectors")).expect("JSON")
}

/// `support/refund-agent` 1.1.0 (through the pipeline) and 1.2.0 (in dev), with staging and
/// production both split `1.1.0=90 1.2.0=10`, as the vectors' `reads` assume.
fn split_registry() -> TestRepo {
    let repo = promoted_through_pipeline(NAME, "1.1.0", "Refunds, one point one");
    repo.release(NAME, "1.2.0", "Refunds, one point two");
    repo.promote(NAME, "1.2.0", "dev");
    for env in ["staging", "production"] {
        let args = [
            "split", NAME, "--env", env, "1.1.0=90", "1.2.0=10", "--reason", "canary",
        ];
        repo.run(&args).ok();
    }
    repo
}

/// Percent-encodes a query value (everything but the unreserved characters).
fn encode(text: &str) -> String {
    text.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                char::from(b).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

fn latest(server: &Server, env: &str, key: Option<&str>) -> String {
    let key = key.map_or(String::new(), |k| format!("&key={}", encode(k)));
    server.url(&format!(
        "/api/prompts/{NAME}/latest?environment={env}{key}"
    ))
}

/// Every `(environment, key, bucket, version)` the vectors pin for this prompt under the split
/// `1.1.0=90 1.2.0=10`: the `reads`, and each of the `buckets` with the version its bucket
/// falls in (so keys of the 10% are covered too; the bucket is the fixture's, not ours).
fn cases() -> Vec<(String, String, u32, String)> {
    let vectors = vectors();
    let split = json!([{"version": "1.1.0", "percent": 90}, {"version": "1.2.0", "percent": 10}]);
    let mut cases = Vec::new();
    for read in vectors["reads"].as_array().expect("reads") {
        assert_eq!(read["split"], split, "the vectors assume this split");
        cases.push((
            read["environment"].as_str().unwrap().to_owned(),
            read["key"].as_str().unwrap().to_owned(),
            read["bucket"].as_u64().unwrap() as u32,
            read["version"].as_str().unwrap().to_owned(),
        ));
    }
    for entry in vectors["buckets"].as_array().expect("buckets") {
        if entry["name"] != NAME {
            continue;
        }
        let bucket = entry["bucket"].as_u64().unwrap() as u32;
        let version = if bucket < 9000 { "1.1.0" } else { "1.2.0" };
        cases.push((
            entry["environment"].as_str().unwrap().to_owned(),
            entry["key"].as_str().unwrap().to_owned(),
            bucket,
            version.to_owned(),
        ));
    }
    assert!(
        cases.iter().any(|c| c.3 == "1.2.0") && cases.iter().any(|c| c.0 == "staging"),
        "the vectors cover both entries and both environments"
    );
    cases
}

/// The access log's lines, once the server has shut down (every line is written by then).
fn log_lines(server: &mut Server, path: &std::path::Path) -> Vec<Value> {
    assert_eq!(server.terminate().0, Some(0));
    std::fs::read_to_string(path)
        .expect("access log")
        .lines()
        .map(|line| serde_json::from_str(line).expect("a JSON line"))
        .collect()
}

#[test]
fn keyed_reads_agree_with_the_vectors_and_the_cli_and_the_log_has_no_key() {
    let repo = split_registry();
    let log = repo.tmp().join("access.log");
    let log_arg = log.to_string_lossy().into_owned();
    let mut server = Server::start(&repo, &["--access-log", &log_arg]);
    let cases = cases();
    for (env, key, bucket, version) in &cases {
        let answer = get(&latest(&server, env, Some(key)));
        assert_eq!(answer.status, 200, "{}", answer.body);
        let record = answer.json();
        assert_eq!(
            (&record["version"], &record["bucket"]),
            (&json!(version), &json!(bucket)),
            "{env} {key:?}"
        );
        assert_eq!(
            record["split"][1],
            json!({"version": "1.2.0", "percent": 10})
        );
    }
    // The body is exactly `fetch --key --format json`, on both routes.
    for (env, key, _, _) in cases
        .iter()
        .filter(|c| c.1 == "tab\there" || c.1 == "user-1")
    {
        let selector = format!("{NAME}@{env}");
        let cli = repo.run(&["fetch", &selector, "--key", key, "--format", "json"]);
        cli.ok();
        assert_eq!(get(&latest(&server, env, Some(key))).body, cli.stdout);
        let bare = format!("/api/prompts/{NAME}?environment={env}&key={}", encode(key));
        assert_eq!(get(&server.url(&bare)).body, cli.stdout);
    }

    // Without a key: the first entry, the whole split, no bucket; exactly the CLI's record.
    let plain = get(&latest(&server, "production", None));
    let cli = repo.run(&["fetch", &format!("{NAME}@production"), "--format", "json"]);
    assert_eq!(plain.body, cli.stdout);
    let record = plain.json();
    assert_eq!(record["version"], "1.1.0");
    assert_eq!(record["bucket"], Value::Null);
    assert_eq!(record["split"].as_array().map(Vec::len), Some(2));
    // A version by number knows no split, and takes no key.
    let pinned = get(&server.url(&format!("/api/prompts/{NAME}?version=1.2.0")));
    assert_eq!(pinned.json()["split"], Value::Null);
    let both = get(&server.url(&format!("/api/prompts/{NAME}?version=1.2.0&key=u")));
    assert_eq!(
        (both.status, both.json()["error"].clone()),
        (400, json!("bad-request"))
    );
    // A key on an environment that does not split changes nothing.
    let dev = format!("/api/prompts/{NAME}/latest?environment=dev");
    let keyed_dev = get(&server.url(&format!("{dev}&key=user-1")));
    assert_eq!(keyed_dev.body, get(&server.url(&dev)).body);
    assert_eq!(keyed_dev.json()["bucket"], Value::Null);

    // Keys the rule cannot hash are refused, with the documented body.
    for bad in ["", "a\nb", "a\rb"] {
        let url = format!(
            "{}&key={}",
            latest(&server, "production", None),
            encode(bad)
        );
        let refused = get(&url);
        assert_eq!(refused.status, 400, "{bad:?}: {}", refused.body);
        assert_eq!(refused.json()["error"], "invalid-key");
        assert!(refused.json()["message"]
            .as_str()
            .unwrap()
            .contains("split key"));
    }

    // ETags: one per entry and bucket, so `If-None-Match` works per key.
    let first = get(&latest(&server, "production", Some("user-1")));
    let etag = first.etag.clone().expect("an ETag");
    let revalidated = reply(
        agent()
            .get(latest(&server, "production", Some("user-1")))
            .header("if-none-match", &etag)
            .call(),
    );
    assert_eq!((revalidated.status, revalidated.body.as_str()), (304, ""));
    let other = get(&latest(&server, "production", Some("user-2")));
    assert_ne!(other.etag.as_deref(), Some(etag.as_str()), "another bucket");
    assert_ne!(other.etag, plain.etag, "the unkeyed body has no bucket");
    let not_mine = reply(
        agent()
            .get(latest(&server, "production", Some("user-2")))
            .header("if-none-match", &etag)
            .call(),
    );
    assert_eq!(
        not_mine.status, 200,
        "user-1's tag does not match user-2's body"
    );

    // The log says what was served — the version and the bucket — and never the key.
    let lines = log_lines(&mut server, &log);
    let text = std::fs::read_to_string(&log).unwrap();
    for (_, key, _, _) in cases.iter().filter(|c| c.1.chars().count() >= 5) {
        assert!(
            !text.contains(key.as_str()),
            "the log holds the key {key:?}"
        );
        assert!(
            !text.contains(&encode(key)),
            "the log holds the key {key:?}"
        );
    }
    let keyed: Vec<&Value> = lines.iter().filter(|l| !l["bucket"].is_null()).collect();
    assert!(keyed.len() >= cases.len(), "{} keyed lines", keyed.len());
    for (env, _, bucket, version) in &cases {
        assert!(
            keyed.iter().any(|l| l["environment"] == json!(env)
                && l["bucket"] == json!(bucket)
                && l["version"] == json!(version)),
            "no line for {env} bucket {bucket}"
        );
    }
    assert!(lines
        .iter()
        .all(|l| !l["path"].as_str().unwrap().contains("key")));
}

/// `split_registry()` served with tokens.
fn writable() -> (TestRepo, Server) {
    let repo = split_registry();
    let tokens = tokens_file(&repo);
    let server = Server::start(&repo, &["--tokens", &tokens]);
    (repo, server)
}

fn promote_url(server: &Server, version: &str) -> String {
    server.url(&format!("/api/prompts/{NAME}@{version}/promote"))
}

fn put(url: &str, token: Option<&str>, body: &Value) -> Reply {
    let mut request = agent().put(url).header("content-type", "application/json");
    if let Some(token) = token {
        request = request.header("authorization", &format!("Bearer {token}"));
    }
    reply(request.send(body.to_string()))
}

fn keyed_version(server: &Server, key: &str) -> Value {
    get(&latest(server, "production", Some(key))).json()["version"].clone()
}

#[test]
fn canary_ramp_split_rollback_and_completion_over_http_show_on_the_next_read() {
    let (repo, server) = writable();
    // Buckets from the vectors: user-2 2974, user-1 6300, "tab\there" 9947.
    assert_eq!(keyed_version(&server, "tab\there"), "1.2.0");
    assert_eq!(keyed_version(&server, "user-1"), "1.1.0");

    let ramp = send(
        "PATCH",
        &promote_url(&server, "1.2.0"),
        Some(TOKEN),
        &json!({"environment": "production", "reason": "ramp", "canary": 50}),
    );
    assert_eq!(ramp.status, 200, "{}", ramp.body);
    assert_eq!(ramp.json()["version"], "1.2.0");
    assert_eq!(
        ramp.json()["split"],
        json!([{"version": "1.1.0", "percent": 50}, {"version": "1.2.0", "percent": 50}])
    );
    assert_eq!(
        keyed_version(&server, "tab\there"),
        "1.2.0",
        "kept in the canary"
    );
    assert_eq!(keyed_version(&server, "user-1"), "1.2.0", "joined at 50%");
    assert_eq!(keyed_version(&server, "user-2"), "1.1.0");
    assert!(repo
        .git(&["log", "-1", "--format=%B"])
        .contains("Split: 1.1.0=50 1.2.0=50"));

    let split_url = server.url(&format!("/api/prompts/{NAME}/split"));
    let ab = put(
        &split_url,
        Some(TOKEN),
        &json!({"environment": "production", "reason": "A/B",
                "split": [{"version": "1.1.0", "percent": 25.5}, {"version": "1.2.0", "percent": 74.5}]}),
    );
    assert_eq!(ab.status, 200, "{}", ab.body);
    assert_eq!(ab.json()["version"], "1.1.0", "the first entry's record");
    assert_eq!(ab.json()["split"][0]["percent"], json!(25.5));
    assert_eq!(keyed_version(&server, "user-2"), "1.2.0", "2974 ≥ 2550");
    assert_eq!(
        repo.git(&["log", "-1", "--format=%ae"]).trim(),
        "bot@example.com"
    );

    let rollback_url = server.url(&format!("/api/prompts/{NAME}/rollback"));
    let back = send(
        "PATCH",
        &rollback_url,
        Some(TOKEN),
        &json!({"environment": "production", "reason": "bad answers"}),
    );
    assert_eq!(back.status, 200, "{}", back.body);
    assert_eq!(
        (&back.json()["version"], &back.json()["split"]),
        (&json!("1.1.0"), &Value::Null)
    );
    let after = get(&latest(&server, "production", Some("tab\there"))).json();
    assert_eq!(
        (&after["version"], &after["bucket"]),
        (&json!("1.1.0"), &Value::Null)
    );

    // Started again, then completed by a promotion without `canary`.
    let again = send(
        "PATCH",
        &promote_url(&server, "1.2.0"),
        Some(TOKEN),
        &json!({"environment": "production", "reason": "again", "canary": 10}),
    );
    assert_eq!(again.status, 200, "{}", again.body);
    let done = send(
        "PATCH",
        &promote_url(&server, "1.2.0"),
        Some(TOKEN),
        &json!({"environment": "production", "reason": "complete"}),
    );
    assert_eq!(done.status, 200, "{}", done.body);
    assert_eq!(done.json()["split"], Value::Null);
    assert_eq!(keyed_version(&server, "user-2"), "1.2.0");
    assert_eq!(keyed_version(&server, "user-1"), "1.2.0");

    let history = repo.run(&["history", NAME, "--env", "production", "--format", "json"]);
    history.ok();
    let changes: Vec<Value> = history
        .json()
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["event"].clone())
        .collect();
    assert!(changes.len() >= 6, "{changes:?}");
    assert!(changes.contains(&json!("reverted")), "{changes:?}");
    repo.fsck();
}

/// A request a refusal test makes.
type Request<'a> = Box<dyn Fn() -> Reply + 'a>;

#[test]
fn split_writes_over_http_refuse_what_the_cli_refuses_and_commit_nothing() {
    let (repo, server) = writable();
    repo.release(NAME, "1.3.0", "Refunds, one point three");
    let split_url = server.url(&format!("/api/prompts/{NAME}/split"));
    let canary = |version: &str, percent: Value| {
        send(
            "PATCH",
            &promote_url(&server, version),
            Some(TOKEN),
            &json!({"environment": "production", "reason": "r", "canary": percent}),
        )
    };
    let split = |entries: Value| {
        put(
            &split_url,
            Some(TOKEN),
            &json!({"environment": "production", "reason": "r", "split": entries}),
        )
    };
    let entries = |a: Value, b: Value| json!([{"version": "1.1.0", "percent": a}, {"version": "1.2.0", "percent": b}]);
    let cases: Vec<(&str, Request<'_>, u16, &str)> = vec![
        (
            "canary 0",
            Box::new(|| canary("1.2.0", json!(0))),
            400,
            "invalid-split",
        ),
        (
            "canary 100",
            Box::new(|| canary("1.2.0", json!(100))),
            400,
            "invalid-split",
        ),
        (
            "canary 150",
            Box::new(|| canary("1.2.0", json!(150))),
            400,
            "invalid-split",
        ),
        (
            "canary -5",
            Box::new(|| canary("1.2.0", json!(-5))),
            400,
            "invalid-split",
        ),
        (
            "canary 12.345",
            Box::new(|| canary("1.2.0", json!(12.345))),
            400,
            "invalid-split",
        ),
        (
            "canary text",
            Box::new(|| canary("1.2.0", json!("10"))),
            400,
            "invalid-split",
        ),
        (
            "canary not held",
            Box::new(|| canary("1.3.0", json!(10))),
            409,
            "pipeline-skipped",
        ),
        (
            "split 0",
            Box::new(|| split(entries(json!(100), json!(0)))),
            400,
            "invalid-split",
        ),
        (
            "split 150",
            Box::new(|| split(entries(json!(150), json!(-50)))),
            400,
            "invalid-split",
        ),
        (
            "split 12.345",
            Box::new(|| split(entries(json!(12.345), json!(87.655)))),
            400,
            "invalid-split",
        ),
        (
            "split sum",
            Box::new(|| split(entries(json!(60), json!(30)))),
            400,
            "invalid-split",
        ),
        (
            "split duplicate",
            Box::new(|| {
                split(
                    json!([{"version": "1.1.0", "percent": 50}, {"version": "1.1.0", "percent": 50}]),
                )
            }),
            400,
            "invalid-split",
        ),
        (
            "split one entry",
            Box::new(|| split(json!([{"version": "1.1.0", "percent": 100}]))),
            400,
            "invalid-split",
        ),
        (
            "split not held",
            Box::new(|| {
                split(
                    json!([{"version": "1.1.0", "percent": 90}, {"version": "1.3.0", "percent": 10}]),
                )
            }),
            409,
            "pipeline-skipped",
        ),
        (
            "split unknown version",
            Box::new(|| {
                split(
                    json!([{"version": "1.1.0", "percent": 90}, {"version": "9.9.9", "percent": 10}]),
                )
            }),
            404,
            "version-not-found",
        ),
        (
            "split bad version",
            Box::new(|| {
                split(
                    json!([{"version": "1.1", "percent": 90}, {"version": "1.2.0", "percent": 10}]),
                )
            }),
            400,
            "invalid-version",
        ),
        (
            "empty reason",
            Box::new(|| {
                put(
                    &split_url,
                    Some(TOKEN),
                    &json!({"environment": "production", "reason": " ", "split": entries(json!(50), json!(50))}),
                )
            }),
            400,
            "bad-request",
        ),
        (
            "unknown field",
            Box::new(|| {
                put(
                    &split_url,
                    Some(TOKEN),
                    &json!({"environment": "production", "reason": "r", "splits": []}),
                )
            }),
            400,
            "bad-request",
        ),
        (
            "no token",
            Box::new(|| {
                put(
                    &split_url,
                    None,
                    &json!({"environment": "production", "reason": "r", "split": entries(json!(50), json!(50))}),
                )
            }),
            401,
            "unauthorized",
        ),
        (
            "rollback unknown environment",
            Box::new(|| {
                send(
                    "PATCH",
                    &server.url(&format!("/api/prompts/{NAME}/rollback")),
                    Some(TOKEN),
                    &json!({"environment": "qa", "reason": "r"}),
                )
            }),
            404,
            "unknown-environment",
        ),
    ];
    for (what, request, status, code) in cases {
        let before = repo.snapshot();
        let refused = request();
        assert_eq!(
            (refused.status, refused.json()["error"].clone()),
            (status, json!(code)),
            "{what}: {}",
            refused.body
        );
        assert_eq!(before, repo.snapshot(), "{what} changed the repository");
    }
    // The split is still what it was.
    assert_eq!(keyed_version(&server, "tab\there"), "1.2.0");
    let wrong_method = reply(agent().get(&split_url).call());
    assert_eq!(wrong_method.status, 405);
}

#[test]
fn split_writes_over_http_pass_the_gate_and_the_access_rules() {
    let repo = promoted_through_pipeline(NAME, "1.1.0", "Refunds, one point one");
    repo.release(NAME, "1.2.0", "Refunds, one point two");
    repo.promote(NAME, "1.2.0", "dev");
    repo.promote(NAME, "1.2.0", "staging");
    let index = repo.read("registry.yaml");
    repo.write(
        "registry.yaml",
        &format!(
            "{index}policy:\n  production:\n    required_tests: [golden-set]\n\
             access:\n  environments:\n    staging: [someone@example.com]\n"
        ),
    );
    repo.git(&["commit", "-qam", "gate and access rules"]);
    let tokens = tokens_file(&repo);
    let server = Server::start(&repo, &["--tokens", &tokens]);
    let split_url = server.url(&format!("/api/prompts/{NAME}/split"));
    let body = |env: &str, force: bool| {
        json!({"environment": env, "reason": "r", "force": force,
               "split": [{"version": "1.1.0", "percent": 90}, {"version": "1.2.0", "percent": 10}]})
    };
    let before = repo.snapshot();
    let gated = put(&split_url, Some(TOKEN), &body("production", false));
    assert_eq!(
        (gated.status, gated.json()["error"].clone()),
        (409, json!("gate-not-met"))
    );
    let canary = send(
        "PATCH",
        &promote_url(&server, "1.2.0"),
        Some(TOKEN),
        &json!({"environment": "production", "reason": "r", "canary": 10}),
    );
    assert_eq!(
        (canary.status, canary.json()["error"].clone()),
        (409, json!("gate-not-met"))
    );
    // `force` overrides the pipeline and the gate, never the access rules.
    let denied = put(&split_url, Some(TOKEN), &body("staging", true));
    assert_eq!(
        (denied.status, denied.json()["error"].clone()),
        (403, json!("access-denied"))
    );
    assert_eq!(before, repo.snapshot());
    let forced = put(&split_url, Some(TOKEN), &body("production", true));
    assert_eq!(forced.status, 200, "{}", forced.body);
    assert!(repo.git(&["log", "-1", "--format=%B"]).contains("Forced"));
}

#[test]
fn the_client_agrees_with_the_vectors_with_one_request_per_version() {
    let repo = split_registry();
    let log = repo.tmp().join("access.log");
    let log_arg = log.to_string_lossy().into_owned();
    let mut server = Server::start(&repo, &["--access-log", &log_arg]);
    let client = Client::builder(&server.url(""))
        .ttl(Duration::from_secs(300))
        .build();
    for (env, key, bucket, version) in cases() {
        let prompt = client
            .get_for(NAME, Target::Environment(&env), &key)
            .unwrap_or_else(|e| panic!("{env} {key:?}: {e}"));
        assert_eq!(
            (prompt.version(), prompt.bucket()),
            (version.as_str(), Some(bucket)),
            "{env} {key:?}"
        );
        let split = prompt.split().expect("the split");
        assert_eq!(
            split.iter().map(|e| e.version.as_str()).collect::<Vec<_>>(),
            ["1.1.0", "1.2.0"]
        );
        let served = get(&latest(&server, &env, Some(&key))).json();
        assert_eq!(prompt.system_prompt(), served["system_prompt"]);
    }
    // Many more users: no more requests.
    let mut canary = 0;
    for i in 0..2000 {
        let prompt = client
            .get_for(
                NAME,
                Target::Environment("production"),
                &format!("user-{i}"),
            )
            .unwrap();
        canary += usize::from(prompt.version() == "1.2.0");
        assert_ne!(prompt.origin(), Origin::Server, "user-{i} made a request");
    }
    assert!(
        (100..=300).contains(&canary),
        "{canary} of 2000 in the 10% canary"
    );
    let unkeyed = client.get(NAME, Target::Environment("production")).unwrap();
    assert_eq!((unkeyed.version(), unkeyed.bucket()), ("1.1.0", None));
    let refused = client.get_for(NAME, Target::Environment("production"), "a\nb");
    assert!(refused.is_err());

    let lines = log_lines(&mut server, &log);
    let from_client: Vec<(&str, &str)> = lines
        .iter()
        .filter(|l| l["bucket"].is_null())
        .map(|l| {
            (
                l["path"].as_str().unwrap(),
                l["version"].as_str().unwrap_or("-"),
            )
        })
        .collect();
    let latest_path = format!("/api/prompts/{NAME}/latest");
    let version_path = format!("/api/prompts/{NAME}");
    // Per environment once (its record is the split's first entry, 1.1.0), and 1.2.0 once by
    // number for both environments; the test's own keyed reads carry a bucket.
    let mut seen = from_client.clone();
    seen.sort();
    assert_eq!(
        seen,
        [
            (version_path.as_str(), "1.2.0"),
            (latest_path.as_str(), "1.1.0"),
            (latest_path.as_str(), "1.1.0"),
        ],
        "{from_client:?}"
    );
}

#[test]
fn an_exported_bundle_assigns_keys_as_the_server_does_with_the_server_down() {
    let repo = split_registry();
    let dead = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        format!("http://{}", listener.local_addr().unwrap())
    };
    for env in ["production", "staging"] {
        let path = repo.tmp().join(format!("{env}.json"));
        let out = path.to_string_lossy().into_owned();
        repo.run(&["export", "--env", env, "--out", &out]).ok();
        let bundle: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        assert_eq!(bundle["prompts"][NAME]["version"], "1.1.0");
        assert_eq!(bundle["variants"][NAME]["1.2.0"]["version"], "1.2.0");
        assert_eq!(
            bundle["variants"][NAME]["1.2.0"]["split"],
            bundle["prompts"][NAME]["split"]
        );
        let client = Client::builder(&dead)
            .fallback_bundle(&path)
            .expect("bundle")
            .build();
        for (_, key, bucket, version) in cases().into_iter().filter(|c| c.0 == env) {
            let prompt = client
                .get_for(NAME, Target::Environment(env), &key)
                .unwrap_or_else(|e| panic!("{env} {key:?}: {e}"));
            assert_eq!(
                (prompt.version(), prompt.bucket()),
                (version.as_str(), Some(bucket)),
                "{env} {key:?}"
            );
            assert!(matches!(
                prompt.origin(),
                Origin::Bundle | Origin::Stale | Origin::Cache
            ));
        }
        // A version by number is found among the variants too.
        let exact = client.get(NAME, Target::Version("1.2.0")).unwrap();
        assert_eq!((exact.version(), exact.origin()), ("1.2.0", Origin::Bundle));
    }
}

#[test]
fn split_and_rollback_writes_pass_the_browser_checks_of_every_write() {
    let (repo, server) = writable();
    let body = json!({"environment": "production", "reason": "r",
                      "split": [{"version": "1.1.0", "percent": 50}, {"version": "1.2.0", "percent": 50}]});
    let split_url = server.url(&format!("/api/prompts/{NAME}/split"));
    let rollback_url = server.url(&format!("/api/prompts/{NAME}/rollback"));
    let before = repo.snapshot();
    let form = reply(
        agent()
            .put(&split_url)
            .header("content-type", "text/plain")
            .header("authorization", &format!("Bearer {TOKEN}"))
            .send(body.to_string()),
    );
    assert_eq!(
        (form.status, form.json()["error"].clone()),
        (415, json!("unsupported-media-type"))
    );
    let foreign = reply(
        agent()
            .patch(&rollback_url)
            .header("content-type", "application/json")
            .header("origin", "https://evil.example")
            .header("authorization", &format!("Bearer {TOKEN}"))
            .send(json!({"environment": "production", "reason": "r"}).to_string()),
    );
    assert_eq!(
        (foreign.status, foreign.json()["error"].clone()),
        (403, json!("foreign-origin"))
    );
    assert_eq!(before, repo.snapshot());
}
