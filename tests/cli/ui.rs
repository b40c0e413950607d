//! The web UI of `promptreg serve`: the HTML routes over HTTP — status, content against the
//! CLI's, escaping of prompt text, the JSON links, the headers, 404s, `--read-tokens` and
//! `--no-ui`. The browser tests are in `ui_browser.rs`.

use crate::serve::{agent, get, header, reply, Reply, Server};
use crate::support::TestRepo;

/// The example registry (`promptreg init --example`), in the test repository's directory.
pub(crate) fn example() -> TestRepo {
    let repo = TestRepo::bare_dir();
    let root = repo.root.to_string_lossy().into_owned();
    repo.run(&["init", "--example", &root]).ok();
    repo
}

/// A page, asserting it is HTML with the UI's headers; with `&#x2f;` (how MiniJinja's HTML
/// escaping writes `/`) read back as `/`, for readable assertions.
fn page(server: &Server, path: &str, status: u16) -> String {
    let response = agent().get(&server.url(path)).call().expect("request");
    let text = |name: &str| header(&response, name).unwrap_or_default();
    let (content_type, csp) = (text("content-type"), text("content-security-policy"));
    let got = reply(Ok(response));
    assert_eq!(got.status, status, "{path}: {}", got.body);
    assert_eq!(content_type, "text/html; charset=utf-8", "{path}");
    assert!(
        csp.contains("script-src 'self'") && csp.contains("default-src 'none'"),
        "{path}: {csp}"
    );
    assert!(!csp.contains("unsafe-inline"), "{path}: {csp}");
    got.body.replace("&#x2f;", "/")
}

/// Every `href="…"` and `src="…"` of a page.
fn links(body: &str) -> Vec<String> {
    let mut out = Vec::new();
    for attr in ["href=\"", "src=\""] {
        let mut rest = body;
        while let Some(at) = rest.find(attr) {
            rest = &rest[at + attr.len()..];
            let end = rest.find('"').expect("a closed attribute");
            out.push(rest[..end].replace("&amp;", "&"));
            rest = &rest[end..];
        }
    }
    out
}

#[test]
fn every_page_answers_with_what_the_cli_reports_and_links_its_json() {
    let repo = example();
    let server = Server::start(&repo, &[]);

    let index = page(&server, "/", 200);
    for name in [
        "support/refund-agent",
        "support/triage",
        "summarize",
        "marketing/product-description",
    ] {
        assert!(
            index.contains(&format!("href=\"/prompts/{name}\"")),
            "{name}"
        );
    }
    assert!(index.contains("4 of 4 prompts"), "{index}");
    assert!(index.contains("href=\"/api/prompts\""));

    // What production serves, on the prompt page, as `fetch NAME@production` says.
    let fetched = repo
        .run(&[
            "fetch",
            "support/refund-agent@production",
            "--format",
            "json",
        ])
        .json();
    let prompt = page(&server, "/prompts/support/refund-agent", 200);
    let production = prompt
        .split("<th scope=\"row\">production</th>")
        .nth(1)
        .expect("a production row");
    let served = fetched["version"].as_str().unwrap();
    assert!(
        production[..200].contains(&format!("@{served}\">{served}</a>")),
        "{production}"
    );
    for version in ["1.0.0", "1.1.0", "1.2.0"] {
        assert!(prompt.contains(&format!("href=\"/prompts/support/refund-agent@{version}\"")));
    }
    assert!(prompt.contains("href=\"/api/prompts/support/refund-agent/versions\""));

    let version = page(&server, "/prompts/support/refund-agent@1.0.0", 200);
    assert!(version.contains("<mark class=\"tpl tpl-var\">{{ company_name }}</mark>"));
    assert!(version.contains("refund_window_days"));
    assert!(version.contains("support/refund-agent/v1.0.0"));
    assert!(version.contains("golden-set"));
    assert!(version.contains("href=\"/api/prompts/support/refund-agent?version=1.0.0\""));

    // The comparison shows the lines and settings `promptreg diff` reports.
    let diff = repo
        .run(&[
            "diff",
            "support/refund-agent",
            "1.0.0",
            "1.2.0",
            "--format",
            "json",
        ])
        .json();
    let compare = page(
        &server,
        "/compare/support/refund-agent?a=1.0.0&b=1.2.0",
        200,
    );
    for line in diff["text_diff"].as_str().unwrap().lines() {
        if let Some(added) = line.strip_prefix('+').filter(|_| !line.starts_with("+++")) {
            assert!(compare.contains(&html_escape(added)), "{added}");
        }
    }
    for field in diff["fields"].as_array().unwrap() {
        assert!(compare.contains(&format!(
            "<code>{}</code>",
            field["field"].as_str().unwrap()
        )));
    }
    let split = page(
        &server,
        "/compare/support/refund-agent?a=production&b=dev&view=split",
        200,
    );
    assert!(split.contains("id=\"view-split\">") || split.contains("id=\"view-split\" "));

    // The audit trail: who promoted what, and why, as `history` reports it.
    let history = repo
        .run(&["history", "support/refund-agent", "--format", "json"])
        .json();
    let trail = page(&server, "/history/support/refund-agent", 200);
    for event in history.as_array().unwrap() {
        let reason = event["reason"].as_str().unwrap();
        assert!(trail.contains(&html_escape(reason)), "{reason}");
        assert!(trail.contains(&event["commit"].as_str().unwrap()[..10]));
    }
    let staging = page(
        &server,
        "/history/support/refund-agent?environment=staging",
        200,
    );
    let cli = repo
        .run(&[
            "history",
            "support/refund-agent",
            "--env",
            "staging",
            "--format",
            "json",
        ])
        .json();
    let count = cli.as_array().unwrap().len();
    assert!(count > 1);
    assert!(staging.contains(&format!("{count} events,")), "{staging}");
    let all = page(&server, "/history", 200);
    let every = repo.run(&["history", "--format", "json"]).json();
    assert!(all.contains(&format!("{} events", every.as_array().unwrap().len())));
    let none = page(&server, "/history?since=2000-01-01&until=2000-12-31", 200);
    assert!(none.contains("0 events"));
    page(&server, "/history?since=yesterday", 400);
    // Each event links its commit: the changes of that commit alone.
    let promotion = every
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["event"] == "promoted")
        .expect("a promotion");
    let commit = promotion["commit"].as_str().unwrap();
    assert!(all.contains(&format!("/history?commit={commit}")), "{all}");
    let same_commit = every
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["commit"] == commit)
        .count();
    let of_commit = page(&server, &format!("/history?commit={}", &commit[..10]), 200);
    assert!(
        of_commit.contains(&format!("class=\"count\">{same_commit} event")),
        "{of_commit}"
    );
    assert!(of_commit.contains(promotion["reason"].as_str().unwrap_or_default()));
    for bad in ["xyz", "abc", "%3Cscript%3E"] {
        page(&server, &format!("/history?commit={bad}"), 400);
    }

    // Every link of every page leads somewhere: a page, a JSON answer or the assets.
    for body in [&index, &prompt, &version, &compare, &trail, &all] {
        for link in links(body).into_iter().filter(|l| !l.starts_with('#')) {
            assert!(link.starts_with('/'), "no link leaves the server: {link}");
            let got = get(&server.url(&link));
            assert_eq!(got.status, 200, "{link}: {}", got.body);
        }
    }
}

