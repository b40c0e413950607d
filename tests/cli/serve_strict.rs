//! `serve` is strict about what it is asked: percent-encoded names work on every route (and an
//! invalid name stays invalid once decoded), every refusal is the JSON error body with a 405
//! naming the route's own methods in `Allow`, `GET /api/prompts` is `list --format json`, and a
//! `--sync` remote that does not exist stops the server from starting.

use serde_json::{json, Value};

use crate::serve::{agent, get, header, reply, send, tokens_file, Reply, Server, TOKEN};
use crate::support::{promoted_through_pipeline, TestRepo};

const NAME: &str = "support/refund-agent";
const ENCODED: &str = "support%2Frefund-agent";

/// `support/refund-agent` 1.1.0 through the pipeline and 1.2.0 released.
fn registry() -> TestRepo {
    let repo = promoted_through_pipeline(NAME, "1.1.0", "Refunds, one point one");
    repo.release(NAME, "1.2.0", "Refunds, one point two");
    repo
}

/// A write's content type, so a write without a token is refused for the token (not its body).
const JSON: (&str, &str) = ("content-type", "application/json");

/// `method path` with no body (an empty one for the methods that take one); `authorization`
/// with `token`; the answer, its `Allow` and its `Content-Type`.
fn call(method: &str, url: &str, token: Option<&str>) -> (Reply, Option<String>, Option<String>) {
    let agent = agent();
    let auth = token.map(|t| format!("Bearer {t}"));
    macro_rules! go {
        ($builder:expr, $finish:ident) => {{
            let mut builder = $builder;
            if let Some(auth) = &auth {
                builder = builder.header("authorization", auth);
            }
            builder.$finish()
        }};
    }
    let result = match method {
        "GET" => go!(agent.get(url), call),
        "HEAD" => go!(agent.head(url), call),
        "DELETE" => go!(agent.delete(url), call),
        "OPTIONS" => go!(agent.options(url), call),
        "POST" => go!(agent.post(url).header(JSON.0, JSON.1), send_empty),
        "PUT" => go!(agent.put(url).header(JSON.0, JSON.1), send_empty),
        "PATCH" => go!(agent.patch(url).header(JSON.0, JSON.1), send_empty),
        other => panic!("no such method in the table: {other}"),
    };
    let response = result.expect("request");
    let (allow, content_type) = (
        header(&response, "allow"),
        header(&response, "content-type"),
    );
    (reply(Ok(response)), allow, content_type)
}

