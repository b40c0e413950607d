//! promptreg-client: a blocking client for `promptreg serve`, with an in-memory cache that keeps an application
//! running when the registry server is slow or down.
//!
//! ```no_run
//! use std::time::Duration;
//! use promptreg_client::{Client, Target};
//!
//! # fn main() -> Result<(), promptreg_client::ClientError> {
//! let client = Client::builder("http://127.0.0.1:8000")
//!     .ttl(Duration::from_secs(300))
//!     .fallback_bundle("bundle.json")? // written by `promptreg export --env production`
//!     .build();
//! let prompt = client.get("support/refund-agent", Target::Environment("production"))?;
//! println!("{} {}", prompt.version(), prompt.system_prompt());
//! # Ok(())
//! # }
//! ```
//!
//! How a [`Client::get`] is answered:
//!
//! * **Fresh cache hit** (fetched less than `ttl` ago): the cached value, no request.
//! * **Miss or stale hit**: a request on the calling thread, with `If-None-Match` carrying the
//!   cached `ETag` when there is one. `200` replaces the value, `304` keeps it; either way it is
//!   fresh for another `ttl`.
//! * **The server cannot answer** (refused, `timeout` elapsed — 2 s by default —, a `5xx`, a body
//!   that is not a record): the last good value if there is one ([`Origin::Stale`]), else the
//!   record from the fallback bundle ([`Origin::Bundle`]), else [`ClientError::Unavailable`].
//!   Either value is then kept for `min(ttl, retry_after)` (5 s by default) before the server is
//!   tried again, so a hanging server costs one timeout per period, not one per call.
//! * **The server answers no** (`404`, or another `4xx` such as an unknown environment): that is
//!   authoritative, so the cached value is dropped and the error returned
//!   ([`ClientError::NotFound`], [`ClientError::Http`]).
//!
//! The client is `Send + Sync`: share one (in an `Arc` or a `static`) between threads. The cache
//! lock is never held during a request, so two threads that miss at once may both ask the server.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;

pub use promptreg_wire::{Bundle, TestSummary, BUNDLE_FORMAT};

/// The default time a fetched value is served without asking the server.
pub const DEFAULT_TTL: Duration = Duration::from_secs(300);
/// The default limit on one request, connection included.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(2);
/// The default wait before asking a server again after it failed.
pub const DEFAULT_RETRY_AFTER: Duration = Duration::from_secs(5);

/// Which version of a prompt to get.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Target<'a> {
    /// What an environment serves (`GET /api/prompts/NAME/latest?environment=ENV`).
    Environment(&'a str),
    /// An exact version (`GET /api/prompts/NAME?version=X.Y.Z`).
    Version(&'a str),
    /// The highest release (`GET /api/prompts/NAME?version=latest`).
    Latest,
}

/// Where a returned value came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Origin {
    /// A `200` to this call's request.
    Server,
    /// The cache, within its TTL: no request was made.
    Cache,
    /// The cache, confirmed by a `304` to this call's request.
    Revalidated,
    /// The cache, past its TTL, because the server could not answer.
    Stale,
    /// The fallback bundle, because the server could not answer and nothing was cached.
    Bundle,
}

/// Why [`Client::get`] (or loading a bundle) failed.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The server says the prompt, version or environment pointer does not exist (`404`).
    #[error("`{name}` not found: {message}")]
    NotFound { name: String, message: String },
    /// The server could not be reached or could not answer, and there was nothing cached and no
    /// bundle record to fall back on.
    #[error("the prompt registry is unavailable: {message}")]
    Unavailable { message: String },
    /// The server refused the request (a `4xx` other than `404`), with its message.
    #[error("the prompt registry answered {status}: {message}")]
    Http { status: u16, message: String },
    /// The fallback bundle could not be read.
    #[error("cannot use the bundle `{}`: {message}", path.display())]
    Bundle { path: PathBuf, message: String },
    /// The request itself is malformed (a bad prompt name, base URL).
    #[error("invalid request: {message}")]
    InvalidRequest { message: String },
}

