//! The fuzz targets: one function per parser of outside input, each taking arbitrary bytes.
//!
//! A target must never panic and must return promptly whatever the bytes are; where a parser
//! has a contract beyond "no panic" (a parsed results file renders and parses back to the same
//! thing, the one-entry registry read agrees with the full one), the target asserts it too, so
//! the fuzzer hunts wrong answers as well as crashes.
//!
//! This file is shared by two drivers: the libFuzzer binaries in `fuzz/fuzz_targets/` (cargo
//! fuzz, coverage-guided) and the stable, in-tree harness `tests/fuzz.rs` (seeded mutations of
//! the fixtures, run by `cargo test`), which includes it with `#[path]`. It therefore depends
//! only on crates the main package already has. See docs/FUZZING.md.

use std::path::Path;

use promptreg::import::{self, Format};
use promptreg::model::prompt::{Components, PromptFile};
use promptreg::model::registry::Registry;
use promptreg::model::results::Results;
use promptreg::model::selector::{self, Selector};
use promptreg::{PromptName, Version};

/// A fuzz target: takes any bytes, returns only if the parser behaved.
pub type Target = fn(&[u8]);

/// Every target, by the name its libFuzzer binary, seed directory and fixtures use.
pub const TARGETS: &[(&str, Target)] = &[
    ("prompt_yaml", prompt_yaml),
    ("registry_yaml", registry_yaml),
    ("results_yaml", results_yaml),
    ("promptfoo_json", promptfoo_json),
    ("junit_xml", junit_xml),
    ("selector", selector),
    ("trailers", trailers),
    ("http", http),
    ("bridge", bridge),
];

/// The prompt the results target reads a file for (its seeds are this prompt's files).
pub const RESULTS_PROMPT: &str = "support/refund-agent";

/// `prompt.yaml`: parse and check, resolve its components (each component file is the input
/// itself, so `examples_file` parses arbitrary bytes too), and compile its templates the way
/// `validate` does (compile only: rendering is bounded by the template engine's own limits).
pub fn prompt_yaml(data: &[u8]) {
    let file = Path::new("prompts/fuzz/prompt.yaml");
    let Ok(parsed) = PromptFile::parse(data, file) else {
        return;
    };
    struct Same<'a>(&'a [u8]);
    impl Components for Same<'_> {
        fn read(&self, _: &str) -> promptreg::Result<Option<Vec<u8>>> {
            Ok(Some(self.0.to_vec()))
        }
        fn display(&self, relative: &str) -> std::path::PathBuf {
            Path::new("prompts/fuzz").join(relative)
        }
    }
    let Ok(prompt) = parsed.resolve(&Same(data)) else {
        return;
    };
    let _ = promptreg::model::template::variables(&prompt.system_prompt);
    for message in &prompt.messages {
        let _ = promptreg::model::template::variables(&message.content);
    }
}

/// `registry.yaml`: the full parse (its one-pass path against the YAML parser), the one-entry fast path (which must agree with the full
/// parse whenever that succeeds) and the cache form (which must read back to the same index).
/// The cache reader also gets the raw input, as a corrupt cache file would reach it.
pub fn registry_yaml(data: &[u8]) {
    let file = Path::new("registry.yaml");
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = Registry::from_cache(text);
    }
    let fixed = PromptName::parse(RESULTS_PROMPT).expect("a valid name");
    let fast = Registry::parse_for(data, file, &fixed);
    // The one-pass reading of the whole index must give what the YAML parser gives, and never
    // accept what it refuses.
    let slow = Registry::parse_slow(data, file);
    assert_eq!(
        Registry::parse(data, file).ok(),
        slow.as_ref().ok().cloned(),
        "parse's one-pass path disagrees with the YAML parser"
    );
    let Ok(full) = slow else {
        return;
    };
    let mut only = full.clone();
    only.prompts.retain(|n, _| *n == fixed);
    assert_eq!(
        fast.ok().as_ref(),
        Some(&only),
        "parse_for disagrees with parse"
    );
    for name in full.prompts.keys().take(4) {
        let one = Registry::parse_for(data, file, name).expect("parse succeeded, so must this");
        assert_eq!(
            one.prompts.get(name),
            full.prompts.get(name),
            "parse_for({name}) disagrees with parse"
        );
        assert_eq!(
            (&one.environments, &one.access, &one.policy),
            (&full.environments, &full.access, &full.policy),
            "parse_for({name}) reads a different head"
        );
    }
    assert_eq!(
        Registry::from_cache(&full.to_cache()).as_ref(),
        Some(&full),
        "the cache form does not read back"
    );
}