#[test]
fn percent_encoded_names_work_on_every_route_and_stay_validated() {
    let repo = registry();
    let tokens = tokens_file(&repo);
    let server = Server::start(&repo, &["--tokens", &tokens]);
    for route in [
        "",
        "?version=1.1.0",
        "?environment=staging",
        "/latest?environment=production",
        "/versions",
        "/history",
        "/history?environment=dev",
        "/tests",
    ] {
        let plain = get(&server.url(&format!("/api/prompts/{NAME}{route}")));
        assert_eq!(plain.status, 200, "{route}: {}", plain.body);
        for name in [ENCODED, "support%2frefund-agent", "%73upport/refund-agent"] {
            let encoded = get(&server.url(&format!("/api/prompts/{name}{route}")));
            assert_eq!(
                (encoded.status, &encoded.body),
                (200, &plain.body),
                "{name}{route}"
            );
        }
    }
    // A decoded `/` is the name's separator, whichever part it is in.
    let versions = get(&server.url(&format!("/api/prompts/{ENCODED}%2Fversions")));
    let cli = repo.run(&["versions", NAME, "--format", "json"]);
    assert_eq!(versions.body, cli.stdout);

    // Decoded once, then validated as any name: nothing reaches outside the registry.
    for path in [
        "support%2F..%2Frefund-agent",
        "support%2F%2E%2E%2Frefund-agent",
        "%2E%2E",
        "support%252Frefund-agent",
        "support%2FRefund-agent",
        "support%2Frefund%20agent",
        "support%2Frefund%3Fagent",
        "support%2Frefund%0Aagent",
        "support%2Frefund%FFagent",
        "%2Fsupport%2Frefund-agent",
    ] {
        for route in ["", "/latest", "/versions"] {
            let refused = get(&server.url(&format!("/api/prompts/{path}{route}")));
            assert_eq!(refused.status, 400, "{path}{route}: {}", refused.body);
            assert_eq!(refused.json()["error"], "invalid-name", "{path}{route}");
        }
    }
    let bad_version = send(
        "PATCH",
        &server.url(&format!("/api/prompts/{ENCODED}%401.2%3F0/promote")),
        Some(TOKEN),
        &json!({"environment": "dev", "reason": "r"}),
    );
    assert_eq!(bad_version.status, 400, "{}", bad_version.body);
    assert_eq!(bad_version.json()["error"], "invalid-version");

    // The writes, with `%40` for the `@` of NAME@VERSION.
    let dev = || {
        get(&server.url(&format!("/api/prompts/{NAME}/latest?environment=dev"))).json()["version"]
            .clone()
    };
    let promoted = send(
        "PATCH",
        &server.url(&format!("/api/prompts/{ENCODED}%401.2.0/promote")),
        Some(TOKEN),
        &json!({"environment": "dev", "reason": "encoded"}),
    );
    assert_eq!(promoted.status, 200, "{}", promoted.body);
    assert_eq!(promoted.json()["name"], NAME);
    assert_eq!(promoted.json()["version"], "1.2.0");
    assert_eq!(dev(), "1.2.0");
    let split = reply(
        agent()
            .put(server.url(&format!("/api/prompts/{ENCODED}/split")))
            .header("content-type", "application/json")
            .header("authorization", &format!("Bearer {TOKEN}"))
            .send(
                json!({"environment": "dev", "reason": "A/B", "split": [
                    {"version": "1.2.0", "percent": 50}, {"version": "1.1.0", "percent": 50}]})
                .to_string(),
            ),
    );
    assert_eq!(split.status, 200, "{}", split.body);
    assert_eq!(split.json()["split"][1]["version"], "1.1.0");
    let rolled = send(
        "PATCH",
        &server.url(&format!("/api/prompts/{ENCODED}/rollback")),
        Some(TOKEN),
        &json!({"environment": "dev", "reason": "encoded"}),
    );
    assert_eq!(rolled.status, 200, "{}", rolled.body);
    assert_eq!(dev(), "1.2.0", "a split rolls back to its first entry");
    let history = repo.run(&["history", NAME, "--env", "dev", "--format", "json"]);
    let reasons: Vec<Value> = history
        .json()
        .as_array()
        .expect("events")
        .iter()
        .map(|e| e["reason"].clone())
        .collect();
    assert!(reasons.contains(&json!("encoded")), "{reasons:?}");
    assert!(reasons.contains(&json!("A/B")), "{reasons:?}");
}

/// (method, path) → (status, error code, `Allow`).
type Case<'a> = (&'a str, String, u16, Option<&'a str>, Option<&'a str>);

