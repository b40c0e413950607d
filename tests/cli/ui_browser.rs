//! The web UI in a real headless Chromium, driven by chromedriver's WebDriver REST API over
//! plain HTTP: open `/`, filter as you type, go to a prompt, a version, a comparison and the
//! history with the keyboard and the mouse, check what they show against `promptreg
//! fetch/diff/history`, check that no page loads anything from outside the server or breaks
//! its Content-Security-Policy, and take screenshots at desktop and phone widths into
//! `target/ui-screenshots/` (CI keeps them).
//!
//! Ignored by plain `cargo test` (it needs Debian's `chromium` and `chromium-driver`); `.ci/run`
//! installs them and runs it: `PROMPTREG_CHROMEDRIVER=/usr/bin/chromedriver cargo test --test
//! cli ui_browser -- --ignored`.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::serve::Server;
use crate::ui::example;

/// The W3C name of an element reference in WebDriver answers.
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

/// A chromedriver process and one browser session; both ended on drop.
struct Browser {
    driver: Child,
    base: String,
    session: String,
    agent: ureq::Agent,
}

impl Browser {
    fn start(chromedriver: &str) -> Browser {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let driver = Command::new(chromedriver)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start chromedriver");
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(60)))
            .build()
            .into();
        let base = format!("http://127.0.0.1:{port}");
        let start = Instant::now();
        while agent.get(&format!("{base}/status")).call().is_err() {
            assert!(
                start.elapsed() < Duration::from_secs(20),
                "chromedriver did not start"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        let mut browser = Browser {
            driver,
            base,
            session: String::new(),
            agent,
        };
        let chromium = std::env::var("PROMPTREG_CHROMIUM").unwrap_or("/usr/bin/chromium".into());
        let created = browser.call(
            "POST",
            "/session",
            json!({"capabilities": {"alwaysMatch": {
                "browserName": "chrome",
                "goog:loggingPrefs": {"browser": "ALL"},
                "goog:chromeOptions": {
                    "binary": chromium,
                    "args": ["--headless=new", "--no-sandbox", "--disable-gpu",
                             "--disable-dev-shm-usage", "--window-size=1280,900",
                             "--no-first-run", "--disable-extensions"],
                },
            }}}),
        );
        browser.session = created["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("no session: {created}"))
            .to_owned();
        browser
    }

    /// A WebDriver command; its `value`, or a panic with the driver's error.
    fn call(&self, method: &str, path: &str, body: Value) -> Value {
        let url = format!("{}{path}", self.base);
        let response = match method {
            "GET" => self.agent.get(&url).call(),
            "DELETE" => self.agent.delete(&url).call(),
            _ => self
                .agent
                .post(&url)
                .header("content-type", "application/json")
                .send(body.to_string()),
        };
        let mut response = response.unwrap_or_else(|e| panic!("{method} {path}: {e}"));
        let status = response.status().as_u16();
        let text = response.body_mut().read_to_string().unwrap_or_default();
        let value: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
        assert!(status < 400, "{method} {path}: {status} {text}");
        value["value"].clone()
    }

    fn session(&self, method: &str, path: &str, body: Value) -> Value {
        self.call(method, &format!("/session/{}{path}", self.session), body)
    }

    fn open(&self, url: &str) {
        self.session("POST", "/url", json!({ "url": url }));
    }

    fn url(&self) -> String {
        self.session("GET", "/url", Value::Null)
            .as_str()
            .unwrap()
            .to_owned()
    }

    fn find(&self, css: &str) -> String {
        let found = self.session(
            "POST",
            "/element",
            json!({"using": "css selector", "value": css}),
        );
        found[ELEMENT]
            .as_str()
            .unwrap_or_else(|| panic!("{css}: {found}"))
            .to_owned()
    }

    fn text(&self, css: &str) -> String {
        let id = self.find(css);
        self.session("GET", &format!("/element/{id}/text"), Value::Null)
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    fn click(&self, css: &str) {
        let id = self.find(css);
        self.session("POST", &format!("/element/{id}/click"), json!({}));
    }

    fn type_into(&self, css: &str, text: &str) {
        let id = self.find(css);
        self.session(
            "POST",
            &format!("/element/{id}/value"),
            json!({ "text": text }),
        );
    }

    /// Sends keys to whatever has the focus (the keyboard alone).
    fn keys(&self, keys: &str) {
        let actions: Vec<Value> = keys
            .chars()
            .flat_map(|c| {
                [
                    json!({"type": "keyDown", "value": c.to_string()}),
                    json!({"type": "keyUp", "value": c.to_string()}),
                ]
            })
            .collect();
        self.session(
            "POST",
            "/actions",
            json!({"actions": [{"type": "key", "id": "keyboard", "actions": actions}]}),
        );
        self.session("DELETE", "/actions", Value::Null);
    }

    fn script(&self, script: &str) -> Value {
        self.session(
            "POST",
            "/execute/sync",
            json!({"script": script, "args": []}),
        )
    }

    /// Waits (up to 10 s) until `script` returns true.
    fn wait_for(&self, script: &str, what: &str) {
        let start = Instant::now();
        while self.script(script) != Value::Bool(true) {
            assert!(
                start.elapsed() < Duration::from_secs(10),
                "timed out: {what}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Emulates a device `width` CSS pixels wide (a phone: 390), or the desktop window (`None`).
    fn width(&self, width: Option<u32>) {
        let (cmd, params) = match width {
            Some(width) => (
                "Emulation.setDeviceMetricsOverride",
                json!({"width": width, "height": 844, "deviceScaleFactor": 2, "mobile": true}),
            ),
            None => ("Emulation.clearDeviceMetricsOverride", json!({})),
        };
        self.session(
            "POST",
            "/goog/cdp/execute",
            json!({"cmd": cmd, "params": params}),
        );
    }

    /// Saves a screenshot of the viewport as `target/ui-screenshots/<name>.png`.
    fn screenshot(&self, name: &str) -> PathBuf {
        let data = self.session("GET", "/screenshot", Value::Null);
        let png = base64_decode(data.as_str().unwrap());
        assert!(png.starts_with(b"\x89PNG"), "a PNG");
        let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/ui-screenshots");
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(format!("{name}.png"));
        std::fs::write(&path, png).unwrap();
        path
    }

    /// What the page loaded beyond itself, as the browser's resource timing lists it.
    fn loaded(&self) -> Vec<String> {
        self.script("return performance.getEntriesByType('resource').map(e => e.name)")
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap().to_owned())
            .collect()
    }

    /// The browser console's messages since the last call (CSP violations are logged there).
    fn console(&self) -> Vec<String> {
        self.session("POST", "/se/log", json!({"type": "browser"}))
            .as_array()
            .cloned()
            .unwrap_or_default()
            .iter()
            .map(|entry| entry["message"].as_str().unwrap_or_default().to_owned())
            .collect()
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        if !self.session.is_empty() {
            let _ = self
                .agent
                .delete(&format!("{}/session/{}", self.base, self.session))
                .call();
        }
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

/// Standard base64 (the screenshot's encoding).
fn base64_decode(text: &str) -> Vec<u8> {
    let value = |c: u8| match c {
        b'A'..=b'Z' => Some(c - b'A'),
        b'a'..=b'z' => Some(c - b'a' + 26),
        b'0'..=b'9' => Some(c - b'0' + 52),
        b'+' => Some(62),
        b'/' => Some(63),
        _ => None,
    };
    let mut out = Vec::with_capacity(text.len() * 3 / 4);
    let (mut acc, mut bits) = (0u32, 0);
    for v in text.bytes().filter_map(value) {
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    out
}

#[test]
#[ignore = "needs chromium and chromedriver; .ci/run runs it"]
fn a_reviewer_finds_what_production_serves_the_change_and_who_promoted_it() {
    let chromedriver =
        std::env::var("PROMPTREG_CHROMEDRIVER").unwrap_or("/usr/bin/chromedriver".into());
    let repo = example();
    let server = Server::start(&repo, &[]);
    let base = server.url("");
    let browser = Browser::start(&chromedriver);
    let same_origin = |browser: &Browser, page: &str| {
        for url in browser.loaded() {
            assert!(url.starts_with(&base), "{page} loaded {url} from elsewhere");
        }
        let console = browser.console();
        assert!(
            !console.iter().any(|m| m.contains("Content Security Policy")
                || m.contains("Refused")
                || m.contains("Failed to load")
                || m.contains("Uncaught")),
            "{page}: {console:?}"
        );
    };

    // The index, and the keyboard: the first Tab reaches the skip link.
    browser.open(&server.url("/"));
    assert_eq!(browser.text("h1"), "Prompts");
    assert_eq!(browser.text(".count"), "4 of 4 prompts");
    browser.screenshot("index-desktop");
    same_origin(&browser, "/");
    browser.session(
        "POST",
        "/goog/cdp/execute",
        json!({"cmd": "Emulation.setEmulatedMedia",
               "params": {"features": [{"name": "prefers-color-scheme", "value": "dark"}]}}),
    );
    let dark = browser.script("return getComputedStyle(document.body).backgroundColor");
    assert_eq!(
        dark, "rgb(13, 17, 23)",
        "the dark palette follows the system's preference"
    );
    browser.screenshot("index-dark");
    browser.session(
        "POST",
        "/goog/cdp/execute",
        json!({"cmd": "Emulation.setEmulatedMedia", "params": {"features": []}}),
    );
    browser.keys("\u{E004}");
    assert_eq!(
        browser.script("return document.activeElement.textContent"),
        "Skip to content"
    );

    // Instant filtering (the embedded script ran under the CSP): typing updates the results
    // and the address, with no submit.
    browser.type_into("#q", "refund");
    browser.wait_for(
        "return document.querySelector('.count').textContent.startsWith('1 of 4')",
        "the filter to apply as typed",
    );
    assert!(browser.url().ends_with("/?q=refund"), "{}", browser.url());
    same_origin(&browser, "/?q=refund");

    // From the search field to the prompt with the keyboard alone: domain, environment, tag,
    // the button, then the first prompt's link; Enter follows it.
    browser.click("#q");
    browser.keys("\u{E004}\u{E004}\u{E004}\u{E004}\u{E004}");
    assert_eq!(
        browser.script("return document.activeElement.getAttribute('href')"),
        "/prompts/support/refund-agent"
    );
    browser.keys("\u{E007}");
    browser.wait_for(
        "return location.pathname === '/prompts/support/refund-agent'",
        "the prompt page",
    );

    // What production serves, as `promptreg fetch NAME@production` says.
    let production = repo
        .run(&[
            "fetch",
            "support/refund-agent@production",
            "--format",
            "json",
        ])
        .json();
    let served = production["version"].as_str().unwrap();
    let row = browser.script(
        "return [...document.querySelectorAll('table.envs tr')]\
           .find(r => r.querySelector('th')?.textContent === 'production').cells[1].textContent.trim()",
    );
    assert_eq!(row, served);
    browser.screenshot("prompt-desktop");
    same_origin(&browser, "prompt page");

    // The version: its system prompt is the fetched one, its variables highlighted.
    browser.click(&format!("table.versions a[href$='@{served}']"));
    browser.wait_for(
        &format!("return location.pathname.endsWith('@{served}')"),
        "the version page",
    );
    let shown = browser.script("return document.querySelector('pre.prompt').textContent");
    assert_eq!(shown, production["system_prompt"]);
    assert!(
        browser
            .script("return document.querySelectorAll('pre.prompt mark.tpl-var').length")
            .as_u64()
            .unwrap()
            >= 2
    );
    browser.screenshot("version-desktop");
    same_origin(&browser, "version page");

    // The comparison of 1.0.0 and 1.1.0 from the prompt page's form: the lines `promptreg diff`
    // adds, then the side-by-side toggle (script) and back.
    browser.open(&server.url("/prompts/support/refund-agent"));
    browser.script(
        "document.getElementById('ca').value = '1.0.0'; document.getElementById('cb').value = '1.1.0';",
    );
    browser.click(".compare-form button");
    browser.wait_for(
        "return location.pathname.startsWith('/compare/')",
        "the comparison",
    );
    assert!(
        browser.url().ends_with("a=1.0.0&b=1.1.0"),
        "{}",
        browser.url()
    );
    let diff = repo
        .run(&[
            "diff",
            "support/refund-agent",
            "1.0.0",
            "1.1.0",
            "--format",
            "json",
        ])
        .json();
    let added: Vec<&str> = diff["text_diff"]
        .as_str()
        .unwrap()
        .lines()
        .filter(|l| l.starts_with('+') && !l.starts_with("+++"))
        .map(|l| &l[1..])
        .collect();
    let shown_added = browser.script(
        "return [...document.querySelectorAll('#view-unified tr.add td.code')]\
           .map(td => td.textContent.slice(1))",
    );
    assert_eq!(shown_added, json!(added));
    browser.click("a[data-view='split']");
    browser.wait_for(
        "return !document.getElementById('view-split').hidden && document.getElementById('view-unified').hidden",
        "the side-by-side view",
    );
    assert!(browser.url().ends_with("&view=split"));
    browser.screenshot("compare-desktop");
    same_origin(&browser, "compare page");

    // Who promoted it and why: the history, as `promptreg history` reports it.
    browser.open(&server.url("/history/support/refund-agent?environment=production"));
    let history = repo
        .run(&[
            "history",
            "support/refund-agent",
            "--env",
            "production",
            "--format",
            "json",
        ])
        .json();
    let reasons =
        browser.script("return [...document.querySelectorAll('.reason')].map(b => b.textContent)");
    let expected: Vec<&str> = history
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["reason"].as_str().unwrap())
        .collect();
    assert_eq!(reasons, json!(expected));
    let who = browser.text(".event .who");
    assert!(
        who.contains(history[0]["by_name"].as_str().unwrap()),
        "{who}"
    );
    browser.screenshot("history-desktop");
    same_origin(&browser, "history page");

    // A phone's width: nothing wider than the screen, every page readable.
    browser.width(Some(390));
    for (path, name) in [
        ("/", "index-phone"),
        ("/prompts/support/refund-agent", "prompt-phone"),
        (
            "/compare/support/refund-agent?a=1.0.0&b=1.1.0",
            "compare-phone",
        ),
        ("/history", "history-phone"),
    ] {
        browser.open(&server.url(path));
        let fits =
            browser.script("return document.documentElement.scrollWidth <= window.innerWidth + 1");
        assert_eq!(fits, Value::Bool(true), "{path} is wider than a phone");
        browser.screenshot(name);
    }
    browser.width(None);
}