/// One version of a prompt: the record `promptreg fetch --format json` prints.
#[derive(Clone, Debug)]
pub struct Prompt {
    record: Arc<Value>,
    origin: Origin,
}

impl Prompt {
    /// Wraps a record, checking it has the keys the accessors read.
    pub fn from_json(record: Value) -> Result<Self, String> {
        for key in ["name", "version", "system_prompt"] {
            if !record.get(key).is_some_and(Value::is_string) {
                return Err(format!("the record has no string `{key}`"));
            }
        }
        Ok(Prompt {
            record: Arc::new(record),
            origin: Origin::Server,
        })
    }

    fn string(&self, key: &str) -> Option<&str> {
        self.record.get(key).and_then(Value::as_str)
    }

    /// The prompt's name.
    pub fn name(&self) -> &str {
        self.string("name").unwrap_or_default()
    }

    /// The version, `X.Y.Z`.
    pub fn version(&self) -> &str {
        self.string("version").unwrap_or_default()
    }

    /// The resolved system prompt.
    pub fn system_prompt(&self) -> &str {
        self.string("system_prompt").unwrap_or_default()
    }

    /// The model, if the prompt names one.
    pub fn model(&self) -> Option<&str> {
        self.string("model")
    }

    /// The sampling temperature.
    pub fn temperature(&self) -> Option<f64> {
        self.record.get("temperature").and_then(Value::as_f64)
    }

    /// The last environment holding this version, `None` for a draft.
    pub fn environment(&self) -> Option<&str> {
        self.string("environment")
    }

    /// The latest recorded run of each test of this version (empty when never tested, or
    /// when the record comes from a registry older than test results).
    pub fn tests(&self) -> Vec<TestSummary> {
        self.record
            .get("tests")
            .and_then(|tests| serde_json::from_value(tests.clone()).ok())
            .unwrap_or_default()
    }

    /// The whole record (docs/FORMAT.md §7).
    pub fn json(&self) -> &Value {
        &self.record
    }

    /// Where this value came from.
    pub fn origin(&self) -> Origin {
        self.origin
    }

    fn with_origin(&self, origin: Origin) -> Self {
        Prompt {
            record: Arc::clone(&self.record),
            origin,
        }
    }
}

/// Configures a [`Client`].
#[derive(Debug)]
pub struct ClientBuilder {
    base: String,
    ttl: Duration,
    timeout: Duration,
    retry_after: Duration,
    bundle: Option<Bundle>,
}

impl ClientBuilder {
    /// How long a fetched value is served without a request (default 300 s; zero revalidates
    /// on every call).
    pub fn ttl(mut self, ttl: Duration) -> Self {
        self.ttl = ttl;
        self
    }

    /// The limit on one request, from connecting to reading the body (default 2 s).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// How long to serve a stale or bundled value after the server failed before trying it again
    /// (default 5 s; never longer than the TTL).
    pub fn retry_after(mut self, wait: Duration) -> Self {
        self.retry_after = wait;
        self
    }

    /// Reads a bundle written by `promptreg export` to answer from when the server is down and
    /// nothing is cached.
    pub fn fallback_bundle(self, path: impl AsRef<Path>) -> Result<Self, ClientError> {
        let path = path.as_ref();
        let bad = |message: String| ClientError::Bundle {
            path: path.to_owned(),
            message,
        };
        let text = std::fs::read_to_string(path).map_err(|e| bad(e.to_string()))?;
        let bundle: Bundle = serde_json::from_str(&text).map_err(|e| bad(e.to_string()))?;
        self.with_bundle(bundle).map_err(bad)
    }

    /// Uses an already loaded bundle as the fallback.
    pub fn with_bundle(mut self, bundle: Bundle) -> Result<Self, String> {
        if bundle.format > BUNDLE_FORMAT {
            return Err(format!(
                "bundle format {} is newer than this client reads ({BUNDLE_FORMAT})",
                bundle.format
            ));
        }
        for (name, record) in &bundle.prompts {
            Prompt::from_json(record.clone()).map_err(|e| format!("`{name}`: {e}"))?;
        }
        self.bundle = Some(bundle);
        Ok(self)
    }