/// A results file (`results/<name>.yaml`): parse and check; what parses renders to a file that
/// parses back to the same runs (promptreg rewrites the file on every record).
pub fn results_yaml(data: &[u8]) {
    let name = PromptName::parse(RESULTS_PROMPT).expect("a valid name");
    let file = Path::new("results/support/refund-agent.yaml");
    let Ok(results) = Results::parse(data, file, &name) else {
        return;
    };
    let text = results.render(&name);
    let again = Results::parse(text.as_bytes(), file, &name)
        .unwrap_or_else(|e| panic!("the rendered file does not parse: {e}\n{text}"));
    assert_eq!(again, results, "the rendered file reads back differently");
}

/// A promptfoo JSON report (`results import --format promptfoo`).
pub fn promptfoo_json(data: &[u8]) {
    let _ = import::read(Format::Promptfoo, data, Path::new("report.json"));
}

/// A JUnit XML report (`results import --format junit`).
pub fn junit_xml(data: &[u8]) {
    let _ = import::read(Format::Junit, data, Path::new("report.xml"));
}

/// Selectors and what they are made of: `name@target`, a `--version` / `--env` value, a
/// prompt name and a version. A parsed name or version prints as something that parses back
/// to the same value.
pub fn selector(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let _ = Selector::parse(text);
    let _ = selector::Target::parse(text);
    if let Ok(name) = PromptName::parse(text) {
        let again = PromptName::parse(name.as_str()).expect("a parsed name parses again");
        assert_eq!(again, name);
        let _ = (name.dir(), name.file(), name.tag_prefix(), name.domain());
    }
    if let Ok(version) = Version::parse(text) {
        let again = Version::parse(&version.to_string()).expect("a printed version parses");
        assert_eq!(again, version);
    }
    let _ = Version::from_tag_component(text);
}

/// Commit-message trailers: a pointer move's (`history`) and a recorded test run's
/// (`results`), and the reason text around them. What parses renders to trailers that parse
/// back to the same thing.
pub fn trailers(data: &[u8]) {
    let message = String::from_utf8_lossy(data);
    let _ = promptreg::model::trailers::reason_of(&message);
    if let Some(moved) = promptreg::model::trailers::Trailers::parse(&message) {
        let again =
            promptreg::model::trailers::Trailers::parse(&format!("subject\n\n{}", moved.render()));
        assert_eq!(
            again.as_ref(),
            Some(&moved),
            "move trailers do not read back"
        );
    }
    if let Some((name, version, run)) = promptreg::model::trailers::parse_tested(&message) {
        let text = promptreg::model::trailers::render_tested(&name, &version, &run);
        let again = promptreg::model::trailers::parse_tested(&format!("subject\n\n{text}"));
        assert_eq!(
            again,
            Some((name, version, run)),
            "test-run trailers do not read back"
        );
    }
}

/// HTTP request paths and query strings, sent through the server's router in process over a
/// registry made by `init --example` (once per process). The response must be a status
/// below 500 and not 408 (the request timeout); a JSON response must be valid JSON.
///
/// The first byte picks the method, the second the extra headers; the rest is the path and
/// query, percent-encoded only where the URI syntax requires it (a `%` stays as it is, so
/// malformed escapes reach the router too). A path not starting with `/` goes under
/// `/api/prompts/`.
pub fn http(data: &[u8]) {
    let [method, flags, target @ ..] = data else {
        return;
    };
    let server = http_server::get();
    let method = match method % 8 {
        0..=3 => "GET",
        4 => "HEAD",
        5 => "POST",
        6 => "PATCH",
        _ => "OPTIONS",
    };
    let mut uri = String::new();
    if target.first() != Some(&b'/') {
        uri.push_str("/api/prompts/");
    }
    for &byte in target {
        if byte.is_ascii_alphanumeric() || b"-._~!$&'()*+,;=:@/?%".contains(&byte) {
            uri.push(byte as char);
        } else {
            uri.push_str(&format!("%{byte:02X}"));
        }
    }
    let mut request = axum::http::Request::builder().method(method).uri(&uri);
    if flags & 1 != 0 {
        request = request.header("if-none-match", "*");
    }
    if flags & 2 != 0 {
        request = request.header("content-type", "application/json");
    }
    let Ok(request) = request.body(axum::body::Body::from(
        target[..target.len().min(64)].to_vec(),
    )) else {
        // Not a URI the HTTP layer would pass on (hyper answers 400 before the router).
        return;
    };
    let (status, json, body) = server.call(request);
    // 408 is the server's request timeout: an input that runs into it is a hang.
    assert!(
        status < 500 && status != 408,
        "{method} {uri} answered {status}: {}",
        String::from_utf8_lossy(&body)
    );
    if json && !body.is_empty() {
        assert!(
            serde_json::from_slice::<serde_json::Value>(&body).is_ok(),
            "{method} {uri} answered {status} with a JSON content type but a body that is not JSON"
        );
    }
}

/// The in-process server of the `http` target: the example registry in a temporary
/// directory, the read-only router and a single-threaded runtime, made on first use.
mod http_server {
    use std::path::{Path, PathBuf};
    use std::sync::OnceLock;