fn html_escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#x27;")
}

#[test]
fn filters_work_without_javascript() {
    let repo = example();
    let server = Server::start(&repo, &[]);
    let shown = |path: &str| {
        let body = page(&server, path, 200);
        let mut names: Vec<String> = body
            .split("class=\"pname\" href=\"/prompts/")
            .skip(1)
            .map(|rest| rest[..rest.find('"').unwrap()].to_owned())
            .collect();
        names.sort();
        names
    };
    assert_eq!(shown("/?q=refund"), ["support/refund-agent"]);
    assert_eq!(shown("/?q=REFUND+policy"), ["support/refund-agent"]);
    assert_eq!(
        shown("/?domain=support"),
        ["support/refund-agent", "support/triage"]
    );
    assert_eq!(shown("/?tag=json"), ["support/triage"]);
    assert_eq!(shown("/?environment=production").len(), 3);
    assert_eq!(
        shown("/?environment=production&domain=marketing"),
        Vec::<String>::new()
    );
    assert_eq!(
        shown("/?q=&domain=&page=99").len(),
        4,
        "empty filters are none"
    );
}

#[test]
fn prompt_text_is_shown_as_text_never_as_markup() {
    let repo = crate::support::released_prompt(
        "support/agent",
        "1.0.0",
        "Say </pre><script>alert(1)</script> \"quoted\" & {{ user_name }}",
    );
    repo.write(
        "prompts/support/agent/prompt.yaml",
        "summary: \"<img src=x onerror=alert(2)>\"\nmodel: gpt-4o\nsystem_prompt: |\n  Now <script>alert(3)</script> {{ user_name }}\nvariables:\n  user_name:\n    description: \"<b>who</b>\"\nmetadata:\n  owner: \"<i>me</i>\"\n",
    );
    repo.run(&[
        "create",
        "support/agent",
        "--version",
        "1.1.0",
        "-m",
        "<script>alert(4)</script>",
    ])
    .ok();
    let server = Server::start(&repo, &[]);
    for path in [
        "/",
        "/prompts/support/agent",
        "/prompts/support/agent@1.0.0",
        "/prompts/support/agent@1.1.0",
        "/compare/support/agent?a=1.0.0&b=1.1.0",
        "/compare/support/agent?a=1.0.0&b=1.1.0&view=split",
        "/history",
        "/history/support/agent",
    ] {
        let body = page(&server, path, 200);
        assert_eq!(
            body.matches("<script").count(),
            1,
            "{path}: only the UI's own script tag:\n{body}"
        );
        for markup in ["<img", "<b>who", "<i>me"] {
            assert!(!body.contains(markup), "{path}: {markup}");
        }
    }
    let version = page(&server, "/prompts/support/agent@1.0.0", 200);
    assert!(version.contains("&lt;script&gt;alert(1)&lt;"), "{version}");
    // What a visitor types comes back escaped too.
    for path in [
        "/?q=%22%3E%3Cscript%3Ealert(5)%3C%2Fscript%3E",
        "/history?environment=%22%3E%3Cscript%3E",
        "/compare/support/agent?a=%3Cscript%3E&b=1.0.0",
    ] {
        let got = get(&server.url(path));
        assert!(!got.body.contains("<script>"), "{path}: {}", got.body);
        assert_eq!(got.body.matches("<script").count(), 1, "{path}");
    }
    assert!(version.contains("&quot;quoted&quot; &amp; "));
}

