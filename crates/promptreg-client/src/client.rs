//! The client: the cache, the request, and the fallbacks when the server cannot answer (see the
//! crate docs for the order).

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::{
    Bundle, ClientBuilder, ClientError, Origin, Prompt, Target, DEFAULT_RETRY_AFTER,
    DEFAULT_TIMEOUT, DEFAULT_TTL,
};

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
    inner: Arc<Inner>,
}

/// What the client and its watch threads share.
#[derive(Debug)]
pub(crate) struct Inner {
    base: String,
    ttl: Duration,
    retry_after: Duration,
    bundle: Option<Bundle>,
    agent: ureq::Agent,
    cache: Mutex<HashMap<String, Entry>>,
    /// The other entries of splits, by `name@version`: fetched from the server, kept for as
    /// long as the client lives (a version's content never changes, and there are only as many
    /// as splits have named); taken from the bundle, kept as a stale value is, until the next
    /// retry.
    variants: Mutex<HashMap<String, Variant>>,
    /// How long a watch's long poll waits on the server; `None`: no watching.
    watch: Option<Duration>,
    /// The agent long polls use: its timeout leaves room for the wait.
    watch_agent: ureq::Agent,
    /// The cache keys a watch thread follows.
    watched: Mutex<HashSet<String>>,
}

/// A split's other entry, and until when to use it without asking the server (`None`: always).
#[derive(Clone, Debug)]
struct Variant {
    prompt: Prompt,
    until: Option<Instant>,
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
    pub(crate) fn from_parts(parts: Parts) -> Client {
        Client {
            inner: Arc::new(Inner {
                base: parts.base,
                ttl: parts.ttl,
                retry_after: parts.retry_after,
                bundle: parts.bundle,
                agent: parts.agent,
                cache: Mutex::new(HashMap::new()),
                variants: Mutex::new(HashMap::new()),
                watch: parts.watch,
                watch_agent: parts.watch_agent,
                watched: Mutex::new(HashSet::new()),
            }),
        }
    }

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
            watch: None,
        }
    }

    /// One version of `name`; see the [module docs](self) for how the cache answers. With
    /// [`ClientBuilder::watch`], the first get of an environment starts following it.
    pub fn get(&self, name: &str, target: Target<'_>) -> Result<Prompt, ClientError> {
        let prompt = self.inner.get(name, target)?;
        if let Target::Environment(environment) = target {
            Inner::watch(&self.inner, name, environment);
        }
        Ok(prompt)
    }

    /// The version `key` (a user, session or tenant id) is assigned in `target`: for an
    /// environment that splits, the entry the split rule gives the key, with
    /// [`Prompt::split`] and [`Prompt::bucket`] saying how; for one that does not, or for a
    /// version asked for by number or `Latest`, exactly what [`Client::get`] returns.
    ///
    /// No request is made per key: the environment's record (its `split` included) is cached
    /// as [`Client::get`] caches it, the split's first entry is that record, and each other
    /// entry is fetched once by number (`GET /api/prompts/NAME?version=V`) and kept. When the
    /// environment's record came from the cache past its TTL or the bundle because the server
    /// could not answer, the other entry is taken from what was fetched before or the bundle's
    /// `variants`, without asking the server again; if neither has it, the error is
    /// [`ClientError::Unavailable`].
    ///
    /// A key is a non-empty string without line breaks (else [`ClientError::InvalidRequest`]).
    pub fn get_for(
        &self,
        name: &str,
        target: Target<'_>,
        key: &str,
    ) -> Result<Prompt, ClientError> {
        promptreg_wire::split::check_key(key).map_err(|reason| ClientError::InvalidRequest {
            message: format!("invalid split key: {reason}"),
        })?;
        let stable = self.get(name, target)?;
        self.inner.assign(name, target, key, stable)
    }

    /// Empties the cache (the bundle stays; watches go on, and refill what they follow).
    pub fn clear(&self) {
        self.inner.lock().clear();
        self.inner.variants().clear();
    }

    /// The base URL requests go to.
    pub fn base_url(&self) -> &str {
        &self.inner.base
    }

    /// How many environments of prompts a watch follows (see [`ClientBuilder::watch`]).
    pub fn watching(&self) -> usize {
        self.inner
            .watched
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .len()
    }
}