    use tower::ServiceExt as _;

    pub struct Server {
        router: axum::Router,
        runtime: tokio::runtime::Runtime,
    }

    /// Largest response body read back (the example registry's answers are a few KiB).
    const BODY_LIMIT: usize = 4 << 20;

    impl Server {
        /// The response's status, whether it says it is JSON, and its body.
        pub fn call(&self, request: axum::http::Request<axum::body::Body>) -> (u16, bool, Vec<u8>) {
            self.runtime.block_on(async {
                let response = self
                    .router
                    .clone()
                    .oneshot(request)
                    .await
                    .expect("the router is infallible");
                let status = response.status().as_u16();
                let json = response
                    .headers()
                    .get("content-type")
                    .is_some_and(|v| v.as_bytes().starts_with(b"application/json"));
                let body = axum::body::to_bytes(response.into_body(), BODY_LIMIT)
                    .await
                    .expect("a response body within the limit");
                (status, json, body.to_vec())
            })
        }
    }

    pub fn get() -> &'static Server {
        static SERVER: OnceLock<Server> = OnceLock::new();
        SERVER.get_or_init(|| {
            let repo = registry_dir();
            let when = promptreg::store::identity::parse_date("2026-01-01T00:00:00+00:00")
                .expect("a valid date");
            let who = promptreg::store::identity::Identity {
                name: "Fuzz".into(),
                email: "fuzz@example.com".into(),
                when,
            };
            let signatures = promptreg::store::identity::Signatures {
                author: who.clone(),
                committer: who,
            };
            promptreg::ops::example::init_example(&repo, &signatures)
                .expect("the example registry");
            let router = promptreg::server::read_only_router(repo, "refs/heads/main".into());
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("a runtime");
            Server { router, runtime }
        })
    }

    /// Where this process keeps its registry: `fuzz-http-<pid>` under the build's temporary
    /// directory (`target/tmp` for the test harness, `fuzz/target` for libFuzzer). A static is
    /// never dropped, so instead of a `TempDir` each process removes the directories of
    /// processes that are gone (libFuzzer exits without unwinding; `-fork` runs several).
    fn registry_dir() -> PathBuf {
        let base = Path::new(
            option_env!("CARGO_TARGET_TMPDIR")
                .unwrap_or(concat!(env!("CARGO_MANIFEST_DIR"), "/target")),
        );
        std::fs::create_dir_all(base).expect("the build's temporary directory");
        // Without /proc there is no telling which processes are gone: sweep nothing.
        let sweep = Path::new("/proc/self").exists();
        for entry in std::fs::read_dir(base).into_iter().flatten().flatten() {
            let name = entry.file_name();
            let pid = name.to_str().and_then(|n| n.strip_prefix("fuzz-http-"));
            if sweep && pid.is_some_and(|pid| !Path::new("/proc").join(pid).exists()) {
                let _ = std::fs::remove_dir_all(entry.path());
            }
        }
        let dir = base.join(format!("fuzz-http-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        dir
    }
}

/// `import`'s readers of other systems' exports (Langfuse, MLflow, LangSmith, PromptLayer JSON,
/// `.prompty`, dotprompt) and the
/// template converters: the bytes go to each format's parser, every version read is planned
/// into `prompt.yaml` content (which must parse back), and the text goes through each template
/// syntax, whose output, when accepted, must compile and read exactly the variables reported.
pub fn bridge(data: &[u8]) {
    use promptreg::bridge::{self, template, Format as Bridge, Syntax};

    let file = Path::new("fuzz-export");
    for format in [
        Bridge::Langfuse,
        Bridge::Prompty,
        Bridge::Dotprompt,
        Bridge::Mlflow,
        Bridge::Langsmith,
        Bridge::Promptlayer,
    ] {
        let Ok(prompts) = format.parse(data, file) else {
            continue;
        };
        for prompt in &prompts {
            let _ = bridge::prompt_name(&prompt.name, Some("fuzz"));
            for version in &prompt.versions {
                if let Ok(planned) = bridge::plan(file, format, version) {
                    PromptFile::parse(planned.yaml.as_bytes(), file)
                        .expect("a planned prompt.yaml parses back");
                }
            }
        }
    }
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    for syntax in [
        Syntax::Mustache,
        Syntax::FString,
        Syntax::Handlebars,
        Syntax::Jinja2,
    ] {
        if let Ok(converted) = template::convert(text, syntax) {
            let read = promptreg::model::template::variables(&converted.text)
                .expect("a converted template compiles");
            if syntax != Syntax::Handlebars {
                assert_eq!(read, converted.variables, "variables of {syntax:?}");
            }
        }
    }
    let _ = template::export_template(text, Syntax::Mustache);
    let _ = template::export_template(text, Syntax::Handlebars);
}