#[test]
fn unknown_prompts_and_versions_are_404_pages() {
    let repo = example();
    let server = Server::start(&repo, &[]);
    for path in [
        "/prompts/support/nope",
        "/prompts/support/refund-agent@9.9.9",
        "/history/support/nope",
        "/compare/support/nope?a=1.0.0&b=1.1.0",
        "/compare/support/refund-agent?a=1.0.0&b=9.0.0",
    ] {
        let body = page(&server, path, 404);
        assert!(body.contains("404"), "{path}: {body}");
    }
    for path in [
        "/prompts/Bad..Name",
        "/prompts/support/refund-agent@one",
        "/compare/support/refund-agent?a=worktree&b=1.0.0",
    ] {
        page(&server, path, 400);
    }
    // The pages are read-only: another method is the API's JSON 405.
    let posted = reply(agent().post(&server.url("/")).send("x"));
    assert_eq!(posted.status, 405);
    assert_eq!(posted.json()["error"], "method-not-allowed");
    let head = reply(
        agent()
            .head(&server.url("/prompts/support/refund-agent"))
            .call(),
    );
    assert_eq!(head.status, 200);
    assert!(head.body.is_empty());
    // A path neither the UI nor the API takes is the API's JSON 404.
    let other = get(&server.url("/nothing/here"));
    assert_eq!(other.status, 404);
    assert_eq!(other.json()["error"], "not-found");
}

#[test]
fn assets_are_embedded_and_nothing_is_loaded_from_elsewhere() {
    let repo = example();
    let server = Server::start(&repo, &[]);
    let css = get(&server.url("/_ui/ui.css"));
    assert_eq!(css.status, 200);
    assert!(css.body.contains("prefers-color-scheme: dark"));
    assert!(!css.body.contains("url("), "no fonts or images fetched");
    let js = get(&server.url("/_ui/ui.js"));
    assert_eq!(js.status, 200);
    for body in [&css.body, &js.body, &page(&server, "/", 200)] {
        assert!(!body.contains("http://") && !body.contains("https://"));
    }
}

#[test]
fn read_tokens_protect_the_pages_and_no_ui_turns_them_off() {
    let repo = example();
    let tokens = repo.tmp().join("read-tokens.yaml");
    std::fs::write(
        &tokens,
        "ui-token-0123456789: {name: Reviewer, email: r@example.com}\n",
    )
    .unwrap();
    let tokens = tokens.to_string_lossy().into_owned();
    let server = Server::start(&repo, &["--read-tokens", &tokens]);
    for path in [
        "/",
        "/prompts/support/refund-agent",
        "/history",
        "/_ui/ui.css",
    ] {
        let refused = get(&server.url(path));
        assert_eq!(refused.status, 401, "{path}");
        let with: Reply = reply(
            agent()
                .get(&server.url(path))
                .header("authorization", "Bearer ui-token-0123456789")
                .call(),
        );
        assert_eq!(with.status, 200, "{path}");
    }
    drop(server);

    let server = Server::start(&repo, &["--no-ui"]);
    for path in [
        "/",
        "/prompts/support/refund-agent",
        "/history",
        "/_ui/ui.js",
    ] {
        let got = get(&server.url(path));
        assert_eq!(got.status, 404, "{path}");
        assert_eq!(got.json()["error"], "not-found");
    }
    assert_eq!(
        get(&server.url("/api/prompts/support/refund-agent")).status,
        200
    );
}