#[test]
fn every_refusal_is_the_json_body_and_a_405_allows_exactly_the_routes_methods() {
    let repo = registry();
    let tokens = tokens_file(&repo);
    let server = Server::start(&repo, &["--tokens", &tokens]);
    let reads = "GET, HEAD";
    let p = format!("/api/prompts/{NAME}");
    let promote = format!("/api/prompts/{NAME}@1.2.0/promote");
    let encoded_promote = format!("/api/prompts/{ENCODED}%401.2.0/promote");
    #[rustfmt::skip]
    let table: Vec<Case> = vec![
        // (method, path, status, code, Allow)
        ("GET", "/nope".into(), 404, Some("not-found"), None),
        ("GET", "/api".into(), 404, Some("not-found"), None),
        ("POST", "/api/nope".into(), 404, Some("not-found"), None),
        ("DELETE", "/healthz/x".into(), 404, Some("not-found"), None),
        ("GET", "/healthz".into(), 200, None, None),
        ("HEAD", "/healthz".into(), 200, None, None),
        ("POST", "/healthz".into(), 405, Some("method-not-allowed"), Some(reads)),
        ("DELETE", "/healthz".into(), 405, Some("method-not-allowed"), Some(reads)),
        ("GET", "/api/prompts".into(), 200, None, None),
        ("HEAD", "/api/prompts".into(), 200, None, None),
        ("POST", "/api/prompts".into(), 401, Some("unauthorized"), None),
        ("PUT", "/api/prompts".into(), 405, Some("method-not-allowed"), Some("GET, HEAD, POST")),
        ("DELETE", "/api/prompts".into(), 405, Some("method-not-allowed"), Some("GET, HEAD, POST")),
        ("PATCH", "/api/prompts".into(), 405, Some("method-not-allowed"), Some("GET, HEAD, POST")),
        ("GET", p.clone(), 200, None, None),
        ("HEAD", p.clone(), 200, None, None),
        ("DELETE", p.clone(), 405, Some("method-not-allowed"), Some(reads)),
        ("POST", p.clone(), 405, Some("method-not-allowed"), Some(reads)),
        ("PATCH", p.clone(), 405, Some("method-not-allowed"), Some(reads)),
        ("OPTIONS", p.clone(), 405, Some("method-not-allowed"), Some(reads)),
        ("HEAD", format!("{p}/latest"), 200, None, None),
        ("PUT", format!("{p}/latest"), 405, Some("method-not-allowed"), Some(reads)),
        ("GET", format!("{p}/versions"), 200, None, None),
        ("POST", format!("{p}/versions"), 405, Some("method-not-allowed"), Some(reads)),
        ("HEAD", format!("{p}/history"), 200, None, None),
        ("PATCH", format!("{p}/history"), 405, Some("method-not-allowed"), Some(reads)),
        ("GET", format!("{p}/tests"), 200, None, None),
        ("DELETE", format!("{p}/tests"), 405, Some("method-not-allowed"), Some(reads)),
        ("PATCH", promote.clone(), 401, Some("unauthorized"), None),
        ("PATCH", encoded_promote.clone(), 401, Some("unauthorized"), None),
        ("GET", promote.clone(), 405, Some("method-not-allowed"), Some("PATCH")),
        ("HEAD", promote.clone(), 405, None, Some("PATCH")),
        ("PUT", promote.clone(), 405, Some("method-not-allowed"), Some("PATCH")),
        ("POST", encoded_promote.clone(), 405, Some("method-not-allowed"), Some("PATCH")),
        ("PUT", format!("{p}/split"), 401, Some("unauthorized"), None),
        ("GET", format!("{p}/split"), 405, Some("method-not-allowed"), Some("PUT")),
        ("PATCH", format!("{p}/split"), 405, Some("method-not-allowed"), Some("PUT")),
        ("PATCH", format!("{p}/rollback"), 401, Some("unauthorized"), None),
        ("GET", format!("{p}/rollback"), 405, Some("method-not-allowed"), Some("PATCH")),
        ("PUT", format!("{p}/rollback"), 405, Some("method-not-allowed"), Some("PATCH")),
        ("DELETE", format!("{p}/rollback"), 405, Some("method-not-allowed"), Some("PATCH")),
    ];
    for (method, path, status, code, allow) in table {
        let case = format!("{method} {path}");
        let (answer, allowed, content_type) = call(method, &server.url(&path), None);
        assert_eq!(answer.status, status, "{case}: {}", answer.body);
        assert_eq!(allowed.as_deref(), allow, "{case}: Allow");
        if method == "HEAD" {
            assert_eq!(answer.body, "", "{case}: HEAD has no body");
            continue;
        }
        assert_eq!(content_type.as_deref(), Some("application/json"), "{case}");
        let body = answer.json();
        match code {
            Some(code) => {
                assert_eq!(body["error"], code, "{case}: {body}");
                let message = body["message"].as_str().unwrap_or_default();
                assert!(!message.is_empty(), "{case}: {body}");
                if status == 405 {
                    assert!(message.contains(method), "{case}: {message}");
                    assert!(message.contains(allow.unwrap_or("-")), "{case}: {message}");
                }
            }
            None => assert!(body.get("error").is_none(), "{case}: {body}"),
        }
    }
}

/// `list --format json` of `repo` with `args`, as JSON.
fn cli_list(repo: &TestRepo, args: &[&str]) -> Value {
    let mut all = vec!["list", "--format", "json"];
    all.extend_from_slice(args);
    let out = repo.run(&all);
    out.ok();
    out.json()
}