    /// The client.
    pub fn build(self) -> Client {
        let config = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(self.timeout))
            .build();
        Client {
            base: self.base,
            ttl: self.ttl,
            retry_after: self.retry_after,
            bundle: self.bundle,
            agent: ureq::Agent::new_with_config(config),
            cache: Mutex::new(HashMap::new()),
        }
    }
}

/// A cached value and when to ask the server again.
#[derive(Clone, Debug)]
struct Entry {
    prompt: Prompt,
    etag: Option<String>,
    fresh_until: Instant,
}

/// A blocking, caching client for `promptreg serve`. See the [module docs](self).
#[derive(Debug)]
pub struct Client {
    base: String,
    ttl: Duration,
    retry_after: Duration,
    bundle: Option<Bundle>,
    agent: ureq::Agent,
    cache: Mutex<HashMap<String, Entry>>,
}

/// How one request ended.
enum Answer {
    Fresh(Value, Option<String>),
    NotModified,
    /// The server said no: authoritative.
    Refused(ClientError),
    /// The server could not answer: fall back.
    Failed(String),
}

impl Client {
    /// A client with the defaults: TTL 300 s, timeout 2 s, retry after 5 s, no bundle.
    pub fn new(base_url: &str) -> Client {
        Client::builder(base_url).build()
    }

    /// A builder for a client of the server at `base_url` (`http://host:port`).
    pub fn builder(base_url: &str) -> ClientBuilder {
        ClientBuilder {
            base: base_url.trim_end_matches('/').to_owned(),
            ttl: DEFAULT_TTL,
            timeout: DEFAULT_TIMEOUT,
            retry_after: DEFAULT_RETRY_AFTER,
            bundle: None,
        }
    }

    /// One version of `name`; see the [module docs](self) for how the cache answers.
    pub fn get(&self, name: &str, target: Target<'_>) -> Result<Prompt, ClientError> {
        promptreg_wire::name::check(name).map_err(|reason| ClientError::InvalidRequest {
            message: format!("invalid prompt name `{name}`: {reason}"),
        })?;
        let key = cache_key(name, target);
        let cached = self.lock().get(&key).cloned();
        if let Some(entry) = &cached {
            if Instant::now() < entry.fresh_until {
                return Ok(entry.prompt.with_origin(Origin::Cache));
            }
        }
        let etag = cached.as_ref().and_then(|e| e.etag.as_deref());
        match self.request(name, target, etag) {
            Answer::Fresh(record, etag) => {
                let prompt = Prompt::from_json(record);
                let prompt = match prompt {
                    Ok(prompt) => prompt,
                    Err(message) => {
                        return self.fall_back(&key, name, target, cached, message);
                    }
                };
                self.store(key, prompt.clone(), etag, self.ttl);
                Ok(prompt)
            }
            Answer::NotModified => match cached {
                Some(entry) => {
                    self.store(key, entry.prompt.clone(), entry.etag, self.ttl);
                    Ok(entry.prompt.with_origin(Origin::Revalidated))
                }
                None => Err(ClientError::Http {
                    status: 304,
                    message: "304 Not Modified to a request without If-None-Match".into(),
                }),
            },
            Answer::Refused(error) => {
                self.lock().remove(&key);
                Err(error)
            }
            Answer::Failed(message) => self.fall_back(&key, name, target, cached, message),
        }
    }

    /// Empties the cache (the bundle stays).
    pub fn clear(&self) {
        self.lock().clear();
    }