#[test]
fn a_promotion_shows_on_the_next_page_load() {
    let repo = example();
    let server = Server::start(&repo, &[]);
    page(&server, "/prompts/support/refund-agent", 200);
    repo.run(&[
        "promote",
        "support/refund-agent",
        "1.1.0",
        "--env",
        "production",
        "--reason",
        "Ship <the> order-number question",
        "--force",
    ])
    .ok();
    let prompt = page(&server, "/prompts/support/refund-agent", 200);
    let production = prompt
        .split("<th scope=\"row\">production</th>")
        .nth(1)
        .unwrap();
    assert!(
        production[..200].contains("@1.1.0\">1.1.0</a>"),
        "{production}"
    );
    let trail = page(&server, "/history/support/refund-agent", 200);
    assert!(trail.contains("Ship &lt;the&gt; order-number question"));

    // A canary shows with its shares, on the index and the prompt page.
    repo.run(&[
        "promote",
        "support/refund-agent",
        "1.2.0",
        "--env",
        "staging",
        "--canary",
        "12.5",
        "--reason",
        "try the lower temperature",
    ])
    .ok();
    let index = page(&server, "/?q=refund", 200);
    let staging = index.split("data-env=\"staging\">").nth(1).unwrap();
    let staging = &staging[..staging.find("</td>").unwrap()];
    assert!(
        staging.contains("1.1.0</a>&nbsp;<small>87.5%</small>")
            && staging.contains("1.2.0</a>&nbsp;<small>12.5%</small>"),
        "{staging}"
    );
    let prompt = page(&server, "/prompts/support/refund-agent", 200);
    assert!(prompt.contains("<strong>12.5%</strong>") && prompt.contains("traffic split"));
}

#[test]
fn a_version_page_names_its_component_files_and_shows_their_content() {
    let repo = TestRepo::init();
    repo.write(
        "prompts/support/files/prompt.yaml",
        "summary: From files\nmodel: gpt-4o\nsystem_prompt_file: system.md\nexamples_file: examples.yaml\n",
    );
    repo.write(
        "prompts/support/files/system.md",
        "You answer <politely>.\n",
    );
    repo.write(
        "prompts/support/files/examples.yaml",
        "- input: hi\n  output: hello\n",
    );
    repo.run(&[
        "create",
        "support/files",
        "--version",
        "1.0.0",
        "-m",
        "first",
    ])
    .ok();
    let server = Server::start(&repo, &[]);
    let version = page(&server, "/prompts/support/files@1.0.0", 200);
    assert!(version.contains("You answer &lt;politely&gt;."));
    assert!(version.contains("<dt>system_prompt_file</dt><dd><code>system.md</code>"));
    assert!(version.contains("<dt>examples_file</dt><dd><code>examples.yaml</code>"));
    assert!(version.contains("<pre>hello</pre>"), "{version}");
}

#[test]
fn an_unreleased_prompt_is_listed_without_a_link_to_a_page_it_does_not_have() {
    let repo = crate::support::released_prompt("support/agent", "1.0.0", "Hello {{ user_name }}");
    repo.commit_by_hand(
        "prompts/draft/idea/prompt.yaml",
        "summary: A draft\nsystem_prompt: hi\n",
        "a draft",
    );
    let server = Server::start(&repo, &[]);
    let index = page(&server, "/", 200);
    assert!(
        index.contains("<span class=\"pname\">draft/idea</span>"),
        "{index}"
    );
    assert!(!index.contains("href=\"/prompts/draft/idea\""));
    assert!(index.contains("href=\"/prompts/support/agent\""));
}

#[test]
fn the_index_is_paginated_and_its_links_keep_the_filters() {
    let repo = TestRepo::init();
    for i in 0..53 {
        repo.release(&format!("bulk/p{i:02}"), "1.0.0", "Hello {{ user_name }}");
    }
    let server = Server::start(&repo, &[]);
    let rows = |body: &str| body.matches("class=\"pname\" href=").count();
    let first = page(&server, "/?q=bulk", 200);
    assert!(first.contains("53 of 53 prompts · page 1 of 2"), "{first}");
    assert_eq!(rows(&first), 50);
    assert!(
        first.contains("rel=\"next\" href=\"/?q=bulk&amp;page=2\""),
        "{first}"
    );
    assert!(!first.contains("rel=\"prev\""));
    let second = page(&server, "/?q=bulk&page=2", 200);
    assert_eq!(rows(&second), 3);
    assert!(second.contains("href=\"/prompts/bulk/p52\""));
    assert!(second.contains("rel=\"prev\" href=\"/?q=bulk&amp;page=1\""));
    assert!(!second.contains("rel=\"next\""));
    // A page past the end is the last one.
    assert_eq!(rows(&page(&server, "/?q=bulk&page=7", 200)), 3);
}