#[test]
fn the_list_endpoint_is_list_format_json_filtered_cached_and_fresh() {
    let repo = registry();
    repo.release("billing/invoice", "0.1.0", "Invoices");
    repo.promote("billing/invoice", "0.1.0", "dev");
    repo.release("greeter", "1.0.0", "Hello");
    repo.commit_by_hand(
        "prompts/support/draft/prompt.yaml",
        &crate::support::prompt_yaml("support/draft", "Draft"),
        "a draft, not released",
    );
    let server = Server::start(&repo, &[]);
    let list = |query: &str| get(&server.url(&format!("/api/prompts{query}")));
    for (query, args) in [
        ("", &[][..]),
        ("?environment=production", &["--env", "production"][..]),
        ("?environment=dev", &["--env", "dev"][..]),
        ("?domain=support", &["--domain", "support"][..]),
        (
            "?domain=billing&environment=dev",
            &["--domain", "billing", "--env", "dev"][..],
        ),
        (
            "?domain=billing&environment=production",
            &["--domain", "billing", "--env", "production"][..],
        ),
    ] {
        let answer = list(query);
        assert_eq!(answer.status, 200, "{query}: {}", answer.body);
        assert_eq!(answer.json(), cli_list(&repo, args), "{query}");
    }
    let all = list("").json();
    let names: Vec<&str> = all
        .as_array()
        .expect("rows")
        .iter()
        .map(|r| r["name"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(
        names,
        ["billing/invoice", "greeter", "support/draft", NAME],
        "the CLI's rows, in its order"
    );

    // The CLI's refusals, with the HTTP codes.
    let cli = repo.run(&["list", "--env", "qa"]);
    assert_ne!(cli.code, 0);
    let unknown_env = list("?environment=qa");
    assert_eq!(unknown_env.status, 404, "{}", unknown_env.body);
    assert_eq!(unknown_env.json()["error"], "unknown-environment");
    assert!(cli
        .stderr
        .contains(unknown_env.json()["message"].as_str().unwrap()));
    let cli = repo.run(&["list", "--domain", "nope"]);
    assert_ne!(cli.code, 0);
    let unknown_domain = list("?domain=nope");
    assert_eq!(unknown_domain.status, 404, "{}", unknown_domain.body);
    assert_eq!(unknown_domain.json()["error"], "unknown-domain");
    assert!(cli
        .stderr
        .contains(unknown_domain.json()["message"].as_str().unwrap()));
    for (query, code) in [
        ("?env=production", "unknown-parameter"),
        ("?version=1.0.0", "unknown-parameter"),
        ("?domain=support&domain=billing", "bad-request"),
        ("?environment=", "bad-request"),
    ] {
        let refused = list(query);
        assert_eq!(refused.status, 400, "{query}: {}", refused.body);
        assert_eq!(refused.json()["error"], code, "{query}");
    }
    let message = list("?env=production").json()["message"].clone();
    assert!(
        message
            .as_str()
            .unwrap()
            .contains("did you mean `environment`"),
        "{message}"
    );

    // ETag'd and cached; a CLI promotion shows on the next request.
    let first = list("?environment=production");
    let etag = first.etag.clone().expect("an ETag");
    let revalidate = || {
        reply(
            agent()
                .get(server.url("/api/prompts?environment=production"))
                .header("if-none-match", &etag)
                .call(),
        )
    };
    assert_eq!(revalidate().status, 304);
    repo.promote("billing/invoice", "0.1.0", "staging");
    repo.promote("billing/invoice", "0.1.0", "production");
    assert_eq!(revalidate().status, 200, "the promotion changed the list");
    let after = list("?environment=production");
    assert_ne!(after.body, first.body);
    assert_eq!(after.json(), cli_list(&repo, &["--env", "production"]));
    assert_eq!(after.json()[0]["name"], "billing/invoice");
}

#[test]
fn sync_from_a_remote_that_does_not_exist_refuses_to_start() {
    let repo = registry();
    let out = repo.run(&["serve", "--addr", "127.0.0.1:0", "--sync", "origin"]);
    out.usage()
        .stderr_has(&["error:", "`origin`", "hint:", "no remotes"]);
    let upstream = TestRepo::new();
    let url = upstream.root.to_string_lossy().into_owned();
    repo.git(&["remote", "add", "upstream", &url]);
    repo.git(&["remote", "add", "backup", &url]);
    let out = repo.run(&["serve", "--addr", "127.0.0.1:0", "--sync", "orign"]);
    out.usage()
        .stderr_has(&["error:", "`orign`", "hint:", "backup, upstream"]);
    let out = repo.run(&[
        "serve",
        "--addr",
        "127.0.0.1:0",
        "--sync",
        "./no-such-clone",
    ]);
    out.usage().stderr_has(&["error:", "hint:"]);
    // A remote by name, or by path, starts (the path one is tests/cli/serve.rs's sync test).
    let mut server = Server::start(&repo, &["--sync", "upstream", "--interval", "1h"]);
    assert!(server.running());
    assert_eq!(get(&server.url("/healthz")).status, 200);
}
