//! `promptreg serve` for applications: a whole prompt definition released over HTTP, `--cors`
//! for browser pages, and `--read-tokens` for a private registry.

use std::collections::BTreeMap;

use serde_json::{json, Value};

use crate::serve::{agent, registry, send, tokens_file, Server, TOKEN};

const READ_TOKEN: &str = "read-0123456789abcdef";
const APP: &str = "https://app.example.com";

/// An answer with every header (lower-case names; repeated ones joined with `, `).
struct Answer {
    status: u16,
    headers: BTreeMap<String, String>,
    body: String,
}

impl Answer {
    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }

    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).map(String::as_str)
    }

    /// The `Access-Control-*` headers, which a server without `--cors` never sends.
    fn cors_headers(&self) -> Vec<&str> {
        self.headers
            .keys()
            .map(String::as_str)
            .filter(|name| name.starts_with("access-control-"))
            .collect()
    }
}

/// Sends `method` to `url` with `headers` and `body` (none when empty).
fn request(method: &str, url: &str, headers: &[(&str, &str)], body: &str) -> Answer {
    let mut builder = ureq::http::Request::builder().method(method).uri(url);
    for (name, value) in headers {
        builder = builder.header(*name, *value);
    }
    let result = if body.is_empty() {
        agent().run(builder.body(()).expect("request"))
    } else {
        agent().run(builder.body(body.to_owned()).expect("request"))
    };
    let mut response = result.expect("request");
    let mut headers = BTreeMap::<String, String>::new();
    for (name, value) in response.headers() {
        let value = value.to_str().unwrap_or_default();
        headers
            .entry(name.as_str().to_owned())
            .and_modify(|v| {
                v.push_str(", ");
                v.push_str(value);
            })
            .or_insert_with(|| value.to_owned());
    }
    Answer {
        status: response.status().as_u16(),
        headers,
        body: response.body_mut().read_to_string().unwrap_or_default(),
    }
}

/// A templated prompt's whole definition, as an application would send it.
fn definition() -> Value {
    json!({
        "name": "support/triage",
        "version": "1.0.0",
        "description": "First triage prompt",
        "summary": "Sorts a ticket into a queue",
        "system_prompt": "You triage tickets for {{ product }}.\n",
        "messages": [
            {"role": "user", "content": "Ticket from {{ customer }}: {{ ticket }}"},
            {"role": "assistant", "content": "Queue:"},
        ],
        "variables": {
            "product": {"description": "The product's name", "required": false, "default": "Acme"},
            "customer": {"description": "Who wrote the ticket"},
            "ticket": {"description": "The ticket's text", "required": true},
        },
        "model": "gpt-4o-mini",
        "temperature": 0.2,
        "token_budget": 2000,
        "examples": [{"input": "My card was charged twice", "output": "billing"}],
        "tags": ["support", "triage"],
        "metadata": {"owner": "support-team"},
    })
}

#[test]
fn a_whole_templated_definition_created_over_http_is_what_the_cli_fetches_and_renders() {
    let repo = registry();
    let tokens = tokens_file(&repo);
    let server = Server::start(&repo, &["--tokens", &tokens]);
    let created = send(
        "POST",
        &server.url("/api/prompts"),
        Some(TOKEN),
        &definition(),
    );
    assert_eq!(created.status, 201, "{}", created.body);

    // The record answered is the CLI's record of the new version, and so is a read of it.
    let fetched = repo
        .run(&["fetch", "support/triage@1.0.0", "--format", "json"])
        .ok()
        .json();
    assert_eq!(created.json(), fetched);
    let read = request(
        "GET",
        &server.url("/api/prompts/support/triage?version=1.0.0"),
        &[],
        "",
    );
    assert_eq!(read.status, 200, "{}", read.body);
    assert_eq!(read.json(), fetched);
    for (field, expected) in [
        ("summary", json!("Sorts a ticket into a queue")),
        ("model", json!("gpt-4o-mini")),
        ("temperature", json!(0.2)),
        ("token_budget", json!(2000)),
        ("tags", json!(["support", "triage"])),
        ("metadata", json!({"owner": "support-team"})),
        (
            "examples",
            json!([{"input": "My card was charged twice", "output": "billing"}]),
        ),
        (
            "system_prompt",
            json!("You triage tickets for {{ product }}.\n"),
        ),
    ] {
        assert_eq!(fetched[field], expected, "{field}: {fetched}");
    }
    assert_eq!(fetched["variables"]["product"]["default"], "Acme");
    assert_eq!(fetched["variables"]["product"]["required"], false);
    assert_eq!(fetched["variables"]["ticket"]["required"], true);
    assert_eq!(fetched["messages"].as_array().map(Vec::len), Some(2));

    // Its templates work: the CLI renders it with the declared variables and their defaults.
    let rendered = repo
        .run(&[
            "render",
            "support/triage@1.0.0",
            "--var",
            "customer=Ada",
            "--var",
            "ticket=refund please",
            "--format",
            "json",
        ])
        .ok()
        .json();
    let text = rendered.to_string();
    assert!(text.contains("You triage tickets for Acme."), "{text}");
    assert!(text.contains("Ticket from Ada: refund please"), "{text}");
    // A required variable left out is the CLI's refusal, as for any prompt.
    repo.run(&["render", "support/triage@1.0.0", "--var", "customer=Ada"])
        .refused();
    repo.fsck();
}

