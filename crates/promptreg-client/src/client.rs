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
