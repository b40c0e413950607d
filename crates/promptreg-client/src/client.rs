//! The client: the cache, the request, and the fallbacks when the server cannot answer (see the
//! crate docs for the order).

use std::collections::HashMap;
use std::sync::Mutex;
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
    pub(crate) fn from_parts(
        base: String,
        ttl: Duration,
        retry_after: Duration,
        bundle: Option<Bundle>,
        agent: ureq::Agent,
    ) -> Client {
        Client {
            base,
            ttl,
            retry_after,
            bundle,
            agent,
            cache: Mutex::new(HashMap::new()),
            variants: Mutex::new(HashMap::new()),
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

    /// Empties the cache (the bundle stays).
    pub fn clear(&self) {
        self.lock().clear();
        self.variants().clear();
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