    /// The base URL requests go to.
    pub fn base_url(&self) -> &str {
        &self.base
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Entry>> {
        // A panic elsewhere cannot leave the map half-updated: every change is one call.
        self.cache
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn store(&self, key: String, prompt: Prompt, etag: Option<String>, fresh_for: Duration) {
        let entry = Entry {
            prompt: prompt.with_origin(Origin::Cache),
            etag,
            fresh_until: Instant::now() + fresh_for,
        };
        self.lock().insert(key, entry);
    }

    /// The answer when the server could not give one: the last good value, else the bundle.
    fn fall_back(
        &self,
        key: &str,
        name: &str,
        target: Target<'_>,
        cached: Option<Entry>,
        message: String,
    ) -> Result<Prompt, ClientError> {
        let wait = self.retry_after.min(self.ttl);
        if let Some(entry) = cached {
            self.store(key.to_owned(), entry.prompt.clone(), entry.etag, wait);
            return Ok(entry.prompt.with_origin(Origin::Stale));
        }
        let Some(record) = self.bundled(name, target) else {
            let message = match &self.bundle {
                Some(bundle) => format!(
                    "{message}; the bundle (of `{}`) has no such version",
                    bundle.environment
                ),
                None => message,
            };
            return Err(ClientError::Unavailable { message });
        };
        let prompt = Prompt::from_json(record.clone())
            .map_err(|message| ClientError::Unavailable { message })?;
        // Cached with no ETag: the next successful request replaces it.
        self.store(key.to_owned(), prompt.clone(), None, wait);
        Ok(prompt.with_origin(Origin::Bundle))
    }

    /// The bundle's record for `name` if it is the version `target` means.
    fn bundled(&self, name: &str, target: Target<'_>) -> Option<&Value> {
        let bundle = self.bundle.as_ref()?;
        let record = bundle.prompt(name)?;
        let matches = match target {
            Target::Environment(env) => env == bundle.environment,
            Target::Version(version) => {
                let wanted = version.strip_prefix('v').unwrap_or(version);
                record.get("version").and_then(Value::as_str) == Some(wanted)
            }
            // The highest release may be one the environment does not serve.
            Target::Latest => false,
        };
        matches.then_some(record)
    }

    fn request(&self, name: &str, target: Target<'_>, etag: Option<&str>) -> Answer {
        let mut request = match target {
            Target::Environment(env) => self
                .agent
                .get(format!("{}/api/prompts/{name}/latest", self.base))
                .query("environment", env),
            Target::Version(version) => self
                .agent
                .get(format!("{}/api/prompts/{name}", self.base))
                .query("version", version),
            Target::Latest => self
                .agent
                .get(format!("{}/api/prompts/{name}", self.base))
                .query("version", "latest"),
        };
        request = request.header("Accept", "application/json");
        if let Some(etag) = etag {
            request = request.header("If-None-Match", etag);
        }
        let mut response = match request.call() {
            Ok(response) => response,
            Err(ureq::Error::BadUri(message)) => {
                return Answer::Refused(ClientError::InvalidRequest { message })
            }
            Err(e) => return Answer::Failed(e.to_string()),
        };
        let status = response.status().as_u16();
        if status == 304 {
            return Answer::NotModified;
        }
        let etag = response
            .headers()
            .get("etag")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let body = match response.body_mut().read_to_string() {
            Ok(body) => body,
            Err(e) => return Answer::Failed(format!("cannot read the response: {e}")),
        };
        match status {
            200 => match serde_json::from_str(&body) {
                Ok(record) => Answer::Fresh(record, etag),
                Err(e) => Answer::Failed(format!("the response is not JSON: {e}")),
            },
            404 => Answer::Refused(ClientError::NotFound {
                name: name.to_owned(),
                message: error_message(&body),
            }),
            400..=499 if status != 408 && status != 429 => Answer::Refused(ClientError::Http {
                status,
                message: error_message(&body),
            }),
            _ => Answer::Failed(format!(
                "the server answered {status}: {}",
                error_message(&body)
            )),
        }
    }
}

/// The `message` of a `{error, message}` body, else the body itself.
fn error_message(body: &str) -> String {
    serde_json::from_str::<Value>(body)
        .ok()
        .and_then(|v| {
            v.get("message")
                .or_else(|| v.get("error"))
                .and_then(Value::as_str)
                .map(str::to_owned)
        })
        .unwrap_or_else(|| body.trim().chars().take(200).collect())
}

fn cache_key(name: &str, target: Target<'_>) -> String {
    match target {
        Target::Environment(env) => format!("{name}@env:{env}"),
        Target::Version(version) => {
            format!("{name}@{}", version.strip_prefix('v').unwrap_or(version))
        }
        Target::Latest => format!("{name}@latest"),
    }
}