#[test]
fn refused_definitions_say_why_and_change_nothing() {
    let repo = registry();
    let tokens = tokens_file(&repo);
    let server = Server::start(&repo, &["--tokens", &tokens]);
    let before = repo.snapshot();
    let post = |change: &dyn Fn(&mut serde_json::Map<String, Value>)| {
        let mut body = definition();
        change(body.as_object_mut().expect("an object"));
        send("POST", &server.url("/api/prompts"), Some(TOKEN), &body)
    };

    // A mistyped field is named with the nearest known one, the request's own fields included,
    // before anything else is looked at.
    for (typo, meant) in [
        ("variabels", "variables"),
        ("modle", "model"),
        ("descripton", "description"),
        ("allow_unchaged", "allow_unchanged"),
    ] {
        let refused = post(&|body| {
            let value = body.remove(meant).unwrap_or(json!(true));
            body.insert(typo.into(), value);
        });
        assert_eq!(refused.status, 400, "{typo}: {}", refused.body);
        assert_eq!(refused.json()["error"], "bad-request", "{}", refused.body);
        let message = refused.json()["message"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        assert!(
            message.contains(&format!("unknown field `{typo}` (did you mean `{meant}`?)")),
            "{message}"
        );
    }
    let far = post(&|body| {
        body.insert("zzzzzzzzzz".into(), json!(1));
    });
    assert_eq!(far.status, 400, "{}", far.body);
    assert!(
        far.body.contains("variables"),
        "the known fields: {}",
        far.body
    );

    // A template reading a variable `variables:` does not declare, checked as `create` does.
    let undeclared = post(&|body| {
        body.insert(
            "messages".into(),
            json!([{"role": "user", "content": "{{ ghost }}"}]),
        );
    });
    assert_eq!(undeclared.status, 422, "{}", undeclared.body);
    assert_eq!(undeclared.json()["error"], "invalid-prompt");
    assert!(
        undeclared.body.contains("undeclared-variable"),
        "{}",
        undeclared.body
    );

    // Values of the wrong type, inside a variable's contract too, and out of range.
    for (field, value) in [
        ("temperature", json!("hot")),
        ("temperature", json!(9)),
        ("token_budget", json!(-1)),
        ("variables", json!({"ticket": {"required": "yes"}})),
        ("variables", json!({"ticket": {"descripton": "typo"}})),
        ("messages", json!([{"role": "robot", "content": "hi"}])),
        ("tags", json!("support")),
    ] {
        let refused = post(&|body| {
            body.insert(field.into(), value.clone());
        });
        assert!(
            (400..500).contains(&refused.status),
            "{field} = {value}: {} {}",
            refused.status,
            refused.body
        );
        let error = refused.json();
        assert!(
            error["error"].is_string() && error["message"].is_string(),
            "{error}"
        );
    }
    assert_eq!(repo.snapshot(), before);
    let versions = request(
        "GET",
        &server.url("/api/prompts/support/triage/versions"),
        &[],
        "",
    );
    assert_eq!(versions.status, 404, "{}", versions.body);
}

#[test]
fn the_seeds_simple_body_still_releases() {
    let repo = registry();
    let tokens = tokens_file(&repo);
    let server = Server::start(&repo, &["--tokens", &tokens]);
    let created = send(
        "POST",
        &server.url("/api/prompts"),
        Some(TOKEN),
        &json!({
            "name": "support/agent", "system_prompt": "Hi {{ user_name }}, how can I help?",
            "version": "1.1.0", "description": "Friendlier",
        }),
    );
    assert_eq!(created.status, 201, "{}", created.body);
    assert_eq!(created.json()["version"], "1.1.0");
    assert_eq!(
        created.json()["system_prompt"],
        "Hi {{ user_name }}, how can I help?"
    );
}

#[test]
fn without_cors_no_cors_header_is_sent() {
    let repo = registry();
    let server = Server::start(&repo, &[]);
    let read = request(
        "GET",
        &server.url("/api/prompts/support/agent"),
        &[("origin", APP)],
        "",
    );
    assert_eq!(read.status, 200, "{}", read.body);
    assert_eq!(read.cors_headers(), Vec::<&str>::new());
    assert_eq!(read.header("vary"), None);
    let preflight = request(
        "OPTIONS",
        &server.url("/api/prompts/support/agent"),
        &[("origin", APP), ("access-control-request-method", "GET")],
        "",
    );
    assert_ne!(preflight.status, 204);
    assert_eq!(preflight.cors_headers(), Vec::<&str>::new());
}

#[test]
fn cors_answers_listed_origins_only() {
    let repo = registry();
    let tokens = tokens_file(&repo);
    let server = Server::start(
        &repo,
        &[
            "--tokens",
            &tokens,
            "--cors",
            "http://localhost:3000,https://App.Example.com",
            "--cors",
            "https://admin.example.com",
        ],
    );
    let url = server.url("/api/prompts/support/agent/latest?environment=production");
    for origin in [APP, "https://admin.example.com", "http://localhost:3000"] {
        let preflight = request(
            "OPTIONS",
            &url,
            &[
                ("origin", origin),
                ("access-control-request-method", "GET"),
                (
                    "access-control-request-headers",
                    "authorization, if-none-match",
                ),
            ],
            "",
        );
        assert_eq!(preflight.status, 204, "{origin}: {}", preflight.body);
        assert_eq!(
            preflight.header("access-control-allow-origin"),
            Some(origin)
        );
        assert_eq!(
            preflight.header("access-control-allow-methods"),
            Some("GET, HEAD, POST, PATCH, PUT")
        );
        assert_eq!(
            preflight.header("access-control-allow-headers"),
            Some("authorization, content-type, if-none-match")
        );
        assert_eq!(preflight.header("access-control-max-age"), Some("600"));
        assert_eq!(preflight.header("vary"), Some("Origin"));

        let read = request("GET", &url, &[("origin", origin)], "");
        assert_eq!(read.status, 200, "{}", read.body);
        assert_eq!(read.header("access-control-allow-origin"), Some(origin));
        assert_eq!(read.header("access-control-expose-headers"), Some("ETag"));
        assert!(read.header("etag").is_some());
        assert_eq!(read.header("vary"), Some("Origin"));
    }
    // Errors carry the headers too, so the page can read why.
    let missing = request(
        "GET",
        &server.url("/api/prompts/support/nobody"),
        &[("origin", APP)],
        "",
    );
    assert_eq!(missing.status, 404);
    assert_eq!(missing.header("access-control-allow-origin"), Some(APP));
    assert_eq!(missing.json()["error"], "prompt-not-found");

    for origin in [
        "https://evil.example",
        "http://app.example.com",
        "https://app.example.com.evil.example",
        "null",
    ] {
        let preflight = request(
            "OPTIONS",
            &url,
            &[("origin", origin), ("access-control-request-method", "GET")],
            "",
        );
        assert_ne!(preflight.status, 204, "{origin}");
        assert_eq!(preflight.cors_headers(), Vec::<&str>::new(), "{origin}");
        let read = request("GET", &url, &[("origin", origin)], "");
        assert_eq!(read.status, 200);
        assert_eq!(read.cors_headers(), Vec::<&str>::new(), "{origin}");
        assert_eq!(read.header("vary"), Some("Origin"));
    }

    // A listed origin's page may write; an unlisted one is still refused and changes nothing.
    let promote = server.url("/api/prompts/support/agent@1.0.0/promote");
    let write = |origin: &str| {
        request(
            "PATCH",
            &promote,
            &[
                ("origin", origin),
                ("content-type", "application/json"),
                ("authorization", &format!("Bearer {TOKEN}")),
            ],
            r#"{"environment": "production", "reason": "again", "force": true}"#,
        )
    };
    let before = repo.snapshot();
    let foreign = write("https://evil.example");
    assert_eq!(foreign.status, 403, "{}", foreign.body);
    assert_eq!(foreign.json()["error"], "foreign-origin");
    assert_eq!(repo.snapshot(), before);
    let listed = write(APP);
    assert_ne!(listed.json()["error"], "foreign-origin", "{}", listed.body);
    assert_eq!(listed.header("access-control-allow-origin"), Some(APP));
}

#[test]
fn cors_refuses_wildcards_and_what_is_not_an_origin() {
    let repo = registry();
    for bad in [
        "*",
        "https://*.example.com",
        "app.example.com",
        "https://a.example/path",
    ] {
        repo.run(&["serve", "--addr", "127.0.0.1:0", "--cors", bad])
            .usage()
            .stderr_has(&["--cors"]);
    }
}

fn read_tokens_file(repo: &crate::support::TestRepo) -> String {
    let path = repo.tmp().join("read-tokens.yaml");
    std::fs::write(
        &path,
        format!("{READ_TOKEN}: {{name: Support App, email: app@example.com}}\n"),
    )
    .expect("write read tokens");
    path.to_string_lossy().into_owned()
}

#[test]
fn read_tokens_make_reads_private_and_name_the_reader_in_the_access_log() {
    let repo = registry();
    let tokens = tokens_file(&repo);
    let read_tokens = read_tokens_file(&repo);
    let log = repo.tmp().join("access.log");
    let log_arg = log.to_string_lossy().into_owned();
    let mut server = Server::start(
        &repo,
        &[
            "--tokens",
            &tokens,
            "--read-tokens",
            &read_tokens,
            "--access-log",
            &log_arg,
            "--cors",
            APP,
        ],
    );
    let url = server.url("/api/prompts/support/agent?environment=production");
    // A browser's preflight carries no token: it is answered before the read gate, and the
    // page can read the 401 that follows.
    let preflight = request(
        "OPTIONS",
        &url,
        &[("origin", APP), ("access-control-request-method", "GET")],
        "",
    );
    assert_eq!(preflight.status, 204, "{}", preflight.body);
    let from_page = request("GET", &url, &[("origin", APP)], "");
    assert_eq!(from_page.status, 401, "{}", from_page.body);
    assert_eq!(from_page.header("access-control-allow-origin"), Some(APP));
    let with = |value: &str| request("GET", &url, &[("authorization", value)], "");

    let refusals = [
        request("GET", &url, &[], ""),
        with("Bearer not-a-token-at-all-0000"),
        with(&format!("Basic {READ_TOKEN}")),
        request(
            "GET",
            &server.url("/api/prompts/support/nobody/versions"),
            &[],
            "",
        ),
    ];
    for refused in &refusals {
        assert_eq!(refused.status, 401, "{}", refused.body);
        assert_eq!(refused.json()["error"], "unauthorized");
        assert_eq!(refused.header("www-authenticate"), Some("Bearer"));
        assert!(!refused.body.contains("Hello"), "{}", refused.body);
    }

    let expected = repo
        .run(&["fetch", "support/agent@production", "--format", "json"])
        .ok()
        .json();
    for value in [
        format!("Bearer {READ_TOKEN}"),
        format!("bearer {READ_TOKEN}"),
        format!("BEARER {TOKEN}"),
    ] {
        let read = with(&value);
        assert_eq!(read.status, 200, "{value}: {}", read.body);
        assert_eq!(read.json(), expected);
    }
    // `/healthz` is for probes: open.
    let health = request("GET", &server.url("/healthz"), &[], "");
    assert_eq!(health.status, 200, "{}", health.body);

    // A read token does not write; a write token does, whatever the scheme's case.
    let promote = server.url("/api/prompts/support/agent@1.0.0/promote");
    let write = |value: &str| {
        request(
            "PATCH",
            &promote,
            &[
                ("content-type", "application/json"),
                ("authorization", value),
            ],
            r#"{"environment": "production", "reason": "again", "force": true}"#,
        )
    };
    let before = repo.snapshot();
    let refused = write(&format!("Bearer {READ_TOKEN}"));
    assert_eq!(refused.status, 401, "{}", refused.body);
    assert_eq!(refused.header("www-authenticate"), Some("Bearer"));
    assert_eq!(repo.snapshot(), before);
    let written = write(&format!("bearer {TOKEN}"));
    assert_ne!(written.status, 401, "{}", written.body);
    assert_ne!(written.status, 403, "{}", written.body);

    // SIGTERM: the server writes out every access-log line before it exits.
    assert_eq!(server.terminate().0, Some(0));
    let lines: Vec<Value> = std::fs::read_to_string(&log)
        .expect("the access log")
        .lines()
        .map(|line| serde_json::from_str(line).expect("a JSON line"))
        .collect();
    let identities: Vec<(u64, Value)> = lines
        .iter()
        .filter(|line| line["method"] == "GET" && line["path"] == "/api/prompts/support/agent")
        .map(|line| {
            (
                line["status"].as_u64().unwrap_or(0),
                line["identity"].clone(),
            )
        })
        .collect();
    assert_eq!(
        identities,
        [
            (401, Value::Null),
            (401, Value::Null),
            (401, Value::Null),
            (401, Value::Null),
            (200, json!("Support App")),
            (200, json!("Support App")),
            (200, json!("Release Bot")),
        ]
    );
}