/// What [`ClientBuilder::build`] makes a client of.
pub(crate) struct Parts {
    pub base: String,
    pub ttl: Duration,
    pub retry_after: Duration,
    pub bundle: Option<Bundle>,
    pub agent: ureq::Agent,
    pub watch: Option<Duration>,
    pub watch_agent: ureq::Agent,
}

impl Inner {
    fn get(&self, name: &str, target: Target<'_>) -> Result<Prompt, ClientError> {
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

    /// The entry of `stable`'s split that `key` is assigned (see [`Client::get_for`]).
    fn assign(
        &self,
        name: &str,
        target: Target<'_>,
        key: &str,
        stable: Prompt,
    ) -> Result<Prompt, ClientError> {
        let (Target::Environment(environment), Some(split)) = (target, stable.split_arc()) else {
            return Ok(stable);
        };
        let bucket = promptreg_wire::split::bucket(name, environment, key);
        // The record's split was checked when it was read (`Prompt::from_json`): it covers
        // every bucket.
        let Some(entry) = promptreg_wire::split::assign(&split, bucket) else {
            return Ok(stable);
        };
        if entry.version == stable.version() {
            let origin = stable.origin();
            return Ok(stable.assigned(split, bucket, origin));
        }
        let variant = self.variant(name, &entry.version, stable.origin())?;
        let origin = variant.origin();
        Ok(variant.assigned(split, bucket, origin))
    }

    /// Another entry of a split: kept from before, else fetched by number (unless the server
    /// just failed, as `origin` says), else the bundle's.
    fn variant(&self, name: &str, version: &str, origin: Origin) -> Result<Prompt, ClientError> {
        let id = format!("{name}@{version}");
        let kept = self.variants().get(&id).cloned();
        if let Some(kept) = kept {
            if kept.until.is_none_or(|until| Instant::now() < until) {
                return Ok(kept.prompt);
            }
        }
        let server_failed = matches!(origin, Origin::Stale | Origin::Bundle);
        let failure = if server_failed {
            "the server could not answer".to_owned()
        } else {
            match self.request(name, Target::Version(version), None) {
                Answer::Fresh(record, _) => match Prompt::from_json(record) {
                    Ok(prompt) if prompt.version() == version => {
                        let kept = Variant {
                            prompt: prompt.with_origin(Origin::Cache),
                            until: None,
                        };
                        self.variants().insert(id, kept);
                        return Ok(prompt);
                    }
                    Ok(prompt) => {
                        format!("asked for {version}, the server sent {}", prompt.version())
                    }
                    Err(message) => message,
                },
                Answer::Refused(error) => return Err(error),
                Answer::NotModified => "304 Not Modified to a request without If-None-Match".into(),
                Answer::Failed(message) => message,
            }
        };
        let bundled = self
            .bundle
            .as_ref()
            .and_then(|b| b.prompt_version(name, version));
        let Some(record) = bundled else {
            return Err(ClientError::Unavailable {
                message: format!(
                    "{failure}; {version} of `{name}` (the split's entry for this key) was never \
                     fetched and is not in the bundle"
                ),
            });
        };
        let prompt = Prompt::from_json(record.clone())
            .map_err(|message| ClientError::Unavailable { message })?
            .with_origin(Origin::Bundle);
        // As a stale value is: served without asking again until the next retry.
        let kept = Variant {
            prompt: prompt.clone(),
            until: Some(Instant::now() + self.retry_after.min(self.ttl)),
        };
        self.variants().insert(id, kept);
        Ok(prompt)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Entry>> {
        // A panic elsewhere cannot leave the map half-updated: every change is one call.
        self.cache
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn variants(&self) -> std::sync::MutexGuard<'_, HashMap<String, Variant>> {
        self.variants
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
        match target {
            Target::Environment(env) => bundle.prompt(name).filter(|_| env == bundle.environment),
            // The first entry of a split or one of its `variants`.
            Target::Version(version) => {
                bundle.prompt_version(name, version.strip_prefix('v').unwrap_or(version))
            }
            // The highest release may be one the environment does not serve.
            Target::Latest => None,
        }
    }

    /// Starts a thread that follows `environment` of `name` with long polls, unless one does
    /// already or watching is off.
    fn watch(this: &Arc<Inner>, name: &str, environment: &str) {
        let Some(wait) = this.watch else { return };
        let key = cache_key(name, Target::Environment(environment));
        let mut watched = this
            .watched
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if !watched.insert(key.clone()) {
            return;
        }
        drop(watched);
        let follower = Follower {
            inner: Arc::downgrade(this),
            agent: this.watch_agent.clone(),
            base: this.base.clone(),
            retry_after: this.retry_after,
            name: name.to_owned(),
            environment: environment.to_owned(),
            key: key.clone(),
            wait,
        };
        let spawned = std::thread::Builder::new()
            .name(format!("promptreg-watch {key}"))
            .spawn(move || follower.run());
        if spawned.is_err() {
            // No thread: the TTL keeps the value current, as without watching.
            this.watched
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .remove(&key);
        }
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

/// One watch: long polls of one environment of one prompt, for as long as the client lives.
struct Follower {
    inner: Weak<Inner>,
    agent: ureq::Agent,
    base: String,
    retry_after: Duration,
    name: String,
    environment: String,
    key: String,
    wait: Duration,
}

impl Follower {
    /// Polls until the client is dropped (noticed when a poll returns: at most one wait) or the
    /// server turns out not to take `wait` (an older server: the TTL then keeps the value
    /// current, as without watching).
    fn run(self) {
        loop {
            let Some(inner) = self.inner.upgrade() else {
                return;
            };
            let etag = inner.lock().get(&self.key).and_then(|e| e.etag.clone());
            let ttl = inner.ttl;
            // Not held during the poll, so dropping the client is not held up by it.
            drop(inner);
            let outcome = self.poll(etag.as_deref());
            let Some(inner) = self.inner.upgrade() else {
                return;
            };
            match outcome {
                Polled::Changed(prompt, etag) => inner.store(self.key.clone(), prompt, etag, ttl),
                Polled::Same => {
                    let held = inner.lock().get(&self.key).cloned();
                    if let Some(entry) = held {
                        inner.store(self.key.clone(), entry.prompt, entry.etag, ttl);
                    }
                }
                Polled::Gone => {
                    inner.lock().remove(&self.key);
                    drop(inner);
                    std::thread::sleep(self.retry_after);
                }
                Polled::Unsupported => {
                    inner
                        .watched
                        .lock()
                        .unwrap_or_else(std::sync::PoisonError::into_inner)
                        .remove(&self.key);
                    return;
                }
                Polled::Failed => {
                    drop(inner);
                    std::thread::sleep(self.retry_after);
                }
            }
        }
    }

    fn poll(&self, etag: Option<&str>) -> Polled {
        let mut request = self
            .agent
            .get(format!("{}/api/prompts/{}/latest", self.base, self.name))
            .query("environment", &self.environment)
            .query("wait", self.wait.as_secs().to_string())
            .header("Accept", "application/json");
        if let Some(etag) = etag {
            request = request.header("If-None-Match", etag);
        }
        let Ok(mut response) = request.call() else {
            return Polled::Failed;
        };
        let status = response.status().as_u16();
        let etag = response
            .headers()
            .get("etag")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let body = response.body_mut().read_to_string().unwrap_or_default();
        match status {
            304 => Polled::Same,
            200 => match serde_json::from_str(&body).map(Prompt::from_json) {
                Ok(Ok(prompt)) => Polled::Changed(prompt, etag),
                _ => Polled::Failed,
            },
            404 => Polled::Gone,
            400 if error_code(&body).as_deref() == Some("unknown-parameter") => Polled::Unsupported,
            _ => Polled::Failed,
        }
    }
}

/// How one long poll ended.
enum Polled {
    Changed(Prompt, Option<String>),
    Same,
    /// `404`: the environment no longer holds the prompt; the cached value is dropped.
    Gone,
    /// The server does not know `wait`.
    Unsupported,
    Failed,
}

/// The `error` code of a `{error, message}` body.
fn error_code(body: &str) -> Option<String> {
    serde_json::from_str::<Value>(body)
        .ok()?
        .get("error")?
        .as_str()
        .map(str::to_owned)
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
